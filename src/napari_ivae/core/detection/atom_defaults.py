"""The atom detector's parameters from the image: the spacing, then a quick first pass.

Part of :func:`~napari_ivae.core.detection.atoms.detect_atoms` (see its module's overview for
the defaults table): every parameter not given follows the estimated spacing
(:func:`_resolve_params`); a first pass on a central crop of at least ``FIRST_PASS_SIDE``
pixels then measures the atom separation (:mod:`~napari_ivae.core.detection.atom_geometry`), on
its confident atoms (``params["confident"]``: the contrast cut of
:mod:`~napari_ivae.core.detection.atom_threshold` as if the frame were all noise); the atoms'
width, which sets the smoothing, comes from the autocorrelation
(:mod:`~napari_ivae.core.detection.column_width`), else from the first pass's atoms
and, when the spacing is the lattice constant, a weaker sub-lattice in the unit cell's average
(:func:`_from_first_pass`, :func:`_weaker_sublattice`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.atom_frame import frame_atoms
from napari_ivae.core.detection.detection_memo import remembered
from napari_ivae.core.detection.lattice_directions import ONE_DIRECTION, ONE_DIRECTION_SIGN
from napari_ivae.core.detection.point_columns import points_of, row_count
from napari_ivae.core.detection.scan_hum import spacing_under_hum
from napari_ivae.core.detection.spacing import MIN_SPACING, PERIODS_SEEN
from napari_ivae.core.errors import InputError

STRONG_GROUP_RATIO = 1.5  # two groups of first-pass contrasts: medians this far apart
FIRST_PASS_SIDE = 384  # the first pass (atom separation and width) runs on a central crop
SHORT_RANGE = "short-range order"  # the spacing source of a frame with a ring, no lattice
NEAREST_ROUNDS = 2  # first passes more at a closer separation (spacing from the ring)
BRIDGED = 0.65  # ... taken when at most this much of the last: an atom between two (about half)
# a blob-scale spacing with a faint ring in the spectrum (structure under a fraction of a count
# per atom): no farther than this times its period, the closest packing's (a hexagonal
# lattice's first reflections are at sqrt(3) / 2 of its separation; a network's ring is 1.5-3
# bonds). Its null is then the shuffled pixels': a texture with that ring is structure.
FARTHEST_FROM_RING = 2.0 / np.sqrt(3.0)
FAINT_RING = "blob scale (a faint ring in the spectrum, no lattice)"
RING_SOURCE = f"{SHORT_RANGE} (a ring in the spectrum, no lattice)"


def _from_first_pass(frame, params, given, excluded) -> dict:
    """Parameters re-resolved from what a quick first pass found (see
    :mod:`napari_ivae.core.detection.atom_geometry`): the atom separation when the lattice estimate was
    the lattice constant of a cell with several atoms, and smoothing matched to the atoms'
    width. Values the caller gave are kept."""
    from napari_ivae.core.detection import atom_geometry as geometry
    from napari_ivae.core.detection.atom_separation import settled_separation
    from napari_ivae.core.detection.column_width import column_width

    crop, table, found = _first_pass(frame, params, excluded)
    spacing, sublattice, hum = given["spacing"], None, None
    if spacing is None:
        spacing = geometry.second_pass_spacing(params["spacing"], found)
        if params["spacing_source"] == "auto":
            settled = settled_separation(frame, params, given, excluded, found)
            if settled is not None:
                crop, table, found, spacing = settled
            spacing, hum = spacing_under_hum(frame, params["spacing"], spacing)
        if str(params["spacing_source"]).startswith(SHORT_RANGE):
            crop, table, found, spacing = _nearest_separation(
                frame, params, given, excluded, (crop, table, found), spacing
            )
        if spacing == params["spacing"] and params["spacing_source"] == "auto":
            sublattice = _weaker_sublattice(crop, table, params)
            if sublattice is not None and sublattice.get("ring_hollows"):
                # the autocorrelation's basis peak was the rings' overlap in the hollows
                spacing, sublattice = params.get("lattice_constant", spacing), None
            if sublattice is not None and not sublattice["known"]:
                spacing = sublattice["separation"]
    sigma, width = given["sigma"], found["width"]
    if sigma is None:
        # the width from the autocorrelation (the first pass's atoms sit where the noise put
        # them, and their mean profile narrows to its smoothing); theirs where it has none
        measured = remembered("column_width", column_width, crop, spacing)
        width = width if measured is None else measured
        sigma = geometry.smoothing_for(spacing, width)
    resolved = _resolve_params(frame, **{**given, "spacing": spacing, "sigma": sigma})
    resolved.update(
        spacing_source=params["spacing_source"],
        lattice_spacing=params["spacing"],
        **(
            {"lattice_constant": params["lattice_constant"]} if "lattice_constant" in params else {}
        ),
        atom_width=width,
        sigma_source="given" if given["sigma"] is not None else "atom width",
        **({} if hum is None else {"scan_hum_period": round(hum, 2)}),
    )
    if sublattice is not None:
        resolved["sublattice_vectors"] = np.round(sublattice["vectors"], 3).tolist()
        resolved["sublattice_empty"] = np.round(sublattice["empty_vectors"], 3).tolist()
        resolved["sublattice_contrast"] = round(sublattice["contrast"], 4)
        how = "judged at its sites" if sublattice["known"] else "found"
        resolved["sublattice"] = (
            f"a weaker sub-lattice (atoms {sublattice['separation']:.1f} px from the strong "
            f"ones, {sublattice['contrast']:.2f} of their contrast) was {how} by averaging "
            f"{sublattice['cells']} unit cells ({sublattice['z']:.0f} x its noise there)"
        )
    return resolved


def _first_pass(frame, params, excluded) -> tuple:
    """The first pass's crop, its confident atoms (a table) and their geometry
    (:func:`~napari_ivae.core.detection.atom_geometry.first_pass_geometry`): on a central crop
    that holds plenty of atoms to measure, on the whole frame when that finds no separation or
    the crop misses the crystal."""
    from napari_ivae.core.detection import atom_geometry as geometry

    side = int(max(FIRST_PASS_SIDE, 32 * params["spacing"]))
    window = tuple(
        slice(max((n - side) // 2, 0), max((n - side) // 2, 0) + side) for n in frame.shape
    )
    tries = [(frame[window], None if excluded is None else excluded[window]), (frame, excluded)]
    if _crop_misses_the_crystal(frame, window, params):
        tries = tries[1:]
    for crop, mask in tries:
        table, _ = frame_atoms(crop, {**params, "refine": None, "confident": True}, mask)
        found = geometry.first_pass_geometry(
            crop,
            points_of(table),
            np.asarray(table["prominence"]),
            params["spacing"],
        )
        if found["separation"] is not None or crop is frame:
            break
    return crop, table, found


def _nearest_separation(frame, params, given, excluded, passed, spacing) -> tuple:
    """For a spacing from the spectrum's ring (a length of the structure, up to three atom
    separations: a bridging atom on every bond), the first pass again at each separation it
    finds while that shows one at most ``BRIDGED`` of it (an atom between two found; a closer
    separation than that is the spread of a network's bonds: chasing it ends on the shortest
    bonds and the noise), at most ``NEAREST_ROUNDS`` times. Returns the last pass's crop,
    table and geometry, and the separation."""
    from napari_ivae.core.detection import atom_geometry as geometry

    for _ in range(NEAREST_ROUNDS):
        if spacing >= params["spacing"]:
            break
        nearer = {
            **params,
            **_resolve_params(frame, **{**given, "spacing": spacing}),
            "spacing_source": params["spacing_source"],
        }
        again = _first_pass(frame, nearer, excluded)
        closer = geometry.second_pass_spacing(spacing, again[2])
        if closer > BRIDGED * spacing:  # the spread of a network's bonds, no atom between
            break
        passed, params, spacing = again, nearer, closer
    return (*passed, spacing)


def _crop_misses_the_crystal(frame, window, params) -> bool:
    """Whether the first pass's central crop lies mostly outside the frame's crystalline
    region (a few particles on a support, none at the centre): there its peaks are the
    support's, whose nearest-neighbour distance would replace the spacing."""
    if not params.get("crystal_only") or all(
        (w.stop - w.start) >= n for w, n in zip(window, frame.shape)
    ):
        return False
    from napari_ivae.core.detection.crystal import crystal_region

    region = remembered("crystal_region", crystal_region, frame, params["spacing"])
    if not region.found:
        return False
    step = max(1, int(params["spacing"]))
    rows, cols = (np.arange(w.start, min(w.stop, n), step) for w, n in zip(window, frame.shape))
    grid = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    return float(region.contains(grid).mean()) < 0.5


def _weaker_sublattice(crop, table, params) -> dict | None:
    """A weaker sub-lattice in the unit cell's average around the first pass's atoms (see
    :mod:`napari_ivae.core.detection.motif`), when the spacing estimate is the lattice
    constant. When it already is the separation of two atoms of the cell (a basis peak in the
    autocorrelation) and the first pass's contrasts fall in two groups, the average is taken
    around the strong group's atoms at their own nearest-neighbour distance; a weaker
    sub-lattice found there at the spacing is ``known`` (the spacing stays, its sites are
    judged as the others'). One in both hollows of a hexagonal lattice that the atoms' rings of
    opposite contrast make is none: ``None``, or ``{"ring_hollows": True}`` where the spacing
    estimate was its separation (the lattice constant is the spacing then)."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.motif import weaker_sublattice

    if row_count(table) < 2:
        return None
    points = points_of(table)
    if params["spacing"] >= params.get("lattice_constant", 0.0) / 1.15:
        found = weaker_sublattice(crop, points, params["spacing"], params["sigma"])
        if found is not None:
            if _rings_make_hollows(crop, points, params["spacing"], params["sigma"], found):
                return None
            return {**found, "known": False}
    strong = _strong_group(np.asarray(table["prominence"]))
    if strong is None:
        return None
    lattice = float(np.median(cKDTree(points[strong]).query(points[strong], k=2)[0][:, 1]))
    if lattice < 1.15 * params["spacing"]:  # the strong atoms are not a sparser lattice
        return None
    found = weaker_sublattice(crop, points[strong], lattice, params["sigma"])
    if found is None or abs(found["separation"] - params["spacing"]) > 0.15 * params["spacing"]:
        return None
    if _rings_make_hollows(crop, points[strong], lattice, params["sigma"], found):
        return {"ring_hollows": True}
    return {**found, "known": True}


def _rings_make_hollows(crop, points, lattice, sigma, found) -> bool:
    """Whether a weaker sub-lattice ``found`` in both hollows of the hexagonal lattice of
    ``points`` is the gaps between the atoms' rings of opposite contrast (see
    :mod:`napari_ivae.core.detection.ring_hollows`)."""
    from napari_ivae.core.detection.lattice_choice import in_every_hollow
    from napari_ivae.core.detection.ring_hollows import rings_make_hollows

    hollows = {"sublattice_vectors": np.asarray(found["vectors"]).tolist()}
    if not in_every_hollow({**hollows, "lattice_constant": lattice}):
        return False
    return rings_make_hollows(crop, points, lattice, sigma, found["vectors"])


def _strong_group(prominence: np.ndarray) -> np.ndarray | None:
    """The upper of two groups of contrasts (Otsu on their logarithm), when both hold at least
    a fifth of the atoms and the groups' medians differ by ``STRONG_GROUP_RATIO`` or more; else
    ``None``. Only a pre-selection: the strong group must then be a sparser lattice and the
    unit cell's average around it must show the weak atoms at the spacing
    (:func:`_weaker_sublattice`); an ABF perovskite's O columns are 1.6x weaker than its A
    and B columns."""
    values = np.log(np.asarray(prominence, dtype=np.float64)[prominence > 0])
    if len(values) < 40:
        return None
    ordered = np.sort(values)
    n = len(ordered)
    cumulative = np.cumsum(ordered)
    k = np.arange(1, n)
    below, above = cumulative[:-1] / k, (cumulative[-1] - cumulative[:-1]) / (n - k)
    between = k * (n - k) * (above - below) ** 2
    split = int(np.argmax(between)) + 1
    low, high = ordered[:split], ordered[split:]
    apart = np.median(high) - np.median(low) >= np.log(STRONG_GROUP_RATIO)
    if min(len(low), len(high)) < 0.2 * n or not apart:
        return None
    return np.asarray(prominence) >= np.exp(high[0])


def _without_lattice(frame, one_direction: bool = False) -> tuple[float, str]:
    """The spacing of a frame with no lattice, and where it came from: the period of the ring
    in its spectrum when its atoms keep a distance from each other (:func:`_from_ring`), else
    five times its blob scale (an atom's sigma is about a fifth of the distance to its
    neighbours), at most ``FARTHEST_FROM_RING`` times the period of a ring too faint for the
    first pass (:func:`_ring_periods`; source ``FAINT_RING``: the pixel noise's blobs and the
    grains' read 2x too wide on a polycrystal at 0.3 counts per atom). A frame periodic along
    ``one_direction`` only (lattice fringes, scan lines) is measured with that periodicity
    taken out (:func:`taken_out`), as it is then searched."""
    from napari_ivae.core.detection.atom_geometry import blob_scale

    if one_direction:
        return 5.0 * blob_scale(taken_out(frame)), f"blob scale ({ONE_DIRECTION})"
    period, faint = _ring_periods(frame)
    if period is not None:
        return period, RING_SOURCE
    # at the pixel noise's scale, no wider atoms than leave PERIODS_SEEN spacings across
    # (so few could not stand out of such noise; see atom_noise_null.few_periods)
    widest = min(frame.shape) / (5.0 * PERIODS_SEEN)
    spacing = 5.0 * blob_scale(frame, widest)
    if faint is None:
        return spacing, "blob scale (no lattice periodicity)"
    return min(spacing, FARTHEST_FROM_RING * faint), FAINT_RING


def _ring_periods(frame) -> tuple[float | None, float | None]:
    """The periods of the ring in the frame's spectrum and of a ring too faint over the noise
    to measure the atoms' separation from, remembered, from one spectrum; ``None`` for one
    that is missing or finer than ``MIN_SPACING`` (see
    :func:`~napari_ivae.core.detection.short_range_order.ring_periods`)."""
    from napari_ivae.core.detection.short_range_order import ring_periods

    period, faint = remembered("ring_periods", ring_periods, frame)
    return _coarse_enough(period), _coarse_enough(faint)


def _coarse_enough(period: float | None) -> float | None:
    return None if period is None or period < MIN_SPACING else period


def taken_out(frame) -> np.ndarray:
    """The frame with its periodicity along one direction taken out
    (:func:`~napari_ivae.core.detection.lattice_directions.without_line`), remembered."""
    from napari_ivae.core.detection.lattice_directions import without_line

    return remembered("without_line", without_line, frame)


def _from_ring(frame) -> tuple[float, str] | None:
    """The period of the ring in the frame's spectrum (an amorphous network, grains of a few
    nanometres, a crop of a few cells: :mod:`~napari_ivae.core.detection.short_range_order`;
    the first pass then measures the atoms' separation) and its source; ``None`` without one."""
    period = _ring_periods(frame)[0]
    return None if period is None else (period, RING_SOURCE)


def _resolve_params(
    frame,
    spacing,
    sigma,
    background,
    min_distance,
    threshold,
    refine_radius,
    merge_distance,
    border,
) -> dict:
    from napari_ivae.core.detection.spacing import estimate_spacing
    from napari_ivae.core.detection.spacing_tiles import tiled_spacing

    source, lattice_constant, one_direction = "given", None, False
    if spacing is None:
        try:
            try:
                spacing, details = remembered(
                    "estimate_spacing", estimate_spacing, frame, return_details=True
                )
            except InputError as error:
                if "periodicity" not in str(error):
                    raise
                one_direction = ONE_DIRECTION_SIGN in str(error)
                # a lattice on a small part of the frame (particles on a support)
                spacing, details = remembered(
                    "tiled_spacing", tiled_spacing, frame, return_details=True
                )
            source, lattice_constant = "auto", details["lattice_constant"]
        except InputError as error:
            if "periodicity" in str(error):
                spacing, source = _without_lattice(frame, one_direction)
            elif "below" in str(error) and (ring := _from_ring(frame)) is not None:
                # a "lattice" finer than MIN_SPACING is the pixels' own pattern; the ring's
                # atoms are what the frame shows (a crop of a few cells of a coarse lattice)
                spacing, source = ring
            else:
                raise
    spacing = float(spacing)
    if not spacing > 0:
        raise InputError(f"spacing must be positive, got {spacing}.")
    if spacing > min(frame.shape) / 2:
        raise InputError(
            f"spacing={spacing:g} px does not fit the {frame.shape[0]}x"
            f"{frame.shape[1]} px image (at most half its smaller side)."
        )

    def pick(value, factor, name):
        value = factor * spacing if value is None else float(value)
        if value < 0 or not np.isfinite(value):
            raise InputError(f"{name} must be >= 0, got {value}.")
        return value

    refine_radius = max(pick(refine_radius, 0.3, "refine_radius"), 1.0)
    resolved = dict(
        spacing=spacing,
        spacing_source=source,
        sigma=pick(sigma, 0.1, "sigma"),
        background=pick(background, 0.5, "background"),
        min_distance=max(pick(min_distance, 0.4, "min_distance"), 1.0),
        refine_radius=refine_radius,
        merge_distance=pick(merge_distance, 0.25, "merge_distance"),
        border=refine_radius if border is None else pick(border, 0.0, "border"),
    )
    if threshold is not None and (threshold < 0 or not np.isfinite(threshold)):
        raise InputError(f"threshold must be >= 0, got {threshold}.")
    resolved["threshold"] = "auto" if threshold is None else float(threshold)
    if lattice_constant is not None:  # the autocorrelation's nearest lattice vector
        resolved["lattice_constant"] = float(lattice_constant)
    return resolved
