"""Atom-column detection: smoothing, local maxima, contrast threshold, sub-pixel refinement.

Every default comes from the image. The spacing is the distance between neighbouring atoms,
estimated from the image (:func:`napari_ivae.core.detection.spacing.estimate_spacing`) and, when only the
lattice constant of a multi-atom cell shows, from a quick first detection pass (see
:mod:`napari_ivae.core.detection.atom_geometry`), which also measures the atoms' width. When
neither shows a second atom in the cell, the image averaged around the first pass's atoms (the
unit cell's mean, :mod:`napari_ivae.core.detection.motif`) may still show a weaker sub-lattice;
its distance from the strong atoms is then the spacing, and ``params["sublattice"]``, the
message and ``quality["measures"]`` say so. Its atoms are then also looked for where the
average puts them (each strong atom plus a basis vector, ``SITE_TOLERANCE`` spacings around),
and judged there against the candidates found alike at the cell's empty places (the average's
minima): the lowest contrast from which up those are at most ``FALSE_DISCOVERY`` of the
sites' (``counts["sublattice_cut"]``, ``counts["sublattice_added"]``). A weak atom next to
strong ones is often below the frame's cut, or no maximum over the minimum distance at all.
The frames of a stack are judged with the first frame's sub-lattice; ``sublattice=`` holds an
earlier result's (:func:`held_sublattice`), as the streamed path does for its later frames.
The other defaults follow the spacing:

=================  ===========================  =============================================
parameter          default                      meaning
=================  ===========================  =============================================
``sigma``          atom width, 0.10-0.15 x      Gaussian smoothing before peak finding
                   spacing                      (matched to the measured atom profile)
``background``     0.5 x spacing                slow background removed before peak finding
``min_distance``   0.4 x spacing                peaks closer than this are one peak
``refine_radius``  0.3 x spacing                disc for centre of mass / Gaussian fit
``merge_distance`` 0.25 x spacing               refined points closer than this are merged
``border``         refine_radius                points closer to the image edge are dropped
``threshold``      auto                         minimum local contrast (see below)
=================  ===========================  =============================================

An image with no lattice periodicity gets a spacing of five times its LoG blob scale
(``spacing_source`` says so).

Peaks are local maxima of the smoothed image minus its Gaussian blur of width ``background``
(a band-pass at the atom scale): a faint column on the slope of a particle's intensity envelope
is no maximum of the smoothed image itself, but it is one once the slope is gone. Constant
areas (zero padding, blanking) hold no peak.

The local contrast (``prominence``) of a peak is its smoothed height above the mean smoothed
value on a circle of radius 0.5 spacing around it (insensitive to background slopes). ``snr``
is that contrast divided by the noise of the smoothed image (estimated from pixel-to-pixel
differences). With ``threshold=None`` the cut is a false-discovery bound against white noise
of the image's own level run through the same detector, with floors at an SNR of 2.5 and 0.1
x the 90th percentile of contrasts (:mod:`napari_ivae.core.detection.atom_threshold`). A number
``0 < threshold < 1`` is a fraction of that percentile instead; ``threshold >= 1`` is an
absolute minimum prominence in image units.

With ``crystal_only=True`` (default) and an image that has a distinct crystalline region (a
nanoparticle or flake next to vacuum, amorphous support or a contamination rim; see
:mod:`napari_ivae.core.detection.crystal`), peaks outside that region are dropped: there the band-pass
finds atom-sized bumps that are no lattice sites. Peaks within one spacing of the region are
kept when they continue its lattice (the particle's outermost atoms). An image that is lattice
everywhere is not affected. ``exclude`` is a user mask of pixels where nothing may be detected
(a scale bar). Every result carries a self-check, ``Detections.quality``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_ivae.core.detection.atom_region import allowed_candidates, on_lattice, search_area
from napari_ivae.core.detection.atom_threshold import contrast_cut
from napari_ivae.core.detection.detections import Detections, empty_detections, make_detections
from napari_ivae.core.detection.peaks import (
    close_point_losers,
    find_peaks,
    flat_mask,
    merge_close_points,
    ring_mean,
    smoothed_noise,
)
from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import exclusion_mask

REFINE_MODES = ("com", "gaussian", None)
SITE_TOLERANCE = 0.25  # a candidate this many spacings from a sub-lattice site is at it
HONEYCOMB_TOLERANCE = 0.1  # separations within 10 % of a honeycomb's (see _bright_honeycomb)
FIRST_PASS_SIDE = 384  # the first pass (atom separation and width) runs on a central crop
_PROPERTY_COLUMNS = ("intensity", "prominence", "snr", "refine_shift", "fit_ok")


def detect_atoms(
    image,
    *,
    spacing: float | None = None,
    sigma: float | None = None,
    background: float | None = None,
    min_distance: float | None = None,
    threshold: float | None = None,
    refine: str | None = "com",
    refine_radius: float | None = None,
    com_iterations: int = 2,
    merge_distance: float | None = None,
    border: float | None = None,
    invert: bool | None = None,
    channel=None,
    frame_axis: int | None = None,
    flatten: str | None = None,
    crystal_only: bool = True,
    exclude=None,
    sublattice: dict | None = None,
) -> Detections:
    """Find atom columns (bright peaks) in a 2D image or in every frame of a stack.

    Parameters
    ----------
    image : array-like
        2D image or ``(frames, Y, X)`` stack (anything :func:`prepare_image` accepts).
    spacing : float, optional
        Nearest-neighbour distance in pixels; estimated from the (first) frame if omitted.
    sigma, background, min_distance, refine_radius, merge_distance, border : float, optional
        Override the spacing-based defaults (see the module docstring). ``sigma=0`` disables
        smoothing; ``background=0`` finds peaks in the smoothed image itself; ``border=0``
        keeps points up to the edge.
    threshold : float, optional
        ``None``: automatic. ``0 < t < 1``: minimum prominence as a fraction of the 90th
        percentile of prominences. ``t >= 1``: absolute minimum prominence. ``0``: keep all.
    refine : {"com", "gaussian", None}
        Sub-pixel refinement: iterative centre of mass (default), a 2D Gaussian fit (falls back
        to centre of mass where it fails), or none (integer peak positions).
    com_iterations : int
        Centre-of-mass re-centring steps.
    invert : bool, optional
        ``True`` for dark atoms (ABF, bright-field), ``False`` for bright ones; ``None``
        (default) decides from the image (:func:`~napari_ivae.core.detection.atom_geometry.atom_polarity`;
        a "dark" call is overruled when the bright extremes form a honeycomb around a hexagonal
        lattice of dark ones, as bright graphene atoms in HRTEM do: :func:`_bright_honeycomb`).
    channel, frame_axis, flatten
        Passed to :func:`napari_ivae.core.io.image.prepare_image`.
    crystal_only : bool
        Drop peaks outside the crystalline region when the frame has a distinct one.
    exclude : array-like, optional
        ``(Y, X)`` mask, nonzero where nothing may be detected (applies to every frame).
    sublattice : dict, optional
        A weaker sub-lattice to judge at its sites, as an earlier result holds it: the
        ``sublattice_vectors``, ``sublattice_empty``, ``sublattice_contrast`` and ``sublattice``
        (the note) entries of its ``params`` (:func:`held_sublattice`). It replaces what the
        first pass would find; with ``spacing`` and ``sigma`` it is how the streamed and
        chunked paths hold the first frame's for the others, as this function does for the
        frames of a stack.

    Returns
    -------
    Detections
        ``coords`` (frame, row, col); ``properties`` with ``intensity, prominence, snr,
        refine_shift`` and, when ``refine="gaussian"``, ``fit_ok``; ``params`` with every
        value used (``spacing`` included) and per-frame counts (``outside_crystal``: peaks
        dropped outside the crystalline region);
        ``message`` explains an empty result and says when peaks were dropped.
    """
    from napari_ivae.core.detection.streaming import lazy_input
    from napari_ivae.core.io.image import prepare_image, split_frames

    if refine not in REFINE_MODES:
        raise InputError(f"refine={refine!r} is not known; use 'com', 'gaussian' or None.")
    if lazy_input(image, channel, frame_axis):  # zarr/dask: by frame and chunk, never whole
        from napari_ivae.core.detection.streaming import detect_lazy

        return detect_lazy(
            image,
            "atoms",
            spacing=spacing,
            sigma=sigma,
            background=background,
            min_distance=min_distance,
            threshold=threshold,
            refine=refine,
            refine_radius=refine_radius,
            com_iterations=com_iterations,
            merge_distance=merge_distance,
            border=border,
            invert=invert,
            flatten=flatten,
            crystal_only=crystal_only,
            exclude=exclude,
            sublattice=sublattice,
        )
    held = held_sublattice(sublattice, given=True)
    prepared = prepare_image(
        image, channel=channel, frame_axis=frame_axis, invert=bool(invert), flatten=flatten
    )
    frames, is_stack = split_frames(prepared)
    given = dict(
        spacing=spacing,
        sigma=sigma,
        background=background,
        min_distance=min_distance,
        threshold=threshold,
        refine_radius=refine_radius,
        merge_distance=merge_distance,
        border=border,
    )
    run = dict(
        refine=refine,
        com_iterations=int(com_iterations),
        invert=bool(invert),
        flatten=flatten,
        n_frames=len(frames),
        is_stack=is_stack,
        crystal_only=bool(crystal_only),
        exclude=exclude is not None,
    )
    excluded = _with_annotation(exclusion_mask(exclude, frames.shape[1:]), frames[0], run)
    params = {**_resolve_params(frames[0], **given), **run}
    if invert is None:
        frames = _bright_atoms(frames, params["spacing"], run, {**params, **run}, excluded)
        params.update(run)
    if spacing is None or sigma is None:
        params = {**_from_first_pass(frames[0], params, given, excluded), **run}
    params = with_sublattice(params, held)
    tables, counts = [], []
    for index, frame in enumerate(frames):
        table, frame_counts = _detect_frame(frame, params, excluded)
        table.insert(0, "frame", index)
        tables.append(table)
        counts.append(frame_counts)
    params["counts"] = counts if is_stack else counts[0]
    table = pd.concat(tables, ignore_index=True)
    if len(table) == 0:
        why = _empty_reason(counts[0] if not is_stack else _sum_counts(counts), params)
        return _checked(empty_detections(_PROPERTY_COLUMNS, params=params, message=why))
    message = ""
    if is_stack:
        message = f"{len(table)} atoms in {len(frames)} frames (spacing {params['spacing']:.2f} px)"
    outside = sum(c["outside_crystal"] for c in counts)
    if outside:
        message = with_note(message, outside_note(outside))
    if params.get("sublattice"):
        message = with_note(message, params["sublattice"])
    return _checked(make_detections(table, params=params, message=message))


def with_note(message: str, note: str) -> str:
    """``message`` with ``note`` appended ("; "), or ``note`` as a sentence when it is empty."""
    return f"{message}; {note}" if message else note[0].upper() + note[1:]


def outside_note(count: int) -> str:
    """The note for ``count`` peaks left out outside the crystalline region."""
    return (
        f"{count} peaks outside the crystalline region were left out "
        "(crystal_only=False keeps them)"
    )


def _checked(detections: Detections) -> Detections:
    from napari_ivae.core.detection.quality import assess

    if detections.params.get("refine") != "gaussian":  # no fit was tried: nothing to report
        detections.properties = detections.properties.drop(columns="fit_ok", errors="ignore")

    detections.quality = assess(detections, "atoms")
    if detections.params.get("sublattice"):  # a plain note, not a warning
        detections.quality["measures"]["sublattice"] = detections.params["sublattice"]
    return detections


SUBLATTICE_KEYS = ("sublattice_vectors", "sublattice_empty", "sublattice_contrast", "sublattice")


def held_sublattice(params: dict | None, given: bool = False) -> dict | None:
    """The sub-lattice entries of a result's ``params`` (``SUBLATTICE_KEYS``), to hold for
    other frames (``detect_atoms(sublattice=...)``); ``None`` when it has none. ``given``: the
    caller passed them, so they are checked (vectors as lists of ``[row, col]``)."""
    if params is None:
        return None
    if not isinstance(params, dict):
        raise InputError(f"sublattice must be a dict of {SUBLATTICE_KEYS}, got {params!r}.")
    if params.get("sublattice_vectors") is None or len(params["sublattice_vectors"]) == 0:
        if given:
            raise InputError(f"sublattice needs its sublattice_vectors (keys {SUBLATTICE_KEYS}).")
        return None
    held = {key: params[key] for key in SUBLATTICE_KEYS if key in params}
    if not given:
        return held
    try:
        for key in ("sublattice_vectors", "sublattice_empty"):
            vectors = np.asarray(held.get(key, []), dtype=np.float64)
            if vectors.size and (vectors.ndim != 2 or vectors.shape[1] != 2):
                raise ValueError(key)
            if not np.isfinite(vectors).all():
                raise ValueError(key)
            held[key] = vectors.reshape(-1, 2).tolist()
        contrast = float(held.get("sublattice_contrast", np.nan))
    except (TypeError, ValueError) as error:
        raise InputError(
            f"sublattice needs (K, 2) sublattice_vectors and sublattice_empty; got {held!r}."
        ) from error
    if not 0 < contrast <= 1:
        raise InputError(f"sublattice needs a sublattice_contrast in (0, 1]; got {held!r}.")
    return held


def with_sublattice(params: dict, held: dict | None) -> dict:
    """``params`` with a held sub-lattice in place of any the first pass found."""
    if held is None:
        return params
    params = {key: value for key, value in params.items() if key not in SUBLATTICE_KEYS}
    return {**params, **held}


def _bright_atoms(frames, spacing, run: dict, params: dict | None = None, excluded=None):
    """The frames with atoms as bright peaks: inverted when the atoms are clearly dark.

    With ``params`` (the lattice estimate's), a "dark" call is checked against the lattice's
    geometry: when the bright extremes form a honeycomb around the dark ones (phase-contrast
    images of graphene-like lattices, :func:`_bright_honeycomb`), the atoms are bright.
    """
    from napari_ivae.core.detection.atom_geometry import atom_polarity

    polarity, ratio = atom_polarity(frames[0], spacing)
    inverted = (frames.max() + frames.min() - frames).astype(np.float32)
    how = "auto"
    if (
        polarity == "dark"
        and params is not None
        and _bright_honeycomb(frames[0], inverted[0], params, excluded)
    ):
        polarity, how = "bright", "auto: a honeycomb of bright extremes"
    run.update(
        invert=polarity == "dark", polarity=f"{polarity} ({how})", dark_bright_ratio=round(ratio, 3)
    )
    if polarity == "bright":
        return frames
    return inverted


def _bright_honeycomb(frame, inverted, params, excluded) -> bool:
    """Whether the frame's bright extremes form a honeycomb around dark ones on a hexagonal
    lattice: a first pass of each sign at the lattice estimate, the dark extremes with six
    neighbours one lattice constant away, the bright ones with three at ``1/sqrt(3)`` of it.

    The dark/bright blob strength of :func:`atom_polarity` cannot tell which: the hexagon
    centres are the larger blobs whichever sign the atoms have (the contrast transfer of
    HRTEM makes graphene's atoms bright or dark by defocus).
    """
    lattice = params.get("lattice_constant")
    if lattice is None or abs(params["spacing"] - lattice) > 0.05 * lattice:
        return False
    side = int(max(FIRST_PASS_SIDE, 32 * params["spacing"]))  # as the first pass's crop
    window = tuple(
        slice(max((n - side) // 2, 0), max((n - side) // 2, 0) + side) for n in frame.shape
    )
    mask = None if excluded is None else excluded[window]
    shapes: list[tuple[float, int]] = []
    for reading in (inverted[window], frame[window]):  # the dark extremes first
        table, _ = _detect_frame(reading, {**params, "refine": None}, mask)
        distance, count = _neighbourhood(table[["row", "col"]].to_numpy())
        if not shapes and not (abs(distance / lattice - 1.0) < HONEYCOMB_TOLERANCE and count >= 5):
            return False  # the dark extremes are no hexagonal lattice
        shapes.append((distance, count))
    bright_distance, bright_count = shapes[1]
    return bool(
        abs(bright_distance * np.sqrt(3.0) / lattice - 1.0) < HONEYCOMB_TOLERANCE
        and bright_count <= 3
    )


def _neighbourhood(points) -> tuple[float, int]:
    """The points' median nearest-neighbour distance and their median number of neighbours
    within 1.2 times it (a hexagonal lattice 6, a honeycomb 3); ``(nan, 0)`` for too few."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.atom_geometry import MIN_ATOMS

    if len(points) < MIN_ATOMS:
        return float("nan"), 0
    tree = cKDTree(points)
    distance = float(np.median(tree.query(points, k=2)[0][:, 1]))
    neighbours = tree.query_ball_point(points, 1.2 * distance, return_length=True) - 1
    return distance, int(np.median(neighbours))


def _with_annotation(excluded, frame, run: dict):
    """The user's mask plus a burned-in scale bar and its label, if the frame has one."""
    from napari_ivae.core.detection.overlays import annotation_mask

    annotation = annotation_mask(frame)
    run["annotation_pixels"] = int(annotation.sum())
    if not annotation.any():
        return excluded
    return annotation if excluded is None else excluded | annotation


def _from_first_pass(frame, params, given, excluded) -> dict:
    """Parameters re-resolved from what a quick first pass found (see
    :mod:`napari_ivae.core.detection.atom_geometry`): the atom separation when the lattice estimate was
    the lattice constant of a cell with several atoms, and smoothing matched to the atoms'
    width. Values the caller gave are kept."""
    from napari_ivae.core.detection import atom_geometry as geometry

    # a central crop holds plenty of atoms to measure (the whole frame if it does not)
    side = int(max(FIRST_PASS_SIDE, 32 * params["spacing"]))
    window = tuple(
        slice(max((n - side) // 2, 0), max((n - side) // 2, 0) + side) for n in frame.shape
    )
    for crop, mask in (
        (frame[window], None if excluded is None else excluded[window]),
        (frame, excluded),
    ):
        table, _ = _detect_frame(crop, {**params, "refine": None}, mask)
        found = geometry.first_pass_geometry(
            crop,
            table[["row", "col"]].to_numpy(),
            table["prominence"].to_numpy(),
            params["spacing"],
        )
        if found["separation"] is not None or crop is frame:
            break
    spacing, sublattice = given["spacing"], None
    if spacing is None:
        spacing = geometry.second_pass_spacing(params["spacing"], found)
        if spacing == params["spacing"] and params["spacing_source"] == "auto":
            sublattice = _weaker_sublattice(crop, table, params)
            if sublattice is not None and not sublattice["known"]:
                spacing = sublattice["separation"]
    sigma = given["sigma"]
    if sigma is None:
        sigma = geometry.smoothing_for(spacing, found["width"])
    resolved = _resolve_params(frame, **{**given, "spacing": spacing, "sigma": sigma})
    resolved.update(
        spacing_source=params["spacing_source"],
        lattice_spacing=params["spacing"],
        **(
            {"lattice_constant": params["lattice_constant"]} if "lattice_constant" in params else {}
        ),
        atom_width=found["width"],
        sigma_source="given" if given["sigma"] is not None else "atom width",
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


def _weaker_sublattice(crop, table, params) -> dict | None:
    """A weaker sub-lattice in the unit cell's average around the first pass's atoms (see
    :mod:`napari_ivae.core.detection.motif`), when the spacing estimate is the lattice
    constant. When it already is the separation of two atoms of the cell (a basis peak in the
    autocorrelation) and the first pass's contrasts fall in two groups, the average is taken
    around the strong group's atoms at their own nearest-neighbour distance; a weaker
    sub-lattice found there at the spacing is ``known`` (the spacing stays, its sites are
    judged as the others')."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.motif import weaker_sublattice

    if len(table) < 2:
        return None
    points = table[["row", "col"]].to_numpy()
    if params["spacing"] >= params.get("lattice_constant", 0.0) / 1.15:
        found = weaker_sublattice(crop, points, params["spacing"], params["sigma"])
        if found is not None:
            return {**found, "known": False}
    strong = _strong_group(table["prominence"].to_numpy())
    if strong is None:
        return None
    lattice = float(np.median(cKDTree(points[strong]).query(points[strong], k=2)[0][:, 1]))
    if lattice < 1.15 * params["spacing"]:  # the strong atoms are not a sparser lattice
        return None
    found = weaker_sublattice(crop, points[strong], lattice, params["sigma"])
    if found is None or abs(found["separation"] - params["spacing"]) > 0.15 * params["spacing"]:
        return None
    return {**found, "known": True}


def _strong_group(prominence: np.ndarray) -> np.ndarray | None:
    """The upper of two groups of contrasts (Otsu on their logarithm), when both hold at least
    a fifth of the atoms and the groups' medians differ by 2x or more; else ``None``."""
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
    if min(len(low), len(high)) < 0.2 * n or np.median(high) - np.median(low) < np.log(2.0):
        return None
    return np.asarray(prominence) >= np.exp(high[0])


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

    source, lattice_constant = "given", None
    if spacing is None:
        try:
            spacing, details = estimate_spacing(frame, return_details=True)
            source, lattice_constant = "auto", details["lattice_constant"]
        except InputError as error:
            if "periodicity" not in str(error):
                raise
            from napari_ivae.core.detection.atom_geometry import blob_scale

            # no lattice: an atom's sigma is about a fifth of the distance to its neighbours
            spacing, source = 5.0 * blob_scale(frame), "blob scale (no lattice periodicity)"
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


def _detect_frame(frame, params, excluded) -> tuple[pd.DataFrame, dict]:
    flat = flat_mask(frame)
    skip = flat if flat.any() else None
    smoothed, band, candidates = smoothed_band_peaks(frame, params, skip)
    allowed = allowed_candidates(frame, candidates, params, excluded)
    n_peaks, n_excluded = len(candidates), int(allowed["excluded"].sum())
    usable = ~(allowed["excluded"] | allowed["outside"])
    candidates, at_edge = candidates[usable], allowed["edge"][usable]
    noise = smoothed_noise(frame, params["sigma"], skip)
    peak_values = smoothed[candidates[:, 0], candidates[:, 1]]
    prominence = peak_values - ring_mean(smoothed, candidates, params["spacing"])
    if params["threshold"] == "auto":
        area = search_area(flat, excluded, allowed["mask"])
        cut = contrast_cut(
            prominence, smoothed_noise(frame, 0.0, skip), noise, area, params, _null_contrasts
        )
    else:
        cut = _manual_cut(prominence, params["threshold"])
    keep, counts = select_by_contrast(
        candidates, prominence, at_edge, cut, params, allowed, noise, n_peaks, n_excluded
    )
    if judges_sites(params):
        places = _sublattice_places(candidates, prominence, keep & ~at_edge, params)
        extra = _peaks_at_places(band, candidates, places, params, skip, excluded, allowed)
        if len(extra):
            values = smoothed[extra[:, 0], extra[:, 1]]
            candidates = np.concatenate([candidates, extra])
            peak_values = np.concatenate([peak_values, values])
            contrast = values - ring_mean(smoothed, extra, params["spacing"])
            prominence = np.concatenate([prominence, contrast])
            keep = np.concatenate([keep, np.zeros(len(extra), dtype=bool)])
        keep = judged_at_sites(candidates, prominence, keep, places, params, counts, len(extra))
    candidates, prominence = candidates[keep], prominence[keep]
    peak_values = peak_values[keep]

    start = candidates.astype(np.float64)
    refined, fit_ok = refine_peaks(smoothed, frame, start, params)
    table = pd.DataFrame(
        {
            "row": refined[:, 0],
            "col": refined[:, 1],
            "intensity": peak_values,
            "prominence": prominence,
            "snr": prominence / noise if noise > 0 else np.inf,
            "refine_shift": np.hypot(*(refined - start).T),
            "fit_ok": fit_ok,
        }
    )
    table, n_merged = merge_close_points(table, params["merge_distance"])
    inside = _inside_border(table[["row", "col"]].to_numpy(), frame.shape, params["border"])
    counts.update(merged=n_merged, at_border=int((~inside).sum()), found=int(inside.sum()))
    return table[inside].reset_index(drop=True), counts


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


def _peaks_at_places(band, candidates, places, params, skip, excluded, allowed) -> np.ndarray:
    """Local maxima (3 x 3) of the band-passed frame ``band``, the highest within ``SITE_TOLERANCE``
    spacings of each sub-lattice site and control place that no candidate is near yet: a
    weak atom next to strong ones is often no maximum over the minimum distance (the strong
    atoms' flanks reach over it). Sites and controls are searched alike."""
    wanted = wanted_places(candidates, places, params)
    if len(wanted) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    is_max = local_maxima(band)
    for mask in (skip, excluded):
        if mask is not None:
            is_max &= ~mask
    if allowed["mask"] is not None:
        is_max &= allowed["mask"]
    rows, cols = np.nonzero(is_max)
    if len(rows) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    chosen = maxima_at_places(np.column_stack([rows, cols]), band[rows, cols], wanted, params)
    return np.column_stack([rows[chosen], cols[chosen]]).astype(np.int64).reshape(-1, 2)


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


def smoothed_band_peaks(frame, params, skip=None):
    """The smoothed frame, it band-passed (:func:`band_passed`) and the band's peaks (integer
    row, col; at least ``min_distance`` apart, none where ``skip``)."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    smoothed = gaussian_smooth(frame, params["sigma"])
    band = band_passed(smoothed, params)
    return smoothed, band, find_peaks(band, params["min_distance"], skip=skip)


def band_passed(smoothed, params) -> np.ndarray:
    """The smoothed frame less its Gaussian blur of width ``background`` (peaks are its maxima)."""
    from napari_ivae.core.detection._filters import smooth_background

    if params["background"] > 0:
        return smoothed - smooth_background(smoothed, params["background"])
    return smoothed


def local_maxima(band) -> np.ndarray:
    """Where ``band`` is the maximum of its 3 x 3 neighbourhood (edges: nearest value)."""
    from scipy import ndimage

    return band == ndimage.maximum_filter(band, size=3, mode="nearest")


def _null_contrasts(frame, params):
    """Contrasts of every peak the detector finds in ``frame`` (a frame of pure noise)."""
    smoothed, _, peaks = smoothed_band_peaks(frame, params)
    return smoothed[peaks[:, 0], peaks[:, 1]] - ring_mean(smoothed, peaks, params["spacing"])


def _manual_cut(prominence, threshold) -> float:
    """A given threshold: ``>= 1`` absolute, ``< 1`` a fraction of the 90th percentile."""
    if len(prominence) == 0 or threshold == 0:
        return 0.0
    return threshold if threshold >= 1 else threshold * float(np.percentile(prominence, 90))


def _inside_border(points, shape, border):
    if border <= 0:
        return np.ones(len(points), dtype=bool)
    return (
        (points[:, 0] >= border)
        & (points[:, 0] <= shape[0] - 1 - border)
        & (points[:, 1] >= border)
        & (points[:, 1] <= shape[1] - 1 - border)
    )


def _sum_counts(counts):
    keys = (
        "candidates",
        "excluded",
        "outside_crystal",
        "below_threshold",
        "merged",
        "at_border",
        "found",
    )
    return {k: sum(c[k] for c in counts) for k in keys}


def _empty_reason(counts, params) -> str:
    spacing = f"spacing {params['spacing']:.1f} px ({params['spacing_source']})"
    if counts["candidates"] == 0:
        return f"No atoms found: the smoothed image has no local maximum ({spacing})."
    masked = counts["excluded"] + counts["outside_crystal"]
    if masked == counts["candidates"]:
        return (
            f"No atoms found: of {counts['candidates']} peaks, {counts['excluded']} lie in "
            f"the excluded mask and {counts['outside_crystal']} outside the crystalline "
            f"region ({spacing}); crystal_only=False keeps the latter."
        )
    if counts["below_threshold"] == counts["candidates"] - masked:
        return (
            f"No atoms found: all {counts['candidates']} peaks have too little contrast "
            f"(threshold {params['threshold']}; {spacing}). Lower the threshold, or check "
            "the spacing and whether atoms are dark (invert)."
        )
    return (
        f"No atoms found: {counts['at_border']} peaks lie within the {params['border']:.1f} px "
        f"border ({spacing}); reduce the border."
    )


def select_by_contrast(
    candidates: np.ndarray,
    prominence: np.ndarray,
    at_edge: np.ndarray,
    cut: float,
    params: dict,
    allowed: dict,
    noise: float,
    n_peaks: int,
    n_excluded: int,
) -> tuple[np.ndarray, dict]:
    """Which candidate peaks are atoms: contrast at least ``cut``, and peaks at the crystal
    region's edge only where they sit on the lattice of the kept inner peaks.

    Returns
    -------
    keep : (N,) bool array
    counts : dict
        The detector's bookkeeping (candidates, below threshold, cut, noise, excluded, outside
        the crystal, the region's description).
    """
    keep = prominence >= cut if cut > 0 else np.ones(len(prominence), dtype=bool)
    off_lattice = at_edge & keep
    if off_lattice.any():
        off_lattice &= ~on_lattice(candidates, keep & ~at_edge, params["spacing"])
    counts = {
        "candidates": int(n_peaks),
        "below_threshold": int((~keep).sum()),
        "contrast_cut": float(cut),
        "noise": float(noise),
        "excluded": n_excluded,
        "outside_crystal": int(allowed["outside"].sum() + off_lattice.sum()),
        "crystal_region": allowed["region"],
    }
    return keep & ~off_lattice, counts


def refine_peaks(
    smoothed: np.ndarray, frame: np.ndarray, start: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel positions of integer peaks by the detector's ``params["refine"]`` method.

    Parameters
    ----------
    smoothed, frame : numpy.ndarray
        The smoothed frame (centre of mass) and the frame itself (Gaussian fit).
    start : (N, 2) float array
        Integer peak positions.
    params : dict
        The detector's resolved parameters (``refine``, ``refine_radius``,
        ``com_iterations``, ``spacing``).

    Returns
    -------
    refined : (N, 2) float array
    fit_ok : (N,) bool array
        True where a Gaussian fit converged (all False unless ``refine="gaussian"``).
    """
    refined, fit_ok = start, np.zeros(len(start), dtype=bool)
    if params["refine"] in ("com", "gaussian") and len(start):
        from napari_ivae.core.detection.refine import refine_centre_of_mass

        refined, _ = refine_centre_of_mass(
            smoothed, start, params["refine_radius"], iterations=params["com_iterations"]
        )
        if params["refine"] == "gaussian":
            from napari_ivae.core.detection.refine import refine_gaussian

            # a slightly larger window than the centre of mass: the fit uses the atom's flanks
            refined, fit_ok, _ = refine_gaussian(
                frame,
                refined,
                1.4 * params["refine_radius"],
                sigma_guess=max(0.15 * params["spacing"], 0.7),
            )
    return refined, fit_ok


__all__ = [
    "Detections",
    "close_point_losers",
    "detect_atoms",
    "find_peaks",
    "merge_close_points",
    "refine_peaks",
    "select_by_contrast",
    "smoothed_noise",
]
