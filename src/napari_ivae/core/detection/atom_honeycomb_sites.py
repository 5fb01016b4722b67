"""A honeycomb's atoms where its hexagon centres put them: bond maxima dropped, missed sites added.

In a phase-contrast (HRTEM) image of graphene with bright atoms, the bonds are nearly as bright
as the atoms (in the noiseless image of the benchmark's 80 kV graphene, atoms 1.030 of the mean,
bond centres 1.022, hexagon centres 0.91): the bright network's maxima land on atoms or on bond
centres as the noise decides, a bond's maximum half a spacing from both of its atoms. The
hexagon centres, however, are deep minima that no dose of interest hides, and they fix the
atoms by geometry: every triangle of three mutually neighbouring hexagon centres holds one atom
at its centroid (two per cell), and a bond's centre is the midpoint of two neighbouring atoms.
So, when :func:`~napari_ivae.core.detection.atom_honeycomb._bright_atoms` found the bright
extremes to form a honeycomb around a hexagonal lattice of dark ones (``params["honeycomb"]``):

* the hexagon centres are found as the frame's minima (the detector on the inverted frame, at
  the hexagon lattice's spacing, ``sqrt(3)`` atom spacings);
* the *sites* are the centroids of the Delaunay triangles of neighbouring hexagon centres
  (every side within ``SIDE_TOLERANCE`` of their median distance); two neighbouring centres
  share a bond, whose centre is their midpoint, with an atom ``a / (2 sqrt 3)`` either side;
* a found atom nearer to a bond's centre than to any atom site is the bond's maximum and is
  dropped (``counts["honeycomb_dropped"]``); one within ``SNAP_DISTANCE`` spacings of a site is
  placed at it (the centroid of three hexagon centres is far less noisy than the maximum of a
  nearly flat network: 0.016 against 0.12 spacings from the truth at dose 1000), one per site;
* a site holds an atom when its smoothed value stands at least ``MIN_DEPTH`` of the typical
  site's height over its three hexagon centres (:func:`site_depths`; measured: atoms 0.63 and
  more at dose 200, vacancies 0.18 and less); a found atom at an empty site is dropped and a
  filled site with no found atom within ``MATCH_DISTANCE`` spacings gets one at the centroid
  (``counts["honeycomb_added"]``).

Where no triangle is complete (the frame's edge, a hole's rim), the found atoms stay, unless
nearer to a bond's centre than to the atoms its two hexagon centres put beside it, or moved
more than ``RIM_KEEP`` spacings from the atom they put there. The positions at sites are the
sites' whatever ``refine`` asked. The step runs in
:func:`~napari_ivae.core.detection.atoms.detect_atoms` (in memory, every frame of a stack);
not in the chunked path (no whole frame), nor in a streamed stack's later frames (their
polarity is held, the check not run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from napari_ivae.core.detection._filters import gaussian_smooth

if TYPE_CHECKING:  # pandas is imported for a honeycomb only (a quarter of a second)
    import pandas as pd

SIDE_TOLERANCE = 0.2  # a triangle's sides within 20 % of the hexagon lattice's spacing
MATCH_DISTANCE = 0.35  # a site with no found atom this many spacings from it is missed
SNAP_DISTANCE = 0.5  # a found atom this many spacings from a site is its atom, placed there
RIM_KEEP = 0.25  # a found atom this near a rim site (see _rim_sites) stays where it is
MIN_DEPTH = 0.5  # a site holds an atom when at least half a typical atom over its hexagons
MIN_HEXAGONS = 12  # fewer hexagon centres say nothing about the lattice


def honeycomb_sites(frame, table: pd.DataFrame, params: dict, counts: dict, excluded=None):
    """The frame's atoms (``table``, as the detector found them) judged at a honeycomb's sites.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame, atoms bright (as detected).
    table : pandas.DataFrame
        The found atoms: ``row, col, intensity, prominence, snr, refine_shift, fit_ok``.
    params : dict
        The detector's resolved parameters; nothing is done unless ``params["honeycomb"]``.
    counts : dict
        The frame's counts; ``honeycomb_dropped``, ``honeycomb_added`` and ``found`` are
        updated.
    excluded : numpy.ndarray, optional
        ``(Y, X)`` mask where nothing may be detected.

    Returns
    -------
    pandas.DataFrame
        The table without the bonds' maxima and with the missed sites added.
    """
    if not params.get("honeycomb") or len(table) == 0:
        return table
    geometry = sites_of(hexagon_centres(frame, params, excluded))
    sites = geometry["sites"]
    if len(sites) == 0:
        return table
    smoothed = gaussian_smooth(np.asarray(frame, dtype=np.float32), params["sigma"])
    filled = site_depths(smoothed, geometry) >= MIN_DEPTH
    points = table[["row", "col"]].to_numpy(dtype=np.float64)
    bond = bond_maxima(points, geometry)
    rim = _rim_sites(geometry, sites, frame.shape, params["spacing"])
    table, empty = _at_sites(
        table[~bond].reset_index(drop=True),
        np.concatenate([sites, rim]),
        np.concatenate([filled, np.ones(len(rim), dtype=bool)]),
        np.arange(len(sites) + len(rim)) < len(sites),
        params["spacing"],
    )
    added = _missed_sites(smoothed, table, sites[filled], params, counts, excluded)
    dropped = int(bond.sum()) + empty
    counts.update(
        honeycomb_dropped=dropped,
        honeycomb_added=len(added),
        found=counts.get("found", 0) - dropped + len(added),
    )
    if len(added) == 0:
        return table
    import pandas as pd

    return pd.concat([table, added], ignore_index=True)


def hexagon_centres(frame, params: dict, excluded=None) -> np.ndarray:
    """``(M, 2)`` (row, col) of the frame's minima at the hexagon lattice's spacing: the
    detector (:func:`~napari_ivae.core.detection.atom_frame._detect_frame`) on the inverted
    frame, every spacing-based length ``sqrt(3)`` times the atoms'."""
    from napari_ivae.core.detection.atom_frame import frame_atoms
    from napari_ivae.core.detection.point_columns import points_of

    frame = np.asarray(frame, dtype=np.float32)
    inverted = (frame.max() + frame.min() - frame).astype(np.float32)
    scale = np.sqrt(3.0)
    lengths = ("spacing", "min_distance", "refine_radius", "merge_distance")
    hexagon_params = {**params, **{key: scale * params[key] for key in lengths}}
    hexagon_params.update(honeycomb=False, sublattice_vectors=None)
    found, _ = frame_atoms(inverted, hexagon_params, excluded)
    return points_of(found)


def sites_of(hexagons: np.ndarray) -> dict:
    """A honeycomb's atom sites and bond centres from its hexagon centres.

    Neighbouring hexagon centres are those within ``SIDE_TOLERANCE`` of the median
    nearest-neighbour distance ``a``. Two neighbours share a bond: its centre is their midpoint
    and its atoms lie ``a / (2 sqrt 3)`` either side of it, across the line joining them.

    Returns
    -------
    dict
        ``sites``: centroids of the Delaunay triangles whose sides are all neighbour
        distances (each holds one atom; an atom with three hexagons in the frame);
        ``bond_sites``: the atoms every neighbour pair puts either side of its bond (also at
        the frame's edge and a hole's rim, where a triangle is incomplete); ``bonds``: the
        bond centres; ``corners``: ``(K, 3, 2)``, each site's three hexagon centres. Empty
        arrays with fewer than ``MIN_HEXAGONS`` centres.
    """
    from scipy.spatial import Delaunay, QhullError, cKDTree

    empty = {key: np.zeros((0, 2)) for key in ("sites", "bond_sites", "bonds")}
    empty["corners"] = np.zeros((0, 3, 2))
    if len(hexagons) < MIN_HEXAGONS:
        return empty
    tree = cKDTree(hexagons)
    lattice = float(np.median(tree.query(hexagons, k=2)[0][:, 1]))
    try:
        corners = hexagons[Delaunay(hexagons).simplices]
    except QhullError:  # all on a line
        return empty
    sides = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2)
    regular = np.all(np.abs(sides / lattice - 1.0) <= SIDE_TOLERANCE, axis=1)
    pairs = tree.query_pairs((1.0 + SIDE_TOLERANCE) * lattice, output_type="ndarray")
    pairs = pairs.reshape(-1, 2)
    step = hexagons[pairs[:, 1]] - hexagons[pairs[:, 0]]
    pairs = pairs[np.hypot(*step.T) >= (1.0 - SIDE_TOLERANCE) * lattice]
    step = hexagons[pairs[:, 1]] - hexagons[pairs[:, 0]]
    bonds = 0.5 * (hexagons[pairs[:, 0]] + hexagons[pairs[:, 1]])
    across = np.column_stack([-step[:, 1], step[:, 0]]) / (2.0 * np.sqrt(3.0))
    return {
        "sites": corners[regular].mean(axis=1),
        "corners": corners[regular],
        "bond_sites": np.concatenate([bonds + across, bonds - across]),
        "bonds": bonds,
    }


def bond_maxima(points: np.ndarray, geometry: dict) -> np.ndarray:
    """Which ``points`` lie nearer to a bond's centre than to any atom site (``geometry`` as
    :func:`sites_of` gives it): a bond's maximum, not an atom."""
    from scipy.spatial import cKDTree

    sites = np.concatenate([geometry["sites"], geometry["bond_sites"]])
    if len(points) == 0 or len(geometry["bonds"]) == 0 or len(sites) == 0:
        return np.zeros(len(points), dtype=bool)
    to_site = cKDTree(sites).query(points)[0]
    to_bond = cKDTree(geometry["bonds"]).query(points)[0]
    return to_bond < to_site


def _rim_sites(geometry: dict, sites: np.ndarray, shape, spacing: float) -> np.ndarray:
    """The atoms two neighbouring hexagon centres put beside their bond (``bond_sites``) within
    one hexagon spacing of the frame's edge and away from every triangle's site: there the
    third hexagon centre lies outside the frame."""
    from scipy.spatial import cKDTree

    rim = geometry["bond_sites"]
    if len(rim) == 0:
        return rim
    edge = np.minimum(rim, np.asarray(shape) - 1 - rim).min(axis=1)
    rim = rim[(edge >= 0) & (edge <= np.sqrt(3.0) * spacing)]
    if len(rim) and len(sites):  # atoms are a spacing apart: nearer ones are the same atom
        rim = rim[cKDTree(sites).query(rim)[0] > 0.5 * spacing]
    if len(rim) < 2:
        return rim
    groups = _groups(rim, 0.5 * spacing)
    return np.stack([rim[groups == g].mean(axis=0) for g in np.unique(groups)])


def _groups(points: np.ndarray, reach: float) -> np.ndarray:
    """Group labels of ``points`` linked by distances within ``reach``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(points).query_pairs(reach, output_type="ndarray").reshape(-1, 2)
    links = coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points), len(points))
    )
    return connected_components(links, directed=False)[1]


def _at_sites(table, sites, filled, trusted, spacing: float) -> tuple[pd.DataFrame, int]:
    """The found atoms with those within ``SNAP_DISTANCE`` spacings of a site moved to it (the
    strongest one; any other there is the same atom found twice), and how many were left out
    at sites with no atom (``filled`` False: a vacancy). At a site not ``trusted`` (the rim's:
    two hexagon centres, one of them cut by the frame) only an atom farther than
    ``RIM_KEEP`` spacings is moved."""
    from scipy.spatial import cKDTree

    if len(table) == 0:
        return table, 0
    distance, site = cKDTree(sites).query(table[["row", "col"]].to_numpy(dtype=np.float64))
    at_site = distance <= SNAP_DISTANCE * spacing
    vacant = at_site & ~filled[site]
    table, distance, site, at_site = (
        table[~vacant].reset_index(drop=True),
        distance[~vacant],
        site[~vacant],
        at_site[~vacant],
    )
    order = np.lexsort((-table["prominence"].to_numpy(), np.where(at_site, site, -1)))
    first = np.ones(len(table), dtype=bool)
    ordered_site = np.where(at_site, site, -1)[order]
    first[order[1:]] = (ordered_site[1:] != ordered_site[:-1]) | (ordered_site[1:] < 0)
    table = table.copy()
    move = at_site & (trusted[site] | (distance > RIM_KEEP * spacing))
    table.loc[move, "row"] = sites[site[move], 0]
    table.loc[move, "col"] = sites[site[move], 1]
    return table[first].reset_index(drop=True), int(vacant.sum())


def site_depths(smoothed: np.ndarray, geometry: dict) -> np.ndarray:
    """Each site's height over its three hexagon centres in the smoothed frame, over the
    median of those heights (a typical atom 1, a vacancy near 0)."""
    from scipy import ndimage

    corners = geometry["corners"]
    if len(corners) == 0:
        return np.zeros(0)
    at = ndimage.map_coordinates(smoothed, geometry["sites"].T, order=1, mode="nearest")
    around = ndimage.map_coordinates(
        smoothed, corners.reshape(-1, 2).T, order=1, mode="nearest"
    ).reshape(-1, 3)
    height = at - around.mean(axis=1)
    typical = float(np.median(height))
    return height / typical if typical > 0 else np.zeros(len(height))


def _missed_sites(smoothed, table, sites, params, counts, excluded) -> pd.DataFrame:
    """Rows for the atom sites (``sites``, filled) no found atom is at."""
    import pandas as pd
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.peaks import ring_mean

    if len(table):
        near = cKDTree(table[["row", "col"]].to_numpy(dtype=np.float64)).query(sites)[0]
        sites = sites[near > MATCH_DISTANCE * params["spacing"]]
    border = max(float(params.get("border", 0.0)), 0.5 * params["spacing"])
    shape = np.asarray(smoothed.shape)
    sites = sites[np.all((sites >= border) & (sites <= shape - 1 - border), axis=1)]
    pixels = np.rint(sites).astype(np.int64)
    if excluded is not None and len(pixels):
        free = ~np.asarray(excluded, dtype=bool)[pixels[:, 0], pixels[:, 1]]
        sites, pixels = sites[free], pixels[free]
    if len(sites) == 0:
        return table.iloc[:0]
    values = smoothed[pixels[:, 0], pixels[:, 1]].astype(np.float64)
    prominence = values - ring_mean(smoothed, pixels, params["spacing"])
    noise = float(counts.get("noise", 0.0))
    rows = {
        "row": sites[:, 0],
        "col": sites[:, 1],
        "intensity": values,
        "prominence": prominence,
        "snr": prominence / noise if noise > 0 else np.full(len(sites), np.inf),
        "refine_shift": np.zeros(len(sites)),
        "fit_ok": np.zeros(len(sites), dtype=bool),
    }
    return pd.DataFrame({key: value for key, value in rows.items() if key in table.columns})


__all__ = ["bond_maxima", "hexagon_centres", "honeycomb_sites", "site_depths", "sites_of"]
