"""The row and the table of a scene benchmark (``stranger_probe.py``, ``stranger_fresh.py``).

Each scene is detected as the CLI would with no parameter but the mode
(:func:`stranger_scenes.detect`), scored by the benchmark's rule, and printed as one line; a
JSON line with every row and a summary (rows passing, failing rows warned, false alarms) ends
the table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from stranger_scenes import detect, passes, selected_cases  # noqa: E402


def scene_row(name: str, seed: int, case: dict, scorer) -> dict:
    """One scene detected and scored: precision, recall, F1, counts, warnings, CPU seconds.

    Parameters
    ----------
    name, seed : str, int
        The scene and its seed, as reported.
    case : dict
        The drawn scene (``image``, ``truth``, ``mode``, ``rule`` and what ``scorer`` reads).
    scorer : callable
        ``scorer(case, points) -> (precision, recall, f1, points in invalid areas)``.
    """
    try:
        points, warnings, seconds = detect(case)
        error = ""
    except ValueError as err:  # a refusal is a result too: reported, scored as nothing
        points, warnings, seconds, error = np.empty((0, 2)), [], 0.0, f"{type(err).__name__}: {err}"
    p, r, f1, in_pad = scorer(case, points)
    row = {
        "image": name,
        "seed": seed,
        "mode": case["mode"],
        "rule": case["rule"],
        "shape": list(case["image"].shape),
        "precision": None if p is None else round(p, 3),
        "recall": None if r is None else round(r, 3),
        "f1": None if f1 is None else round(f1, 3),
        "found": len(points),
        "truth": len(case["truth"]),
        "in_invalid": in_pad,
        "expect_none": False,
        "warned": bool(warnings),
        "warnings": warnings,
        "error": error,
        "cpu_seconds": round(seconds, 2),
    }
    row["ok"] = passes(row) and not error
    return row


def scene_table(
    benchmark: str, names, run, argv=None, width: int = 28, description: str = ""
) -> int:
    """Parse ``--seeds`` and ``--only`` (:func:`stranger_scenes.selected_cases`), print a line
    per scene and seed, then the JSON line.

    ``run(name, seed) -> row`` (:func:`scene_row`'s); ``width`` is the name column's.
    """
    names, seeds = selected_cases(names, argv, description)
    rows = []
    for name in names:
        for seed in seeds:
            row = run(name, seed)
            rows.append(row)
            print(
                f"{name:{width}s} s{seed} {row['mode'][:4]}  P {row['precision']:.3f}  "
                f"R {row['recall']:.3f}  F1 {row['f1']:.3f}  {row['found']:6d} / "
                f"{row['truth']:6d}  bad {row['in_invalid']:3d}  "
                f"{'warned' if row['warned'] else '      '}  {'ok  ' if row['ok'] else 'FAIL'}  "
                f"{row['cpu_seconds']:5.1f} s{'  ' + row['error'] if row['error'] else ''}",
                flush=True,
            )
    failing = [r for r in rows if not r["ok"]]
    summary = {
        "cases": len(rows),
        "ok": sum(r["ok"] for r in rows),
        "failing_warned": f"{sum(r['warned'] for r in failing)} of {len(failing)}",
        "false_alarms": f"{sum(r['warned'] for r in rows if r['ok'])} of "
        f"{sum(r['ok'] for r in rows)}",
    }
    print(json.dumps({"benchmark": benchmark, "summary": summary, "rows": rows}))
    return 0
