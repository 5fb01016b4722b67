"""Where the default particle detection loses the real images' particles: an error census.

``python benchmarks/particle_census.py [--only NAME,...] [--variants NAME,...] [--out DIR]``
runs ``detect_particles(image)`` (the defaults) in this process on every real particle image
of ``../shared/data`` that has a reference (and on the variants of
:mod:`real_variant_transforms` asked for), matches the points to the reference with the
scoreboard's rule (one-to-one, within half the smaller box side, points within 3 px of the
frame ignored) and says for every miss and every false point which step decided it:

- a missed reference (FN): ``taken`` (a detection lies within its radius but the matching gave
  it to a neighbouring box), ``border`` (a kept blob there was dropped by the edge rule),
  ``merged`` (a kept blob there was merged into a rod or moved off by its centre), ``cut``,
  ``surround``, ``overlap``, ``nested`` (its best candidate fell at that test of
  :func:`~napari_ivae.core.detection.particle_auto.judged`, the last time it ran), ``dropped``
  (kept there, gone by the end),
  ``overlapped`` (a scale-space maximum there, removed among the candidate scales' overlaps
  before any test), ``none`` (no maximum of the response in its radius at any searched scale);
- a false point (FP): ``dup`` (within two radii of a reference that is matched: a second point
  on a particle, or a spot beside it), ``offset`` (near an unmatched reference, beyond its
  radius), ``isolated`` (further), with its scale and strength over that scale's cut when it
  came from the first search (``first``), else ``later`` (particles beside kept ones, faint
  ones, rims).

The steps are read by wrapping four functions of the detector for the run (restored after);
nothing in the detection changes. Where the kept particles pile at the search's floor and the
search runs again below it (:mod:`~napari_ivae.core.detection.particle_size_range`), the
steps are those of the first search, whose cuts ``used["scale_cuts"]`` reports (the second
one only adds particles smaller than its floor). Each miss also gets ``to_kept_rim``: how far
its rim lies from the nearest kept blob's, in median kept radii (under
``particle_faint.FAINT_CLEAR`` it lies beside a kept particle, where the faint pass does not
look). One table of counts per image, then one JSON line with every
error. ``--out DIR`` writes an overlay PNG per image (matched boxes green, missed red, true
points cyan, false ones yellow, each error's class written beside it). Skipped, with a message,
when ``../shared`` is absent.

``--robustness [--seeds 0,1000,...] [--all]`` runs the census on the synthetic particle rows
of :mod:`robustness` instead (the rows that miss precision or recall 0.95, or every row with
``--all``), scored as that benchmark scores them, and adds to each miss its ideal-observer SNR
(:mod:`particle_snr`), its radius over the row's median, the gap to its nearest true neighbour
over its radius (under 0.3: touching) and its distance to the frame; then a summary per row
kind.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MARGIN = 3.0  # the scoreboard's frame margin for particles (px)
FN_ORDER = ("kept", "nested", "overlap", "surround", "cut")  # a reference's best candidate first


@contextlib.contextmanager
def recorded():
    """Wrap the detector's steps for one run; yields the dict they fill."""
    from napari_ivae.core.detection import particle_auto, particle_binning, particle_candidates
    from napari_ivae.core.detection import particle_surround as surround

    record: dict = {"searches": 0}
    originals = (
        particle_auto.judged,
        particle_candidates.blob_candidates,
        particle_binning.labelled,
        particle_auto._kept_blobs,
    )
    judged, candidates, labelled, kept_blobs = originals

    def judged_steps(signal, points, sigma, strength, passed, aggregates, pixel_noise=None):
        result = judged(signal, points, sigma, strength, passed, aggregates, pixel_noise)
        if record["searches"]:  # the search below the first one's floor: not what is scored
            return result
        step = np.where(passed, "", "cut").astype("<U8")
        live = passed.copy()
        tests = (
            (
                "surround",
                lambda k: (
                    surround.surround_share(signal, points[k], sigma[k]) >= surround.SURROUND_SHARE
                ),
            ),
            (
                "overlap",
                lambda k: particle_candidates.strongest_of_overlaps(
                    points[k], sigma[k], strength[k]
                ),
            ),
            (
                "nested",
                lambda k: surround.above_larger(
                    signal, points[k], sigma[k], aggregates, pixel_noise
                ),
            ),
        )
        for name, test in tests:
            index = np.flatnonzero(live)
            fails = index[~np.asarray(test(live), bool)]
            step[fails] = name
            live[fails] = False
        step[live] = "kept"
        record["judged"] = (points.copy(), sigma.copy(), strength.copy(), step)
        return result

    def all_candidates(frame, scales, *args, **kwargs):
        found = candidates(frame, scales, *args, **kwargs)
        if record["searches"]:
            return found
        # the call over every searched scale without the overlaps settled, where there is one
        if kwargs.get("overlaps", True) is False or "scales" not in record:
            record["maxima"], record["scales"] = found[0], np.asarray(scales)
        return found

    def labelled_kept(signal, points, radius, keep, on_layer, exclude_border, rims=0):
        before = keep.copy()
        result = labelled(signal, points, radius, keep, on_layer, exclude_border, rims)
        record["labelled"] = (points.copy(), before, keep.copy(), np.asarray(radius).copy())
        return result

    def counted_search(*args, **kwargs):
        try:
            return kept_blobs(*args, **kwargs)
        finally:
            record["searches"] += 1

    particle_auto.judged = judged_steps
    particle_candidates.blob_candidates = all_candidates
    particle_binning.labelled = labelled_kept
    particle_auto._kept_blobs = counted_search
    try:
        yield record
    finally:
        (
            particle_auto.judged,
            particle_candidates.blob_candidates,
            particle_binning.labelled,
            particle_auto._kept_blobs,
        ) = originals


def matched(ref, det, radius, shape, margin=MARGIN):
    """The scoreboard's matching: for each reference the matched detection (-1: none) and for
    each detection its reference; ``-2`` marks points within ``margin`` of the frame."""
    from real_variants import matched as one_to_one

    def inside(p):
        p = np.asarray(p, dtype=float).reshape(-1, 2)
        return (p >= margin).all(axis=1) & (p < np.asarray(shape) - margin).all(axis=1)

    ref_of = np.full(len(det), -1)
    det_of = np.full(len(ref), -1)
    ref_of[~inside(det)] = -2
    det_of[~inside(ref)] = -2
    ri, di = np.flatnonzero(det_of == -1), np.flatnonzero(ref_of == -1)
    i, j = one_to_one(ref[ri], det[di], radius[ri])
    det_of[ri[i]] = di[j]
    ref_of[di[j]] = ri[i]
    return det_of, ref_of


def census(image, ref, radius):
    """Detect with the defaults and classify every miss and false point (see the module).

    Returns
    -------
    (dict, list of dict)
        The scores (``tp``, ``n_ref``, ``n_det``, ``precision``, ``recall``, ``f1`` and what
        the detector decided: ``scale_sigma``, ``search_sigmas``) and one row per error.
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.particles import detect_particles

    with recorded() as record:
        result = detect_particles(image)
    used = result.params["resolved"]
    det = result.coords[:, 1:]
    det_of, ref_of = matched(ref, det, radius, image.shape)
    points, sigma, strength, step = record["judged"]
    cuts = np.asarray(used["scale_cuts"])
    level = np.clip(np.searchsorted(record["scales"], sigma - 1e-6), 0, len(cuts) - 1)
    over_cut = strength / np.where(cuts[level] > 0, cuts[level], np.inf)
    labelled_points, kept_before, kept_after, blob_radius = record["labelled"]
    kept_radius = blob_radius[kept_before]
    kept_tree = cKDTree(labelled_points[kept_before].reshape(-1, 2))
    median_kept = float(np.median(kept_radius)) if len(kept_radius) else np.nan
    near = lambda tree, p, r: tree.query_ball_point(p, r) if tree.n else []  # noqa: E731
    det_tree, cand_tree = cKDTree(det.reshape(-1, 2)), cKDTree(points.reshape(-1, 2))
    blob_tree, max_tree = cKDTree(labelled_points.reshape(-1, 2)), cKDTree(record["maxima"])
    ref_tree = cKDTree(ref)
    rows = []
    for i in np.flatnonzero(det_of == -1):
        p, r = ref[i], radius[i]
        info = {}
        blobs = [k for k in near(blob_tree, p, r) if kept_before[k]]
        cands = near(cand_tree, p, r)
        if near(det_tree, p, r):
            kind = "taken"
        elif blobs:
            kind = "merged" if any(kept_after[k] for k in blobs) else "border"
        elif cands:
            best = min(cands, key=lambda k: (FN_ORDER.index(step[k]), -strength[k]))
            # "dropped": kept by the first search, gone by the end (the off-layer rule, a rim)
            kind = "dropped" if step[best] == "kept" else str(step[best])
            info = {"sigma": float(sigma[best]), "over_cut": float(over_cut[best])}
        else:
            kind = "overlapped" if near(max_tree, p, r) else "none"
        rows.append(
            {
                "kind": "FN",
                "class": kind,
                "row": float(p[0]),
                "col": float(p[1]),
                "radius": float(r),
                "to_kept_rim": _to_kept_rim(p, r, kept_tree, kept_radius, median_kept),
                **info,
            }
        )
    for j in np.flatnonzero(ref_of == -1):
        p = det[j]
        distance, k = ref_tree.query(p)
        if distance <= 2 * radius[k]:
            kind = "dup" if det_of[k] >= 0 else "offset"
        else:
            kind = "isolated"
        gap, c = cand_tree.query(p) if cand_tree.n else (np.inf, 0)
        first = gap <= 2.0 and step[c] == "kept"
        info = {"sigma": float(sigma[c]), "over_cut": float(over_cut[c])} if first else {}
        rows.append(
            {
                "kind": "FP",
                "class": kind,
                "source": "first" if first else "later",
                "row": float(p[0]),
                "col": float(p[1]),
                "to_reference": float(distance),
                **info,
            }
        )
    tp = int((det_of >= 0).sum())
    n_ref, n_det = int((det_of != -2).sum()), int((ref_of != -2).sum())
    precision, recall = tp / max(n_det, 1), tp / max(n_ref, 1)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    scores = {
        "tp": tp,
        "n_ref": n_ref,
        "n_det": n_det,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "scale_sigma": used["scale_sigma"],
        "search_sigmas": used["search_sigmas"],
    }
    return scores, rows, det, det_of, ref_of


def _to_kept_rim(point, radius, tree, kept_radius, median_radius) -> float:
    """The gap between the disc (``point``, ``radius``) and the nearest kept blob's disc, in
    ``median_radius`` (inf without kept blobs)."""
    if not tree.n:
        return float("inf")
    distance, index = tree.query(point, k=min(8, tree.n))
    gaps = np.atleast_1d(distance) - kept_radius[np.atleast_1d(index)] - radius
    return round(float(gaps.min() / median_radius), 3)


def overlay(image, ref, half_box, det, det_of, ref_of, rows, path: Path) -> None:
    """An RGB PNG: matched reference boxes green, missed red, true points cyan, false yellow."""
    from PIL import Image, ImageDraw
    from real_variant_transforms import to_8bit

    grey = to_8bit(np.asarray(image, dtype=float), 0.001)
    picture = Image.fromarray(grey).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for (r, c), h, d in zip(ref, half_box, det_of):
        if d == -2:
            continue
        draw.rectangle([c - h, r - h, c + h, r + h], outline=(0, 220, 0) if d >= 0 else (255, 0, 0))
    for (r, c), k in zip(det, ref_of):
        colour = (0, 255, 255) if k >= 0 else (255, 255, 0)
        draw.line([c - 3, r, c + 3, r], fill=colour)
        draw.line([c, r - 3, c, r + 3], fill=colour)
    for row in rows:
        draw.text(
            (row["col"] + 4, row["row"] - 10),
            row["class"],
            fill=(255, 90, 90) if row["kind"] == "FN" else (255, 255, 0),
        )
    picture.save(path)


SNR_BANDS = (4.0, 6.5, 8.0)  # ideal-observer SNR: under 4 / 4-6.5 / 6.5-8 / from 8 (particle_snr)
TOUCHING = 0.3  # a neighbour's rim within this x a particle's radius of its own: touching


def synthetic_misses(kwargs: dict, rows: list) -> list:
    """``rows``' misses on ``make_particles(**kwargs)`` with what the truth says of each:
    ``snr``, ``size`` (radius over the row's median), ``gap`` (to the nearest true
    neighbour's rim, over its radius) and ``edge`` (distance to the frame, px)."""
    from particle_snr import particle_snr
    from scipy.spatial import cKDTree

    from napari_ivae.core.synthetic.particles import make_particles

    truth = make_particles(**kwargs)
    snr = particle_snr(kwargs, truth)
    centres, radii = truth.centres, truth.radii
    tree = cKDTree(centres)
    near = min(6, len(centres))
    missed = []
    for row in rows:
        if row["kind"] != "FN":
            continue
        point = np.array([row["row"], row["col"]])
        index = int(tree.query(point)[1])
        distance, other = tree.query(centres[index], k=near)
        gaps = np.atleast_1d(distance)[1:] - radii[index] - radii[np.atleast_1d(other)[1:]]
        edge = min(*point, *(np.asarray(truth.image.shape) - 1 - point))
        missed.append(
            row
            | {
                "snr": round(float(snr[index]), 2),
                "size": round(float(radii[index] / np.median(radii)), 3),
                "gap": round(float(gaps.min() / radii[index]) if len(gaps) else np.inf, 3),
                "edge": round(float(edge), 1),
            }
        )
    return missed


def robustness_census(offsets, every: bool) -> list:
    """The census on :mod:`robustness`'s particle rows at each seed offset (the rows that miss
    precision or recall 0.95, or ``every`` row); one dict per row."""
    from robustness import particle_cases

    from napari_ivae.core.synthetic.particles import make_particles

    results = []
    for offset in offsets:
        for name, kwargs in particle_cases(offset):
            truth = make_particles(**kwargs)
            radius = np.maximum(3.0, truth.radii)
            scores, rows, *_ = census(truth.image, truth.centres, radius)
            if not every and scores["precision"] >= 0.95 and scores["recall"] >= 0.95:
                continue
            missed = synthetic_misses(kwargs, rows)
            false = [row for row in rows if row["kind"] == "FP"]
            results.append({"row": name, "offset": offset, **scores, "errors": missed + false})
            counts = collections.Counter(row["class"] for row in missed)
            print(
                f"{name:26s} +{offset:<5d} P {scores['precision']:.3f}  R {scores['recall']:.3f}"
                f"  misses {len(missed)} {dict(counts)}  false {len(false)}"
            )
    return results


def summary(results) -> None:
    """Per row kind (the name without its seed): the misses by step, SNR band, touching,
    beside a kept particle (``to_kept_rim`` under ``FAINT_CLEAR``), near the frame."""
    from napari_ivae.core.detection.particle_faint import FAINT_CLEAR

    kinds: dict = collections.defaultdict(list)
    for result in results:
        kinds[result["row"]] += [row for row in result["errors"] if row["kind"] == "FN"]
    print("row kind: misses | by step | SNR <4 / 4-6.5 / 6.5-8 / >=8 | touching | beside | edge")
    for kind, missed in kinds.items():
        if not missed:
            continue
        snr = np.array([row["snr"] for row in missed])
        bands = np.histogram(snr, [-np.inf, *SNR_BANDS, np.inf])[0]
        steps = dict(collections.Counter(row["class"] for row in missed))
        touching = sum(row["gap"] < TOUCHING for row in missed)
        beside = sum(row["to_kept_rim"] < FAINT_CLEAR for row in missed)
        edge = sum(row["edge"] < 2 * row["radius"] for row in missed)
        print(
            f"{kind:26s} {len(missed):4d} | {steps} | {' / '.join(map(str, bands))} | "
            f"{touching} | {beside} | {edge}"
        )


def main(argv=None) -> int:
    from real_variant_transforms import VARIANTS
    from real_variants import load_scoreboard, references

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated parts of image names")
    parser.add_argument("--variants", default="x1", help=f"comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--out", default="", help="write an overlay PNG per image here")
    parser.add_argument("--robustness", action="store_true", help="the synthetic particle rows")
    parser.add_argument("--seeds", default="0", help="robustness: comma-separated seed offsets")
    parser.add_argument("--all", action="store_true", help="robustness: every row, not the failing")
    args = parser.parse_args(argv)
    if args.robustness:
        offsets = [int(x) for x in args.seeds.split(",") if x.strip()]
        results = robustness_census(offsets, args.all)
        summary(results)
        print(json.dumps({"benchmark": "particle_census_robustness", "rows": results}))
        return 0
    sb = load_scoreboard()
    if sb is None:
        print("particle_census: ../shared/tools/detection_scoreboard.py not found, skipped")
        print(json.dumps({"benchmark": "particle_census", "skipped": "../shared absent"}))
        return 0
    only = [o for o in args.only.split(",") if o]
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    results = []
    for name, mode, image, points, half_box in references(sb):
        if mode != "particles" or (only and not any(o in name for o in only)):
            continue
        for variant_name in [v for v in args.variants.split(",") if v]:
            variant = VARIANTS[variant_name][0](image.astype(np.float64), points)
            picture = np.asarray(variant.image, dtype=np.float32)
            if picture.ndim == 3:
                picture = picture.mean(axis=2)
            keep = np.ones(len(variant.points), bool) if variant.keep is None else variant.keep
            ref, half = variant.points[keep], half_box[keep] * variant.scale
            scores, rows, det, det_of, ref_of = census(picture, ref, np.maximum(3.0, half))
            counts = collections.Counter(f"{r['kind']} {r['class']}" for r in rows)
            print(
                f"{name:12s} {variant_name:10s} F1 {scores['f1']:.3f}  P {scores['precision']:.3f}"
                f"  R {scores['recall']:.3f}  scale {scores['scale_sigma']}  searched "
                f"{scores['search_sigmas']}"
            )
            for key in sorted(counts):
                print(f"    {key:14s} {counts[key]:4d}")
            if out:
                stem = f"{Path(name).stem}_{variant_name.replace('/', '_').replace('+', '_')}"
                overlay(picture, ref, half, det, det_of, ref_of, rows, out / f"{stem}_census.png")
            results.append({"image": name, "variant": variant_name, **scores, "errors": rows})
    print(json.dumps({"benchmark": "particle_census", "rows": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
