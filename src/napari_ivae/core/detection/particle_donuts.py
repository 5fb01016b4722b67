"""Two or three blobs on one small ring around a dip: one donut-shaped particle.

A slightly defocused point scatterer (a dark-field gold particle, a fluorescent bead just out of
focus) images as a ring a few pixels across round a dim centre; the scale-space search finds
two or three maxima on the ring and no basin that
:mod:`~napari_ivae.core.detection.particle_rims` can use (the ring is as wide as its radius,
and its hole is too small for the basins it reads on the 2 x 2 maxima).

:func:`one_per_donut` tests each pair of kept blobs whose discs overlap, on the frame smoothed
by :data:`~napari_ivae.core.detection.particle_rims.SMOOTH` px: round the lowest point within
half the pair's distance of its midpoint (the hole, if any), the circle through the pair (its
mean distance from that point) must rise above that point in every direction, by more than
``BASIN_NOISE`` x the smoothed noise, and evenly (its lowest point at least ``EVEN`` of its
median rise), and that point lies no deeper than the smoothed noise below the background (the
median within ``BACKGROUND`` x the ring's radius, off every kept disc): a deeper hollow is a
particle of the other polarity in its halo. The circle's radius must also be under both blobs'
radius: the search finds a ring's maxima at about its width, so each blob covers the hole,
while particles touching round a gap lie at least their own radius from it (a dense low-dose
frame's touching dark particles: 5.96 px round a gap for blobs of 5.04 px; dark-field donuts
0.62-0.96 of their blobs' radius). Two particles that touch cannot pass: each falls
off from its centre, so the lowest point lies on the far side of the pair's midpoint, and the
circle's point beyond it lies farther from both centres and lower still. Only a ring round a
hollow passes. The pairs that pass are joined (a ring of three blobs gives three pairs) and
each group is replaced by one blob at its members' mean.

Measured on benchmarks/stranger_optical.py's dark-field gold (half the particles donuts of
ring radius 2.5-4 px, 2-3 blobs each): 137 / 134 / 161 points for 105 / 112 / 118 particles
before, 105 / 112 / 119 after (seeds 0-2).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.detection_memo import shared_gaussian
from napari_ivae.core.detection.particle_discs import within_discs
from napari_ivae.core.detection.particle_rims import (
    BASIN_NOISE,
    MIN_BACKGROUND,
    SMOOTH,
    with_joined,
)

BACKGROUND = 4.0  # the background round a ring: within this many x its radius, off every disc
EVEN = 0.5  # the circle's lowest rise over the centre is at least this share of its median
ANGLES = 16  # points on the circle


def one_per_donut(signal, points, radius, keep, pixel_noise):
    """The kept blobs on one small ring around a dip replaced by one blob at its centre.

    Parameters
    ----------
    signal : numpy.ndarray
        ``(Y, X)`` frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer blob centres.
    radius : numpy.ndarray
        ``(N,)`` their radii (pixels).
    keep : numpy.ndarray of bool
        ``(N,)`` which of them are kept particles.
    pixel_noise : float
        The frame's pixel noise (standard deviation).

    Returns
    -------
    points, radius, keep : numpy.ndarray
        The blobs, the rings' blobs no longer kept and one kept blob per ring appended.
    donuts : int
        How many rings were found.
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.graph_components import component_labels

    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    kept = np.flatnonzero(keep)
    if len(kept) < 2:
        return points, radius, keep, 0
    at, size = points[kept].astype(np.float64), radius[kept]
    pairs = cKDTree(at).query_pairs(2.0 * float(size.max()), output_type="ndarray")
    if not len(pairs):
        return points, radius, keep, 0
    gap = np.hypot(*(at[pairs[:, 0]] - at[pairs[:, 1]]).T)
    pairs = pairs[(gap <= size[pairs[:, 0]] + size[pairs[:, 1]]) & (gap >= 2.0)]
    if not len(pairs):
        return points, radius, keep, 0
    smoothed = shared_gaussian(signal, SMOOTH)
    level = float(pixel_noise) / (2.0 * np.sqrt(np.pi) * SMOOTH)
    floor = BASIN_NOISE * level
    passed, bottom, reach = _rings(smoothed, at[pairs[:, 0]], at[pairs[:, 1]], floor)
    # a ring's maxima, found at about its width, each cover its hole; particles round a gap
    # between them lie at least their own radius from it
    passed &= reach < np.minimum(size[pairs[:, 0]], size[pairs[:, 1]])
    ring = pairs[passed]
    if len(ring):
        # a hollow deeper than the background around it is a particle of the other polarity
        # in its halo (both_polarities' to find), not a ring round nothing
        outside = ~within_discs(signal.shape, points[kept], size + 1.0)
        middle = 0.5 * (at[ring[:, 0]] + at[ring[:, 1]])
        level_around = np.array(
            [
                _background(smoothed, outside, m, BACKGROUND * r)
                for m, r in zip(middle, reach[passed])
            ]
        )
        ring = ring[~(bottom[passed] < level_around - floor)]
    if not len(ring):
        return points, radius, keep, 0
    group = component_labels(len(at), ring[:, 0], ring[:, 1])
    members = np.isin(np.arange(len(at)), ring.ravel())
    labels = np.unique(group[members])
    centres = np.array([at[group == g].mean(axis=0) for g in labels])
    radii = np.array([_span(at[group == g], size[group == g]) for g in labels])
    return with_joined(points, radius, keep, kept[members], np.round(centres), radii)


def _rings(smoothed, first, second, floor):
    """Per pair of points, whether a circle through both round the lowest point between them
    rises above that point by more than ``floor`` all round, evenly (see the module); and
    that point's level and the circle's radius."""
    from scipy import ndimage

    half = 0.5 * np.hypot(*(second - first).T)
    # the lowest point within half the pair's distance of its midpoint: the hole, if any
    grid = np.arange(-1.0, 1.0001, 0.125)
    dy, dx = (g.ravel() for g in np.meshgrid(grid, grid, indexing="ij"))
    inside = dy**2 + dx**2 <= 1.0
    dy, dx = dy[inside], dx[inside]
    middle = 0.5 * (first + second)
    rows = middle[:, :1] + half[:, None] * dy[None, :]
    cols = middle[:, 1:] + half[:, None] * dx[None, :]
    disc = ndimage.map_coordinates(smoothed, [rows, cols], order=1, mode="nearest")
    lowest = disc.argmin(axis=1)
    taken = np.arange(len(disc))
    centre = np.column_stack([rows[taken, lowest], cols[taken, lowest]])
    bottom = disc[taken, lowest]
    ring = 0.5 * (np.hypot(*(first - centre).T) + np.hypot(*(second - centre).T))
    angles = np.linspace(0.0, 2.0 * np.pi, ANGLES, endpoint=False)
    rows = centre[:, :1] + ring[:, None] * np.sin(angles)[None, :]
    cols = centre[:, 1:] + ring[:, None] * np.cos(angles)[None, :]
    rise = ndimage.map_coordinates(smoothed, [rows, cols], order=1, mode="nearest")
    rise = rise - bottom[:, None]
    low = rise.min(axis=1)
    return (low > floor) & (low >= EVEN * np.median(rise, axis=1)), bottom, ring


def _background(smoothed, outside, centre, reach) -> float:
    """The median of ``smoothed`` within ``reach`` of ``centre`` outside every kept disc
    (``-inf`` where fewer than ``MIN_BACKGROUND`` such pixels: no decision)."""
    row, col = int(round(centre[0])), int(round(centre[1]))
    span = int(np.ceil(reach))
    window = (
        slice(max(row - span, 0), min(row + span + 1, smoothed.shape[0])),
        slice(max(col - span, 0), min(col + span + 1, smoothed.shape[1])),
    )
    values = smoothed[window][outside[window]]
    return float(_median(values)) if len(values) >= MIN_BACKGROUND else -np.inf


def _span(at, size) -> float:
    """The radius of a ring's particle: its blobs' mean distance from their centre plus
    their mean radius."""
    distance = np.hypot(*(at - at.mean(axis=0)).T)
    return float(distance.mean() + size.mean())


__all__ = ["one_per_donut"]
