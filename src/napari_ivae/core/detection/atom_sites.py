"""A weaker sub-lattice's atoms, looked for and judged where the unit cell's average puts them.

Part of :func:`~napari_ivae.core.detection.atoms.detect_atoms` (see its module's overview): when
``params`` hold a weaker sub-lattice (:mod:`~napari_ivae.core.detection.motif`), its sites are
each strong atom plus a basis vector (:func:`wanted_places`), a candidate within
``SITE_TOLERANCE`` spacings of one is at it (:func:`maxima_at_places`), and the cut there is
the lowest contrast from which up the candidates found alike at the cell's empty places are at
most ``FALSE_DISCOVERY`` of the sites' (:func:`judged_at_sites`).
"""

from __future__ import annotations

import numpy as np

SITE_TOLERANCE = 0.25  # a candidate this many spacings from a sub-lattice site is at it


def judges_sites(params: dict) -> bool:
    """Whether the frame's candidates are judged at a weaker sub-lattice's sites too."""
    return bool(params.get("sublattice_vectors")) and params["threshold"] == "auto"


def judged_at_sites(candidates, prominence, keep, places, params, counts, n_extra) -> np.ndarray:
    """``keep`` with the weak candidates at the sub-lattice's sites that pass the sites' cut
    (:func:`_site_cut`) added; ``counts`` updated (the ``n_extra`` candidates found at the
    places, last in ``candidates``, were not counted yet)."""
    sites, controls = _at_places(candidates, places, prominence < places["level"], params)
    controls &= ~keep
    if sites.any():
        site_cut = _site_cut(prominence[sites], prominence[controls], params)
        added = sites & ~keep & (prominence >= site_cut)
        keep = keep | added
        counts.update(
            candidates=counts["candidates"] + n_extra,
            below_threshold=counts["below_threshold"] + n_extra - int(added.sum()),
            sublattice_cut=float(site_cut),
            sublattice_added=int(added.sum()),
        )
    return keep


def _sublattice_places(candidates, prominence, kept, params) -> dict:
    """Where a weaker sub-lattice's atoms should be (see :mod:`.motif`): each strong kept atom
    plus each basis vector measured in the unit cell's average (``sites``), and plus each
    empty vector, places of the cell where the average has a minimum (``controls``, as many).
    Strong: kept, with a contrast of at least the square root of the sub-lattice's relative
    contrast times the kept atoms' 90th percentile (the geometric middle of the two)."""
    places = {"sites": np.zeros((0, 2)), "controls": np.zeros((0, 2)), "level": np.inf}
    if not kept.any():
        return places
    level = np.sqrt(params["sublattice_contrast"]) * np.percentile(prominence[kept], 90)
    strong = candidates[kept & (prominence >= level)].astype(np.float64)
    places["level"] = float(level)
    for name, key in (("sites", "sublattice_vectors"), ("controls", "sublattice_empty")):
        vectors = np.asarray(params.get(key) or [], dtype=np.float64).reshape(-1, 2)
        places[name] = (strong[:, None, :] + vectors[None, :, :]).reshape(-1, 2)
    return places


def wanted_places(candidates, places, params) -> np.ndarray:
    """The sites and control places (in that order) that no candidate is within
    ``SITE_TOLERANCE`` spacings of: where a maximum is looked for."""
    from scipy.spatial import cKDTree

    wanted = np.concatenate([places["sites"], places["controls"]])
    if len(wanted) and len(candidates):
        near, _ = cKDTree(candidates.astype(np.float64)).query(wanted)
        wanted = wanted[near > SITE_TOLERANCE * params["spacing"]]
    return wanted


def maxima_at_places(maxima, band_values, wanted, params) -> np.ndarray:
    """Indices of the local maxima (``(M, 2)`` pixels in row-major order, their band-passed
    values) that a wanted place keeps: each maximum goes to its nearest place, within
    ``SITE_TOLERANCE`` spacings, and each place keeps its highest (ordered by place)."""
    from scipy.spatial import cKDTree

    if len(maxima) == 0 or len(wanted) == 0:
        return np.zeros(0, dtype=np.int64)
    distance, place = cKDTree(wanted).query(np.asarray(maxima, dtype=np.float64))
    index = np.flatnonzero(distance <= SITE_TOLERANCE * params["spacing"])
    place = place[index]
    order = np.lexsort((-np.asarray(band_values)[index], place))
    first = order[np.r_[True, place[order][1:] != place[order][:-1]]] if len(order) else order
    return index[first]


def _at_places(candidates, places, weak, params) -> tuple[np.ndarray, np.ndarray]:
    """``weak`` candidates within ``SITE_TOLERANCE`` spacings of a sub-lattice site, and
    those at a control place (not at a site)."""
    from scipy.spatial import cKDTree

    found = []
    for name in ("sites", "controls"):
        if len(places[name]) == 0 or len(candidates) == 0:
            found.append(np.zeros(len(candidates), dtype=bool))
            continue
        distance, _ = cKDTree(places[name]).query(candidates.astype(np.float64))
        found.append(weak & (distance <= SITE_TOLERANCE * params["spacing"]))
    sites, controls = found
    return sites, controls & ~sites


def _site_cut(site_prominence, control_prominence, params) -> float:
    """The lowest contrast from which up the candidates at the empty places of the cell (as
    many places as sites) are at most ``FALSE_DISCOVERY`` of those at the sub-lattice's
    sites: the image's own noise at a place with no atom, measured where the unit cell's
    average says none is. Without empty places: the detector's cut over the sites' area."""
    from napari_ivae.core.detection.atom_threshold import FALSE_DISCOVERY

    levels = np.sort(np.asarray(site_prominence, dtype=np.float64))
    levels = levels[levels > 0]
    if len(levels) == 0:
        return np.inf
    if not params.get("sublattice_empty"):
        return float(levels[0])
    control = np.sort(np.asarray(control_prominence, dtype=np.float64))
    ratio = len(params["sublattice_vectors"]) / len(params["sublattice_empty"])
    sites_above = len(levels) - np.arange(len(levels))
    controls_above = (len(control) - np.searchsorted(control, levels, side="left")) * ratio
    failing = np.flatnonzero(controls_above > FALSE_DISCOVERY * sites_above)
    first = failing[-1] + 1 if len(failing) else 0
    return float(levels[first]) if first < len(levels) else np.inf


__all__ = [
    "judged_at_sites",
    "judges_sites",
    "maxima_at_places",
    "wanted_places",
]
