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
earlier result's (:func:`~napari_ivae.core.detection.atom_held_sublattice.held_sublattice`), as
the streamed path does for its later frames.
The other defaults follow the spacing:

=================  ===========================  =============================================
parameter          default                      meaning
=================  ===========================  =============================================
``sigma``          atom width, 0.10-0.15 x      Gaussian smoothing before peak finding
                   spacing                      (matched to the atoms' width, measured on
                                                the autocorrelation: ``column_width``)
``background``     0.5 x spacing                slow background removed before peak finding
``min_distance``   0.4 x spacing                peaks closer than this are one peak
``refine_radius``  0.3 x spacing                disc for centre of mass / Gaussian fit
``merge_distance`` 0.25 x spacing               refined points closer than this are merged
``border``         refine_radius                points closer to the image edge are dropped
``threshold``      auto                         minimum local contrast (see below)
=================  ===========================  =============================================

When the whole frame shows no lattice periodicity, the spacing comes from the part that does
(a 256 px tile, :func:`~napari_ivae.core.detection.spacing_tiles.tiled_spacing`); an image
with none anywhere gets the period of a ring in its spectrum (an amorphous network,
:mod:`~napari_ivae.core.detection.short_range_order`), else five times its LoG blob scale
(``spacing_source`` says which), held under 2 / sqrt(3) of the period of a ring too faint over
the noise to measure the atoms from (a polycrystal under a count per atom). After the cut, a
lattice's atoms are judged where its translations put them (:mod:`~napari_ivae.core.detection.lattice_sites`).
The first pass runs on the whole frame when its central crop lies mostly outside the
crystalline region (there it would measure the support's bumps).

A scanning-probe topograph, whose scan lines carry offsets of their own (STM, AFM), or a
lattice on terraces whose step edges cross the frame, is levelled first unless ``flatten``
is given: the line offsets, the plane's tilt and the step edges between terraces are taken
out (:mod:`~napari_ivae.core.detection.scan_levelling`; ``params["scan_levelled"]`` says what
was found, ``None`` for any other frame, which is left as it came).
A frame whose pixels come in identical ``k x k`` blocks (nearest-neighbour up-sampled) is
searched one pixel a block, its result said in the frame's pixels
(:mod:`~napari_ivae.core.detection.replicated_pixels`; ``params["replicated"]``).

Peaks are local maxima of the smoothed image minus its Gaussian blur of width ``background``
(a band-pass at the atom scale): a faint column on the slope of a particle's intensity envelope
is no maximum of the smoothed image itself, but it is one once the slope is gone. Constant
areas (zero padding, blanking) hold no peak.

The local contrast (``prominence``) of a peak is its smoothed height above the mean smoothed
value on a circle of radius 0.5 spacing around it (insensitive to background slopes). ``snr``
is that contrast divided by the noise of the smoothed image (estimated from pixel-to-pixel
differences). With ``threshold=None`` the cut is a false-discovery bound against white noise
of the image's own level run through the same detector (the noise peaks counted from the
candidates themselves where that is fewer: a lattice's weak columns are no free room for noise),
with floors at an SNR of 2 and 0.1 x the 90th percentile of contrasts
(:mod:`napari_ivae.core.detection.atom_threshold`). A number
``0 < threshold < 1`` is a fraction of that percentile instead; ``threshold >= 1`` is an
absolute minimum prominence in image units.

With ``crystal_only=True`` (default) and an image that has a distinct crystalline region (a
nanoparticle or flake next to vacuum, amorphous support or a contamination rim; see
:mod:`napari_ivae.core.detection.crystal`), peaks outside that region are dropped: there the band-pass
finds atom-sized bumps that are no lattice sites. Peaks within one spacing of the region are
kept when they continue its lattice (the particle's outermost atoms). An image that is lattice
everywhere is not affected. ``exclude`` is a user mask of pixels where nothing may be detected
(a scale bar). Every result carries a self-check, ``Detections.quality``.

The steps live in their own modules: :mod:`~napari_ivae.core.detection.atom_defaults` (the
parameters from the spacing and a first pass), :mod:`~napari_ivae.core.detection.atom_honeycomb`
(dark or bright atoms), :mod:`~napari_ivae.core.detection.atom_frame` (one frame's peaks, cut and
refinement), :mod:`~napari_ivae.core.detection.atom_sites` (a weaker sub-lattice's sites) and
:mod:`~napari_ivae.core.detection.atom_honeycomb_sites` (a honeycomb's atoms where its hexagon
centres put them, when the polarity check found one: graphene in HRTEM, whose bonds are nearly
as bright as its atoms); this module runs them over a stack and checks the result. The
result's notes and the reason an empty one gives are
:mod:`~napari_ivae.core.detection.atom_messages`'; a sub-lattice held for other frames is
:mod:`~napari_ivae.core.detection.atom_held_sublattice`'s.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection import replicated_pixels
from napari_ivae.core.detection.atom_frame import frame_atoms, refine_peaks, select_by_contrast
from napari_ivae.core.detection.atom_held_sublattice import held_sublattice, with_sublattice
from napari_ivae.core.detection.atom_honeycomb_sites import honeycomb_sites
from napari_ivae.core.detection.atom_messages import (
    empty_reason,
    levelled_note,
    outside_note,
    summed_counts,
    with_note,
)
from napari_ivae.core.detection.atom_setup import _levelled, _prepared, _resolved, _with_annotation
from napari_ivae.core.detection.detection_memo import (
    DetectionMemo,
    checkpoint,
    using_memo,
)
from napari_ivae.core.detection.detections import Detections, empty_detections, make_detections
from napari_ivae.core.detection.finer_lattice import (
    SUPERSTRUCTURE_SOURCE,
    note_finer_lattice,
    superstructure_note,
    without_superstructure,
)
from napari_ivae.core.detection.lattice_sites import lattice_sites
from napari_ivae.core.detection.peaks import (
    close_point_losers,
    find_peaks,
    merge_close_points,
    smoothed_noise,
)
from napari_ivae.core.detection.point_columns import as_frame, joined, row_count
from napari_ivae.core.detection.ring_floor import empty_kept
from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import exclusion_mask

REFINE_MODES = ("com", "gaussian", None)
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
    superstructure: float | None = None,
    memo: DetectionMemo | None = None,
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
        lattice of dark ones, as bright graphene atoms in HRTEM do:
        :func:`~napari_ivae.core.detection.atom_honeycomb._bright_honeycomb`).
    channel, frame_axis, flatten
        Passed to :func:`napari_ivae.core.io.image.prepare_image`. With ``flatten=None`` a
        frame whose scan lines carry offsets of their own, or a lattice on terraces, is levelled
        (:func:`~napari_ivae.core.detection.scan_levelling.scan_levelled`).
    crystal_only : bool
        Drop peaks outside the crystalline region when the frame has a distinct one.
    exclude : array-like, optional
        ``(Y, X)`` mask, nonzero where nothing may be detected (applies to every frame).
    sublattice : dict, optional
        A weaker sub-lattice to judge at its sites, as an earlier result holds it: the
        ``sublattice_vectors``, ``sublattice_empty``, ``sublattice_contrast`` and ``sublattice``
        (the note) entries of its ``params``
        (:func:`~napari_ivae.core.detection.atom_held_sublattice.held_sublattice`). It replaces what
        the first pass would find; with ``spacing`` and ``sigma`` it is how the streamed and chunked
        paths hold the first frame's for the others, as this function does for the frames of a
        stack.
    superstructure : float, optional
        The period (px) of a superstructure over a much finer lattice, taken out before the
        search (each frame less its smoothing at half the period). Found automatically (an
        automatic spacing that is a superstructure's: ``params["superstructure"]``, see
        :mod:`~napari_ivae.core.detection.finer_lattice`); given with ``spacing``, ``sigma`` and
        ``invert``, it is how the streamed path holds the first frame's for the others.
    memo : DetectionMemo, optional
        Results of the steps that do not depend on what changed since an earlier detection
        of the same image (live tuning; :mod:`~napari_ivae.core.detection.detection_memo`):
        the result is the same as without it, to the bit. Without one, the steps of this
        call share a memo of their own.

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
    from napari_ivae.core.io.image import split_frames

    if refine not in REFINE_MODES:
        raise InputError(f"refine={refine!r} is not known; use 'com', 'gaussian' or None.")
    if superstructure is not None and not (np.isfinite(superstructure) and superstructure > 0):
        raise InputError(f"superstructure must be a period > 0 px; got {superstructure!r}.")
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
            superstructure=superstructure,
        )
    held = held_sublattice(sublattice, given=True)
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
    with using_memo(memo):
        prepared = _prepared(
            image, channel=channel, frame_axis=frame_axis, invert=bool(invert), flatten=flatten
        )
        frames, is_stack = split_frames(prepared)
        block = None if held is not None else replicated_pixels.block_replication(frames)
        if block is not None:  # a nearest-neighbour up-sampled frame: one pixel a block
            frames, given, superstructure, exclude = replicated_pixels.in_blocks(
                frames, block, given, superstructure, exclude
            )
        levelled = None
        if flatten is None:  # a scanning-probe topograph: line offsets, tilt and steps out
            frames, levelled = _levelled(frames)
        run = dict(
            refine=refine,
            com_iterations=int(com_iterations),
            invert=bool(invert),
            flatten=flatten,
            n_frames=len(frames),
            is_stack=is_stack,
            crystal_only=bool(crystal_only),
            exclude=exclude is not None,
            scan_levelled=levelled,
        )
        excluded = _with_annotation(exclusion_mask(exclude, frames.shape[1:]), frames[0], run)
        first_run = dict(run)
        if superstructure is not None:
            frames = without_superstructure(frames, float(superstructure))
            run["superstructure"] = float(superstructure)
        frames, params = _resolved(frames, given, run, excluded, invert)
        found = _detected(frames, with_sublattice(params, held), excluded, is_stack)
        finer = "finer_period" in found.params or "finer_bragg_period" in found.params
        if finer and held is None and superstructure is None:
            found = _finer_lattice(frames, found, given, first_run, excluded, is_stack)
        for key in ("finer_bragg_period", "finer_coarse"):  # the search's own
            found.params.pop(key, None)
        if block is not None:
            found = replicated_pixels.in_given_frame(found, block, _checked, prepared)
        return found


def _finer_lattice(frames, found, given, run, excluded, is_stack) -> Detections:
    """The atoms of a lattice much finer than the automatic spacing, under a superstructure
    whose maxima the first detection took for them (``finer_period``: see
    :mod:`~napari_ivae.core.detection.finer_lattice`). The superstructure is taken out (the
    frames less their smoothing at half the fine period, which keeps the fine lattice: its
    envelope would otherwise also set the atoms under its minima below the contrast cut), the
    spacing estimated below a ``FINER``-th of the first, and the atoms searched at it. That
    result is kept when its own self-check passes; else the first, with its warning (none for
    a finer lattice found by :mod:`~napari_ivae.core.detection.finer_bragg` alone)."""
    from napari_ivae.core.detection.finer_lattice import FINER
    from napari_ivae.core.detection.spacing import estimate_spacing

    bragg = found.params.pop("finer_bragg_period", None)  # (finer_bragg: not warned about)
    coarse = float(found.params.pop("finer_coarse", found.params["spacing"]))
    period = found.params.get("finer_period", bragg)
    fine = without_superstructure(frames, period)
    try:
        spacing = estimate_spacing(fine[0], max_spacing=coarse / FINER)
    except InputError:
        return found
    # the frames are bright already (their polarity was decided on the first detection, and
    # is kept to be held with the period for a stream's later frames)
    polarity = {key: found.params[key] for key in ("invert", "polarity") if key in found.params}
    held = {**run, **polarity, "superstructure": float(period)}
    fine, params = _resolved(fine, {**given, "spacing": spacing}, held, excluded, False)
    params["spacing_source"] = SUPERSTRUCTURE_SOURCE
    again = _detected(fine, params, excluded, is_stack)
    if len(again) == 0 or again.quality["warnings"]:
        return found
    again.message = with_note(again.message, superstructure_note(coarse, spacing))
    return again


def _detected(frames, params, excluded, is_stack) -> Detections:
    """Every frame's atoms at the resolved parameters, checked."""
    tables, counts = [], []
    for index, frame in enumerate(frames):
        checkpoint()
        table, frame_counts = frame_atoms(frame, params, excluded, final=True)
        # the lattice's missed sites are not put back where the empty frame was found
        kept_empty = empty_kept(frame.shape, excluded, frame_counts.pop("empty_at", None), params)
        if params.get("honeycomb") and row_count(table):  # (the only step with a DataFrame)
            table = honeycomb_sites(frame, as_frame(table), params, frame_counts, kept_empty)
            table = {name: table[name].to_numpy() for name in table.columns}
        else:
            table = lattice_sites(frame, table, params, frame_counts, kept_empty)
        tables.append({"frame": np.full(row_count(table), index, dtype=np.int64), **table})
        counts.append(frame_counts)
    params["counts"] = counts if is_stack else counts[0]
    table = joined(tables)
    note_finer_lattice(frames[0], tables[0], params)
    if row_count(table) == 0:
        why = empty_reason(counts[0] if not is_stack else summed_counts(counts), params)
        return _checked(empty_detections(_PROPERTY_COLUMNS, params=params, message=why), frames)
    message = ""
    if is_stack:
        message = (
            f"{row_count(table)} atoms in {len(frames)} frames (spacing {params['spacing']:.2f} px)"
        )
    outside = sum(c["outside_crystal"] for c in counts)
    if outside:
        message = with_note(message, outside_note(outside))
    if params.get("sublattice"):
        message = with_note(message, params["sublattice"])
    if params.get("scan_levelled"):
        message = with_note(message, levelled_note(params["scan_levelled"]))
    return _checked(make_detections(table, params=params, message=message), frames)


def _checked(detections: Detections, frames=None) -> Detections:
    from napari_ivae.core.detection.quality import assess

    if detections.params.get("refine") != "gaussian":  # no fit was tried: nothing to report
        detections.drop_column("fit_ok")

    shape = None if frames is None else frames.shape[-2:]  # a chunked frame's is not said
    first = None if frames is None or detections.params.get("is_stack") else frames
    first = first[0] if first is not None and first.ndim == 3 else first  # (1, y, x) or (y, x)
    detections.quality = assess(detections, "atoms", frame_shape=shape, frame=first)
    if detections.params.get("sublattice"):  # a plain note, not a warning
        detections.quality["measures"]["sublattice"] = detections.params["sublattice"]
    return detections


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
