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
  them).

``--only`` keeps the images whose name contains one of its comma-separated words.

Usage::

    python benchmarks/particle_speed.py --keep /tmp/before          # before the change
    python benchmarks/particle_speed.py --compare /tmp/before       # after it
    python benchmarks/particle_speed.py --groups stranger --only bf_large15 --seeds 0 --keep D
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

GROUPS = ("stranger", "robustness", "scenes", "real")
OUTPUTS = ("points", "labels", "properties", "quality", "params")


def images(groups, seeds, offsets):
    """Yield ``(name, image)`` for every particle image of ``groups``, drawn lazily."""
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
    return {
        "name": name,
        "count": len(found),
        "cpu_seconds": round(seconds, 3),
        **digests(found),
        "resolved": resolved,
    }


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
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--offsets", default="1000,2000,3000,4000")
    parser.add_argument("--only", default="", help="comma-separated words of image names")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    groups = [g for g in args.groups.split(",") if g]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}; use some of {GROUPS}")
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    offsets = [int(x) for x in args.offsets.split(",") if x.strip()]
    words = [w for w in args.only.split(",") if w]
    before = {}
    if args.compare:
        path = Path(args.compare) / "digests.json"
        if not path.exists():
            parser.error(f"{path} does not exist: write it first with --keep")
        before = {row["name"]: row for row in json.loads(path.read_text())}
    rows = []
    for name, draw in images(groups, seeds, offsets):
        if words and not any(word in name for word in words):
            continue
        row = run(name, draw)
        if not row:
            continue
        old = before.get(name)
        if old is not None:
            row["identical"] = all(row[key] == old[key] for key in OUTPUTS)
            row["differs"] = [key for key in OUTPUTS if row[key] != old[key]]
            if "params" in row["differs"] and "resolved" in old:
                row["settings"] = changed_settings(row["resolved"], old["resolved"])
            row["cpu_before"] = old["cpu_seconds"]
            row["count_before"] = old["count"]
        rows.append(row)
        if old is None:
            print(f"{name:52s} n {row['count']:5d}  {row['cpu_seconds']:6.2f} s CPU", flush=True)
        else:
            same = "identical" if row["identical"] else "DIFFERS " + ",".join(row["differs"])
            if row.get("settings"):
                same += ": " + "; ".join(row["settings"])
            print(
                f"{name:52s} n {old['count']:5d} -> {row['count']:5d}  "
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
    brief = [{k: v for k, v in row.items() if k != "resolved"} for row in rows]
    print(json.dumps({"benchmark": "particle_speed", "summary": summary, "rows": brief}))
    return 0 if all(row.get("identical", True) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
