"""Blobs that are one elongated particle: merged where the frame neither dips nor narrows.

Scale-space blobs are round. A rod (or any elongated particle: a capsule, a faceted bar) gives
a row of blobs along its axis, each as strong as a round particle of the rod's width, and each
passes every test a particle must pass. Two particles that touch or overlap differ from two
blobs on one rod by the dip between them: the projected thickness falls towards the contact
(two spheres of radius r whose centres are 1.7 r apart: 53 % of the centre's height at the
midpoint; touching ones: the background's level) or, where the image saturates or the
overlap's thicknesses add up, the outline narrows to a waist; and a small particle on a large
one has ends of unlike height or width. Along a rod height and width stay those of its ends.

:func:`merge_groups` joins two kept blobs closer than ``REACH`` times the sum of their radii
when, on the frame smoothed at ``SMOOTH`` x the median radius, with heights above the median of
the smoothed frame around the pair outside every kept disc (``RING`` x the larger radius beyond
the segment): the segment between their centres stays at ``LEVEL`` of the lower end's height;
the width across it (where the frame stays above half the lower end's height) stays at ``WIDTH``
of the narrower end's; and the ends are alike (heights within ``ALIKE_HEIGHT``, widths within
``ALIKE_WIDTH``). Where no such background is left (a packed layer: the frame is particles and
gaps), nothing is merged.

Measured on the rod images of benchmarks/stranger_particles.py (3 seeds, issue 9 round 18b):
pairs on one rod gave height 0.98-1.0, width 0.94-1.09 and ends alike 0.94-1.0 (but for a blob
on a rod's cap); pairs on two touching or overlapping spheres that kept their height (saturated, or
a thickness sum) failed the width or the likeness of their ends (width 0.3-0.9).
On benchmarks/stranger_probe.py's nanorods (aspect 3-8, 60 counts/px; lead16 h8) the blobs
along one rod lie up to 2.3 x the sum of their radii apart: ``REACH`` 1.5 -> 2.5 (the dip,
waist and likeness tests decide as before; a looser ``LEVEL``, 0.9, would join more rods but
also touching fluorescence spots in stranger_scenes).
The segment's heights are averaged along it over ``ALONG`` x the smaller radius either side: a
shot-noise pit narrower than a quarter of the rod's radius is not a contact (touching spheres dip
over a radius); a width run that reaches the frame's edge on one side is the other side's twice
(stranger_probe nanorods s0 / s1 / s2 44 / 47 / 41 -> 43 / 45 / 40 points for 39 / 40 / 40 rods).
Not kept: the highest value within a quarter radius across the segment (its ridge) slid onto a
third particle beside two that overlap it (stranger_particles bf_overlap100 s1 0.956 -> 0.939).

Issue 9 (h2), stranger_probe nanorods at 60 counts a pixel: the blobs along a rod sat up to
3-4.3 x the sum of their radii apart where the blobs between were not kept (``REACH`` 2.5 ->
4.5: it only bounds which pairs are looked at, the tests along the segment decide), and the
pits along a rod read 0.92-0.95 of the lower end (1.3-1.9 sigmas of the smoothed frame's noise;
the ends are blob maxima, on noise highs themselves). A segment now also has no dip where its
lowest point is within what noise alone gives over the gap between the two blobs' discs: the
noise sigma times ``sqrt(2 ln n)``, ``n`` the gap in noise correlation lengths
(:func:`_noise_dips`); blobs whose discs overlap get no such allowance. Nanorods s0 / s1 43 /
45 -> 39 / 44 points for 39 / 40 rods. Not kept: a uniform 3-sigma allowance (joined two
touching spots 3.6-5 px apart, 2.2 sigmas deep, in stranger_scenes' dense fluorescence: s1
recall 0.952 -> 0.944); the allowance over the whole segment's length rather than the gap
(joined two overlapping PtCo1 particles 10 px apart at a quarter dose, a 1.1-sigma dip:
recall 0.727 -> 0.724).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median

REACH = 4.5  # pairs closer than this many times the sum of their radii are looked at
LEVEL = 0.95  # no dip: the segment stays at this share of the lower end's height
WIDTH = 0.9  # no waist: the width across the segment stays at this share of the narrower end's
ALIKE_HEIGHT = 0.9  # the ends' heights: the lower at least this share of the higher
ALIKE_WIDTH = 0.85  # the ends' widths: the narrower at least this share of the wider
SMOOTH = 0.3  # the frame is smoothed by this many median radii (at least 1 px)
RING = 3.0  # the background: outside every disc, within this many radii of the segment
ALONG = 0.25  # the segment's heights: averaged over this many radii either side along it
MIN_BACKGROUND = 20  # fewer background pixels around a pair than this: no merge


def merge_groups(signal, points, radius) -> np.ndarray:
    """One group index per blob (``0..G-1``); blobs of one elongated particle share theirs.

    Parameters
    ----------
    signal : numpy.ndarray
        ``(Y, X)`` frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept blobs.
    radius : array-like
        ``(N,)`` their radii (pixels).
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.particle_discs import within_discs

    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    parent = np.arange(len(points))
    if len(points) < 2:
        return parent
    pairs = cKDTree(points).query_pairs(REACH * 2.0 * float(radius.max()), output_type="ndarray")
    if not len(pairs):
        return parent
    distance = np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1)
    pairs = pairs[distance <= REACH * (radius[pairs[:, 0]] + radius[pairs[:, 1]])]
    if not len(pairs):
        return parent
    sigma = max(1.0, SMOOTH * float(np.median(radius)))
    smoothed = ndimage.gaussian_filter(np.asarray(signal, dtype=np.float32), sigma)
    outside = ~within_discs(signal.shape, points, radius + 1.0)

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # every pair's segment and the highest level its background may reach at once (the same
    # numbers as pair by pair: the centres are integers, their distances exact)
    a, b = points[pairs[:, 0]].astype(np.float64), points[pairs[:, 1]].astype(np.float64)
    larger = np.maximum(radius[pairs[:, 0]], radius[pairs[:, 1]])
    top = np.maximum(np.minimum(a, b) - (RING * larger)[:, None], 0).astype(int)
    bottom = np.minimum(np.maximum(a, b) + (RING * larger)[:, None] + 1, signal.shape).astype(int)
    length = np.linalg.norm(b - a, axis=1)
    steps = np.maximum(2, np.ceil(length).astype(int) + 1)
    lines, starts = _segments(a, b, steps)
    smaller = np.minimum(radius[pairs[:, 0]], radius[pairs[:, 1]])
    along = ndimage.map_coordinates(smoothed, lines.T, order=1)
    along = _running_mean(along, starts, steps, np.floor(ALONG * smaller).astype(int))
    gap = length - radius[pairs[:, 0]] - radius[pairs[:, 1]]
    slack = _noise_dips(smoothed, outside, gap, sigma)
    bounds = _highest_passing_levels(along, starts, steps, slack)
    # each pair's background (its window's pixels outside every disc) counted from a summed
    # table, and its pixels at or below a level counted on the frame with the discs at +inf:
    # no copy of the background per pair, which most pairs (a dip) need no more than counted
    background = _window_counts(outside, top, bottom)
    beyond_discs = np.where(outside, smoothed, np.float32(np.inf))
    for index in range(len(pairs)):
        size = int(background[index])
        if size < MIN_BACKGROUND:
            continue
        window = (slice(top[index, 0], bottom[index, 0]), slice(top[index, 1], bottom[index, 1]))
        if _count_above(beyond_discs[window], float(bounds[index]), size):
            continue  # most pairs: a dip (the median below costs more than this count)
        around = smoothed[window][outside[window]]
        first, second = pairs[index]
        line = lines[starts[index] : starts[index] + steps[index]]
        level = float(_median(around))
        height = along[starts[index] : starts[index] + steps[index]] - level
        ends = min(height[0], height[-1])
        if not (ends > 0 and height.min() >= min(LEVEL * ends, ends - slack[index])):
            continue
        if ends < ALIKE_HEIGHT * max(height[0], height[-1]):
            continue
        reach = 2.5 * max(radius[first], radius[second])
        width = _widths(smoothed, line, b[index] - a[index], reach, level + 0.5 * ends)
        narrower = min(width[0], width[-1])
        if narrower <= 0 or narrower < ALIKE_WIDTH * max(width[0], width[-1]):
            continue
        if (width[1:-1] if len(width) > 2 else width).min() >= WIDTH * narrower:
            parent[root(first)] = root(second)
    roots = np.array([root(i) for i in range(len(points))])
    return np.unique(roots, return_inverse=True)[1]


def _running_mean(along, starts, steps, half):
    """``along`` averaged over ``half`` samples either side, within each segment (fewer
    where the segment ends); each segment's ends keep their own values (the blobs' heights)."""
    owner = np.repeat(np.arange(len(steps)), steps)
    index = np.arange(len(along))
    low = np.maximum(starts[owner], index - half[owner])
    high = np.minimum(starts[owner] + steps[owner] - 1, index + half[owner])
    total = np.concatenate([[0.0], np.cumsum(along, dtype=np.float64)])
    out = ((total[high + 1] - total[low]) / (high - low + 1)).astype(along.dtype)
    ends = np.concatenate([starts, starts + steps - 1])
    out[ends] = along[ends]
    return out


def _segments(a, b, steps):
    """The points of every segment from ``a`` to ``b`` (rows), ``steps`` evenly spaced on each
    (``np.linspace``'s numbers), one after another; and where each segment starts."""
    starts = np.concatenate([[0], np.cumsum(steps)[:-1]])
    owner = np.repeat(np.arange(len(steps)), steps)
    fraction = (np.arange(int(steps.sum())) - starts[owner]) * (1.0 / (steps - 1))[owner]
    fraction[starts + steps - 1] = 1.0  # as linspace: the end exactly
    return a[owner] + fraction[:, None] * (b - a)[owner], starts


def _noise_dips(smoothed, outside, gap, sigma: float) -> np.ndarray:
    """Per pair, how far its segment's lowest point may fall below its ends by noise alone:
    the smoothed frame's noise sigma times ``sqrt(2 ln n)``, about the lowest of ``n``
    independent normal samples, ``n`` the ``gap`` between the two blobs' discs (px, the
    centres' distance less both radii) over the noise's correlation length (twice the
    smoothing, ``sigma`` px). Blobs whose discs overlap get none: between them the frame is
    theirs, and a dip there is their contact's. The noise's sigma: the robust
    spread (MAD), on the background (``outside``), of the smoothed frame less the frame
    smoothed twice as far (shot noise and fine texture, not slow shading)."""
    from scipy import ndimage

    detail = (smoothed - ndimage.gaussian_filter(smoothed, 2.0 * sigma))[outside]
    if detail.size < MIN_BACKGROUND:
        return np.zeros(len(gap))
    noise = 1.4826 * float(_median(np.abs(detail - _median(detail))))
    samples = np.maximum(1.0, np.asarray(gap, dtype=np.float64) / (2.0 * sigma))
    return noise * np.sqrt(2.0 * np.log(samples))


def _highest_passing_levels(along, starts, steps, slack=0.0) -> np.ndarray:
    """Per segment of ``along`` (see :func:`_segments`), the highest background level at which
    the frame along it could pass the no-dip test and the ends' likeness of heights (their
    heights above the level, with a margin for float32 rounding): above it both fail. A
    segment whose lowest point is within its ``slack`` (one per segment, or one for all) of
    its lower end passes the no-dip test at any level below that end."""
    first = along[starts].astype(np.float64)
    last = along[starts + steps - 1].astype(np.float64)
    ends, higher = np.minimum(first, last), np.maximum(first, last)
    lowest = np.minimum.reduceat(along, starts).astype(np.float64)
    no_dip = np.where(
        lowest >= ends - slack,
        ends,  # a dip within the noise: none at any level below the ends
        (lowest - LEVEL * ends) / (1.0 - LEVEL),  # the segment at LEVEL of the lower end
    )
    bound = np.minimum(
        np.minimum(
            ends,  # the ends above the level
            no_dip,
        ),
        (ends - ALIKE_HEIGHT * higher) / (1.0 - ALIKE_HEIGHT),  # the ends alike
    )
    return bound + 1e-4 * (np.abs(ends) + np.abs(higher) + np.abs(lowest)) + 1e-30


def _count_above(window, bound: float, size: int) -> bool:
    """Whether the median of the ``size`` background values in ``window`` (its other pixels
    +inf, never at or below a bound) is certainly above ``bound``: fewer than half of them
    (the lower middle one's rank) are at or below it."""
    return int(np.count_nonzero(window <= bound)) <= (size - 1) // 2


def _window_counts(mask, top, bottom) -> np.ndarray:
    """Per window (rows ``top[:, 0]:bottom[:, 0]``, columns ``top[:, 1]:bottom[:, 1]``), how
    many pixels of ``mask`` it holds, from a summed-area table."""
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    np.cumsum(np.cumsum(mask, axis=0, dtype=np.int64), axis=1, out=table[1:, 1:])
    y0, x0, y1, x1 = top[:, 0], top[:, 1], bottom[:, 0], bottom[:, 1]
    return table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]


def _widths(smoothed, line, direction, reach, above) -> np.ndarray:
    """At each point of ``line``, the width across ``direction`` (px, in half-pixel steps, at
    most twice ``reach``) of the run of the frame above ``above`` through that point. A run
    that reaches the frame's edge on one side is not measured there: the width is twice the
    other side's (the frame beyond is unknown, not part of the particle)."""
    from scipy import ndimage

    across = np.array([-direction[1], direction[0]], dtype=np.float64)
    across /= np.linalg.norm(across)
    offsets = np.arange(0.0, reach, 0.5)
    last = np.asarray(smoothed.shape, dtype=np.float64) - 1.0
    sides, cut = [], []
    for sign in (1.0, -1.0):
        where = line[:, None, :] + sign * offsets[None, :, None] * across[None, None, :]
        values = ndimage.map_coordinates(smoothed, where.reshape(-1, 2).T, order=1)
        beyond = ((where < 0) | (where > last)).any(axis=2)
        stop = (values.reshape(len(line), len(offsets)) < above) | beyond
        first = np.where(stop.any(axis=1), stop.argmax(axis=1), len(offsets) - 1)
        sides.append(offsets[first])
        cut.append(beyond[np.arange(len(line)), first])
    width = sides[0] + sides[1]
    one = cut[0] ^ cut[1]
    width[one] = 2.0 * np.where(cut[0], sides[1], sides[0])[one]
    return width


def merged(labels, centres, groups):
    """``labels`` (1..N, one per blob) and ``centres`` ``(N, 2)`` with each group's blobs joined:
    one label per group (its blobs' regions together), its centre the mean of theirs."""
    groups = np.asarray(groups)
    if len(groups) == 0 or groups.max() + 1 == len(groups):
        return labels, centres
    lookup = np.concatenate([[0], groups + 1]).astype(np.int32)
    count = np.bincount(groups)
    joined = np.zeros((len(count), 2))
    np.add.at(joined, groups, centres)
    return lookup[labels], joined / count[:, None]


__all__ = ["merge_groups", "merged"]
