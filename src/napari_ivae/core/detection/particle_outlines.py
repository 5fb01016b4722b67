"""Blobs along one particle's bright outline whose rim encloses no basin: counted once.

:mod:`~napari_ivae.core.detection.particle_rims` finds a bright rim (secondary electrons, a
shell) where it encloses a basin deeper than the smoothed noise. On a small sphere, or where
a side detector's shading leaves one side of the rim barely above the face, the smoothed rim
does not enclose the face: the 2-4 kept blobs on the rim stay separate particles.

:func:`one_per_outline` reads each particle's outline instead: on the frame smoothed by
``SMOOTH`` px, the connected areas above the background (the median off the kept blobs)
by more than the smoothed noise reaches (``BASIN_NOISE`` x its level, the rim finder's
floor). An area is read where it is round: its area at most ``ROUND_AREA`` x its inscribed
circle's (two touching particles, a particle and a streak or a shadow's edge, a ring of
particles round an empty middle are not), and it holds at least ``MIN_MEMBERS`` kept blobs.
Then

* where a blob near its middle (within ``OUTER`` of the inscribed radius) is at least
  ``SPAN`` x that radius (the particle found at its own scale), the other blobs within its
  inscribed circle are its rim's segments, or its shaded face's brighter half found at a
  second scale near the middle, and go (a particle beside it, inside its outline where a
  blur or a tip widened it, lies beyond that circle);
* where no blob spans it, but every blob lies on its rim (off its middle, within its
  inscribed circle, smaller than ``SPAN`` x its radius), the inscribed circle lies within
  the frame (an outline the frame's edge cuts is not seen whole), the face (its middle) stands
  below them by more than the smoothed noise's floor and no higher than the ring round it
  (the median beyond ``OUTER`` of the inscribed radius: a rim stands above its face; a
  support's grain seen through its thickness, a carbon-black sphere, is a dome highest in its
  middle, and blobs on it are particles lying on the support), the blobs are the rim's segments of
  one particle that the scale search missed at its own scale: one point at the outline's
  centre replaces them (a small or much-shaded sphere);
* where the area is not round (joined to a neighbour's wake along the scan lines, a shadow,
  a skirt), it is raised by the floor at a time (at most ``LEVELS`` levels) up to each
  blob's own level, the largest blob first, in a window of ``REACH`` x its radius: the first
  area holding the blob that is closed and round, its holes filled (a face below its rim
  leaves some), with the blob near its middle spanning it, takes the blobs within its
  inscribed circle found at a scale at most ``SPAN`` x the blob's (its rim's segments; two
  touching small particles' blobs differ less) as the first case does. Such a particle
  stands round above its surroundings: :mod:`~napari_ivae.core.detection.particle_auto` does
  not read it as a wake's maximum;
* otherwise nothing changes (merging all its blobs into one at its centre where its face
  is fainter than they are cost stranger_particles' bright-field rows up to 8 of 26
  particles: a large smooth area holding several particles; blobs on a round solid area
  as bright in its middle as at them are a cluster's particles).

Measured on benchmarks/stranger_blind.py's SEM scenes (spheres r 6-20, the face 1.8 x the
substrate, the rim up to 4 x, shaded by a side detector): each sphere whose rim the rim
finder missed holds its blob at its own scale (0.55-1.0 x the inscribed radius, 0.2-0.37 of
it off the centre) and 1-5 blobs of the smallest scale at 0.73-0.93 of it; outlines are
1.04-1.2 x their inscribed circle's area, two touching spheres 3-7 x. Spheres lying in a
charging sphere's wake share its area (2.4-7 x): raised 2-3 floors above the background they
are round, and their 1-3 rim blobs join them (sem_shadow_charging s0 116 -> 114 points, s1 116
-> 112, 110 spheres; one of them, on a wake that stays above half its face past it, the wake
test dropped once its brighter rim blobs were gone).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.detection_memo import shared_gaussian
from napari_ivae.core.detection.particle_rims import BASIN_NOISE, SMOOTH

ROUND_AREA = 1.35  # an outline's area is at most this x its inscribed circle's
OUTER = 0.5  # a rim's blob lies at least this share of the inscribed radius off the centre
SPAN = 0.5  # a blob at the middle at least this x the inscribed radius is the whole particle
MIN_MEMBERS = 2  # an outline holds at least this many kept blobs
REACH = (1 + OUTER) / SPAN  # a spanning blob's outline lies within this x its radius
LEVELS = 12  # an area not round is raised in at most this many levels
# ndimage.label's connectivity within each plane of a stack, none between planes
_IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
_IN_PLANE[1] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def one_per_outline(signal, points, radius, keep, pixel_noise, last=0, raised=False):
    """The kept blobs on one round outline with a fainter face replaced by its centre.

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
    last : int
        How many blobs at the end stay last (the rims' particles, which the labels read
        there); the outlines' particles go before them.
    raised : bool
        Whether to return the centres of the outlines found above a neighbour's wake, shadow or
        skirt too.

    Returns
    -------
    points, radius, keep : numpy.ndarray
        The blobs, the outlines' blobs no longer kept and one kept blob per outline inserted
        before the ``last`` ones.
    outlines : int
        How many outlines were found.
    standing : numpy.ndarray
        Only where ``raised``: ``(M, 2)`` the centres of those outlines found round only at a
        level raised above their surroundings (particles standing on a wake: no wake's maxima).
    """
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    keep = np.asarray(keep, dtype=bool)
    kept = np.flatnonzero(keep)
    none = np.zeros((0, 2), dtype=np.int64)
    if len(kept) < MIN_MEMBERS or min(signal.shape) < 3:
        return (points, radius, keep, 0, none) if raised else (points, radius, keep, 0)
    centres, radii, members, lifted = outline_particles(
        signal, points[kept], radius[kept], pixel_noise
    )
    if not len(centres):
        return (points, radius, keep, 0, none) if raised else (points, radius, keep, 0)
    keep = keep.copy()
    keep[kept[np.concatenate(members)]] = False
    at = len(points) - last
    found = (
        np.concatenate([points[:at], centres, points[at:]]).astype(points.dtype),
        np.concatenate([radius[:at], radii, radius[at:]]),
        np.concatenate([keep[:at], np.ones(len(centres), dtype=bool), keep[at:]]),
        len(centres),
    )
    return (*found, centres[lifted]) if raised else found


def outline_particles(signal, points, radius, pixel_noise):
    """The round outlines holding several kept blobs on a fainter face (the module's tests).

    Takes and returns what :func:`~napari_ivae.core.detection.particle_rims.rim_particles`
    does, one particle (centre, radius, member blobs) per outline instead of per rim, and
    which outlines were round only at a raised level (:func:`_raised`).
    """
    from scipy import ndimage

    from napari_ivae.core.detection.particle_discs import within_discs

    none = (np.zeros((0, 2), dtype=np.int64), np.zeros(0), [], np.zeros(0, dtype=bool))
    smoothed = shared_gaussian(signal, SMOOTH)
    outside = ~within_discs(signal.shape, points, radius + 1.0)
    if not outside.any():
        return none
    background = float(_median(smoothed[outside]))
    # the smoothed frame's noise (white noise through a Gaussian of SMOOTH px), as the rims'
    floor = BASIN_NOISE * float(pixel_noise) / (2.0 * np.sqrt(np.pi) * SMOOTH)
    areas, count = ndimage.label(smoothed > background + floor)
    at = areas[points[:, 0], points[:, 1]]
    labels, counts = np.unique(at[at > 0], return_counts=True)
    labels = labels[counts >= MIN_MEMBERS]
    centres, radii, members, lifted = [], [], [], []
    boxes = ndimage.find_objects(areas)
    for label in labels.tolist():
        found = _outline(smoothed, areas, boxes[label - 1], label, background, floor)
        if found is None:
            # joined to a neighbour's wake, shadow or skirt: each particle's own outline at
            # the lowest level above it where that outline is round
            for whole, rim in _raised(smoothed, areas, label, background, floor, points, radius):
                centres.append(points[whole].astype(np.int64))
                radii.append(float(radius[whole]))
                members.append(np.concatenate([[whole], rim]))
                lifted.append(True)
            continue
        centre, inscribed, _ = found
        inside = np.flatnonzero(at == label)
        offsets = np.hypot(*(points[inside] - centre).T)
        middle = offsets < OUTER * inscribed
        spans = middle & (radius[inside] >= SPAN * inscribed)
        if spans.any():
            # the particle found at its own scale: the other blobs within its inscribed circle
            # are its rim's segments or its face's brighter half (a particle beside it lies
            # beyond that circle)
            best = np.argmax(np.where(spans, radius[inside], -np.inf))
            whole = inside[best]
            rim = inside[(offsets <= inscribed) & (np.arange(len(inside)) != best)]
            if len(rim):
                centres.append(points[whole].astype(np.int64))
                radii.append(float(radius[whole]))
                members.append(np.concatenate([[whole], rim]))
                lifted.append(False)
            continue
        on_ring = ~middle & (offsets <= inscribed) & (radius[inside] < SPAN * inscribed)
        seen = bool(np.all(centre >= inscribed) and np.all(centre + inscribed < signal.shape))
        # (an outline the frame's edge cuts: its inscribed circle, and its rim, are not seen)
        if (
            seen
            and on_ring.all()
            and _face_below(smoothed, centre, inscribed, points[inside], floor)
            and not _dome(smoothed, centre, inscribed)
        ):
            # no blob at its own scale and none in its middle, the face fainter than the
            # blobs and no higher than the ring they lie on: they are the rim's segments of
            # one particle (on a solid area as bright in its middle, a cluster's particles;
            # on a dome, a support's grain thickest in its middle, particles lying on it)
            centres.append(np.round(centre).astype(np.int64))
            radii.append(inscribed)
            members.append(inside)
            lifted.append(False)
    if not centres:
        return none
    return np.array(centres, dtype=np.int64), np.array(radii), members, np.array(lifted)


def _raised(smoothed, areas, label, background, floor, points, radius):
    """``(spanning blob, its rim's blobs)`` for the kept blobs in the area ``label`` that is not
    round: raised from twice ``floor`` above ``background`` by ``floor`` at a time (at most
    ``LEVELS`` levels) up to a blob's own level, the first area holding it that is round, with
    the blob near its middle spanning it and other blobs within its inscribed circle (a
    particle in a neighbour's wake or skirt, standing above them)."""
    inside = np.flatnonzero(areas[points[:, 0], points[:, 1]] == label)
    found, free = [], np.ones(len(points), dtype=bool)
    for k in inside[np.argsort(-radius[inside], kind="stable")].tolist():
        if not free[k]:
            continue
        # an outline the blob spans has an inscribed radius of at most its radius / SPAN, its
        # centre within OUTER of that: its other blobs lie within REACH x the blob's radius;
        # they are its rim's segments, found at a scale at most SPAN x its own (two touching
        # small particles' blobs differ less: 1.41 against 2.05 px)
        near = np.hypot(*(points[inside] - points[k]).T) <= REACH * float(radius[k])
        others = inside[near & free[inside] & (radius[inside] <= SPAN * radius[k])]
        if not len(others):
            continue
        rim = _raised_outline(smoothed, background, floor, points, radius, k, others.tolist())
        if len(rim):
            found.append((k, rim))
            free[k] = False
            free[rim] = False
    return found


def _raised_outline(smoothed, background, floor, points, radius, k, others) -> np.ndarray:
    """The blobs of ``others`` on the outline that blob ``k`` spans at the first level where
    its area, in a window of ``REACH`` x its radius round it, is round (:func:`_raised`)."""
    from scipy import ndimage

    half = int(np.ceil(REACH * float(radius[k]))) + 2
    y0, x0 = max(int(points[k, 0]) - half, 0), max(int(points[k, 1]) - half, 0)
    window = smoothed[y0 : int(points[k, 0]) + half + 1, x0 : int(points[k, 1]) + half + 1]
    y, x = int(points[k, 0]) - y0, int(points[k, 1]) - x0
    local = points[others] - np.array([y0, x0])
    base, top = background + 2.0 * floor, float(window[y, x])
    levels = np.arange(base, top, max(floor, (top - base) / LEVELS)).tolist()
    if not levels:
        return np.zeros(0, dtype=np.int64)
    # every level's pieces by one labelling of the levels' stack, each plane apart: the
    # pieces a label call per level finds, at a fifth of the calls' cost
    parts = ndimage.label(np.stack([window > level for level in levels]), _IN_PLANE)[0]
    masks = parts == parts[:, y, x, None, None]
    # those closed within the window (not cut by the frame's edge either)
    closed = ~(masks[:, [0, -1], :].any(axis=(1, 2)) | masks[:, :, [0, -1]].any(axis=(1, 2)))
    for mask in masks[closed]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        widest = min(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
        if float(mask.sum()) > ROUND_AREA * np.pi * (widest / 2.0) ** 2:
            continue  # more than its box's narrower side's circle allows: not round
        # the face below the rim leaves holes at a raised level: the outline holds them
        # (padded by one pixel of background as np.pad(box, 1), without its machinery)
        boxed = np.zeros((rows[-1] - rows[0] + 3, cols[-1] - cols[0] + 3), dtype=bool)
        boxed[1:-1, 1:-1] = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        boxed = ndimage.binary_fill_holes(boxed)
        distance = ndimage.distance_transform_edt(boxed)
        inscribed = float(distance.max())
        if inscribed < 1.0 or float(boxed.sum()) > ROUND_AREA * np.pi * inscribed**2:
            continue
        centre = np.array(np.unravel_index(int(np.argmax(distance)), distance.shape))
        centre += np.array([rows[0] - 1, cols[0] - 1])
        if np.hypot(y - centre[0], x - centre[1]) >= OUTER * inscribed or (
            radius[k] < SPAN * inscribed
        ):
            break
        # within its inscribed circle and its filled outline
        at = local - np.array([rows[0] - 1, cols[0] - 1])
        held = np.all((at >= 0) & (at < boxed.shape), axis=1)
        held[held] = boxed[at[held, 0], at[held, 1]]
        near = np.hypot(*(local - centre).T) <= inscribed
        return np.asarray(others, dtype=np.int64)[near & held]
    return np.zeros(0, dtype=np.int64)


def among(points, centres) -> np.ndarray:
    """Which of ``points`` (``(N, 2)``) are one of ``centres`` (``(M, 2)``, such as the
    outlines standing above their surroundings that :func:`one_per_outline` returns)."""
    if not len(centres) or not len(points):
        return np.zeros(len(points), dtype=bool)
    return (points[:, None, :] == np.asarray(centres)[None, :, :]).all(axis=2).any(axis=1)


def _face_below(smoothed, centre, inscribed, points, floor) -> bool:
    """Whether the face (within ``OUTER`` of the inscribed radius of ``centre``) stands below
    the blobs at ``points`` (their median, each a 3 x 3 mean) by more than ``floor``."""
    at = [_square_mean(smoothed, y, x) for y, x in np.asarray(points).tolist()]
    face, _ = _face_and_ring(smoothed, centre, inscribed)
    return bool(face.size) and float(np.median(at)) - float(np.mean(face)) > floor


def _dome(smoothed, centre, inscribed) -> bool:
    """Whether the face (within ``OUTER`` of the inscribed radius of ``centre``) stands above
    the ring beyond it, out to the inscribed radius (its mean above the ring's median): a
    dome, such as a support's grain seen through its thickness, not a rim round a face."""
    face, ring = _face_and_ring(smoothed, centre, inscribed)
    return bool(face.size and ring.size) and float(np.mean(face)) > float(_median(ring))


def _face_and_ring(smoothed, centre, inscribed) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of ``smoothed`` within ``OUTER`` of the inscribed radius of ``centre`` (the
    face) and those beyond it out to the inscribed radius (the ring), in row-major order."""
    reach = int(np.ceil(inscribed))
    y, x = (int(round(v)) for v in centre)
    r0, c0 = max(y - reach, 0), max(x - reach, 0)
    window = smoothed[r0 : y + reach + 1, c0 : x + reach + 1]
    rows, cols = np.indices(window.shape)
    distance = np.hypot(rows + r0 - centre[0], cols + c0 - centre[1])
    face = window[distance <= OUTER * inscribed]
    ring = window[(distance > OUTER * inscribed) & (distance <= inscribed)]
    return face, ring


def _square_mean(frame, y, x) -> float:
    """The mean of ``frame`` over the 3 x 3 square at ``(y, x)`` (the edge's pixels repeated)."""
    rows = np.clip(np.arange(y - 1, y + 2), 0, frame.shape[0] - 1)
    cols = np.clip(np.arange(x - 1, x + 2), 0, frame.shape[1] - 1)
    return float(np.mean(frame[np.ix_(rows, cols)]))


def _outline(smoothed, areas, box, label, background, floor):
    """``(centre, inscribed radius, equivalent radius)`` of the area ``label`` in ``box``, or
    None where it is not round (the area over its inscribed circle's above ``ROUND_AREA``)."""
    from scipy import ndimage

    grown = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
    mask = areas[grown] == label
    distance = ndimage.distance_transform_edt(mask)
    inscribed = float(distance.max())
    area = float(mask.sum())
    if inscribed < 1.0 or area > ROUND_AREA * np.pi * inscribed**2:
        return None
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    centre = np.array([row + grown[0].start, col + grown[1].start], dtype=np.float64)
    return centre, inscribed, float(np.sqrt(area / np.pi))


__all__ = ["among", "one_per_outline", "outline_particles"]
