"""Particle detection's speed, and whether a change left its outputs byte for byte the same.

``python benchmarks/particle_speed.py --keep DIR`` runs ``detect_particles(image)`` (no
parameter, as the benchmarks and the CLI do) on every particle image the benchmarks draw and
writes, per image, a digest of each output to ``DIR/digests.json``: the points, the labels
image, the properties table (every column's bytes), the quality report and the parameters
(as JSON text), with the CPU seconds and the resolved settings themselves. ``--compare DIR``
runs the same images and prints, per image, whether each output is identical to the kept
one, the CPU seconds before and after, the number found either way and, where the
parameters differ, which resolved settings moved; then one JSON line.

The groups (``--groups``, comma-separated; all by default):

* ``stranger``: every case of ``stranger_particles.py`` (``--seeds``, default 0,1,2);
* ``robustness``: the particle and monolayer rows of ``robustness.py`` at its own seeds and
  at ``--offsets`` (default 1000,2000,3000,4000: the held-out rows);
* ``scenes``: the particle-mode scenes of ``stranger_scenes.py`` (``--seeds``);
* ``real``: the real particle images of ``robustness.py`` (skipped when ``../shared`` lacks
  them);
* ``large`` (not among the defaults): camera-sized frames of small particles (radius 4-8 px):
  the stranger generator's bright-field and HAADF frames and the synthetic generator's at
  2048 x 2048, Ru1 up-sampled to 2048 x 2048 and PtCo1 mirrored to 2560 x 2560;
* ``--frames a.npy,b.npy``: 2D frames of one's own.

``--only`` keeps the images whose name contains one of its comma-separated words. Each row
gives the CPU seconds per megapixel; ``--isolate`` runs each image in a process of its own and
adds its peak resident memory (the process's, the interpreter and libraries included: about
0.15 GB before the frame) in GB and GB per megapixel.

Usage::

    python benchmarks/particle_speed.py --keep /tmp/before          # before the change
    python benchmarks/particle_speed.py --compare /tmp/before       # after it
    python benchmarks/particle_speed.py --groups stranger --only bf_large15 --seeds 0 --keep D
    python benchmarks/particle_speed.py --groups large --isolate --keep /tmp/large
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

GROUPS = ("stranger", "robustness", "scenes", "real", "large")
DEFAULT_GROUPS = ("stranger", "robustness", "scenes", "real")
OUTPUTS = ("points", "labels", "properties", "quality", "params")


def images(groups, seeds, offsets, frames=()):
    """Yield ``(name, image)`` for every particle image of ``groups`` (and the ``.npy``
    ``frames``), drawn lazily."""
    if "stranger" in groups:
        from stranger_particles import CASES, EMPTY, make

        for case, kwargs in {**CASES, **EMPTY}.items():
            for seed in seeds:
                yield f"stranger {case} s{seed}", lambda k=kwargs, s=seed: make(seed=s, **k)[0]
    if "robustness" in groups:
        from robustness import monolayer_cases, particle_cases

        from napari_ivae.core.synthetic.particles import make_monolayer, make_particles

        for offset in (0, *offsets):
            tag = f" +{offset}" if offset else ""
            for case, kwargs in particle_cases(offset):
                yield f"particles {case}{tag}", lambda k=kwargs: make_particles(**k).image
            for case, kwargs in monolayer_cases(offset):
                yield f"monolayer {case}{tag}", lambda k=kwargs: make_monolayer(**k).image
    if "scenes" in groups:
        from stranger_scenes import CASES as SCENES
        from stranger_scenes import make as make_scene

        for case in SCENES:
            for seed in seeds:
                scene = lambda c=case, s=seed: make_scene(c, s)  # noqa: E731
                yield f"scenes {case} s{seed}", scene
    if "real" in groups:
        from robustness import REAL_PARTICLES, SHARED

        folder = SHARED / "particles" / "stem_tem_catalyst_ardagen"
        for case in REAL_PARTICLES:
            if (folder / f"{case}.npy").exists():
                yield f"real {case}", lambda c=case: np.load(folder / f"{c}.npy")
    if "large" in groups:
        yield from large_frames()
    for path in frames:
        yield f"frame {Path(path).name}", lambda p=path: np.load(p)


def large_frames():
    """Yield ``(name, draw)`` for the ``large`` group's camera-sized frames."""
    from stranger_particles import make

    from napari_ivae.core.synthetic.particles import make_particles

    side = (2048, 2048)
    yield (
        "large bf_small 2048",
        lambda: make(seed=0, shape=side, n=4800, r_median=5, r_sigma=0.2, dose=100)[0],
    )
    yield (
        "large haadf_small 2048",
        lambda: make(seed=1, shape=side, n=3200, r_median=5, r_sigma=0.25, mode="haadf", dose=10)[
            0
        ],
    )
    yield (
        "large synthetic 2048",
        lambda: make_particles(side, count=2500, radius=6, texture=0.05, noise=0.08, seed=3).image,
    )
    from robustness import SHARED

    folder = SHARED / "particles" / "stem_tem_catalyst_ardagen"
    if (folder / "Ru1.npy").exists():
        yield "large Ru1 up-sampled 2048", lambda: _resized(np.load(folder / "Ru1.npy"), 2048)
    if (folder / "PtCo1.npy").exists():
        yield "large PtCo1 mirrored 2560", lambda: _mirrored(np.load(folder / "PtCo1.npy"), 2560)


def _resized(image, side):
    """``image`` up-sampled (linear) to ``side x side``."""
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float32)
    return ndimage.zoom(image, (side / image.shape[0], side / image.shape[1]), order=1)


def _mirrored(image, side):
    """``image`` extended to ``side x side`` by its mirror images (no seam, same scale)."""
    image = np.asarray(image)
    return np.pad(image, [(0, side - image.shape[0]), (0, side - image.shape[1])], "symmetric")


def digests(found) -> dict:
    """A SHA-256 digest (16 hex digits) of each output of a :class:`Detections`."""

    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()[:16]

    table = found.properties
    columns = b"".join(
        name.encode() + np.ascontiguousarray(table[name].to_numpy()).tobytes()
        for name in table.columns
    )
    return {
        "points": digest(np.ascontiguousarray(found.coords, dtype=np.float64).tobytes()),
        "labels": digest(np.ascontiguousarray(found.labels).tobytes()),
        "properties": digest(columns),
        "quality": digest(json.dumps(found.quality, sort_keys=True, default=str).encode()),
        "params": digest(json.dumps(found.params, sort_keys=True, default=str).encode()),
    }


def run(name, draw) -> dict:
    """Detect on one image: its digests, point count and CPU seconds."""
    from warnings import catch_warnings, simplefilter

    from napari_ivae.core.detection.particles import detect_particles

    drawn = draw()
    if isinstance(drawn, dict):  # a stranger_scenes case
        if drawn.get("mode") == "atoms":
            return {}
        drawn = drawn["image"]
    start = time.process_time()
    with catch_warnings():
        simplefilter("ignore")
        found = detect_particles(drawn)
    seconds = time.process_time() - start
    resolved = json.loads(json.dumps(found.params.get("resolved", {}), default=str))
    megapixels = np.asarray(drawn).size / 1e6
    return {
        "name": name,
        "count": len(found),
        "cpu_seconds": round(seconds, 3),
        "megapixels": round(megapixels, 3),
        "s_per_mp": round(seconds / megapixels, 3),
        **digests(found),
        "resolved": resolved,
    }


def run_isolated(name, argv) -> dict:
    """:func:`run` of the image ``name`` in a process of its own, with its peak memory."""
    command = [sys.executable, __file__, *argv, "--exact", name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peak_gb() -> float:
    """This process's peak resident memory (GB; Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def changed_settings(new: dict, old: dict) -> list:
    """The resolved settings (``params["resolved"]``) that differ, as ``name old -> new``."""
    if not isinstance(new, dict) or not isinstance(old, dict):
        return [] if new == old else ["resolved"]
    return [
        f"{key} {old.get(key)} -> {new.get(key)}"
        for key in sorted(set(new) | set(old))
        if new.get(key) != old.get(key)
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="folder to write the digests to")
    parser.add_argument("--compare", help="folder of digests written by --keep")
    parser.add_argument("--groups", default=",".join(DEFAULT_GROUPS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--offsets", default="1000,2000,3000,4000")
    parser.add_argument("--only", default="", help="comma-separated words of image names")
    parser.add_argument("--frames", default="", help="comma-separated .npy 2D frames")
    parser.add_argument("--isolate", action="store_true", help="one process per image")
    parser.add_argument("--exact", help=argparse.SUPPRESS)  # the one image of an isolated run
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    groups = [g for g in args.groups.split(",") if g]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}; use some of {GROUPS}")
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    offsets = [int(x) for x in args.offsets.split(",") if x.strip()]
    words = [w for w in args.only.split(",") if w]
    frames = [f for f in args.frames.split(",") if f]
    missing = [f for f in frames if not Path(f).is_file()]
    if missing:
        parser.error(f"no such frame file: {missing[0]}")
    if args.exact:  # in an isolated run's own process: one row, with the peak memory
        for name, draw in images(groups, seeds, offsets, frames):
            if name == args.exact:
                row = run(name, draw)
                row["peak_gb"] = round(_peak_gb(), 3)
                print(json.dumps(row))
                return 0
        parser.error(f"no image named {args.exact!r}")
    shared = ["--groups", args.groups, "--seeds", args.seeds, "--offsets", args.offsets]
    shared += ["--frames", args.frames] if frames else []
    before = {}
    if args.compare:
        path = Path(args.compare) / "digests.json"
        if not path.exists():
            parser.error(f"{path} does not exist: write it first with --keep")
        before = {row["name"]: row for row in json.loads(path.read_text())}
    rows = []
    for name, draw in images(groups, seeds, offsets, frames):
        if words and not any(word in name for word in words):
            continue
        row = run_isolated(name, shared) if args.isolate else run(name, draw)
        if not row:
            continue
        if "peak_gb" in row:
            row["gb_per_mp"] = round(row["peak_gb"] / row["megapixels"], 3)
        old = before.get(name)
        if old is not None:
            row["identical"] = all(row[key] == old[key] for key in OUTPUTS)
            row["differs"] = [key for key in OUTPUTS if row[key] != old[key]]
            if "params" in row["differs"] and "resolved" in old:
                row["settings"] = changed_settings(row["resolved"], old["resolved"])
            row["cpu_before"] = old["cpu_seconds"]
            row["count_before"] = old["count"]
        rows.append(row)
        rate = f"  {row['s_per_mp']:5.2f} s/MP"
        if "peak_gb" in row:
            rate += f"  peak {row['peak_gb']:.2f} GB ({row['gb_per_mp']:.3f} GB/MP)"
        if old is None:
            print(
                f"{name:52s} n {row['count']:5d}  {row['cpu_seconds']:6.2f} s CPU{rate}", flush=True
            )
        else:
            same = "identical" if row["identical"] else "DIFFERS " + ",".join(row["differs"])
            if row.get("settings"):
                same += ": " + "; ".join(row["settings"])
            print(
                f"{name:52s} n {old['count']:5d} -> {row['count']:5d}  "
                f"{old['cpu_seconds']:6.2f} -> {row['cpu_seconds']:6.2f} s CPU{rate}  {same}",
                flush=True,
            )
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        (Path(args.keep) / "digests.json").write_text(json.dumps(rows, indent=1))
    compared = [row for row in rows if "identical" in row]
    summary = {
        "images": len(rows),
        "cpu_seconds": round(sum(row["cpu_seconds"] for row in rows), 2),
        "s_per_mp": round(
            sum(row["cpu_seconds"] for row in rows)
            / max(sum(row["megapixels"] for row in rows), 1e-9),
            3,
        ),
    }
    if any("gb_per_mp" in row for row in rows):
        summary["max_gb_per_mp"] = max(row.get("gb_per_mp", 0.0) for row in rows)
    if compared:
        summary.update(
            compared=len(compared),
            identical=sum(row["identical"] for row in compared),
            cpu_before=round(sum(row["cpu_before"] for row in compared), 2),
            cpu_after=round(sum(row["cpu_seconds"] for row in compared), 2),
            differing=[row["name"] for row in compared if not row["identical"]],
        )
    brief = [{k: v for k, v in row.items() if k != "resolved"} for row in rows]
    print(json.dumps({"benchmark": "particle_speed", "summary": summary, "rows": brief}))
    return 0 if all(row.get("identical", True) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
