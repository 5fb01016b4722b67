"""A stack larger than you would like to hold: detect -> patches -> encode -> maps, memory and
throughput, in memory vs streamed.

``python benchmarks/scale.py [--frames N] [--side S] [--format npy|tif|zarr]
[--stages detect|all] [--scheduler threads|sync|processes|local-cluster|tcp://...]``
writes a generated lattice stack (default 40 frames of 1024 x 1024, float32: 160 MB) to a
temporary ``.npy`` (or a zlib-compressed multi-page ``.tif``, or a ``.zarr`` with one chunk
per frame), then runs the pipeline in a child process twice:

* in memory: the whole stack loaded, ``detect_atoms``, ``extract_patches``, ``encode``, the
  maps (``z_mean_1``, ``z_mean_2``, ``angle``, ``dx``, ``dy``) painted into arrays in memory
  and saved as ``.npy``;
* streamed: ``read_image(mmap=True)`` (a memory map, a ``TiffStack`` decoding one page at a
  time, or a dask array over the zarr), ``detect_stream``, ``PatchSource`` + ``encode_source``
  (patches cut chunk by chunk from windows of the stack), the maps painted into memory-mapped
  ``.npy`` files, the latents into memory-mapped ``.npy`` files (``encode_source(out=)``).
  Frames after the first and (with a scheduler other than threads/sync) the encoding chunks
  run on ``--scheduler``.

The done-when runs of issue 14 (6.7 GB of zarr on disk). The in-memory path cannot hold 400
frames and their maps, so with ``--only streamed`` it runs on the first ``--reference-frames``
(default 24) frames of the same stack, and the points, latents and maps of those frames, the
throughput per megapixel and the peak memory are compared with the streamed run over all
frames::

    python benchmarks/scale.py --frames 400 --side 2048 --format zarr --only streamed
    python benchmarks/scale.py --frames 400 --side 2048 --format tif --only streamed
    python benchmarks/scale.py --frames 400 --side 2048 --format zarr --only streamed \
        --scheduler local-cluster

Both paint the maps with ``core.patches.source.maps_by_frame`` (the values of ``core.analysis.maps``, one
nearest-point search per frame shared by the five maps), so the comparison is of streaming,
not of map algorithms.

Training: ``--train-steps`` steps (default 200) of an rVAE with its default settings, from the
patch array in memory or from the ``PatchSource`` streamed (batches cut through its bounded
tile cache; normalisation fitted on a seeded sample); its steps per second are timed from
the second step. The encoding uses another model, an untrained rVAE (default architecture,
16 x 16 patches, seeded: the same weights in both children), so the two paths' latents can be
compared. ``--stages train`` stops after the training. It prints, per run, the seconds per
stage, the megapixels per second of the whole pipeline and the peak resident memory; whether
the points agree (1e-6 px), the latents (1e-4) and the maps (1e-4); and a final JSON line.
Each run is a fresh process with one thread, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads(1)
mode, path, out, stages, size, scheduler, train_steps, limit, value_range, reach = sys.argv[1:11]
size, train_steps, limit = int(size), int(train_steps), int(limit)
# the whole stack's range, given when this path holds only its first frames
value_range = None if value_range == "none" else [float(v) for v in value_range.split(",")]
# and the maps' empty distance the whole stack's points give
reach = None if reach == "none" else float(reach)
rates = {}
scheduler = None if scheduler == "threads" else scheduler
cluster = None
if scheduler == "local-cluster":  # two worker processes on this machine, one thread each
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    scheduler = Client(cluster)
out = __import__("pathlib").Path(out)
def peak_mb():
    # VmHWM: this program's own peak (ru_maxrss also counts the parent's memory at the fork)
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def rss_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
def cpu_s():  # this process's CPU time, all its threads (what the load does not inflate)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
times, peaks, resident, cpu = {}, {}, {}, {}
start = last = time.perf_counter()
last_cpu = cpu_s()
def lap(name):
    global last, last_cpu
    now, now_cpu = time.perf_counter(), cpu_s()
    times[name], cpu[name] = now - last, now_cpu - last_cpu
    peaks[name] = peak_mb()
    resident[name] = rss_mb()
    last, last_cpu = now, now_cpu
if mode == "memory":
    from napari_ivae.core.detection.atoms import detect_atoms
    if path.endswith(".npy"):
        stack = np.array(np.load(path, mmap_mode="r")[:limit])
    elif path.endswith(".zarr"):
        import zarr
        stack = zarr.open_array(path, mode="r")[:limit]
    else:
        import tifffile
        with tifffile.TiffFile(path) as tif:
            stack = tif.asarray(key=range(min(limit, len(tif.pages))))
    lap("read")
    found = detect_atoms(stack, frame_axis=0)
else:
    from napari_ivae.core.io.imageio import read_image
    from napari_ivae.core.detection.streaming import detect_stream
    stack = read_image(path, mmap=True)
    lap("read")
    found = detect_stream(stack, "atoms", scheduler=scheduler)
lap("detect")
coords = found.coords
del found  # only the points go on (the table of measures would be written out here)
np.save(out / "points.npy", coords)
n_points = int(len(coords))
def train_some(data):
    # an rVAE trained train_steps steps (its own weights: the encoding below uses the seeded
    # untrained model, so the two paths' latents can be compared)
    from napari_ivae.core.models import TrainConfig
    from napari_ivae.core.models.training import train
    torch.manual_seed(1)
    trainee = build_model(ModelConfig("rvae", (size, size)))
    config = TrainConfig.defaults_for("rvae", epochs=1, min_steps=0, seed=0, device="cpu")
    steps, n, first = train(trainee, data, config=config), 0, None
    for event in steps:
        n += 1
        if n == 1:  # the normalisation sample and the first step are behind
            lap("train_start")
            first = time.perf_counter()
        if n >= train_steps:
            break
    steps.close()
    rates["train_steps"] = n
    rates["train_steps_per_s"] = (n - 1) / (time.perf_counter() - first) if n > 1 else 0.0
    lap("train")
if stages in ("all", "train"):
    from napari_ivae.core.models import ModelConfig, build_model
    torch.manual_seed(0)
    model = build_model(ModelConfig("rvae", (size, size)))
    lap("model")
    if mode == "memory":
        from napari_ivae.core.patches.cutting import extract_patches
        patchset = extract_patches(
            stack, coords, size, normalize="global", value_range=value_range
        )
        data = patchset.patches
    else:
        from napari_ivae.core.patches.source import PatchSource, encode_source
        source = data = PatchSource(stack, coords, size, normalize="global")
        del coords  # the source keeps its own geometry; the points are on disk
    lap("patches")
    if train_steps:
        train_some(data)
if stages == "all":
    if mode == "memory":
        from napari_ivae.core.models.inference import encode
        encoding = encode(model, patchset.patches)
        lap("encode")
        geometry = patchset
    else:
        # the latents go to memory-mapped files, chunk by chunk
        encoding = encode_source(model, source, scheduler=scheduler, out=out / "latents")
        lap("encode")
        geometry = source.geometry()
    columns = {"z_mean_1": encoding.z_mean[:, 0], "z_mean_2": encoding.z_mean[:, 1],
               "angle": encoding.angle, "dx": encoding.offsets[:, 0],
               "dy": encoding.offsets[:, 1]}
    np.save(out / "z_mean.npy", encoding.z_mean)
    np.save(out / "patch_frames.npy", np.asarray(geometry.frames))
    from napari_ivae.core.patches.source import maps_by_frame, release_pages
    shape = (geometry.n_frames,) + tuple(geometry.image_shape)
    if mode == "memory":  # all maps in memory, then saved
        files = {name: np.empty(shape, np.float32) for name in columns}
    else:  # memory-mapped files filled frame by frame
        files = {name: np.lib.format.open_memmap(out / f"map_{name}.npy", mode="w+",
                                                 dtype=np.float32, shape=shape)
                 for name in columns}
    def write(name, frame, array):
        files[name][frame] = array
        release_pages(files[name])
    rates["max_distance"] = maps_by_frame(columns, geometry, write, max_distance=reach)
    for name, array in files.items():
        if mode == "memory":
            np.save(out / f"map_{name}.npy", array)
        else:
            array.flush()
    del files
    lap("maps")
if cluster is not None:
    scheduler.close()
    cluster.close()
print(json.dumps({"seconds": time.perf_counter() - start, "stages": times,
                  "cpu_seconds": cpu, "peak_rss_mb_after": peaks, "rss_mb_after": resident,
                  "n_points": n_points,
                  "peak_rss_mb": peak_mb(), **rates}))
"""


def _write_stack(folder: Path, frames: int, side: int, fmt: str) -> tuple[Path, tuple]:
    """The stack's file and its value range (minimum, maximum)."""
    from napari_ivae.core.synthetic.lattice import make_lattice

    extremes: list = []

    def frame(index):
        image = make_lattice(
            side, spacing=12.0, noise=0.1, dose=50, rotation=index, seed=index
        ).image.astype(np.float32)
        extremes.append((float(image.min()), float(image.max())))
        return image

    def value_range():
        return min(lo for lo, _ in extremes), max(hi for _, hi in extremes)

    if fmt == "zarr":
        import zarr

        path = folder / "stack.zarr"
        stack = zarr.create_array(
            str(path), shape=(frames, side, side), dtype="float32", chunks=(1, side, side)
        )
        for index in range(frames):
            stack[index] = frame(index)
        return path, value_range()
    if fmt == "npy":
        path = folder / "stack.npy"
        stack = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float32, shape=(frames, side, side)
        )
        for index in range(frames):
            stack[index] = frame(index)
        stack.flush()
        del stack
        return path, value_range()
    import tifffile

    path = folder / "stack.tif"
    tifffile.imwrite(
        path,
        (frame(index) for index in range(frames)),
        shape=(frames, side, side),
        dtype=np.float32,
        compression="zlib",
        photometric="minisblack",
        # the compressed size is not known in advance, so tifffile cannot choose BigTIFF itself
        bigtiff=frames * side * side * 4 > 2**32 - 2**25,
    )
    return path, value_range()


def _same(folder: Path, name: str, atol: float, frames: int) -> bool:
    """Whether the two paths' ``name`` agree on the first ``frames`` frames (the in-memory
    path may have run on fewer frames than the streamed one)."""
    a, b = (np.load(folder / mode / name, mmap_mode="r") for mode in ("memory", "streamed"))
    if name.startswith("map_"):
        b = b[:frames]
    else:  # per point or patch, in frame order: the streamed ones of the first frames
        if name == "points.npy":
            order = np.load(folder / "streamed" / "points.npy", mmap_mode="r")[:, 0]
        else:
            order = np.load(folder / "streamed" / "patch_frames.npy", mmap_mode="r")
        b = b[: int(np.searchsorted(order, frames - 0.5))]
    if a.shape != b.shape:
        return False
    step = max(1, len(a) // 64) if a.ndim == 3 else len(a)
    for i in range(0, len(a), step):
        x, y = np.asarray(a[i : i + step]), np.asarray(b[i : i + step])
        if "angle" in name:  # +pi and -pi are the same angle
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                return False
            x, y = np.nan_to_num(np.angle(np.exp(1j * (x - y)))), 0.0
        if not np.allclose(x, y, atol=atol, equal_nan=True):
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument(
        "--format",
        choices=("npy", "tif", "zarr"),
        default="npy",
        help="stack file: .npy (memory-mapped), zlib-compressed multi-page "
        ".tif (decoded page by page) or .zarr (one chunk per frame, "
        "read lazily through dask)",
    )
    parser.add_argument(
        "--scheduler",
        default="threads",
        help="where the streamed path detects frames and encodes chunks: "
        "threads (default), sync, processes, local-cluster (a "
        "dask.distributed LocalCluster of 2 worker processes) or a "
        "scheduler address tcp://host:port",
    )
    parser.add_argument(
        "--stages",
        choices=("detect", "train", "all"),
        default="all",
        help="detect only; detect, patches and training; or everything",
    )
    parser.add_argument(
        "--train-steps",
        type=int,
        default=200,
        help="steps of rVAE training on the patches (in memory: the patch "
        "array; streamed: the PatchSource through its tile cache); 0 = "
        "no training (default 200)",
    )
    parser.add_argument("--size", type=int, default=16, help="patch size (default 16)")
    parser.add_argument(
        "--only",
        choices=("memory", "streamed"),
        help="run one path only (the in-memory one needs the stack and its maps in memory); "
        "with streamed, the in-memory path still runs on the first --reference-frames frames",
    )
    parser.add_argument(
        "--reference-frames",
        type=int,
        default=24,
        help="with --only streamed: the in-memory path runs on this many first frames of the "
        "same stack (0 = not at all), and the points, latents and maps of those frames, the "
        "throughput per megapixel and the peak memory are compared (default 24)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path, (low, high) = _write_stack(folder, args.frames, args.side, args.format)
        results = {}
        modes = [args.only] if args.only else ["memory", "streamed"]
        limits = dict.fromkeys(modes, args.frames)
        if args.only == "streamed" and args.reference_frames > 0:
            # the reference, after the streamed run (its maps' empty distance is the whole
            # stack's): the frames memory can hold
            modes = ["streamed", "memory"]
            limits["memory"] = min(args.reference_frames, args.frames)
        for mode in modes:
            out = folder / mode
            out.mkdir()
            megapixels = limits[mode] * args.side**2 / 1e6
            run = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    mode,
                    str(path),
                    str(out),
                    args.stages,
                    str(args.size),
                    args.scheduler,
                    str(args.train_steps),
                    str(limits[mode]),
                    "none" if limits[mode] == args.frames else f"{low!r},{high!r}",
                    "none"
                    if limits[mode] == args.frames or "streamed" not in results
                    else str(results["streamed"].get("max_distance") or "none"),
                ],
                capture_output=True,
                text=True,
                env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
            )
            if run.returncode:
                print(run.stderr, file=sys.stderr)
                return 1
            results[mode] = json.loads(run.stdout.strip().splitlines()[-1])
            results[mode]["mpx_per_s"] = megapixels / results[mode]["seconds"]
            untrained = results[mode]["seconds"] - sum(
                results[mode]["stages"].get(name, 0.0) for name in ("train_start", "train")
            )
            results[mode]["mpx_per_s_without_training"] = megapixels / untrained
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in results[mode]["stages"].items())
            peaks = ", ".join(
                f"{k} {v:.0f}/{results[mode]['rss_mb_after'][k]:.0f}"
                for k, v in results[mode]["peak_rss_mb_after"].items()
            )
            print(
                f"{mode:9s} {limits[mode]} x {args.side}^2 {args.format} ({megapixels:.0f} "
                f"Mpx, {megapixels * 4:.0f} MB), {results[mode]['n_points']} points: "
                f"{results[mode]['seconds']:.1f} s ({stages}), "
                f"{results[mode]['mpx_per_s']:.2f} Mpx/s, peak RSS "
                f"{results[mode]['peak_rss_mb']:.0f} MB (peak/resident after each stage, MB: {peaks})"
                + (
                    f"; training {results[mode]['train_steps_per_s']:.2f} steps/s"
                    if results[mode].get("train_steps")
                    else ""
                )
            )
        checks = {}
        if len(modes) == 2:
            shared = limits["memory"]  # the frames both paths ran on
            if shared < args.frames:
                checks["compared_on_frames"] = shared
            checks["points_identical"] = _same(folder, "points.npy", 1e-6, shared)
            if args.stages == "all":
                checks["latents_1e-4"] = _same(folder, "z_mean.npy", 1e-4, shared)
                checks["maps_1e-4"] = all(
                    _same(folder, f"map_{name}.npy", 1e-4, shared)
                    for name in ("z_mean_1", "z_mean_2", "angle", "dx", "dy")
                )
            ratio = results["streamed"]["mpx_per_s"] / results["memory"]["mpx_per_s"]
            checks["streamed_vs_memory_throughput"] = round(ratio, 3)
            # the training's steps are as many whatever the frames: without them, the
            # per-megapixel stages alone
            checks["streamed_vs_memory_throughput_without_training"] = round(
                results["streamed"]["mpx_per_s_without_training"]
                / results["memory"]["mpx_per_s_without_training"],
                3,
            )
            checks["streamed_vs_memory_peak_rss"] = round(
                results["streamed"]["peak_rss_mb"] / results["memory"]["peak_rss_mb"], 3
            )
            if results["memory"].get("train_steps_per_s"):
                checks["streamed_vs_memory_train_steps"] = round(
                    results["streamed"]["train_steps_per_s"]
                    / results["memory"]["train_steps_per_s"],
                    3,
                )
            for key, value in checks.items():
                print(f"{key}: {value}")
    print(
        json.dumps(
            {
                "benchmark": "scale",
                "frames": args.frames,
                "side": args.side,
                "format": args.format,
                "stages": args.stages,
                "scheduler": args.scheduler,
                "load_average": os.getloadavg()[0],
                **checks,
                **results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
