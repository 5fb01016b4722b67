"""Columns of a crystal on a support where its own lattice puts them and no peak was found.

A particle on amorphous carbon lies on the carbon's texture, whose bumps are as large as the
atoms' and as wide: where a dip of it falls on a column, or a bump beside one, the column's
peak sinks into the texture or moves onto the bump (on the stranger "particle on amorphous C"
about 25 columns of 380 inside the particle, each a miss and, where it moved, a false column
3-5 px away). The crystal's lattice says where they are: every site that at least
``MIN_PREDICTIONS`` found atoms put there (each plus one of the lattice's nearest-neighbour
vectors), with no atom within ``MATCH_DISTANCE`` spacings, is judged by its local contrast
(the detector's: smoothed value less the ring mean) against the contrast at places of the
frame away from the crystal (the support's own texture): it holds a column when it stands
above ``1 - FALSE_SITE`` of those. A found atom off every site with a filled site beside it
was the moved peak, and goes.

The vectors are the frame's (the most common directions of the atoms' pair vectors, in 5 degree
bins): grains turned less than that apart share a blend of theirs, and their sites fall off
by up to a few tenths of a spacing, where the contrast then fails the test (nothing added).

Only where the frame has a distinct crystalline region (:mod:`~napari_ivae.core.detection.crystal`):
the places away from it are the null, and a crystal that fills the frame has none.
"""

from __future__ import annotations

import numpy as np

MIN_PREDICTIONS = 3  # a site is where at least this many found atoms put it
MATCH_DISTANCE = 0.35  # spacings: a site with no atom this near is missed
MERGE_DISTANCE = 0.25  # spacings: predictions this close are one site
FALSE_SITE = 0.1  # share of the support's places whose contrast a filled site may fall below
MOVED_DISTANCE = 0.6  # spacings: an atom off every site this near a filled site was its peak
MIN_NULL_PLACES = 100  # fewer places away from the crystal say nothing about its support


def lattice_sites(frame, table: dict, params: dict, counts: dict, excluded=None) -> dict:
    """``table`` (the frame's atoms, column arrays) with its crystal's missed sites filled.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame, atoms bright (as detected).
    table : dict
        Column arrays ``row, col, intensity, prominence, snr, refine_shift`` (and ``fit_ok``).
    params : dict
        The detector's resolved parameters (``spacing``, ``sigma``, ``border``,
        ``crystal_only``).
    counts : dict
        The frame's counts; ``lattice_added``, ``lattice_dropped`` and ``found`` are updated.
    excluded : numpy.ndarray, optional
        ``(Y, X)`` mask where nothing may be detected.

    Returns
    -------
    dict
        The table with the filled sites appended and the moved peaks left out.
    """
    from napari_ivae.core.detection.point_columns import points_of, row_count

    counts.update(lattice_added=0, lattice_dropped=0)
    if not params.get("crystal_only") or row_count(table) < 4 * MIN_PREDICTIONS:
        return table
    region = _region(frame, params["spacing"])
    if region is None:
        return table
    points = points_of(table)
    sites = _sites(points[region.contains(points)], params["spacing"])
    sites = sites[_usable(sites, frame.shape, params, excluded)]
    if len(sites) == 0:
        return table
    from scipy.spatial import cKDTree

    spacing = params["spacing"]
    missed = sites[cKDTree(points).query(sites)[0] > MATCH_DISTANCE * spacing]
    smoothed = _smoothed(frame, params["sigma"])
    null = _support_contrasts(smoothed, region, params, excluded)
    if len(missed) == 0 or len(null) < MIN_NULL_PLACES:
        return table
    contrast = _contrast(smoothed, missed, spacing)
    strong = contrast >= np.quantile(null, 1.0 - FALSE_SITE)
    added, contrast = missed[strong], contrast[strong]
    if len(added) == 0:
        return table
    off_site = cKDTree(sites).query(points)[0] > MATCH_DISTANCE * spacing
    moved = off_site & (cKDTree(added).query(points)[0] < MOVED_DISTANCE * spacing)
    noise = counts.get("noise", 0.0)
    new = {
        "row": added[:, 0],
        "col": added[:, 1],
        "intensity": _sample(smoothed, added),
        "prominence": contrast,
        "snr": contrast / noise if noise > 0 else np.full(len(added), np.inf),
        "refine_shift": np.zeros(len(added)),
        "fit_ok": np.zeros(len(added), dtype=bool),
    }
    kept = ~moved
    result = {
        name: np.concatenate([np.asarray(values)[kept], np.asarray(new[name], dtype=values.dtype)])
        for name, values in ((n, np.asarray(v)) for n, v in table.items())
    }
    counts.update(
        lattice_added=len(added),
        lattice_dropped=int(moved.sum()),
        found=row_count(result),
    )
    return result


def lattice_vectors(points: np.ndarray, spacing: float) -> np.ndarray:
    """The lattice's nearest-neighbour vectors (both signs): the median of the atoms' pair
    vectors (0.7-1.3 spacings) in each direction that holds at least 15 % as many as the
    most common one (5 degree bins)."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(points).query_pairs(1.3 * spacing, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros((0, 2))
    vectors = points[pairs[:, 1]] - points[pairs[:, 0]]
    vectors = vectors[np.hypot(*vectors.T) >= 0.7 * spacing]
    flip = (vectors[:, 0] < 0) | ((vectors[:, 0] == 0) & (vectors[:, 1] < 0))
    vectors[flip] *= -1  # one half-plane: v and -v are one direction
    angle = np.degrees(np.arctan2(vectors[:, 0], vectors[:, 1])) % 180.0
    bins = (angle // 5).astype(int) % 36
    hist = np.bincount(bins, minlength=36)
    found = []
    for k in range(36):
        if hist[k] < 0.15 * hist.max() or hist[k] < hist[k - 1] or hist[k] <= hist[(k + 1) % 36]:
            continue
        centre = 5.0 * k + 2.5
        near = np.abs((angle - centre + 90.0) % 180.0 - 90.0) < 7.5
        found.append(np.median(vectors[near], axis=0))
    found_vectors = np.asarray(found).reshape(-1, 2)
    return np.concatenate([found_vectors, -found_vectors])


def _sites(core: np.ndarray, spacing: float) -> np.ndarray:
    """Places at least ``MIN_PREDICTIONS`` core atoms put a neighbour (their mean)."""
    from scipy.spatial import cKDTree

    vectors = lattice_vectors(core, spacing)
    if len(core) < MIN_PREDICTIONS or len(vectors) == 0:
        return np.zeros((0, 2))
    predicted = (core[:, None, :] + vectors[None, :, :]).reshape(-1, 2)
    groups = cKDTree(predicted).query_ball_point(predicted, MERGE_DISTANCE * spacing)
    sizes = np.array([len(group) for group in groups])
    used = np.zeros(len(predicted), dtype=bool)
    sites = []
    for index in np.argsort(-sizes, kind="stable"):
        if used[index] or sizes[index] < MIN_PREDICTIONS:
            continue
        group = [j for j in groups[index] if not used[j]]
        used[group] = True
        if len(group) >= MIN_PREDICTIONS:
            sites.append(predicted[group].mean(axis=0))
    return np.asarray(sites).reshape(-1, 2)


def _usable(sites, shape, params, excluded) -> np.ndarray:
    border = max(float(params.get("border", 0.0)), 0.5 * params["spacing"])
    inside = np.all((sites >= border) & (sites <= np.array(shape) - 1 - border), axis=1)
    if excluded is not None and inside.any():
        at = np.rint(sites[inside]).astype(int)
        inside[np.flatnonzero(inside)] = ~excluded[at[:, 0], at[:, 1]]
    return inside


def _region(frame, spacing):
    from napari_ivae.core.detection.atom_region import resolved
    from napari_ivae.core.detection.crystal import crystal_region
    from napari_ivae.core.detection.detection_memo import remembered

    region = resolved(remembered("crystal_region", crystal_region, frame, spacing), spacing)
    return region if region.found and region.inside.any() else None


def _support_contrasts(smoothed, region, params, excluded) -> np.ndarray:
    """Contrasts at places on a grid of half a spacing two rim bands or more from the crystal."""
    from napari_ivae.core.detection.atom_region import RIM_ROWS

    spacing = params["spacing"]
    step = max(1, int(round(0.5 * spacing)))
    grid = np.stack(
        np.meshgrid(
            np.arange(spacing, smoothed.shape[0] - spacing, step),
            np.arange(spacing, smoothed.shape[1] - spacing, step),
            indexing="ij",
        ),
        axis=-1,
    ).reshape(-1, 2)
    away = ~region.contains(grid, margin=2 * RIM_ROWS * spacing)
    if excluded is not None:
        away &= ~excluded[grid[:, 0], grid[:, 1]]
    places = grid[away].astype(np.float64)
    flat = _flat(smoothed, places)
    return _contrast(smoothed, places[~flat], spacing)


def _flat(smoothed, places) -> np.ndarray:
    """Places in constant areas (padding, blanking): no texture to compare with."""
    at = np.rint(places).astype(int)
    from scipy import ndimage

    spread = ndimage.maximum_filter(smoothed, size=3) - ndimage.minimum_filter(smoothed, size=3)
    return spread[at[:, 0], at[:, 1]] <= 0


def _contrast(smoothed, places, spacing) -> np.ndarray:
    from napari_ivae.core.detection.peaks import ring_mean

    if len(places) == 0:
        return np.zeros(0)
    return _sample(smoothed, places) - ring_mean(smoothed, np.rint(places).astype(int), spacing)


def _sample(smoothed, places) -> np.ndarray:
    from scipy import ndimage

    return ndimage.map_coordinates(smoothed, np.asarray(places).T, order=1, mode="nearest")


def _smoothed(frame, sigma: float) -> np.ndarray:
    from napari_ivae.core.detection._filters import gaussian_smooth

    return gaussian_smooth(np.asarray(frame, dtype=np.float32), sigma)


__all__ = ["FALSE_SITE", "MIN_PREDICTIONS", "lattice_sites", "lattice_vectors"]
