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

``--only`` keeps the images whose name contains one of its comma-separated words.

Usage::

    python benchmarks/atom_speed.py --keep /tmp/before          # before the change
    python benchmarks/atom_speed.py --compare /tmp/before       # after it
    python benchmarks/atom_speed.py --groups real,robustness --compare /tmp/before
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

GROUPS = ("stranger", "robustness", "scenes", "real")
OUTPUTS = ("points", "properties", "csv", "quality", "params")


def images(groups, seeds):
    """Yield ``(name, draw)`` for every atom image of ``groups``; ``draw()`` renders it."""
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
    start = time.process_time()
    with catch_warnings():
        simplefilter("ignore")
        try:
            found = detect_atoms(drawn)
        except InputError as err:  # a refusal is an output too
            seconds = time.process_time() - start
            refused = hashlib.sha256(str(err).encode()).hexdigest()[:16]
            return {"name": name, "count": -1, "cpu_seconds": round(seconds, 3)} | dict.fromkeys(
                OUTPUTS, refused
            )
    seconds = time.process_time() - start
    return {"name": name, "count": len(found), "cpu_seconds": round(seconds, 3), **digests(found)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="folder to write the digests to")
    parser.add_argument("--compare", help="folder of digests written by --keep")
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", default="", help="comma-separated words of image names")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    groups = [g for g in args.groups.split(",") if g]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}; use some of {GROUPS}")
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    words = [w for w in args.only.split(",") if w]
    before = {}
    if args.compare:
        path = Path(args.compare) / "digests.json"
        if not path.exists():
            parser.error(f"{path} does not exist: write it first with --keep")
        before = {row["name"]: row for row in json.loads(path.read_text())}
    rows = []
    for name, draw in images(groups, seeds):
        if words and not any(word in name for word in words):
            continue
        row = run(name, draw)
        if not row:
            continue
        old = before.get(name)
        if old is not None:
            row["differs"] = [key for key in OUTPUTS if row[key] != old[key]]
            row["identical"] = not row["differs"]
            row["cpu_before"], row["count_before"] = old["cpu_seconds"], old["count"]
        rows.append(row)
        if old is None:
            print(f"{name:52s} n {row['count']:6d}  {row['cpu_seconds']:6.2f} s CPU", flush=True)
        else:
            same = "identical" if row["identical"] else "DIFFERS " + ",".join(row["differs"])
            print(
                f"{name:52s} n {old['count']:6d} -> {row['count']:6d}  "
                f"{old['cpu_seconds']:6.2f} -> {row['cpu_seconds']:6.2f} s CPU  {same}",
                flush=True,
            )
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        (Path(args.keep) / "digests.json").write_text(json.dumps(rows, indent=1))
    compared = [row for row in rows if "identical" in row]
    summary = {
        "images": len(rows),
        "cpu_seconds": round(sum(row["cpu_seconds"] for row in rows), 2),
    }
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
