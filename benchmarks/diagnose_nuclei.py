"""Per error of the default particle detection on ``stranger_optical``'s DAPI nuclei, its cause.

``python benchmarks/diagnose_nuclei.py [--seeds 0,1,2]``: renders the scene, records each nucleus's
ellipse (a label map), detects as the CLI would, matches as the benchmark does (one-to-one within
each nucleus's radius, at least 3 px) and sorts every false point and every miss:

false points: ``split`` (a second point inside a nucleus that holds a matched one), ``offcentre``
(the only point inside a nucleus, farther than its radius from the centre), ``gap`` (outside every
nucleus: haze or background); misses: ``none`` (no point in the nucleus), ``offcentre`` (its only
point beyond the radius), ``merged`` (its points matched to a touching neighbour).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import stranger_optical as so  # noqa: E402
from stranger_scenes import detect  # noqa: E402


def labelled_case(seed):
    """The scene and a label map (k + 1 inside nucleus k's ellipse, 0 elsewhere)."""
    covers = []
    original = so.ellipse

    def recording(*args, **kwargs):
        cover, sl = original(*args, **kwargs)
        covers.append((cover, sl))
        return cover, sl

    so.ellipse = recording
    try:
        case = so.make("dapi_nuclei", seed)
    finally:
        so.ellipse = original
    labels = np.zeros(case["image"].shape, int)
    for k, (cover, sl) in enumerate(covers):
        labels[sl][cover >= 0.5] = k + 1
    return case, labels


def diagnose(seed):
    case, labels = labelled_case(seed)
    truth = case["truth"]
    found, warnings, _ = detect(case)
    centres, radius = truth[:, :2], np.maximum(3.0, truth[:, 2])
    d = np.linalg.norm(centres[:, None] - found[None], axis=2)
    allowed = d <= radius[:, None]
    rows, cols = linear_sum_assignment(np.where(allowed, d, 1e6))
    ok = allowed[rows, cols]
    match_t = dict(zip(rows[ok], cols[ok]))
    match_f = {c: r for r, c in match_t.items()}
    ij = np.clip(np.round(found).astype(int), 0, np.array(labels.shape) - 1)
    home = labels[ij[:, 0], ij[:, 1]] - 1  # nucleus a point lies in, -1 none
    false, miss = Counter(), Counter()
    lines = []
    for j in range(len(found)):
        if j in match_f:
            continue
        k = home[j]
        if k < 0:
            kind = "gap"
        elif k in match_t:
            kind = "split"
        else:
            kind = "offcentre" if (home == k).sum() == 1 else "split"
        false[kind] += 1
        kk = k if k >= 0 else int(np.argmin(d[:, j]))
        lines.append(
            f"  false {kind:9s} at {found[j].round(0)}  nucleus {kk} r {radius[kk]:.1f} dist {d[kk, j]:.1f}"
        )
    for k in range(len(truth)):
        if k in match_t:
            continue
        inside = np.flatnonzero(home == k)
        if not len(inside):
            kind = "none"
        elif all(j in match_f for j in inside):
            kind = "merged"
        else:
            kind = "offcentre"
        miss[kind] += 1
        near = d[k, inside].round(1).tolist() if len(inside) else []
        lines.append(
            f"  miss  {kind:9s} nucleus {k} at {centres[k].round(0)} r {radius[k]:.1f} inside at {near}"
        )
    tp = len(match_t)
    print(
        f"seed {seed}: found {len(found)} truth {len(truth)} matched {tp} "
        f"P {tp / len(found):.3f} R {tp / len(truth):.3f}; false {dict(false)}; misses {dict(miss)}"
    )
    print("  warnings:", warnings)
    return lines, case, labels, found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("-v", action="store_true", help="one line per error")
    args = parser.parse_args(argv)
    for seed in map(int, args.seeds.split(",")):
        lines, *_ = diagnose(seed)
        if args.v:
            print("\n".join(lines))


if __name__ == "__main__":
    main()
