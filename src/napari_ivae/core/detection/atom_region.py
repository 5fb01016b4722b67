"""Where atom peaks may be: the user's mask, the crystalline region and its rim.

Used by :func:`napari_ivae.core.detection.atoms.detect_atoms`: peaks in the excluded mask go; with
``crystal_only``, peaks outside the crystalline region (:mod:`napari_ivae.core.detection.crystal`) go,
except within one spacing of it, where a peak stays when it continues the crystal's lattice.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def search_area(flat, excluded, region_mask) -> float:
    """Pixels where a peak may be found: not flat, not excluded, in the crystalline region."""
    usable = ~flat
    if excluded is not None:
        usable &= ~excluded
    if region_mask is not None:
        usable &= region_mask
    return float(max(usable.sum(), 1))


def allowed_candidates(frame, candidates, params, excluded) -> dict:
    """Which candidates the user mask excludes, which lie outside the crystalline region and
    which lie on its rim (within one spacing outside it: the outermost atoms of a particle,
    whose fringe amplitude the low-pass halves)."""
    flags: dict[str, Any] = {
        "excluded": np.zeros(len(candidates), dtype=bool),
        "outside": np.zeros(len(candidates), dtype=bool),
        "edge": np.zeros(len(candidates), dtype=bool),
        "region": None,
        "mask": None,
    }
    if excluded is not None and len(candidates):
        flags["excluded"] = excluded[candidates[:, 0], candidates[:, 1]]
    if params["crystal_only"] and len(candidates):
        from napari_ivae.core.detection.crystal import crystal_region
        from napari_ivae.core.detection.detection_memo import remembered

        region = remembered("crystal_region", crystal_region, frame, params["spacing"])
        flags["region"] = region.summary()
        if region.found:
            beyond = ~flags["excluded"] & ~region.contains(candidates)
            flags["outside"] = beyond & ~region.contains(candidates, margin=params["spacing"])
            flags["edge"] = beyond & ~flags["outside"]
            flags["mask"] = region.mask()
    return flags


def on_lattice(points, core, spacing, neighbours: int = 2) -> np.ndarray:
    """Whether each point continues the lattice of the ``core`` points: at least
    ``neighbours`` core points lie from it at one of the core's own nearest-neighbour
    vectors (within 0.2 spacings). A rim atom does; a bump on the support next to the crystal
    rarely does."""
    from scipy.spatial import cKDTree

    result = np.zeros(len(points), dtype=bool)
    if core.sum() < 3 or not len(points):
        return result
    anchors = points[core].astype(np.float64)
    tree = cKDTree(anchors)
    pairs = tree.query_pairs(1.3 * spacing, output_type="ndarray")
    vectors = anchors[pairs[:, 1]] - anchors[pairs[:, 0]]
    vectors = vectors[np.hypot(*vectors.T) >= 0.7 * spacing]
    if len(vectors) == 0:
        return result
    lattice = cKDTree(np.concatenate([vectors, -vectors]))
    for index in np.flatnonzero(~core):
        near = tree.query_ball_point(points[index], 1.3 * spacing)
        if len(near) < neighbours:
            continue
        offsets = anchors[near] - points[index]
        matched = lattice.query(offsets, distance_upper_bound=0.2 * spacing)[0] < np.inf
        result[index] = matched.sum() >= neighbours
    return result


__all__ = ["allowed_candidates", "on_lattice", "search_area"]
