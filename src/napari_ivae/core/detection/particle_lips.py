"""Blobs along the lip of a step between two levels: an edge's valley, not particles.

The edge of a hole in a holey carbon film seen in bright field is a step between the bright
vacuum and the film, with a thicker lip (and a Fresnel fringe) darker than both along it. The
lip is a ridge of the particles' polarity that runs for many particle widths, and the blob
search finds an evenly spaced row of maxima along it (``holey_edge_bf`` of
benchmarks/stranger_blind.py, seeds 0-2: 78-85 kept blobs in one row along the edge, 2-3
radii apart, every one off a particle).

A ridge-like peak (:func:`~napari_ivae.core.detection.particle_surround.round_peaks` false)
is a rod, a particle's edge, or such a lip. A rod lies on one background: the frame across it
is at one level on both sides. A lip separates two levels: across it, the two sides differ by
more than the lip stands above the higher of them (a blob below a side lies in a crowd or on a
slope, and is no lip) and by more than the noise, and the ridge runs on straight for a few
radii both ways, above the higher side and never the step above its own level: a bright rim's
crest (secondary electrons) curves round its particle within that, a ridge that climbs to a
brighter particle is no lip.

That test, one blob at a time, also takes a few real particles for lips: a ridge-like
particle in a cluster on a step between a darker and a brighter area (real PtCo1, 1-2 of them
in 9 of its resampled variants, and Ru1 binned 0.7, benchmarks/real_variants.py). A hole's
edge is long: the ridge-like blobs along it form a row (each within ``LINK`` radii of the next,
the offset along both their ridges), and at least ``CHAIN`` of the row pass the test. Those
particles passed it alone (no other within 20 radii). Every ridge-like blob of such a row is
dropped, also those the test itself cannot decide: beside a particle resting on the lip (the
ridge climbs to it) or where the frame's edge cuts a side.

A frame whose scan lines carry offsets of their own is read levelled
(:func:`~napari_ivae.core.detection.scan_levelling.scan_levelled`): a line brighter than its
neighbours is a ridge between two levels too, but the boundary of no region
(benchmarks/empty_frames.py "scan lines only" 512 s0: 6 blobs along one line read as a lip,
and its size warning went).
:func:`on_lips` marks those blobs.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection.gaussian_points import gaussian_at
from napari_ivae.core.detection.graph_components import component_labels
from napari_ivae.core.detection.peaks import smoothing_factor

NEAR = (2.0, 3.0, 4.0)  # each side's level: the median at these many radii across the ridge
ALONG = (2.0, 3.0, 4.0)  # the ridge runs on this many radii both ways along it
CHAIN = 3  # a lip: a row along one ridge with at least this many blobs that pass the test
LINK = 6.0  # the row's neighbours lie within this many radii (across a particle on the lip)
ALIGNED = float(np.cos(np.pi / 6))  # ... their offset within 30 degrees of both their ridges
STEP_ERRORS = 3.0  # the two sides differ by this many standard errors of their difference


def on_lips(signal, points, radius, noise: float) -> np.ndarray:
    """Which blobs are ridge-like peaks on the lip of a step between two levels.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer (row, col) blob centres.
    radius : array-like
        ``(N,)`` blob radii (pixels).
    noise : float
        The frame's pixel noise (standard deviation).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` bool: the peak is no round blob (its ``-sigma^2 LoG`` curvature ratio below
        :data:`~napari_ivae.core.detection.particle_blobs.RIDGE`) and it lies in a row of such
        blobs along one ridge, at least ``CHAIN`` of which are on a lip: across the ridge, the
        levels of its two sides lie below it and differ by more than it stands above the
        higher one, and by ``STEP_ERRORS`` standard errors of the noise (read on the frame
        with its scan lines' own offsets taken out).
    """
    from napari_ivae.core.detection.particle_surround import round_peaks

    points = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    lips = np.zeros(len(points), dtype=bool)
    if not len(points):
        return lips
    ridge = np.flatnonzero(~round_peaks(signal, points, radius / np.sqrt(2.0)))
    if not len(ridge):
        return lips
    levels = _without_line_offsets(signal)
    along = np.zeros((len(points), 2))
    strict = np.zeros(len(points), dtype=bool)
    directions = _directions(levels, points[ridge], radius[ridge])
    for index, across in zip(ridge.tolist(), directions):
        strict[index], along[index] = _on_lip(
            levels, points[index], float(radius[index]), noise, across
        )
    rows = _rows(points[ridge], radius[ridge], along[ridge])
    count = np.bincount(rows, weights=strict[ridge], minlength=rows.max() + 1)
    lips[ridge] = count[rows] >= CHAIN
    return lips


def _rows(points, radius, along) -> np.ndarray:
    """Labels of the rows of ridge blobs along one ridge: each joined to another within
    ``LINK`` radii whose offset runs within ``ALIGNED`` of both ridges."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(points).query_pairs(LINK * float(radius.max()), output_type="ndarray")
    first, second = pairs.T if len(pairs) else (np.empty(0, int), np.empty(0, int))
    offsets = (points[second] - points[first]).astype(np.float64)
    distance = np.hypot(offsets[:, 0], offsets[:, 1])
    unit = offsets / np.maximum(distance, 1e-9)[:, None]
    linked = (
        (distance <= LINK * np.maximum(radius[first], radius[second]))
        & (np.abs((unit * along[first]).sum(1)) >= ALIGNED)
        & (np.abs((unit * along[second]).sum(1)) >= ALIGNED)
    )
    return component_labels(len(points), first[linked], second[linked])


def _without_line_offsets(signal) -> np.ndarray:
    """``signal`` levelled when its scan lines carry offsets of their own
    (:func:`~napari_ivae.core.detection.scan_levelling.scan_levelled`), else as it came.

    A line brighter than its neighbours is a ridge along the lines between two other levels,
    but the step is one line's offset, not the boundary of a region: levelled, it is gone
    (benchmarks/empty_frames.py "scan lines only" 512 s0: 6 ridge blobs along one line
    read as a lip)."""
    from napari_ivae.core.detection.scan_levelling import scan_levelled

    return scan_levelled(np.asarray(signal, dtype=np.float64))[0]


def _on_lip(signal, point, radius: float, noise: float, directions) -> tuple[bool, np.ndarray]:
    """Whether the ridge through ``point`` stands above the levels on both its sides, those two
    differ by more than its height above the higher one and by ``STEP_ERRORS`` standard errors
    of the ``noise``, and it runs on straight both ways along it, above the higher side and
    never the step above its own level; and the unit vector along the ridge. ``directions``:
    the unit vectors across and along it (:func:`_directions`)."""
    sigma = max(radius / np.sqrt(2.0), 1.0)
    reach = int(np.ceil(max(NEAR) * radius + 3 * sigma)) + 1
    low = np.maximum(np.asarray(point) - reach, 0)
    high = np.minimum(np.asarray(point) + reach + 1, signal.shape)
    window = np.asarray(signal[low[0] : high[0], low[1] : high[1]], dtype=np.float64)
    centre = np.asarray(point) - low
    across, along = directions
    sides = [centre + sign * np.outer(NEAR, across) * radius for sign in (-1.0, 1.0)]
    smooth = np.zeros(window.shape)  # the smoothed window, on the pixels read only
    _smooth_near(smooth, window, sigma, np.concatenate([centre[None, :], *sides]))
    first, second = (_inside(smooth, side) for side in sides)
    if first is None or second is None:
        return False, along  # the frame's edge cuts a side: no decision
    first, second = np.median(first), np.median(second)  # each side's level, taken once
    higher, step = max(first, second), abs(first - second)
    top = float(smooth[tuple(centre)])
    # a difference of two smoothed levels: its standard error sqrt(2) x their noise
    error = np.sqrt(2.0) * noise * smoothing_factor(sigma)
    if not (0 < top - higher < step and step > STEP_ERRORS * error):
        return False, along  # below a side: a crowd, a slope; no step: a rod on one background
    # a long edge's lip runs on straight; a bright rim's crest curves round its particle ...
    run = centre + np.outer(np.concatenate([ALONG, -np.asarray(ALONG)]), along) * radius
    _smooth_near(smooth, window, sigma, run)
    ridge = _inside(smooth, run)
    if ridge is None:
        return False, along
    # ... near its own level: a ridge climbing to a brighter particle or cluster is no lip
    return bool(ridge.min() > higher and ridge.max() < top + step), along


def _directions(signal, points, radius) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per blob at ``points`` (of ``radius``), the unit vectors across (the most negative
    curvature) and along the ridge there: the Hessian of ``signal`` smoothed by the blob's
    sigma (at least 1 px), read at its centre only.

    Only the centre's value is read: the filters run on the pixels their kernel reaches from
    it (the frame's own edge stays the edge), at the centre only
    (:func:`~napari_ivae.core.detection.gaussian_points.gaussian_at`), the blobs whose such
    windows are alike (scale, shape, centre) as one stack: each frame's numbers as alone.
    """
    shape = np.asarray(signal.shape)
    groups: dict[tuple, list[int]] = {}
    cuts = []
    for index, (point, blob_radius) in enumerate(zip(points, radius.tolist())):
        sigma = max(blob_radius / np.sqrt(2.0), 1.0)
        reach = int(4.0 * sigma + 0.5)  # scipy's kernel radius at its default truncate=4
        low = np.maximum(point - reach, 0)
        high = np.minimum(point + reach + 1, shape)
        cuts.append((low, high))
        key = (sigma, *(high - low).tolist(), *(point - low).tolist())
        groups.setdefault(key, []).append(index)
    hessians = np.zeros((len(points), 3))
    for (sigma, _, _, row, col), members in groups.items():
        near = np.stack(
            [signal[cuts[k][0][0] : cuts[k][1][0], cuts[k][0][1] : cuts[k][1][1]] for k in members]
        ).astype(np.float64, copy=False)
        for column, order in enumerate(((2, 0), (1, 1), (0, 2))):
            hessians[members, column] = gaussian_at(near, sigma, order, [row], [col])[:, 0]
    found = []
    for hessian in hessians.tolist():
        _, vectors = np.linalg.eigh(np.array([hessian[:2], hessian[1:]]))
        found.append((vectors[:, 0], vectors[:, 1]))
    return found


def _smooth_near(smooth, window, sigma: float, at) -> None:
    """Write ``ndimage.gaussian_filter(window, sigma, mode="reflect")`` into ``smooth`` on the
    pixels that :func:`_inside` reads at the coordinates ``at`` ``(K, 2)`` (those on the
    window).

    Each coordinate's linear interpolation reads the pixels at its floor and the next (at
    the last pixel, the one before), filtered by :func:`~napari_ivae.core.detection.
    gaussian_points.gaussian_at` (the same values to the bit) instead of the whole window:
    up to 260 px across at sigma 15 for about 13 points on real PtCo1."""
    at = np.asarray(at, dtype=np.float64).reshape(-1, 2)
    last = np.asarray(window.shape) - 1
    at = at[((at >= 0) & (at <= last)).all(axis=1)]
    low = np.minimum(np.floor(at).astype(np.int64), last - 1)
    corners = np.array([(0, 0), (0, 1), (1, 0), (1, 1)])
    flat = np.unique(np.ravel_multi_index((low[:, None, :] + corners[None]).T, window.shape))
    pixels = np.stack(np.unravel_index(flat, window.shape), axis=1)
    smooth[pixels[:, 0], pixels[:, 1]] = gaussian_at(
        window, sigma, (0, 0), pixels[:, 0], pixels[:, 1]
    )


def _inside(smooth, at) -> np.ndarray | None:
    """``smooth`` at the points ``at`` ``(K, 2)``; ``None`` when one lies off it."""
    if (at < 0).any() or (at > np.asarray(smooth.shape) - 1).any():
        return None
    return ndimage.map_coordinates(smooth, at.T, order=1)
