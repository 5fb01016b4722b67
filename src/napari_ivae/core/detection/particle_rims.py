"""Particles whose rim outshines their interior: the blobs along one rim counted once.

In a secondary-electron (SEM) image a sphere's edge is far brighter than its middle (the yield
grows as the surface tilts away from the beam); a hollow shell or a core-shell particle of a
light core looks alike in projection. The scale-space search then finds the rim's segments,
each a strong blob at a scale below the particle's, and nothing at the centre, whose level is
only a little above the substrate: one particle becomes a ring of 4-10 points.

:func:`one_per_rim` finds such rims in the frame itself and puts one particle at each centre.
On the frame smoothed by ``SMOOTH`` px, the basins no path to the frame's edge leaves without
climbing (each filled up to its lowest saddle, deeper than ``BASIN_NOISE`` x the smoothed
noise, at least ``MIN_BASIN`` px; found on the frame's 2 x 2 maxima) are the enclosed
interiors. Around each (its centroid, then
the centre of the circle through the rim's crests), along ``RAYS`` rays out to ``REACH`` x
the basin's radius, with heights above the median of the background beyond (outside every
kept disc), the first crest past the basin is the rim in that direction. It is one rim when

* the crest in every direction reaches ``RIM_LEVEL`` of the median crest and lies within
  ``ROUND`` of their median radius from the centre (a circle, not the crests of separate
  particles around a gap, whose directions between them cross the background);
* the interior (within ``INTERIOR`` of that radius) stands above the background by more
  than the smoothed noise reaches (one particle's face, not a hole among particles) and at
  most ``HOLLOW`` of the rim's height, and every crest rises above it;
* the rim (above half its crest's height) is narrower than ``RIM_WIDTH`` x its radius;
* at least ``MIN_MEMBERS`` kept blobs lie within the particle. A blob in its interior (the
  face between the rims, or the middle found too) is one of them: inside one closed rim it is
  the same particle.

The particle's radius is where the frame falls, outwards from the crest, to half the crest's
height (the median over the rays); the kept blobs within it are its rim's and go. A rim the
frame's edge cuts is found on the frame mirrored at its edges and read in the directions that
stay inside the frame (:mod:`~napari_ivae.core.detection.particle_rim_edges`), on a frame
where closed rims were found.
Measured on benchmarks/stranger_probe.py's SEM scene (spheres r 7-16, the middle 1.3 x the
substrate, the rim up to 5 x, side-detector shading 1 +- 0.35): at the spheres' true centres
the weakest crest is 0.34-0.7 of the median, the interior 0.14-0.42 of the rim, the rim's
width 0.3-0.64 of its radius; six touching solid spheres around an empty middle give a
weakest crest of 0.35 but an interior below the smoothed noise. On benchmarks/stranger_blind.py's
SEM scenes (the face 1.8 x the substrate, the rim up to 4 x): the interior 0.5-0.66 of the rim
on spheres of radius 10-16, and on most spheres of radius 13-20 a kept blob on the face
0.35-0.49 of the radius from the centre.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection import particle_rim_edges as rim_edges
from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.detection_memo import shared_gaussian

REACH = 2.0  # a rim's crest is searched out to this many times its basin's radius
MIN_MEMBERS = 2  # a rim holds at least this many kept blobs (one is counted once already)
ROUND = 0.5  # the crest in every direction lies within this share of its median radius
BASIN_NOISE = 3.0  # a basin is deeper than this many times the smoothed frame's noise
MIN_BASIN = 4  # pixels: a basin holds at least this many
RIM_LEVEL = 0.3  # the rim's crest in every direction reaches this share of its median height
UNEVEN = 0.25  # the crests vary about a shading (one cosine) by at most this share of the rim
RIM_WIDTH = 0.75  # the rim (above half its crest's height) is narrower than this x its radius
INTERIOR = 0.5  # the interior: within this share of the ring's radius of the centre
HOLLOW = 0.7  # the interior rises at most this share of the rim's height above the background
SMOOTH = 1.0  # px: the frame is smoothed this much (a rim is a thin line: no more)
RAYS = 16  # directions in which the particle's outer radius is measured
MIN_BACKGROUND = 20  # fewer background pixels around a ring than this: no decision


def one_per_rim(signal, points, radius, keep, pixel_noise):
    """The kept blobs with those along one bright rim replaced by one particle at its centre.

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
        The blobs, the rims' blobs no longer kept and one kept blob per rim appended.
    rims : int
        How many rims were found.
    """
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    keep = np.asarray(keep, dtype=bool)
    kept = np.flatnonzero(keep)
    centres, radii, members = rim_particles(signal, points[kept], radius[kept], pixel_noise)
    if not len(centres):
        return points, radius, keep, 0
    return with_joined(points, radius, keep, kept[np.concatenate(members)], centres, radii)


def with_joined(points, radius, keep, dropped, centres, radii) -> tuple:
    """``(points, radius, keep, count)``: the blobs at ``dropped`` no longer kept and one kept
    blob per joined particle (``centres``, ``radii``) appended."""
    keep = np.asarray(keep, dtype=bool).copy()
    keep[dropped] = False
    return (
        np.concatenate([points, centres]).astype(points.dtype),
        np.concatenate([radius, radii]),
        np.concatenate([keep, np.ones(len(centres), dtype=bool)]),
        len(centres),
    )


def rim_particles(signal, points, radius, pixel_noise):
    """The rings of blobs along one bright rim (see the module's overview).

    Parameters
    ----------
    signal : numpy.ndarray
        ``(Y, X)`` frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept blobs.
    radius : numpy.ndarray
        ``(N,)`` their radii (pixels).
    pixel_noise : float
        The frame's pixel noise (standard deviation).

    Returns
    -------
    centres : numpy.ndarray
        ``(M, 2)`` integer centres of the rims' particles.
    radii : numpy.ndarray
        ``(M,)`` their radii.
    members : list of numpy.ndarray
        Per rim, the indices (into ``points``) of its blobs.
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.detection_memo import remembered
    from napari_ivae.core.detection.particle_discs import within_discs

    none = (np.zeros((0, 2), dtype=np.int64), np.zeros(0), [])
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    if not len(points) or min(signal.shape) < 3:
        return none
    smoothed = shared_gaussian(signal, SMOOTH)
    # the basins no path to the frame's edge leaves without climbing: each interior enclosed
    # by a rim, filled up to the rim's lowest saddle. Found on the frame's 2 x 2 maxima (a
    # closed bright rim stays closed; a quarter of the pixels to sort)
    # the size range's two searches ask it of the same frame (the active memo's)
    depth = remembered("basin_depth", _basin_depth, smoothed)
    # the smoothed frame's noise: white noise through a Gaussian of SMOOTH px
    level = float(pixel_noise) / (2.0 * np.sqrt(np.pi) * SMOOTH)
    floor = BASIN_NOISE * level  # what the smoothed noise reaches: no basin, no interior
    basins, count = ndimage.label(depth > floor)
    if not count:
        return none
    outside = ~within_discs(signal.shape, points, radius + 1.0)
    search = (smoothed, floor, outside, cKDTree(points), points, radius)
    taken = np.zeros(len(points), dtype=bool)
    rings = _rings(search, basins, *_areas_and_centroids(basins, count), taken)
    # a rim the frame's edge cuts is open there; closed by its mirror image, its interior is
    # a basin of the mirrored frame that reaches the edge. Only on a frame of closed rims
    if rings:
        cut = rim_edges.cut_basins(smoothed, floor, radius, REACH, SMOOTH)
        rings += _rings(search, *cut, taken, cut=True, found=rings)
    if not rings:
        return none
    centres = np.array([[r[0], r[1]] for r in rings], dtype=np.int64)
    radii = np.array([r[2] for r in rings], dtype=np.float64)
    return centres, radii, [r[3] for r in rings]


def _rings(search, basins, area, at, taken, cut=False, found=()):
    """The rims round the basins labelled in ``basins`` (``area``, centroid ``at`` per label,
    largest first), their blobs marked ``taken``: ``[row, col, radius, members]`` each.
    ``cut``: rims the frame's edge cuts, beside those ``found`` already."""
    smoothed, floor, outside, tree, points, radius = search
    rings = []
    order = np.argsort(-area, kind="stable")
    order = order[area[order] >= MIN_BASIN]
    # every basin's blobs within reach of its centroid from one query (as basin by basin)
    reaches = REACH * (np.sqrt(area[order] / np.pi) + 2.0 * SMOOTH)
    centres = np.asarray(at, dtype=np.float64)[order].reshape(-1, 2)
    blobs = tree.query_ball_point(centres, reaches) if len(order) else []
    for k, centre, reach, near in zip(order.tolist(), centres, reaches.tolist(), blobs):
        basin = (basins, k + 1)
        near = np.asarray(near, dtype=np.int64)
        if not len(near) or taken[near].all():
            continue
        ring = _ring(
            smoothed, floor, outside, basin, centre, points[near], radius[near], reach, cut
        )
        if ring is None:
            continue
        # the rim's centre: the circle through its crests (the basin leans to a shaded side)
        centre = ring[2]
        if cut and not rim_edges.inside_frame(centre, smoothed.shape):
            continue
        near = np.asarray(tree.query_ball_point(centre, reach), dtype=np.int64)
        if not len(near):
            continue
        ring = _ring(
            smoothed, floor, outside, basin, centre, points[near], radius[near], reach, cut
        )
        if ring is None:
            continue
        members = near[ring[1] & ~taken[near]]
        same = [r for r in (*found, *rings) if cut and np.hypot(*(centre - r[:2])) < r[2]]
        if same:
            # a second basin of a rim already found (the mirror split its interior): its
            # blobs are that rim's
            same[0][3] = np.concatenate([same[0][3], members])
            taken[members] = True
            continue
        if len(members) < MIN_MEMBERS:
            continue
        rings.append([int(round(centre[0])), int(round(centre[1])), ring[0], members])
        taken[members] = True
    return rings


def _areas_and_centroids(labels, count):
    """Each label's pixel count and centroid: ``ndimage.sum_labels`` and
    ``ndimage.center_of_mass`` of ones, the same numbers (each label's coordinates summed by
    ``bincount`` in the same raster order), over the labelled pixels only."""
    at = np.flatnonzero(labels)
    which = labels.ravel()[at]
    rows, cols = np.divmod(at, labels.shape[1])
    area = np.bincount(which, minlength=count + 1)[1:].astype(np.float64)
    centroids = np.stack(
        [
            np.bincount(which, rows.astype(np.float64), minlength=count + 1)[1:] / area,
            np.bincount(which, cols.astype(np.float64), minlength=count + 1)[1:] / area,
        ],
        axis=1,
    )
    return area, centroids


def _basin_depth(smoothed) -> np.ndarray:
    """How far each pixel lies below the level at which it would drain to the frame's edge,
    measured on ``smoothed``'s 2 x 2 block maxima and repeated back to its pixels."""
    from napari_ivae.core.detection.edge_fill import filled_from_edge

    height, width = smoothed.shape
    padded = np.pad(smoothed, ((0, height % 2), (0, width % 2)), mode="edge")
    # each 2 x 2 block's maximum from its four strided corners (a maximum rounds nothing:
    # reshape(...).max(axis=(1, 3)) over two short strided axes took 25 x as long)
    pooled = np.maximum(
        np.maximum(padded[0::2, 0::2], padded[0::2, 1::2]),
        np.maximum(padded[1::2, 0::2], padded[1::2, 1::2]),
    )
    if min(pooled.shape) < 3:
        return np.zeros_like(smoothed)
    depth = filled_from_edge(pooled) - pooled
    return np.repeat(np.repeat(depth, 2, axis=0), 2, axis=1)[:height, :width]


def _ring(smoothed, floor, outside, basin, centre, points, radius, reach, cut=False):
    """``(particle radius, the blobs on the rim, the centre of the circle through its crests)``
    around ``centre``, or None where the frame holds no one rim there. ``cut``: the rim is
    one the frame's edge cuts; only the directions whose rim lies inside the frame are read,
    at least half of them, and at least one is not."""
    offsets = points - centre
    distance = np.hypot(offsets[:, 0], offsets[:, 1])
    row, col = int(centre[0]), int(centre[1])
    span = int(np.ceil(2.0 * reach))
    r0, r1 = max(row - span, 0), min(row + span + 1, smoothed.shape[0])
    c0, c1 = max(col - span, 0), min(col + span + 1, smoothed.shape[1])
    dy = np.arange(r0, r1)[:, None] - row
    dx = np.arange(c0, c1)[None, :] - col
    window = (slice(r0, r1), slice(c0, c1))
    far = (dy**2 + dx**2 > reach**2) & outside[window]
    if far.sum() < MIN_BACKGROUND:
        return None
    background = float(_median(smoothed[window][far]))
    # the crest along each ray out to ``reach``: its height, radius and width
    steps = np.arange(0.0, reach, 0.5)
    angles = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False)
    profiles = (
        _sample(smoothed, centre, np.repeat(angles, len(steps)), np.tile(steps, RAYS)).reshape(
            RAYS, len(steps)
        )
        - background
    )
    # the crest lies beyond the basin: inside it the interior may dip below the background
    # on a shaded side and rise again to the rim
    in_basin = (
        _sample(
            basin[0], centre, np.repeat(angles, len(steps)), np.tile(steps, RAYS), order=0
        ).reshape(RAYS, len(steps))
        == basin[1]
    )
    start = np.where(in_basin.all(axis=1), 0, (~in_basin).argmax(axis=1))
    crest = _crests(profiles, start)
    if cut:
        # a direction whose interior or rim (out to where it falls to half its crest) runs
        # over the frame's edge reads the edge's pixels repeated, not the rim: left out
        ends = _outer_ends(profiles, crest)
        read = ~in_basin.all(axis=1) & (
            steps[ends] + 1.0 < rim_edges.to_edge(centre, angles, smoothed.shape)
        )
        if read.all() or read.sum() < RAYS // 2:
            return None
        angles, profiles, crest = angles[read], profiles[read], crest[read]
    height = profiles[np.arange(len(angles)), crest]
    rim = float(np.median(height))
    if rim <= 0 or height.min() < RIM_LEVEL * rim:
        return None
    ring_radius = float(np.median(steps[crest]))
    if ring_radius <= 0 or np.abs(steps[crest] - ring_radius).max() > ROUND * ring_radius:
        return None  # no circle: the crests of separate things around a gap
    interior_disc = dy**2 + dx**2 <= (INTERIOR * ring_radius) ** 2
    interior = float(_median(smoothed[window][interior_disc])) - background
    if not (floor < interior <= HOLLOW * rim) or height.min() <= interior:
        return None  # no hollow, or a direction in which no crest rises above the interior
    if _uneven(height, angles) > UNEVEN * rim:
        return None  # bright where particles lie, dark between them: no one rim
    inner = np.array([_run_start(p, c, 0.5 * h) for p, c, h in zip(profiles, crest, height)])
    outer = _outer_ends(profiles, crest)
    width = float(np.median(steps[outer] - steps[inner]))
    if width > RIM_WIDTH * ring_radius:
        return None
    within = distance <= float(np.median(steps[outer])) + 1.0
    crests = centre + steps[crest][:, None] * np.column_stack([np.sin(angles), np.cos(angles)])
    return float(np.median(steps[outer])), within, _circle_centre(crests, centre)


def _outer_ends(profiles, crest) -> np.ndarray:
    """Per row, the last point outwards from its crest above half the crest's height."""
    height = profiles[np.arange(len(crest)), crest]
    return np.array([_run_end(p, c, 0.5 * h) for p, c, h in zip(profiles, crest, height)])


def _uneven(height, angles) -> float:
    """The root mean square of ``height`` about its best fit by a constant and one cosine
    around the circle (a side detector's shading): what varies faster than that."""
    design = np.column_stack([np.ones(len(angles)), np.cos(angles), np.sin(angles)])
    fit = design @ np.linalg.lstsq(design, height, rcond=None)[0]
    return float(np.sqrt(np.mean((height - fit) ** 2)))


def _circle_centre(points, fallback):
    """The centre of the circle fitted to ``points`` (least squares on the circle's algebraic
    form), or ``fallback`` where they fit none."""
    design = np.column_stack([points, np.ones(len(points))])
    target = (points**2).sum(axis=1)
    try:
        solution = np.linalg.lstsq(design, target, rcond=None)[0]
    except np.linalg.LinAlgError:
        return fallback
    centre = 0.5 * solution[:2]
    return centre if np.isfinite(centre).all() else fallback


def _crests(profiles, start) -> np.ndarray:
    """Per row of ``profiles``, the first crest outwards from ``start``: the first point from
    which the row falls below half its height before it rises above it (a neighbour beyond is
    no part of the rim), else the highest point from ``start``. All rows at once (the same
    comparisons as row by row, point by point)."""
    length = profiles.shape[1]
    position = np.arange(length)
    before = position[None, :] < start[:, None]
    from_start = np.where(before, -np.inf, profiles)
    candidate = ~before & (profiles == np.maximum.accumulate(from_start, axis=1)) & (profiles > 0)
    # from each point, the first point at or after it below half its height or above it
    level, later = profiles[:, :, None], profiles[:, None, :]
    ahead = position[None, None, :] >= position[None, :, None]
    falls = ahead & (later < 0.5 * level)
    stops = falls | (ahead & (later > level))
    first = np.argmax(stops, axis=2)[:, :, None]
    crest = candidate & stops.any(axis=2) & np.take_along_axis(falls, first, axis=2)[:, :, 0]
    return np.where(crest.any(axis=1), np.argmax(crest, axis=1), np.argmax(from_start, axis=1))


def _run_start(profile, crest, level) -> int:
    below = np.flatnonzero(profile[: crest + 1] < level)
    return int(below[-1] + 1) if len(below) else 0


def _run_end(profile, crest, level) -> int:
    below = np.flatnonzero(profile[crest:] < level)
    return int(crest + below[0] - 1) if len(below) else len(profile) - 1


def _sample(image, centre, angle, distance, order=1):
    from scipy import ndimage

    where = np.stack([centre[0] + distance * np.sin(angle), centre[1] + distance * np.cos(angle)])
    return ndimage.map_coordinates(image, where, order=order, mode="nearest")


__all__ = ["one_per_rim", "rim_particles", "with_joined"]
