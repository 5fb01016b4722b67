"""A lattice's atoms where its translations put them: missed sites judged, points off the
lattice judged, noisy positions averaged.

At a low dose an atom's maximum in the smoothed frame wanders (graphene at 17.5 px, a dozen
counts an atom: half the maxima more than 3 px from the atom, a tenth beyond the 0.35-spacing
match) or is no maximum at all, and a weak noise maximum between the columns passes the cut
that a lattice earns (its columns leave noise no free room). The frame's translations
(:mod:`~napari_ivae.core.detection.lattice_translations`) tell them apart: every atom of a
crystal is one translation from another, a noise maximum from none. Once the frame's atoms
are found (:func:`lattice_sites`, after the detector's cut, for every frame in memory and for
a chunked frame read whole):

* where the atoms' partners put them ``NOISY`` spacings or more from where they were found
  (the median), each atom is placed at the mean of its position and its partners' puts
  (``AVERAGINGS`` times, partners found again each time: the lattice refitted locally, so a
  distorted one is followed one translation at a time); from ``MOVE`` spacings (positions that
  noisy say nothing of strain) those are the atoms' positions, two then closer than the merge
  distance one atom;
* a *site* is a place at least ``SUPPORT`` of the translations put from found atoms, with no
  found atom within ``FAR`` spacings (:func:`missed_sites`). It holds an atom when its matched
  response (the frame smoothed as the detector smooths, less its mean over a square of
  ``2 BACKGROUND`` spacings: the whole atom's dose at a known place) passes the lattice's
  *holes*, the places farthest from every atom (:func:`holes`): the lowest response at which
  the holes above it, scaled to as many places, are at most ``FALSE_DISCOVERY`` of the sites
  above it (:func:`judge_sites`). A vacancy's neighbours are a spacing away and a hole's as
  near or nearer, so a hole is no darker than a vacancy, and vacancies stay empty;
* a found atom with no found atom within ``LONE`` spacings of any of its translations is
  judged as the detector judges a frame of lone atoms: white noise of the frame's level counted
  over the area off the lattice, with the strict floor of the first pass (:func:`lone_cut`).

Nothing is done with a given threshold, fewer than ``MIN_ATOMS`` atoms or no two translations
(amorphous, a few atoms, grains none of which holds most atoms), but for the grains' own
lattices: where the spacing came from the spectrum's lattice, squares about a grain wide whose
atoms make a lattice that is not the frame's have their missed sites judged alike
(:mod:`~napari_ivae.core.detection.lattice_grains`). ``refine=None`` keeps the found
positions and puts added atoms on whole pixels. Counts: ``lattice_spread`` (the median, in
spacings), ``lattice_moved``, ``lattice_added``, ``lattice_dropped``, ``grain_added``.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.lattice_translations import (
    MIN_ATOMS,
    averaged,
    nearest_within,
    partners,
    spread,
    translations,
)

TOLERANCE = 0.25  # puts this many spacings apart put the same site
FAR = 0.5  # a site no found atom is this many spacings near is missed
NOISY = 0.06  # the partners' spread (spacings) from which positions are averaged to judge
MOVE = 0.1  # ... and from which the averaged positions are the atoms' (noise, not strain)
SUPPORT = 0.5  # a site is put there by at least this share of the translations
LONE = 0.5  # an atom with no found atom this many spacings from a translation of it is lone
STEP = 0.15  # the holes are looked for on a raster of this many spacings
PEAK_REACH = 0.4  # a hole is the farthest place within this many spacings
MAX_HOLES = 5000  # holes judged at most
HOLE = 1.6  # a hole is at most this many spacings from the lattice's atoms (not vacuum)
GAP = 0.45  # holes lie this many spacings from every atom, site and put
SITE_ROUNDS = 2  # sites are looked for again with the atoms the first round added
AVERAGINGS = 3  # the partners are found again from the averaged positions this many times
BACKGROUND = 2.0  # the matched response's background: a square this many spacings either side


def lattice_sites(frame, table: dict, params: dict, counts: dict, excluded=None) -> dict:
    """The frame's atoms judged on the lattice their translations make (module docstring).

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame, atoms bright.
    table : dict
        The found atoms' columns (``row, col, intensity, prominence, snr, refine_shift,
        fit_ok``).
    params : dict
        The detector's resolved parameters (``spacing``, ``sigma``, ``refine_radius``,
        ``border``, ``threshold``); nothing is done unless the threshold is automatic.
    counts : dict
        The frame's counts; ``lattice_moved``, ``lattice_added``, ``lattice_dropped`` and
        ``found`` are updated.
    excluded : numpy.ndarray, optional
        ``(Y, X)`` mask where nothing may be detected.

    Returns
    -------
    dict
        The table with averaged positions, judged sites added and unpartnered points that
        fail dropped.
    """
    from napari_ivae.core.detection.peaks import merge_close_points
    from napari_ivae.core.detection.point_columns import points_of, row_count

    if params.get("threshold") != "auto" or row_count(table) < MIN_ATOMS:
        return table
    spacing = float(params["spacing"])
    points = points_of(table).astype(np.float64)
    shifts = translations(points, spacing)
    if len(shifts) == 0:  # no lattice over the frame: perhaps one in each grain
        return _with_grain_sites(frame, table, (points, None, None), params, counts, excluded)
    partner, distance = partners(points, shifts, spacing, LONE)
    measured, noise = points, spread(points, partner, shifts)
    if noise > NOISY * spacing:
        for _ in range(AVERAGINGS):
            points = averaged(measured, points, partner, shifts)
            partner, distance = partners(points, shifts, spacing, LONE)
    moved = len(points) if noise > MOVE * spacing and params.get("refine") else 0
    lone = (distance > LONE * spacing).all(axis=1)
    sites, site_response = judged_sites(frame, points, lone, shifts, params, excluded)
    lone_pass = np.ones(len(points), dtype=bool)
    if lone.any():
        prominence = np.asarray(table["prominence"], dtype=np.float64)[lone]
        area = _off_area(points[~lone], sites, frame.shape, spacing)
        lone_pass[lone] = prominence >= lone_cut(frame, prominence, area, params)
    table = {name: np.asarray(values) for name, values in table.items()}
    if moved:
        table["row"], table["col"] = points[:, 0], points[:, 1]
    table = {name: values[lone_pass] for name, values in table.items()}
    sites = sites if params.get("refine") else np.rint(sites)  # refine=None: integer peaks
    added = _site_rows(sites, site_response, table, float(counts.get("noise", 0.0)))
    table = {name: np.concatenate([table[name], added[name]]) for name in table}
    merged = 0
    if moved:  # two maxima of one noisy atom, averaged onto its site
        table, merged = merge_close_points(table, params["merge_distance"])
    dropped = int((~lone_pass).sum()) + merged
    counts.update(
        lattice_moved=int(moved),
        lattice_spread=round(float(noise / spacing), 4),
        lattice_added=len(sites),
        lattice_dropped=dropped,
        found=int(counts.get("found", 0) + len(sites) - dropped),
    )
    # a polycrystal's other grains: squares where most atoms have partners along fewer than
    # SUPPORT of the frame's translations (another grain's meet this one's by chance at
    # some), whose own lattice is not the frame's
    partnered = (partner >= 0).sum(axis=1) >= SUPPORT * len(shifts)
    grains = (measured[lone_pass], shifts, partnered[lone_pass])
    return _with_grain_sites(frame, table, grains, params, counts, excluded)


def _with_grain_sites(frame, table, grains, params, counts, excluded) -> dict:
    """The table with the missed sites of the grains whose lattice is not the frame's
    (:func:`~napari_ivae.core.detection.lattice_grains.grain_sites`; ``grains``: the atoms,
    the frame's translations and which atoms have partners along them, ``None`` for both
    when the frame has none), counted in ``grain_added`` and ``found``. Only where the
    spacing came from the spectrum's lattice (``spacing_source`` "auto": a polycrystal's
    grains share its reflections' ring): an amorphous network's rings, whose spacing comes
    from a diffuse ring or the blob scale, hold patches of a honeycomb's order by chance. Not
    where the frame has a distinct crystalline region either (a particle on a support: the
    squares over its rim took sites off it on the real Au frame's variants)."""
    from napari_ivae.core.detection.lattice_grains import grain_sites
    from napari_ivae.core.detection.point_columns import points_of

    if params.get("spacing_source") != "auto":  # no lattice in the spectrum: none in a grain
        return table
    if (counts.get("crystal_region") or {}).get("found"):  # a crystal on a support, no grains
        return table
    taken = points_of(table).astype(np.float64)
    points, shifts, partnered = grains
    sites, response = grain_sites(frame, points, params, excluded, taken, shifts, partnered)
    if len(sites) == 0:
        return table
    sites = sites if params.get("refine") else np.rint(sites)
    table = {name: np.asarray(values) for name, values in table.items()}
    added = _site_rows(sites, response, table, float(counts.get("noise", 0.0)))
    table = {name: np.concatenate([table[name], added[name]]) for name in table}
    counts.update(grain_added=len(sites), found=int(counts.get("found", 0) + len(sites)))
    return table


def judged_sites(frame, points, lone, shifts, params, excluded):
    """The sites that hold atoms and their responses: judged (:func:`judge_sites`) in up to
    ``SITE_ROUNDS`` rounds, each with the atoms of the rounds before (a site whose two
    opposite neighbours were both missed is put in the next round)."""
    spacing = float(params["spacing"])
    found, response = [np.zeros((0, 2))], [np.zeros(0)]
    for _ in range(SITE_ROUNDS):
        sites = missed_sites(points, shifts, spacing, frame.shape, params, excluded)
        passed, values = judge_sites(frame, points, sites, lone, shifts, params)
        if not passed.any():
            break
        found.append(sites[passed])
        response.append(values[passed])
        points = np.concatenate([points, sites[passed]])
        lone = np.concatenate([lone, np.zeros(int(passed.sum()), dtype=bool)])
    return np.concatenate(found), np.concatenate(response)


def missed_sites(points, shifts, spacing, shape, params, excluded=None) -> np.ndarray:
    """``(M, 2)`` places that at least ``SUPPORT`` of the translations put from found atoms,
    two opposite ones among them (between atoms: not past the crystal's edge), no found atom
    within ``FAR`` spacings, inside the border and not excluded. Puts within ``TOLERANCE``
    spacings of each other are one place, at their mean. ``shifts`` holds each translation
    and then, in the same order, its opposite (:func:`translations`)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    put = (points[:, None, :] + shifts[None, :, :]).reshape(-1, 2)
    source = np.tile(np.arange(len(shifts)), len(points))
    near, _ = nearest_within(points, put, FAR * spacing)
    far = near > FAR * spacing
    put, source = put[far], source[far]
    if len(put) == 0:
        return np.zeros((0, 2))
    pairs = cKDTree(put).query_pairs(TOLERANCE * spacing, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(put),) * 2)
    n_groups, group = connected_components(graph, directed=False)
    by = np.zeros((n_groups, len(shifts)), dtype=bool)  # which translations put each place
    by[group, source] = True
    half = len(shifts) // 2
    between = (by[:, :half] & by[:, half:]).any(axis=1)
    sites = np.column_stack(
        [np.bincount(group, weights=put[:, axis]) / np.bincount(group) for axis in (0, 1)]
    )
    sites = sites[(by.sum(axis=1) >= SUPPORT * len(shifts)) & between]
    border = max(float(params.get("border", 0.0)), 0.0)
    inside = np.all((sites >= border) & (sites <= np.array(shape) - 1 - border), axis=1)
    sites = sites[inside]
    if excluded is not None and len(sites):
        pixel = np.rint(sites).astype(np.int64)
        sites = sites[~np.asarray(excluded, dtype=bool)[pixel[:, 0], pixel[:, 1]]]
    return sites


def judge_sites(frame, points, sites, lone, shifts, params) -> tuple[np.ndarray, np.ndarray]:
    """Which sites hold an atom: their matched response (:func:`matched_response`) against
    the same response at the lattice's holes (:func:`holes`), by :func:`_cut`. Returns the
    verdicts and the responses."""
    if len(sites) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    spacing = float(params["spacing"])
    on_lattice = np.concatenate([points[~lone], sites])
    places = holes(on_lattice, points[~lone], shifts, frame.shape, spacing, params)
    response = matched_response(frame, np.concatenate([sites, places]), params)
    site_response, control = response[: len(sites)], response[len(sites) :]
    return site_response >= _cut(site_response, control), site_response


def lone_cut(frame, prominence, area: float, params: dict) -> float:
    """The detector's automatic cut (:func:`~.atom_threshold.contrast_cut`) for the lone
    atoms alone, as if the frame held only them in ``area`` pixels: white noise of the
    frame's level counted over the free area (the lattice's columns do not vouch for them)."""
    from napari_ivae.core.detection.atom_frame import _null_contrasts
    from napari_ivae.core.detection.atom_threshold import contrast_cut
    from napari_ivae.core.detection.peaks import flat_mask, smoothed_noise

    frame = np.asarray(frame, dtype=np.float32)
    flat = flat_mask(frame)
    skip = flat if flat.any() else None
    return contrast_cut(
        prominence,
        smoothed_noise(frame, 0.0, skip),
        smoothed_noise(frame, params["sigma"], skip),
        max(area, 1.0),
        {**params, "confident": True},
        _null_contrasts,
    )


def matched_response(frame, places, params) -> np.ndarray:
    """At each place, the frame smoothed as the detector smooths it (``params["sigma"]``, the
    atoms' width within its bounds: a matched filter for a known place) less its mean over a
    square ``BACKGROUND`` spacings either side (the slow background)."""
    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.refine import _sample

    frame = np.asarray(frame, dtype=np.float32)
    smoothed = gaussian_smooth(frame, params["sigma"])
    smoothed = _sample(smoothed, np.asarray(places, dtype=np.float64))
    return smoothed.astype(np.float64) - _box_means(frame, places, BACKGROUND * params["spacing"])


def _box_means(frame, places, half: float) -> np.ndarray:
    """Mean of ``frame`` over about the square of ``half`` pixels either side of each place
    (clipped to the frame): a summed-area table of the frame's block means, blocks of a
    quarter of ``half``."""
    block = max(int(half // 4), 1)
    rows, cols = (frame.shape[0] // block) * block, (frame.shape[1] // block) * block
    coarse = frame[:rows, :cols].reshape(rows // block, block, cols // block, block)
    coarse = coarse.mean(axis=(1, 3), dtype=np.float64)
    table = np.zeros((coarse.shape[0] + 1, coarse.shape[1] + 1))
    table[1:, 1:] = np.cumsum(np.cumsum(coarse, axis=0), axis=1)
    centre = np.floor(np.asarray(places, dtype=np.float64) / block).astype(np.int64)
    reach = max(int(round(half / block)), 1)
    low = np.clip(centre.reshape(-1, 2) - reach, 0, np.array(coarse.shape))
    high = np.clip(centre.reshape(-1, 2) + reach + 1, 0, np.array(coarse.shape))
    total = (
        table[high[:, 0], high[:, 1]]
        - table[low[:, 0], high[:, 1]]
        - table[high[:, 0], low[:, 1]]
        + table[low[:, 0], low[:, 1]]
    )
    return total / np.maximum(np.prod(high - low, axis=1), 1)


def holes(on_lattice, partnered, shifts, shape, spacing, params) -> np.ndarray:
    """``(M, 2)`` the lattice's holes: the places farthest from the atoms with partners and
    the sites (``on_lattice``; local maxima of the distance to them, on a raster of ``STEP``
    spacings), ``GAP`` to ``HOLE`` spacings from them and a spacing inside the frame, none
    within ``GAP`` spacings of a place a translation puts from an atom with partners (a
    missed atom of the lattice is no hole). A vacancy's neighbours are a spacing away; a
    hole's are as near or nearer, so the holes are, if anything, brighter than a vacancy."""
    from scipy import ndimage

    step = max(STEP * spacing, 1.0)
    field = _distance_field(on_lattice, shape, step)
    size = 2 * int(round(PEAK_REACH * spacing / step)) + 1  # a ridge's point is no hole
    peak = field == ndimage.maximum_filter(field, size=size, mode="nearest")
    peak &= (field >= GAP * spacing) & (field <= HOLE * spacing)
    places = np.argwhere(peak) * step
    margin = max(float(params.get("border", 0.0)), 0.0) + spacing
    places = places[np.all((places >= margin) & (places <= np.array(shape) - 1 - margin), axis=1)]
    if len(places) > MAX_HOLES:  # evenly over the frame: the controls' share is what counts
        places = places[np.linspace(0, len(places) - 1, MAX_HOLES).astype(np.int64)]
    if len(partnered) and len(places):
        near, _ = nearest_within(partnered, places[:, None, :] - shifts[None, :, :], GAP * spacing)
        places = places[(near >= GAP * spacing).all(axis=1)]
    return places


def _distance_field(points, shape, step: float) -> np.ndarray:
    """Distance (pixels) from each place of a raster of ``step`` pixels over the frame to the
    nearest of ``points`` (to the raster place each point falls on)."""
    from scipy import ndimage

    size = (int(np.ceil(shape[0] / step)), int(np.ceil(shape[1] / step)))
    marked = np.ones(size, dtype=bool)
    cells = np.clip(np.rint(np.asarray(points) / step).astype(np.int64), 0, np.array(size) - 1)
    marked[cells[:, 0], cells[:, 1]] = False
    return ndimage.distance_transform_edt(marked) * step


def _off_area(on_lattice, sites, shape, spacing) -> float:
    """Pixels at least ``GAP`` spacings from every atom with partners and site: where the
    lone atoms may be."""
    points = np.concatenate([on_lattice, sites]) if len(sites) else on_lattice
    if len(points) == 0:
        return float(shape[0] * shape[1])
    step = max(STEP * spacing, 1.0)
    return float((_distance_field(points, shape, step) >= GAP * spacing).sum() * step**2)


def _cut(contrast: np.ndarray, control: np.ndarray) -> float:
    """The lowest response at which the controls above it, scaled to as many places as the
    judged ones, are at most ``FALSE_DISCOVERY`` of the judged ones above it (Benjamini and
    Hochberg's step-up: the levels above need not pass one by one)."""
    from napari_ivae.core.detection.atom_threshold import FALSE_DISCOVERY

    levels = np.sort(contrast[np.isfinite(contrast)])
    if len(levels) == 0:
        return np.inf
    control = np.sort(control[np.isfinite(control)])
    if len(control) == 0:
        return float(levels[0])
    ratio = len(levels) / len(control)
    above = len(levels) - np.arange(len(levels))
    noise = (len(control) - np.searchsorted(control, levels, side="left")) * ratio
    passing = np.flatnonzero(noise <= FALSE_DISCOVERY * above)
    return float(levels[passing[0]]) if len(passing) else np.inf


def _site_rows(sites, response, table: dict, noise: float) -> dict:
    """The table's columns for the added sites (their matched response as intensity and
    contrast)."""
    rows = {name: np.zeros(len(sites), dtype=values.dtype) for name, values in table.items()}
    rows["row"], rows["col"] = sites[:, 0], sites[:, 1]
    for name in ("intensity", "prominence"):
        if name in rows:
            rows[name] = response.astype(rows[name].dtype)
    if "snr" in rows:
        rows["snr"] = response / noise if noise > 0 else np.full(len(response), np.inf)
    return rows


__all__ = [
    "holes",
    "judge_sites",
    "judged_sites",
    "lattice_sites",
    "missed_sites",
    "partners",
    "translations",
]
