"""Blobs on the far side of a relief's shadow: differential interference contrast.

Differential interference contrast (DIC) images each object as the derivative of its optical
path along one shear direction, the same for the whole frame: a bright lobe on one side of
the object and a dark lobe on the other. The blob search finds the bright lobe (the object,
within its radius) and, past the dark lobe, one or two blobs at the background's level that
stand out only beside the shadow (benchmarks/stranger_optical.py ``dic_beads``, seeds 0-2:
66 / 79 / 43 of them, for 110 beads, each 1.3-1.75 bead radii from the bead's centre, on the
side opposite to its bright lobe).

Touching particles also have a valley between them, so a valley alone does not tell (h22's
shoulder rule, one blob at a time, dropped 12 of real Ru1's particles). A relief has a mark
that the frame itself shows: every object's deepest surround lies along one axis, the shear.
Each kept blob's dip is the deepest point of the smoothed frame within ``REACH`` radii; on
the stronger half of the blobs whose dip lies ``DEEP`` x the smoothed noise below the local
background, the resultant of the dips' doubled angles is 0.91 / 0.95 / 0.95 on ``dic_beads``
seeds 0-2 and 0.08 / 0.10 on real Ru1 / PtCo1 (touching particles' valleys point every
way). :func:`in_relief_shadows` acts only where it is at least ``AXIS``; the shadow side is
the side of the axis those stronger blobs' dips lie on. There a kept blob with a deep dip,
less above the local background than its dip lies below it, is dropped where a blob rising
more than 1 / ``SHARE`` times as high lies within ``LINK`` x the larger radius, on the
bright side along the axis (within 45 degrees), with a valley between them deeper than the
noise floor and than the weaker blob's rise.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.detection_memo import shared_gaussian
from napari_ivae.core.detection.particle_discs import within_discs

SMOOTH = 1.0  # px: the frame is smoothed this much before its levels are read
REACH = 2.5  # a blob's dip: the deepest smoothed point within this many radii
BACKGROUND = 4.0  # the local background: median within this many radii, off every disc
MIN_BACKGROUND = 20  # fewer background pixels than this: no decision
DEEP = 6.0  # a dip lies this many x the smoothed noise below the local background
MIN_BLOBS = 8  # fewer blobs with a deep dip than this: no axis is read
AXIS = 0.6  # the blobs' dips agree on one axis: resultant of their doubled angles
ALONG = float(np.cos(np.pi / 4))  # a pair lies within 45 degrees of the axis
SHARE = 0.5  # the weaker blob rises less than this share of the stronger one
LINK = 6.0  # the pair lies within this many x the larger radius


def in_relief_shadows(signal, points, radius, noise: float) -> np.ndarray:
    """Which kept blobs lie past the shadow side of a stronger blob's relief (DIC).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer (row, col) kept blob centres.
    radius : array-like
        ``(N,)`` their radii (pixels).
    noise : float
        The frame's pixel noise (standard deviation).

    Returns
    -------
    numpy.ndarray of bool
        ``(N,)`` True for a blob past a relief's shadow.
    """

    points = np.asarray(points).reshape(-1, 2).astype(np.int64)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    shadow = np.zeros(len(points), dtype=bool)
    if len(points) < MIN_BLOBS:
        return shadow
    smoothed = shared_gaussian(signal, SMOOTH)
    floor = DEEP * float(noise) / (2.0 * np.sqrt(np.pi) * SMOOTH)
    outside = ~within_discs(signal.shape, points, radius + 1.0)
    dip, depth, rise = _dips(smoothed, outside, points, radius)
    deep = depth > floor
    if deep.sum() < MIN_BLOBS:
        return shadow
    way = dip - points
    angle = np.arctan2(way[:, 0], way[:, 1])
    # the axis and the shadow side: read on the stronger half of the deep blobs (the objects;
    # the blobs past their shadows spread round it)
    strong = deep & (rise >= np.median(rise[deep]))
    axial = np.exp(2j * angle[strong]).mean()
    if abs(axial) < AXIS:
        return shadow
    axis = np.angle(axial) / 2.0
    unit = np.array([np.sin(axis), np.cos(axis)])
    if (way[strong] @ unit).sum() < 0:
        unit = -unit
    for weak in np.flatnonzero(deep):
        shadow[weak] = _past_shadow(weak, smoothed, points, radius, depth, rise, unit, floor)
    return shadow


def _past_shadow(weak, smoothed, points, radius, depth, rise, unit, floor) -> bool:
    """Whether blob ``weak`` lies across a deep valley from a stronger blob along ``unit``."""
    if rise[weak] >= depth[weak]:
        return False
    level = smoothed[tuple(points[weak])] - rise[weak]
    for other in range(len(points)):
        if other == weak or rise[weak] >= SHARE * rise[other]:
            continue
        gap = (points[other] - points[weak]).astype(np.float64)
        length = float(np.hypot(*gap))
        if length > LINK * max(radius[weak], radius[other]):
            continue
        if gap @ unit > -ALONG * length:  # the stronger one lies on the bright side
            continue
        steps = np.linspace(0.0, 1.0, int(np.ceil(length)) + 1)[:, None]
        line = np.rint(points[weak] + steps * gap).astype(np.int64)
        valley = level - float(smoothed[line[:, 0], line[:, 1]].min())
        if valley > max(floor, rise[weak]):
            return True
    return False


def _dips(smoothed, outside, points, radius):
    """Each blob's deepest smoothed point within ``REACH`` radii, its depth below the local
    background and the blob's rise above it."""
    height, width = smoothed.shape
    dip = points.copy()
    depth = np.full(len(points), -np.inf)
    rise = np.zeros(len(points))
    for k, ((row, col), r) in enumerate(zip(points.tolist(), radius.tolist())):
        span = int(np.ceil(BACKGROUND * r))
        r0, r1 = max(row - span, 0), min(row + span + 1, height)
        c0, c1 = max(col - span, 0), min(col + span + 1, width)
        ground = smoothed[r0:r1, c0:c1][outside[r0:r1, c0:c1]]
        if len(ground) < MIN_BACKGROUND:
            continue
        level = _median(ground)
        reach = int(np.ceil(REACH * r))
        q0, q1 = max(row - reach, 0), min(row + reach + 1, height)
        p0, p1 = max(col - reach, 0), min(col + reach + 1, width)
        window = smoothed[q0:q1, p0:p1]
        # np.ogrid's open grid, without its indexing machinery (a fifth of the loop's time)
        rows, cols = np.arange(q0, q1)[:, None], np.arange(p0, p1)[None, :]
        disc = (rows - row) ** 2 + (cols - col) ** 2 <= (REACH * r) ** 2
        low = np.where(disc, window, np.inf).argmin()
        at = np.unravel_index(low, window.shape)
        dip[k] = (q0 + at[0], p0 + at[1])
        depth[k] = level - float(window[at])
        rise[k] = float(smoothed[row, col]) - level
    return dip, depth, rise
