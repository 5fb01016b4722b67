"""Where atom peaks may be: the user's mask, the crystalline region and its rim.

Used by :func:`napari_ivae.core.detection.atoms.detect_atoms`: peaks in the excluded mask go; with
``crystal_only``, peaks outside the crystalline region (:mod:`napari_ivae.core.detection.crystal`) go,
except within ``RIM_ROWS`` spacings of it, where a peak stays when it continues the crystal's
lattice (:func:`rim_atoms`). The region's edge lies where the fringe amplitude falls to half
the crystal's, and a particle thins towards its rim: the last one or two rows of columns lie
beyond that edge (a particle on amorphous carbon: 31 % of its columns lie beyond 0.85 of its
radius, where the edge falls). The first row beyond the edge is judged against the crystal's
atoms, the second against those and the first row, and must stand ``OUTER_CONTRAST`` of a
typical column's contrast: two neighbours at the lattice's own vectors are something a bump on
the support rarely has, but the second row's neighbours are themselves only rim atoms.
Islands of the region smaller than the fringe amplitude's resolution cell are no crystal
(:func:`resolved`): an amorphous film's amplitude rises above the region's edge in spots that
size, and their bumps were kept as atoms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RIM_ROWS = 2  # rows of columns beyond the region's edge that may continue its lattice
# an atom of the second row stands at least this fraction of the region's median contrast
OUTER_CONTRAST = 0.5
ROW_STEPS = 4  # quiet surroundings: the rim's rows are grown this many times at most


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
    which lie on its rim (within ``RIM_ROWS`` spacings outside it, one for the confident first
    pass: the outermost atoms of a particle, thinner than its middle, whose fringe amplitude
    the low-pass halves)."""
    flags: dict[str, Any] = {
        "excluded": np.zeros(len(candidates), dtype=bool),
        "outside": np.zeros(len(candidates), dtype=bool),
        "edge": np.zeros(len(candidates), dtype=bool),
        "region": None,
        "mask": None,
        "crystal": None,
    }
    if excluded is not None and len(candidates):
        flags["excluded"] = excluded[candidates[:, 0], candidates[:, 1]]
    if params["crystal_only"] and len(candidates):
        from napari_ivae.core.detection.crystal import crystal_region
        from napari_ivae.core.detection.detection_memo import remembered

        region = resolved(
            remembered("crystal_region", crystal_region, frame, params["spacing"]),
            params["spacing"],
        )
        flags["region"] = region.summary()
        if region.found:
            beyond = ~flags["excluded"] & ~region.contains(candidates)
            rows = 1 if params.get("confident") else RIM_ROWS
            rim = region.contains(candidates, margin=rows * params["spacing"])
            flags["outside"] = beyond & ~rim
            flags["edge"] = beyond & ~flags["outside"]
            flags["mask"] = region.mask()
            flags["crystal"] = region
    return flags


def resolved(region, spacing: float):
    """``region`` less its islands smaller than the fringe amplitude's resolution cell.

    The amplitude is low-passed with a Gaussian of ``LOWPASS_SPACINGS`` spacings, so a
    noise excursion of the support's amplitude above the region's edge covers about the
    kernel's correlation area, ``4 pi sigma^2`` (6 spacings^2): an island no larger cannot
    be told from one and holds no lattice to speak of (a 30 px particle at 9 px spacing
    covers 15 spacings^2; amorphous carbon's islands 0.1-3). A region of such islands only
    is kept as found with nothing inside: the frame has a non-crystalline part and no
    crystal large enough to resolve.
    """
    import dataclasses

    from scipy import ndimage

    from napari_ivae.core.detection.crystal import LOWPASS_SPACINGS

    if not region.found:
        return region
    labels, count = ndimage.label(region.inside)
    if count == 0:
        return region
    cell = float(region.scale[0]) * float(region.scale[1])
    area = np.bincount(labels.ravel(), minlength=count + 1)[1:] * cell
    large = np.concatenate([[False], area > 4.0 * np.pi * (LOWPASS_SPACINGS * spacing) ** 2])
    if large[1:].all():
        return region
    return dataclasses.replace(region, inside=large[labels])


def rim_atoms(
    candidates, prominence, keep, at_edge, params: dict, quiet: bool = False
) -> np.ndarray:
    """Which kept candidates on the region's rim (``keep & at_edge``) are its outermost atoms.

    The first row: those that continue the lattice of the kept atoms inside the region
    (:func:`on_lattice`). The second (not in the confident first pass, whose atoms measure the
    geometry): those that continue the lattice of both and stand at least ``OUTER_CONTRAST``
    of the inner atoms' median contrast. ``quiet``: the rim was judged against the noise of
    quiet surroundings (:mod:`~napari_ivae.core.detection.atom_rim_cut`), where no bump on a
    support passes; then every rim candidate that continues the lattice of those found before
    it is an atom, row after row (up to ``ROW_STEPS`` rows; the rim is ``RIM_ROWS`` spacings
    deep), whatever its contrast: a particle's outermost columns are its thinnest.

    Returns
    -------
    (N,) bool array
    """
    core, rim = keep & ~at_edge, keep & at_edge
    first = rim & on_lattice(candidates, core, params["spacing"])
    if params.get("confident") or RIM_ROWS < 2 or not first.any():
        return first
    if quiet:
        strong = np.ones(len(candidates), dtype=bool)
    else:
        strong = prominence >= OUTER_CONTRAST * float(np.median(prominence[core]))
    found = first
    for _ in range(ROW_STEPS if quiet else 1):
        more = rim & ~found & strong & on_lattice(candidates, core | found, params["spacing"])
        if not more.any():
            break
        found = found | more
    return found


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


__all__ = ["allowed_candidates", "on_lattice", "resolved", "rim_atoms", "search_area"]
