"""Candidate particles: scale-space maxima of the signed blob response, overlaps settled.

Steps 2 and 6 of :mod:`~napari_ivae.core.detection.particle_blobs` (the numbers below refer to
its overview): the scales searched around the chosen one (:func:`candidate_scales`, and
:func:`search_scales` below them for smaller particles), the maxima in scale and space of the
response of the particles' polarity (:func:`blob_candidates`; at the candidate scales and
below them, :func:`searched_candidates`), and of overlapping blobs the strongest
(:func:`strongest_of_overlaps`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_peak_shape import signed_peaks
from napari_ivae.core.detection.particle_scale_space import blob_scales, scale_space

SCALE_RANGE = (0.5, 2.0)  # candidates from half to twice the chosen scale
SEARCH_FROM = 0.35  # candidates also from this many times the chosen scale (see 6.)
OVERLAP = 0.9  # a weaker blob whose centre lies within this many radii of a stronger one goes


def candidate_scales(shape, sigma: float) -> np.ndarray:
    """The searched scales from ``SCALE_RANGE[0]`` to ``SCALE_RANGE[1]`` times ``sigma``."""
    scales = blob_scales(shape)
    low = int(np.searchsorted(scales, sigma * SCALE_RANGE[0]))
    high = int(np.searchsorted(scales, sigma * SCALE_RANGE[1], side="right")) - 1
    high = min(max(high, low), len(scales) - 1)
    return scales[low : high + 1]


def search_scales(shape, sigma: float) -> np.ndarray:
    """:func:`candidate_scales` and below them the scales down to ``SEARCH_FROM`` x ``sigma``.

    The smaller scales add candidates only: the cut is measured on the candidate scales.
    """
    scales = blob_scales(shape)
    core = candidate_scales(shape, sigma)
    low = min(
        int(np.searchsorted(scales, sigma * SEARCH_FROM)), int(np.searchsorted(scales, core[0]))
    )
    return scales[low : int(np.searchsorted(scales, core[-1])) + 1]


def blob_candidates(frame, scales, polarity, skip=None, response=None, overlaps=True):
    """Scale-space maxima of the signed response over ``scales``, overlaps removed.

    ``response`` (``scale_space(frame, scales)``, optional) saves computing it again;
    ``overlaps=False`` keeps overlapping maxima (see :func:`strongest_of_overlaps`).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(N, 2)`` integer (row, col), their sigmas and strengths.
    """
    from napari_ivae.core.detection._filters import argwhere

    if response is None:
        response = scale_space(frame, scales)
    found = argwhere(signed_peaks(response, polarity))
    points, blob_sigma = found[:, 1:], np.asarray(scales)[found[:, 0]]
    # the response's values, or their negation: the same numbers as x 1.0 / x -1.0
    strength = response[tuple(found.T)]
    strength = strength if polarity == "bright" else np.negative(strength)
    if skip is not None and len(points):
        keep = ~skip[points[:, 0], points[:, 1]]
        points, blob_sigma, strength = points[keep], blob_sigma[keep], strength[keep]
    if not overlaps:
        return points, blob_sigma, strength
    keep = strongest_of_overlaps(points, blob_sigma, strength)
    return points[keep], blob_sigma[keep], strength[keep]


def searched_candidates(frame, scales, core_scales, polarity, skip, response, known=None):
    """Every candidate of one search: the maxima at the candidate scales, their overlaps
    settled, then those at the smaller searched scales.

    The smaller scales' overlaps with the others are left to be settled among those that pass
    their scale's cut: a noise blob stronger than a particle beside it but below its own cut
    must not take the particle's place.

    Parameters
    ----------
    frame : numpy.ndarray
        The frame searched.
    scales, core_scales : numpy.ndarray
        Every searched scale (:func:`search_scales`, ascending) and the candidate scales
        (:func:`candidate_scales`), the last of ``scales``.
    polarity : {"bright", "dark"}
        The particles' polarity.
    skip : numpy.ndarray
        Pixels where no candidate is.
    response : numpy.ndarray
        ``(scales, Y, X)`` scale space of ``frame`` at ``scales``.
    known : dict, optional
        The candidates at the candidate scales of an earlier search of the same ``frame``
        (filled here): a second search with the same candidate scales and ``skip`` has the
        same layers there (the top scale, which sets the transform's padding, is theirs).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(N, 2)`` integer (row, col), their sigmas and strengths (the candidate scales' first),
        and the strengths of those at the candidate scales.
    """
    smaller = len(scales) - len(core_scales)
    key = (tuple(float(x) for x in core_scales), polarity)
    held = None if known is None else known.get(key)
    if held is not None and np.array_equal(held[0], skip):
        points, sigma, strength = (part.copy() for part in held[1])
    else:
        points, sigma, strength = blob_candidates(
            frame, core_scales, polarity, skip, response=response[smaller:]
        )
        if known is not None:
            known[key] = (skip, tuple(part.copy() for part in (points, sigma, strength)))
    core_strength = strength
    if smaller:
        low_points, low_sigma, low_strength = blob_candidates(
            frame, scales, polarity, skip, response=response, overlaps=False
        )
        low = low_sigma < core_scales[0]
        points = np.concatenate([points, low_points[low]])
        sigma = np.concatenate([sigma, low_sigma[low]])
        strength = np.concatenate([strength, low_strength[low]])
    return points, sigma, strength, core_strength


def strongest_of_overlaps(points, sigma, strength) -> np.ndarray:
    """Keep a blob unless a stronger kept one's centre lies within ``OVERLAP`` radii of it."""
    from scipy.spatial import cKDTree

    kept = np.ones(len(points), dtype=bool)
    if len(points) == 0:
        return kept
    radius = np.sqrt(2.0) * sigma
    order = np.argsort(-strength, kind="stable")  # the strongest first; ties by position
    rank = np.empty(len(points), dtype=np.int64)
    rank[order] = np.arange(len(points))
    # the overlapping pairs, each from a search a little wider than the test that decides
    reach = OVERLAP * float(np.max(radius))
    pairs = cKDTree(points.astype(np.float64)).query_pairs(
        reach * (1.0 + 1e-9) + 1e-9, output_type="ndarray"
    )
    first, second = pairs[:, 0], pairs[:, 1]
    distance = np.hypot(*(points[first] - points[second]).T)
    overlap = distance < OVERLAP * np.maximum(radius[first], radius[second])
    first, second = first[overlap], second[overlap]
    first_leads = rank[first] < rank[second]
    stronger = np.where(first_leads, first, second)
    weaker_rank = rank[np.where(first_leads, second, first)]
    # a blob no stronger one overlaps is kept; the others in order of strength, each after
    # every stronger one it overlaps has been decided
    by = np.argsort(weaker_rank, kind="stable")
    stronger, weaker_rank = stronger[by], weaker_rank[by]
    judged = np.unique(weaker_rank)
    starts = np.searchsorted(weaker_rank, judged).tolist()
    ends = np.searchsorted(weaker_rank, judged, side="right").tolist()
    for blob, start, end in zip(order[judged].tolist(), starts, ends):
        kept[blob] = not kept[stronger[start:end]].any()
    return kept


def judged(signal, points, sigma, strength, passed, aggregates, pixel_noise=None):
    """The candidates ``passed`` (mask over ``points``) that stand above their surround, are
    the strongest of overlapping ones and stand above the interior of any larger kept blob or
    aggregate they lie in (a ridge-like one by a noise margin, given ``pixel_noise``). Returns
    the kept mask and the numbers dropped by the surround and by the nesting test."""
    from napari_ivae.core.detection import particle_surround

    keep = passed.copy()
    above_surround = (
        particle_surround.surround_share(signal, points[keep], sigma[keep])
        >= particle_surround.SURROUND_SHARE
    )
    keep[keep] = above_surround
    keep[keep] = strongest_of_overlaps(points[keep], sigma[keep], strength[keep])
    nested = particle_surround.above_larger(
        signal, points[keep], sigma[keep], aggregates, pixel_noise
    )
    keep[keep] = nested
    return keep, int((~above_surround).sum()), int((~nested).sum())


__all__ = [
    "blob_candidates",
    "candidate_scales",
    "judged",
    "search_scales",
    "searched_candidates",
    "strongest_of_overlaps",
]
