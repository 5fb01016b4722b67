"""Atom detection's speed, and whether a change left its outputs byte for byte the same.

``python benchmarks/atom_speed.py --keep DIR`` runs ``detect_atoms(image)`` (no parameter, as
the benchmarks and ``napari-ivae detect IMAGE`` do) on every atom image the benchmarks draw
and writes, per image, a digest of each output to ``DIR/digests.json``: the points, the
properties (every column's name, type and bytes), the CSV text ``napari-ivae detect`` writes,
the quality report and the parameters (as JSON text), with the CPU seconds. ``--compare DIR``
runs the same images and prints, per image, whether each output is identical to the kept one,
the CPU seconds before and after and the number found either way; then one JSON line (exit
code 1 when any output differs).

The groups (``--groups``, comma-separated; all by default):

* ``stranger``: every case of ``stranger_atoms.py`` (``--seeds``, default 0,1,2);
* ``robustness``: the lattice and HRTEM rows of ``robustness.py``;
* ``scenes``: the atom-mode scenes of ``stranger_scenes.py`` (``--seeds``);
* ``real``: the real atom images of ``robustness.py`` (skipped when ``../shared`` lacks them).

* ``large`` (not among the defaults): the real MoS2 frame tiled to 4096 x 4096 (a camera's
  frame of a lattice), skipped when ``../shared`` lacks it, and a 4096 x 4096 frame of blobs
  on a film with no lattice (the blob-scale fallback, as on a cryo-EM micrograph);
* ``--frames a.npy,b.npy``: 2D frames of one's own.

``--only`` keeps the images whose name contains one of its comma-separated words. Each row
gives the CPU seconds per megapixel; ``--isolate`` runs each image in a process of its own and
adds its peak resident memory (the process's, the interpreter and libraries included) in GB
and GB per megapixel.

Usage::

    python benchmarks/atom_speed.py --keep /tmp/before          # before the change
    python benchmarks/atom_speed.py --compare /tmp/before       # after it
    python benchmarks/atom_speed.py --groups real,robustness --compare /tmp/before
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

GROUPS = ("stranger", "robustness", "scenes", "real", "large")
DEFAULT_GROUPS = ("stranger", "robustness", "scenes", "real")
LARGE_ATOMS = "atoms/stem_se_mos2_temul/mos2.npy"  # under ../shared/data: tiled to 4096 x 4096
OUTPUTS = ("points", "properties", "csv", "quality", "params")


def images(groups, seeds, frames=()):
    """Yield ``(name, draw)`` for every atom image of ``groups`` and the ``.npy`` ``frames``;
    ``draw()`` renders it."""
    if "stranger" in groups:
        from stranger_atoms import CASES, make

        for case in CASES:
            for seed in seeds:
                yield f"stranger {case} s{seed}", lambda c=case, s=seed: make(c, s)[0]
    if "robustness" in groups:
        from robustness import hrtem_cases, lattice_cases

        from napari_ivae.core.synthetic.hrtem import make_hrtem
        from napari_ivae.core.synthetic.lattice import make_lattice

        for case, kwargs in lattice_cases():
            yield f"lattice {case}", lambda k=kwargs: _lattice_image(make_lattice, dict(k))
        for case, kwargs in hrtem_cases():
            yield f"hrtem {case}", lambda k=kwargs: make_hrtem(**k).image
    if "scenes" in groups:
        from stranger_scenes import CASES as SCENES
        from stranger_scenes import make as make_scene

        for case in SCENES:
            for seed in seeds:
                yield f"scenes {case} s{seed}", lambda c=case, s=seed: make_scene(c, s)
    if "real" in groups:
        from robustness import REAL_ATOMS, SHARED

        for image_path, _, _ in REAL_ATOMS:
            if (SHARED / image_path).exists():
                yield f"real {Path(image_path).name}", lambda p=image_path: np.load(SHARED / p)
    if "large" in groups:
        from robustness import SHARED

        if (SHARED / LARGE_ATOMS).exists():
            yield "large MoS2 tiled 4096", lambda: _tiled(np.load(SHARED / LARGE_ATOMS), 4096)
        yield "large amorphous 4096", lambda: _amorphous(4096)
    for path in frames:
        yield f"frame {Path(path).name}", lambda p=path: np.load(p)


def _amorphous(side, seed=0):
    """A camera's frame with no lattice (``side x side``): blobs of sigma 6 px at random on
    a film of correlated noise, Poisson counts; detection falls back to the blob scale."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    film = ndimage.gaussian_filter(rng.normal(size=(side, side)).astype(np.float32), 2.0)
    blobs = np.zeros((side, side), dtype=np.float32)
    count = side * side // 4000
    blobs[rng.integers(0, side, count), rng.integers(0, side, count)] = 1.0
    blobs = ndimage.gaussian_filter(blobs, 6.0) * 3 * 2 * np.pi * 36  # peaks 3 x the film
    return rng.poisson(np.clip(20.0 * (1.0 + 0.5 * film / film.std() + blobs), 0, None))


def _tiled(image, side):
    """``image`` repeated (mirrored: no seam) to ``side x side``."""
    image = np.asarray(image)
    reps = [-(-side // n) for n in image.shape]
    mirrored = np.block([[image, image[:, ::-1]], [image[::-1], image[::-1, ::-1]]])
    return np.tile(mirrored, [-(-r // 2) for r in reps])[:side, :side]


def _lattice_image(make_lattice, kwargs) -> np.ndarray:
    """A robustness lattice row's image (dark rows inverted, as robustness.py does)."""
    dark = kwargs.pop("dark", False)
    truth = make_lattice(**kwargs)
    return truth.image.max() + 0.2 - truth.image if dark else truth.image


def digests(found) -> dict:
    """A SHA-256 digest (16 hex digits) of each output of a :class:`Detections`."""
    from napari_ivae.core.io.points_csv import write_points_csv

    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()[:16]

    if hasattr(found, "columns"):
        table = found.columns()
    else:  # before Detections.column(s): compares with a kept run of an older commit
        table = {name: found.properties[name].to_numpy() for name in found.properties.columns}
    columns = b"".join(
        name.encode() + str(values.dtype).encode() + np.ascontiguousarray(values).tobytes()
        for name, values in table.items()
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "points.csv"
        write_points_csv(path, found)
        text = path.read_bytes()
    return {
        "points": digest(np.ascontiguousarray(found.coords, dtype=np.float64).tobytes()),
        "properties": digest(columns),
        "csv": digest(text),
        "quality": digest(json.dumps(found.quality, sort_keys=True, default=str).encode()),
        "params": digest(json.dumps(found.params, sort_keys=True, default=str).encode()),
    }


def run(name, draw) -> dict:
    """Detect on one image: its digests, point count and CPU seconds ({} for a scene that
    is not an atom image)."""
    from warnings import catch_warnings, simplefilter

    from napari_ivae.core.detection.atoms import detect_atoms
    from napari_ivae.core.errors import InputError

    drawn = draw()
    if isinstance(drawn, dict):  # a stranger_scenes case
        if drawn.get("mode") != "atoms":
            return {}
        drawn = drawn["image"]
    megapixels = np.asarray(drawn).size / 1e6
    start = time.process_time()
    with catch_warnings():
        simplefilter("ignore")
        try:
            found = detect_atoms(drawn)
        except InputError as err:  # a refusal is an output too
            found = err
    seconds = time.process_time() - start
    row = {
        "name": name,
        "count": -1 if isinstance(found, InputError) else len(found),
        "cpu_seconds": round(seconds, 3),
        "megapixels": round(megapixels, 3),
        "s_per_mp": round(seconds / megapixels, 3),
    }
    if isinstance(found, InputError):
        return row | dict.fromkeys(OUTPUTS, hashlib.sha256(str(found).encode()).hexdigest()[:16])
    return row | digests(found)


def run_isolated(name, argv) -> dict:
    """:func:`run` of the image ``name`` in a process of its own, with its peak memory."""
    command = [sys.executable, __file__, *argv, "--exact", name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="folder to write the digests to")
    parser.add_argument("--compare", help="folder of digests written by --keep")
    parser.add_argument("--groups", default=",".join(DEFAULT_GROUPS))
    parser.add_argument("--seeds", default="0,1,2")
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
    words = [w for w in args.only.split(",") if w]
    frames = [f for f in args.frames.split(",") if f]
    missing = [f for f in frames if not Path(f).is_file()]
    if missing:
        parser.error(f"no such frame file: {missing[0]}")
    if args.exact:  # in an isolated run's own process: one row, with the peak memory
        for name, draw in images(groups, seeds, frames):
            if name == args.exact:
                row = run(name, draw)
                row["peak_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 3)
                print(json.dumps(row))
                return 0
        parser.error(f"no image named {args.exact!r}")
    shared = ["--groups", args.groups, "--seeds", args.seeds]
    shared += ["--frames", args.frames] if frames else []
    before = {}
    if args.compare:
        path = Path(args.compare) / "digests.json"
        if not path.exists():
            parser.error(f"{path} does not exist: write it first with --keep")
        before = {row["name"]: row for row in json.loads(path.read_text())}
    rows = []
    for name, draw in images(groups, seeds, frames):
        if words and not any(word in name for word in words):
            continue
        row = run_isolated(name, shared) if args.isolate else run(name, draw)
        if not row:
            continue
        if "peak_gb" in row:
            row["gb_per_mp"] = round(row["peak_gb"] / row["megapixels"], 3)
        old = before.get(name)
        if old is not None:
            row["differs"] = [key for key in OUTPUTS if row[key] != old[key]]
            row["identical"] = not row["differs"]
            row["cpu_before"], row["count_before"] = old["cpu_seconds"], old["count"]
        rows.append(row)
        rate = f"  {row['s_per_mp']:5.2f} s/MP"
        if "peak_gb" in row:
            rate += f"  peak {row['peak_gb']:.2f} GB ({row['gb_per_mp']:.3f} GB/MP)"
        if old is None:
            print(
                f"{name:52s} n {row['count']:6d}  {row['cpu_seconds']:6.2f} s CPU{rate}", flush=True
            )
        else:
            same = "identical" if row["identical"] else "DIFFERS " + ",".join(row["differs"])
            print(
                f"{name:52s} n {old['count']:6d} -> {row['count']:6d}  "
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
            / max(sum(row.get("megapixels", 0.0) for row in rows), 1e-9),
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
    print(json.dumps({"benchmark": "atom_speed", "summary": summary, "rows": rows}))
    return 0 if all(row.get("identical", True) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
