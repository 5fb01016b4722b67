"""Blobs on the edge of a larger kept particle: its rim's relief, not particles of their own.

A large particle with surface detail (a coin's raised rim, a textured or faceted particle, a
cell's membrane) holds bright spots at the scales below its own; along its edge such a spot
has the dark background on one side, so it stands above its surround, and the particle's
interior (darker than a raised rim) does not hold it back either. :func:`edge_bumps` measures
each larger kept particle's extent in the frame itself: along ``RAYS`` rays from its centre,
where the frame falls to half-way between its top and the background around it and stays
below for ``RUN`` of its radius (the median over the rays; a particle only where the rays'
quartiles agree within ``ROUND``: a cluster has no single edge). A kept blob at least
``NESTED_RATIO`` times smaller whose centre lies within that extent, whose surround ring
(``particle_surround.RING``) reaches past it, and whose top reaches no higher than the
``BAND`` quantile of the larger one's band at its distance lies on the particle's edge: it is
part of the particle. A particle touching a larger one has its centre beyond the larger one's
extent; one lying on its top lies wholly within it; one lying over its edge outshines the
band: all stay. On ``skimage.data.coins()`` (24 coins with raised rims) 45 particles before,
25 after; on the tests' synthetic relief discs 3-6 spots on edges before, none after.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection import particle_surround
from napari_ivae.core.detection.particle_surround import RING, TOP

RAYS = 32  # directions in which a particle's extent is measured
STEP = 0.5  # px between samples along a ray
RUN = 0.25  # the frame stays below half-way this share of the radius past the particle's edge
ROUND = 0.35  # a round particle: its rays' extents' quartiles lie within this x their median
BAND = 0.9  # a rim's relief reaches no higher than this quantile of the rim's band
MIN_BAND = 20  # fewer band pixels off the kept discs than this: no decision
MIN_BACKGROUND = 0.25  # share of the background samples that must lie off every kept disc


def edge_bumps(signal, points, radius) -> np.ndarray:
    """Per kept blob, whether it lies on the edge of a clearly larger kept one.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer (row, col) centres of the kept blobs.
    radius : array-like
        ``(N,)`` their radii (pixels).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` bool, True for a blob that is part of a larger one's edge.
    """
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    out = np.zeros(len(points), dtype=bool)
    if len(points) < 2:
        return out
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    clearly = particle_surround.NESTED_RATIO  # as the nesting test: at least this many x larger
    # on the edges of several larger ones, the smallest of them decides
    for large in np.argsort(-radius):
        near = tree.query_ball_point(points[large], float(radius[large]) * 1.5)
        small = [i for i in near if radius[large] >= clearly * radius[i]]
        if not small:
            continue
        # the kept discs that can reach the rays (the band lies within them)
        around = tree.query_ball_point(points[large], RING[1] * radius[large] + radius.max())
        others = (points[around], radius[around])
        extent = _extent(signal, others, points[large], radius[large])
        for index in small:
            distance = float(np.hypot(*(points[index] - points[large])))
            if distance <= extent < distance + RING[0] * radius[index]:
                out[index] = _within_band(
                    signal, others, points[large], distance, index, points, radius
                )
    return out


def _within_band(signal, others, centre, distance, index, points, radius) -> bool:
    """Whether the blob ``index`` of ``points``/``radius`` has a top (``blob_top``) no higher
    than the ``BAND`` quantile of the band of the larger blob at ``centre`` at its
    ``distance`` from it (within half its radius of it, off the kept discs ``others``
    (centres, radii) but the larger one's): a rim's relief, not a particle lying over the
    larger one's edge, which outshines the band."""
    reach = int(np.ceil(distance + radius[index]))
    area, dy, dx = particle_surround._around(centre, reach, signal.shape)
    band = np.abs(np.hypot(dy, dx) - distance) <= 0.5 * radius[index]
    rows, cols = dy + centre[0], dx + centre[1]
    for point, r in zip(*others):
        if (point != centre).any():
            band &= np.hypot(rows - point[0], cols - point[1]) > r
    values = signal[area][band]
    if len(values) < MIN_BAND:
        return False
    top, _ = particle_surround.blob_top(signal, points[index], radius[index])
    return top <= float(np.quantile(values, BAND))


def _extent(signal, others, centre, size) -> float:
    """The median over ``RAYS`` rays of where the frame, outwards from ``centre`` (a blob of
    radius ``size``), falls to half-way between its top (within ``TOP`` of the radius) and the
    background (the ray samples from ``RING[0]`` radii on off the kept discs ``others``: centres,
    radii) and stays below for ``RUN`` of the radius; 0 where no background is measured, the
    top does not stand above it or the rays' quartiles differ by more than ``ROUND``."""
    from scipy import ndimage

    centre = np.asarray(centre, dtype=np.float64)
    steps = np.arange(0.0, RING[1] * size + STEP, STEP)
    angles = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False)
    rows = centre[0] + np.sin(angles)[:, None] * steps[None, :]
    cols = centre[1] + np.cos(angles)[:, None] * steps[None, :]
    inside = (
        (rows >= 0) & (rows <= signal.shape[0] - 1) & (cols >= 0) & (cols <= signal.shape[1] - 1)
    )
    values = ndimage.map_coordinates(signal, [rows, cols], order=1, mode="nearest")
    beyond = inside & (steps[None, :] >= RING[0] * size)
    off_discs = np.ones_like(beyond)
    for point, r in zip(*others):
        off_discs &= np.hypot(rows - point[0], cols - point[1]) > r
    background = beyond & off_discs
    if background.sum() < MIN_BACKGROUND * beyond.sum() or not background.any():
        return 0.0
    top = values[:, steps <= TOP * size].mean()
    base = float(np.median(values[background]))
    if top <= base:
        return 0.0
    below = (values < 0.5 * (top + base)) | ~inside
    # a dip of the particle's own relief is shorter than the fall to the background
    run = max(1, int(np.ceil(RUN * size / STEP)))
    stays = np.asarray(
        np.lib.stride_tricks.sliding_window_view(
            np.pad(below, ((0, 0), (0, run - 1)), constant_values=True), run, axis=1
        ).all(axis=2)
    )
    first = np.where(stays.any(axis=1), stays.argmax(axis=1), len(steps) - 1)
    low, middle, high = np.percentile(steps[first], [25, 50, 75])
    # a cluster of particles (or one the frame's edge cuts) has no single edge to be part of
    return float(middle) if high - low <= ROUND * middle else 0.0


def without_edge_bumps(signal, points, sigma, keep):
    """``keep`` (mask over the blobs ``points`` of ``sigma``) with the kept blobs on the edge of
    a larger kept one (:func:`edge_bumps`) no longer kept, and how many those are."""
    kept = np.flatnonzero(keep)
    bumps = edge_bumps(signal, points[kept], np.sqrt(2.0) * np.asarray(sigma)[kept])
    keep = keep.copy()
    keep[kept[bumps]] = False
    return keep, int(bumps.sum())


__all__ = ["edge_bumps", "without_edge_bumps"]
