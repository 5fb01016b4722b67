"""The searched scales made to cover the kept particles' own size distribution.

The search reaches down to ``SEARCH_FROM`` x the chosen scale
(:func:`~napari_ivae.core.detection.particle_candidates.search_scales`), and the chosen scale is
the one whose strongest blobs stand out most: where the sizes spread over a decade (a log-normal
catalyst or colloid), the large particles set it and the smallest ones lie below the floor. The
kept particles' sizes tell where that happened: a distribution cut off by the floor has its
mode there (most kept particles, at least ``FAINT_TAIL[0]`` of them, sit at the floor's scale).
Then the search is run once more an octave lower (:func:`covered_blobs`; lowering again while
the new floor is still the mode reached noise: precision 0.30). The scales below the first
floor are cut at what the background far from the kept particles reaches there
(:func:`background_maxima_levels`: the opposite side's maxima, at most ``FAINT_FALSE`` of them
expected above it over those scales), never below the noise floor: the pooled cut was measured
on the candidate scales and does not know the background at the new ones.
"""

from __future__ import annotations

import numpy as np

OCTAVE = 2.0  # each further pass searches down to the floor over this


def covered_blobs(kept_blobs, filled, masked, skip, requested):
    """``kept_blobs(filled, masked, skip, requested, below)`` (``below`` None: the first
    search), and where most of its kept particles sit at its floor, searched again an octave
    lower: the particles found below the first floor, apart from every first one, are added
    (module docstring); a first point on no particle of its own that one overlaps gives way
    to it (:func:`~napari_ivae.core.detection.particle_range_overlaps.uncentred`;
    ``used["range_replaced"]``). ``used["range_floor"]``: the lowered floor (None where not lowered).
    """
    from napari_ivae.core.detection.particle_range_overlaps import uncentred
    from napari_ivae.core.detection.particle_scale_space import blob_scales
    from napari_ivae.core.detection.particle_surround import round_peaks

    grid = blob_scales(filled.shape)
    points, radius, keep, on_layer, used = kept_blobs(filled, masked, skip, requested)
    used["range_floor"] = None
    bottom = int(np.argmin(np.abs(grid - used["search_sigmas"][0])))
    if on_layer or bottom == 0 or not piled_at_floor(radius[keep] / np.sqrt(2.0), grid[bottom]):
        return points, radius, keep, on_layer, used
    # the grid point at or below an octave under the floor (at least one step down)
    lower = min(int(np.searchsorted(grid, grid[bottom] / OCTAVE * (1 + 1e-9))) - 1, bottom - 1)
    below = (grid[max(lower, 0)], grid[bottom], points[keep], radius[keep])
    more, more_radius, more_keep, _, _ = kept_blobs(filled, masked, skip, requested, below)
    more, more_radius = more[more_keep], more_radius[more_keep]
    new = more_radius / np.sqrt(2.0) < grid[bottom] * (1 - 1e-9)
    # a first point on no particle of its own gives way to a lower one over it
    signal = filled if used["polarity"] == "bright" else -filled
    first = np.flatnonzero(keep)
    gives = uncentred(signal, points[first], radius[first], (more[new], more_radius[new]))
    stays = first[~gives]
    new &= apart_from(more, more_radius, points[stays], radius[stays])
    # cut at the opposite side's level, which never holds a one-sided ridge (a rod's end, a
    # support's strand): an added particle's peak must be round
    new[new] = round_peaks(signal, more[new], more_radius[new] / np.sqrt(2.0))
    gone = first[gives & ~apart_from(points[first], radius[first], more[new], more_radius[new])]
    keep = keep.copy()
    keep[gone] = False
    used.update(
        range_floor=round(float(below[0]), 3), range_added=int(new.sum()), range_replaced=len(gone)
    )
    return (
        np.concatenate([points, more[new]]),
        np.concatenate([radius, more_radius[new]]),
        np.concatenate([keep, np.ones(int(new.sum()), dtype=bool)]),
        on_layer,
        used,
    )


def apart_from(points, radius, centres, radii) -> np.ndarray:
    """Whether each disc (``points``, ``radius``) overlaps none of the discs (``centres``,
    ``radii``): a piece of a kept particle's rim or end overlaps it."""
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    apart = np.ones(len(points), dtype=bool)
    if not len(points) or not len(centres):
        return apart
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    radii = np.asarray(radii, dtype=np.float64).reshape(-1)
    reach = radius + float(radii.max())
    for index, near in enumerate(cKDTree(centres).query_ball_point(points, reach)):
        if near:
            distance = np.hypot(*(centres[near] - points[index]).T)
            apart[index] = bool((distance > radii[near] + radius[index]).all())
    return apart


def piled_at_floor(kept_sigma, floor: float) -> bool:
    """Whether most of ``kept_sigma``, and at least ``FAINT_TAIL[0]`` of them, lie at the
    searched ``floor``: a size distribution cut off there (fewer tell no distribution: a few
    noise blobs on an empty frame sit at the floor too)."""
    from napari_ivae.core.detection.particle_faint import FAINT_TAIL

    kept_sigma = np.asarray(kept_sigma, dtype=np.float64)
    at_floor = np.count_nonzero(np.isclose(kept_sigma, floor, rtol=1e-6))
    return bool(at_floor >= FAINT_TAIL[0] and at_floor > 0.5 * len(kept_sigma))


def lowered_scales(shape, scales, below) -> np.ndarray:
    """``scales`` with the grid's scales from ``below[0]`` up to them put in front."""
    from napari_ivae.core.detection.particle_scale_space import blob_scales

    if below is None:
        return scales
    grid = blob_scales(shape)
    start = int(np.argmin(np.abs(grid - below[0])))
    return np.concatenate([grid[start : int(np.argmin(np.abs(grid - scales[0])))], scales])


def added_count(scales, below) -> int:
    """How many of ``scales`` lie below the first search's floor (none without ``below``)."""
    return 0 if below is None else int(np.searchsorted(scales, below[1] * (1 - 1e-9)))


def lowered_bounds(bounds, response, scales, polarity, skip, below, frame=None) -> np.ndarray:
    """``bounds`` with the scales below the first floor (``below[1]``) bounded by what the
    background far from the first search's kept particles (``below[2:]``) reaches there
    (carried over to the particles' side of a skewed noise where ``frame``, the particles'
    polarity positive, is given)."""
    if below is None:
        return bounds
    added = added_count(scales, below)
    bounds = np.array(bounds, dtype=np.float64)
    if added:
        bounds[:added] = background_maxima_levels(
            response[: added + 1],
            polarity,
            below[2],
            below[3],
            skip,
            (scales[: added + 1], frame),
        )[:added]
    return bounds


def background_maxima_levels(
    response, polarity, points, radius, skip=None, skewed=None
) -> np.ndarray:
    """Per scale of ``response``, the level above which ``FAINT_FALSE`` (over all its scales)
    of the background's maxima are expected outside the kept particles (``points``,
    ``radius``).

    The background's maxima are the opposite polarity's maxima in scale and space, searched as the
    candidates are (3 x 3 x 3), more than ``FAINT_NULL`` median radii beyond every kept rim; their
    tail past the strongest max(``FAINT_TAIL``), extended exponentially and scaled from their area
    to the area outside the kept particles (as
    :func:`~napari_ivae.core.detection.particle_far_background.background_levels`, whose square
    windows hold fewer maxima than the candidates' search finds); ``inf`` where too few were found.
    ``skewed``: ``(scales, frame)``, the response's scales and the frame with the particles'
    polarity positive. Where its noise is skewed toward the particles' side (a
    photomultiplier's or an EMCCD's gain, counting noise at a few counts) the opposite side
    reaches less far: each level is raised to the lower of two estimates of the particles'
    side's, the counts' skew model
    (:func:`~napari_ivae.core.detection.particle_far_background.skewed_levels`, less the
    level's own standard error, as step 8 does) and the level scaled by the background's
    own two sides' ratio (:func:`side_ratios`). Each alone overstates it somewhere: the model
    where a camera's symmetric noisy pixels dilute the skew (puncta in cells on an sCMOS:
    1.42 where the maxima measure 1.04-1.05; 13 puncta lost), the ratio where the small
    particles this search is for are many in the background (log-normal sizes). Confocal
    beads on a PMT: the opposite side alone let 8-45 noise maxima through.
    """
    from napari_ivae.core.detection._filters import maximum_filter3
    from napari_ivae.core.detection.field_noise import null_sample, tail_level
    from napari_ivae.core.detection.particle_faint import FAINT_NULL, FAINT_TAIL
    from napari_ivae.core.detection.particle_far_background import FAINT_FALSE

    levels = np.full(len(response), np.inf)
    background, area = null_sample(response.shape[1:], points, radius, FAINT_NULL, skip)
    if not area:
        return levels
    allowed = FAINT_FALSE / len(response)
    opposite = -response if polarity == "bright" else np.array(response)
    is_max = (opposite == maximum_filter3(opposite)) & (opposite > 0) & background
    errors = np.zeros(len(response))
    for index in range(len(response)):
        values = np.sort(opposite[index][is_max[index]])
        levels[index] = tail_level(values, area, allowed, *FAINT_TAIL)
        if len(values) >= FAINT_TAIL[0]:
            tail = max(FAINT_TAIL[0], int(FAINT_TAIL[1] * len(values)))
            errors[index] = (levels[index] - float(values[-tail])) / np.sqrt(tail)
    if skewed is None or skewed[1] is None or not np.isfinite(levels).any():
        return levels
    from napari_ivae.core.detection.particle_far_background import skewed_levels

    scales, frame = skewed
    shifted = skewed_levels(levels, np.asarray(response), scales, frame, background)
    # a shift within the level's own error is none the opposite side can resolve
    shifted = np.where(np.isfinite(shifted), np.maximum(levels, shifted - errors), shifted)
    ratio = np.maximum(side_ratios(response, polarity, background, is_max), 1.0)
    return np.minimum(shifted, levels * ratio)


def side_ratios(response, polarity, background, opposite_max=None) -> np.ndarray:
    """Per scale, the particles' side's maxima over ``background`` over the opposite side's,
    each at its ``FAINT_SYMMETRY`` quantile (3 x 3 x 3 maxima of each side; 1 where either
    side holds fewer than ``FAINT_TAIL[0]``); ``opposite_max``: the opposite side's maxima
    over ``background`` where the caller found them already."""
    from napari_ivae.core.detection._filters import maximum_filter3
    from napari_ivae.core.detection.particle_faint import FAINT_SYMMETRY, FAINT_TAIL

    ratios = np.ones(len(response))
    signal = np.asarray(response) if polarity == "bright" else -np.asarray(response)
    sides = [signal, -signal]
    peaks = [
        (side == maximum_filter3(side)) & (side > 0) & background if found is None else found
        for side, found in zip(sides, (None, opposite_max))
    ]
    for index in range(len(response)):
        values = [side[index][at[index]] for side, at in zip(sides, peaks)]
        if min(len(v) for v in values) >= FAINT_TAIL[0]:
            level = [float(np.quantile(v, FAINT_SYMMETRY)) for v in values]
            ratios[index] = level[0] / level[1] if level[1] > 0 else 1.0
    return ratios


__all__ = [
    "added_count",
    "apart_from",
    "background_maxima_levels",
    "covered_blobs",
    "lowered_bounds",
    "lowered_scales",
    "piled_at_floor",
    "side_ratios",
]
