"""Atom detection in a frame too large to hold: chunk by chunk, each read with a halo.

The frame (a zarr/dask array, a memory map, one frame of a lazy stack) is cut into square
chunks (``chunk`` px); each is read together with a halo of a few atom spacings around it,
prepared, smoothed and searched for peaks exactly as :func:`~napari_ivae.core.detection.atoms.detect_atoms`
does the whole frame, and keeps only the peaks whose pixel lies in its own chunk (so a peak on
a chunk border is found once). The halo covers every filter the detector applies (smoothing,
the background blur, peak suppression, the contrast ring, the centre-of-mass refinement), so a
chunk's peaks and their refined positions equal those of the whole frame.

What the detector measures over the whole frame is measured once, from a *sample*: the central
``sample_side`` x ``sample_side`` window of the frame, read whole. That gives the spacing, the
atoms' width and polarity, a weaker sub-lattice (:mod:`napari_ivae.core.detection.motif`), the
noise level, a burned-in scale bar and the crystalline region. The contrast cut is set once from
the contrasts of all chunks' peaks and the searched area summed over the chunks, and the weaker
sub-lattice's sites are judged once too (``atom_sites.judged_at_sites``): the strong atoms and the
places they predict come from all chunks' peaks, and each chunk hands over, besides its peaks,
its core's local maxima near any peak plus a sub-lattice or empty vector (contrast and refined
position alike), among which the places pick the maxima the whole frame's search would. For a
frame no larger than the sample (the default sample is 4096 px square)
every such measure is the whole frame's, and the points equal the in-memory detector's; on a
larger frame they come from the central window, and a burned-in scale bar or a crystalline region
is not looked for (``params["chunked"]`` says what was measured where).

Chunks are independent tasks: they run on the scheduler given (threads by default, see
:mod:`napari_ivae.core.scheduling`), each holding one chunk and its halo in memory.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from napari_ivae.core.detection.detections import Detections, empty_detections, make_detections
from napari_ivae.core.errors import InputError

CHUNK_SIDE = 2048  # pixels per chunk side (its halo comes on top)
SAMPLE_SIDE = 4096  # the whole-frame measures come from a central window this large
FLAT_WINDOW = 25  # peaks.flat_mask's window


def detect_atoms_chunked(
    image,
    *,
    chunk: int = CHUNK_SIDE,
    sample_side: int = SAMPLE_SIDE,
    scheduler=None,
    progress=None,
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
    crystal_only: bool = True,
    exclude=None,
    sublattice: dict | None = None,
) -> Detections:
    """Detect atom columns in one large 2D frame, chunk by chunk (see the module doc).

    Parameters
    ----------
    image : array-like
        ``(Y, X)`` frame, sliceable without reading it whole (dask, zarr, ``numpy.memmap``,
        numpy).
    chunk : int
        Side of a chunk in pixels (without its halo).
    sample_side : int
        Side of the central window the whole-frame measures come from.
    scheduler : None, str or distributed.Client
        Where the chunks run (:func:`~napari_ivae.core.scheduling.map_tasks`).
    progress : callable, optional
        ``progress(done, total)`` as chunks finish.
    spacing, sigma, background, min_distance, threshold, refine, refine_radius, com_iterations,
    merge_distance, border, invert, crystal_only, exclude, sublattice
        As in :func:`~napari_ivae.core.detection.atoms.detect_atoms` (``exclude``: a ``(Y, X)`` mask,
        sliced per chunk).

    Returns
    -------
    Detections
        As :func:`~napari_ivae.core.detection.atoms.detect_atoms` returns for the frame, with
        ``params["chunked"]``: chunk and halo sizes, number of chunks, and whether the sample
        was the whole frame.
    """
    from napari_ivae.core.detection import atom_defaults, atom_honeycomb, atoms
    from napari_ivae.core.detection.peaks import flat_mask, smoothed_noise
    from napari_ivae.core.scheduling import map_tasks, portable
    from napari_ivae.core.validation import exclusion_mask

    shape = tuple(int(s) for s in getattr(image, "shape", ()))
    if len(shape) != 2:
        raise InputError(f"chunked detection works on one (Y, X) frame; got shape {shape}.")
    if refine not in atoms.REFINE_MODES:
        raise InputError(f"refine={refine!r} is not known; use 'com', 'gaussian' or None.")
    if int(chunk) < 64:
        raise InputError(f"chunk must be at least 64 px, got {chunk}.")
    held = atoms.held_sublattice(sublattice, given=True)
    height, width = shape
    window = tuple(
        slice(max((n - sample_side) // 2, 0), max((n - sample_side) // 2, 0) + min(n, sample_side))
        for n in shape
    )
    whole = window[0].stop - window[0].start == height and window[1].stop - window[1].start == width
    sample, fill = _read_sample(image, window)
    excluded = None
    if exclude is not None:
        if tuple(np.shape(exclude)) != shape:
            exclusion_mask(np.zeros(np.shape(exclude), bool), shape)  # the same error
        excluded = np.asarray(exclude[window]) != 0
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
        flatten=None,
        n_frames=1,
        is_stack=False,
        crystal_only=bool(crystal_only),
        exclude=exclude is not None,
    )
    if whole:
        excluded = atoms._with_annotation(excluded, sample, run)
    else:
        run["annotation_pixels"] = 0
    params = {**atom_defaults._resolve_params(sample, **given), **run}
    flip = None
    if invert:  # as prepare_image(invert=True): in float64 over the frame's range
        low, high = _value_range(
            image, _prepared(np.asarray(image[window]), fill, ("float64", 0.0), cast=False), whole
        )
        flip = ("float64", float(np.float64(high) + np.float64(low)))
        sample = _prepared(np.asarray(image[window]), fill, flip)
    elif invert is None:
        first = atom_honeycomb._bright_atoms(sample[None], params["spacing"], run, params, excluded)
        sample_first = first[0]
        params.update(run)
        if run["invert"]:  # as detect_atoms: flipped in float32 over the frame's range
            low, high = _value_range(image, sample, whole)
            flip = ("float32", float(np.float32(high) + np.float32(low)))
            sample = sample_first if whole else _prepared(np.asarray(image[window]), fill, flip)
    if spacing is None or sigma is None:
        params = {**atom_defaults._from_first_pass(sample, params, given, excluded), **run}
    params = atoms.with_sublattice(params, held)
    flat = flat_mask(sample)
    skip = flat if flat.any() else None
    noise = smoothed_noise(sample, params["sigma"], skip)
    pixel_noise = smoothed_noise(sample, 0.0, skip)

    halo, align = _halo(params)
    cores = [
        (r, min(r + chunk, height), c, min(c + chunk, width))
        for r in range(0, height, chunk)
        for c in range(0, width, chunk)
    ]
    shared = portable(image)
    mask = None if exclude is None else portable(exclude)
    tasks = [
        (shared, core, _window(core, halo, align, shape), fill, flip, params, mask)
        for core in cores
    ]
    found = map_tasks(_chunk_peaks, tasks, scheduler, progress)
    merged, at_places = (_merged([part[key] for part in found]) for key in ("peaks", "at_places"))
    area = float(max(sum(part["area"] for part in found), 1))
    table, counts = _select(
        merged,
        at_places,
        params,
        sample if whole else None,
        excluded,
        flat,
        area,
        whole,
        noise,
        pixel_noise,
        shape,
    )
    table.insert(0, "frame", 0)
    params["counts"] = counts
    params["chunked"] = {
        "chunk": int(chunk),
        "halo": int(halo),
        "chunks": len(cores),
        "sample": [window[0].start, window[0].stop, window[1].start, window[1].stop],
        "sample_is_frame": bool(whole),
    }
    if len(table) == 0:
        why = atoms._empty_reason(counts, params)
        return atoms._checked(empty_detections(atoms._PROPERTY_COLUMNS, params=params, message=why))
    message = ""  # as detect_atoms says it
    if counts["outside_crystal"]:
        message = atoms.with_note(message, atoms.outside_note(counts["outside_crystal"]))
    if params.get("sublattice"):
        message = atoms.with_note(message, params["sublattice"])
    return atoms._checked(make_detections(table, params=params, message=message))


def _merged(parts: list) -> dict:
    """The chunks' peaks as one table, in the order one frame's search gives (row-major)."""
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.lexsort((merged["peak"][:, 1], merged["peak"][:, 0]))
    return {key: value[order] for key, value in merged.items()}


def _read_sample(image, window):
    """The central window as the detector's float32 frame, and the value NaNs are filled with."""
    from napari_ivae.core.io.image import prepare_image

    raw = np.asarray(image[window])
    finite = np.isfinite(raw) if raw.dtype.kind == "f" else None
    fill = (
        float(np.median(raw[finite]))
        if finite is not None and not finite.all() and finite.any()
        else None
    )
    return prepare_image(raw), fill


def _value_range(image, sample, whole: bool) -> tuple[float, float]:
    if whole:
        return float(np.min(sample)), float(np.max(sample))
    from napari_ivae.core.patches.source import lazy_range

    return lazy_range(image)


def _prepared(raw: np.ndarray, fill, flip, cast: bool = True) -> np.ndarray:
    """A chunk as prepare_image (and detect_atoms' polarity flip) makes the whole frame
    (``cast=False``: the values before any flip, in the dtype the flip works in)."""
    dtype = np.float64 if flip is not None and flip[0] == "float64" else np.float32
    frame = raw.astype(dtype, copy=True)
    if fill is not None:
        frame[~np.isfinite(frame)] = fill
    if not cast:
        return frame
    if flip is not None:
        frame = dtype(flip[1]) - frame
    return np.ascontiguousarray(frame, dtype=np.float32)


def _halo(params) -> tuple[int, int]:
    """The halo in pixels, and the grid chunk windows start on (the background blur bins the
    frame in blocks counted from its corner: a window must start on a block)."""
    reach = (
        4.0 * params["background"]
        + 4.0 * params["sigma"]
        + 2.0 * params["spacing"]
        + 3.0 * params["refine_radius"]
        + 2.0 * params["min_distance"]
    )
    if params.get("sublattice_vectors"):  # a site's atom is this far from its strong one
        vectors = [*params["sublattice_vectors"], *(params.get("sublattice_empty") or [])]
        reach += max(np.hypot(*np.asarray(vectors, dtype=np.float64).T))
    align = max(int(params["background"] // 1.5), 1)
    halo = int(math.ceil(reach)) + 2 * FLAT_WINDOW + 2 * align
    return -(-halo // align) * align, align


def _window(core, halo: int, align: int, shape) -> tuple[int, int, int, int]:
    r0, r1, c0, c1 = core
    top, left = max(r0 - halo, 0) // align * align, max(c0 - halo, 0) // align * align
    return top, min(r1 + halo, shape[0]), left, min(c1 + halo, shape[1])


def _chunk_peaks(image, core, window, fill, flip, params, exclude) -> dict:
    """One chunk's candidate peaks (in frame pixels) with their contrast and refined position,
    the area searched in its core, and (``at_places``, when a weaker sub-lattice's sites are
    judged) the local maxima of its core that may be a site's or a control place's atom."""
    from napari_ivae.core.detection import atom_frame, atom_sites
    from napari_ivae.core.detection.peaks import flat_mask

    r0, r1, c0, c1 = core
    top, bottom, left, right = window
    local = (r0 - top, r1 - top, c0 - left, c1 - left)  # the core in window pixels
    frame = _prepared(np.asarray(image[top:bottom, left:right]), fill, flip)
    flat = flat_mask(frame)
    skip = flat if flat.any() else None
    smoothed, band, every = atom_frame.smoothed_band_peaks(frame, params, skip)
    masked = None if exclude is None else np.asarray(exclude[top:bottom, left:right]) != 0
    peaks = _described(every[_in_core(every, local)], smoothed, frame, params, masked, window)
    usable = ~flat[local[0] : local[1], local[2] : local[3]]
    if masked is not None:
        usable &= ~masked[local[0] : local[1], local[2] : local[3]]
    maxima = np.zeros((0, 2), dtype=np.int64)
    if atom_sites.judges_sites(params):
        maxima = _maxima_near_places(band, every, skip, masked, local, params)
    at_places = _described(maxima, smoothed, frame, params, masked, window)
    at_places["band"] = band[maxima[:, 0], maxima[:, 1]]
    return {"peaks": peaks, "at_places": at_places, "area": int(usable.sum())}


def _in_core(points, core) -> np.ndarray:
    r0, r1, c0, c1 = core
    return (points[:, 0] >= r0) & (points[:, 0] < r1) & (points[:, 1] >= c0) & (points[:, 1] < c1)


def _described(points, smoothed, frame, params, masked, window) -> dict:
    """Integer peaks of a chunk with their smoothed value, contrast, refined position and
    whether the user's mask holds them (positions in frame pixels: ``window`` is the chunk's
    window, top, bottom, left, right)."""
    from napari_ivae.core.detection import atom_frame
    from napari_ivae.core.detection.peaks import ring_mean

    values = smoothed[points[:, 0], points[:, 1]]
    prominence = values - ring_mean(smoothed, points, params["spacing"])
    refined, fit_ok = atom_frame.refine_peaks(smoothed, frame, points.astype(np.float64), params)
    hit = (
        np.zeros(len(points), dtype=bool) if masked is None else masked[points[:, 0], points[:, 1]]
    )
    shift = np.array([window[0], window[2]])
    return {
        "peak": points + shift,
        "value": values,
        "prominence": prominence,
        "refined": refined + shift,
        "fit_ok": fit_ok,
        "excluded": hit,
    }


def _maxima_near_places(band, peaks, skip, masked, core, params) -> np.ndarray:
    """The 3 x 3 maxima of the chunk's core (not flat, not masked) within ``SITE_TOLERANCE``
    spacings of any peak of the chunk and its halo plus a sub-lattice or empty vector: every
    maximum the whole frame's sites stage (``atom_frame._peaks_at_places``) may pick in the core,
    whichever peaks it keeps as strong atoms. A maximum that is a peak itself is left out: the
    stage never picks one (a place within reach of a candidate is not searched; a peak that is
    no candidate, outside the crystal or masked, is no maximum there either)."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection import atom_frame, atom_sites

    is_max = atom_frame.local_maxima(band)
    for mask in (skip, masked):
        if mask is not None:
            is_max &= ~mask
    is_max[peaks[:, 0], peaks[:, 1]] = False
    r0, r1, c0, c1 = core
    maxima = np.argwhere(is_max[r0:r1, c0:c1]) + np.array([r0, c0])  # row-major, as np.nonzero
    vectors = np.asarray(
        [*params["sublattice_vectors"], *(params.get("sublattice_empty") or [])], dtype=np.float64
    ).reshape(-1, 2)
    places = (peaks[:, None, :].astype(np.float64) + vectors[None, :, :]).reshape(-1, 2)
    if len(maxima) == 0 or len(places) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    reach = atom_sites.SITE_TOLERANCE * params["spacing"] * (1 + 1e-6) + 1e-6  # inclusive, as there
    distance, _ = cKDTree(places).query(maxima.astype(np.float64), distance_upper_bound=reach)
    return maxima[np.isfinite(distance)].astype(np.int64)


def _select(
    found, at_places, params, frame, excluded, flat, area, whole, noise, pixel_noise, shape
) -> tuple[pd.DataFrame, dict]:
    """The rest of ``atom_frame._detect_frame`` on the peaks of all chunks: the region and mask, the
    contrast cut, the rim check, a weaker sub-lattice's sites (its atoms among the chunks'
    maxima ``at_places``), merging and the border."""
    from napari_ivae.core.detection import atom_frame, atom_sites
    from napari_ivae.core.detection.atom_region import allowed_candidates, search_area
    from napari_ivae.core.detection.atom_threshold import contrast_cut
    from napari_ivae.core.detection.peaks import merge_close_points

    candidates = found["peak"]
    if whole:
        allowed = allowed_candidates(frame, candidates, params, excluded)
        area = search_area(flat, excluded, allowed["mask"])
    else:
        zeros = np.zeros(len(candidates), dtype=bool)
        allowed = {
            "excluded": found["excluded"],
            "outside": zeros,
            "edge": zeros,
            "mask": None,
            "region": "not searched (frame larger than the sample)",
        }
    n_peaks, n_excluded = len(candidates), int(allowed["excluded"].sum())
    usable = ~(allowed["excluded"] | allowed["outside"])
    found = {key: value[usable] for key, value in found.items()}
    candidates, at_edge = found["peak"], allowed["edge"][usable]
    prominence = found["prominence"]
    if params["threshold"] == "auto":
        cut = contrast_cut(prominence, pixel_noise, noise, area, params, atom_frame._null_contrasts)
    else:
        cut = atom_frame._manual_cut(prominence, params["threshold"])
    keep, counts = atom_frame.select_by_contrast(
        candidates, prominence, at_edge, cut, params, allowed, noise, n_peaks, n_excluded
    )
    if atom_sites.judges_sites(params):
        places = atom_sites._sublattice_places(candidates, prominence, keep & ~at_edge, params)
        pool = at_places
        if whole:  # as the frame's maxima: not in the scale bar, inside the crystal region
            rows, cols = pool["peak"].T
            usable = np.ones(len(rows), dtype=bool)
            if excluded is not None:
                usable &= ~excluded[rows, cols]
            if allowed["mask"] is not None:
                usable &= allowed["mask"][rows, cols]
            pool = {key: value[usable] for key, value in pool.items()}
        wanted = atom_sites.wanted_places(candidates, places, params)
        chosen = atom_sites.maxima_at_places(pool["peak"], pool["band"], wanted, params)
        found = {key: np.concatenate([value, pool[key][chosen]]) for key, value in found.items()}
        prominence = found["prominence"]
        keep = np.concatenate([keep, np.zeros(len(chosen), dtype=bool)])
        keep = atom_sites.judged_at_sites(
            found["peak"], prominence, keep, places, params, counts, len(chosen)
        )
    found = {key: value[keep] for key, value in found.items()}
    refined, start = found["refined"], found["peak"].astype(np.float64)
    prominence = found["prominence"]
    table = pd.DataFrame(
        {
            "row": refined[:, 0],
            "col": refined[:, 1],
            "intensity": found["value"],
            "prominence": prominence,
            "snr": prominence / noise if noise > 0 else np.inf,
            "refine_shift": np.hypot(*(refined - start).T),
            "fit_ok": found["fit_ok"],
        }
    )
    table, n_merged = merge_close_points(table, params["merge_distance"])
    inside = atom_frame._inside_border(table[["row", "col"]].to_numpy(), shape, params["border"])
    counts.update(merged=n_merged, at_border=int((~inside).sum()), found=int(inside.sum()))
    return table[inside].reset_index(drop=True), counts


__all__ = ["CHUNK_SIDE", "SAMPLE_SIDE", "detect_atoms_chunked"]
