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
the contrasts of all chunks' peaks and the searched area summed over the chunks (whether any
peak stands out from the noise is judged against the sample's own shuffled pixels, their
peak counts scaled to the frame's area), and the weaker
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

import numpy as np

from napari_ivae.core.detection.chunk_peaks import (
    chunk_halo,
    chunk_peaks,
    chunk_window,
    prepared_chunk,
)
from napari_ivae.core.detection.chunked_selection import merged_peaks, select_peaks
from napari_ivae.core.detection.detections import Detections, empty_detections, make_detections
from napari_ivae.core.detection.lattice_directions import ONE_DIRECTION
from napari_ivae.core.errors import InputError

CHUNK_SIDE = 2048  # pixels per chunk side (its halo comes on top)
SAMPLE_SIDE = 4096  # the whole-frame measures come from a central window this large


NOT_TAKEN_OUT = "blob scale (periodic along one direction only, not taken out of the chunks)"


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
    from napari_ivae.core.detection.atom_held_sublattice import held_sublattice, with_sublattice
    from napari_ivae.core.detection.atom_messages import empty_reason, outside_note, with_note
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
    held = held_sublattice(sublattice, given=True)
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
    if ONE_DIRECTION in str(params["spacing_source"]):
        # the chunks are searched as read, the one-direction periodicity left in: said so
        params["spacing_source"] = NOT_TAKEN_OUT
    flip = None
    if invert:  # as prepare_image(invert=True): in float64 over the frame's range
        low, high = _value_range(
            image,
            prepared_chunk(np.asarray(image[window]), fill, ("float64", 0.0), cast=False),
            whole,
        )
        flip = ("float64", float(np.float64(high) + np.float64(low)))
        sample = prepared_chunk(np.asarray(image[window]), fill, flip)
    elif invert is None:
        first = atom_honeycomb._bright_atoms(sample[None], params["spacing"], run, params, excluded)
        sample_first = first[0]
        params.update(run)
        if run["invert"]:  # as detect_atoms: flipped in float32 over the frame's range
            low, high = _value_range(image, sample, whole)
            flip = ("float32", float(np.float32(high) + np.float32(low)))
            sample = (
                sample_first if whole else prepared_chunk(np.asarray(image[window]), fill, flip)
            )
    if spacing is None or sigma is None:
        params = {**atom_defaults._from_first_pass(sample, params, given, excluded), **run}
    params = with_sublattice(params, held)
    flat = flat_mask(sample)
    skip = flat if flat.any() else None
    noise = smoothed_noise(sample, params["sigma"], skip)
    pixel_noise = smoothed_noise(sample, 0.0, skip)

    halo, align = chunk_halo(params)
    cores = [
        (r, min(r + chunk, height), c, min(c + chunk, width))
        for r in range(0, height, chunk)
        for c in range(0, width, chunk)
    ]
    shared = portable(image)
    mask = None if exclude is None else portable(exclude)
    tasks = [
        (shared, core, chunk_window(core, halo, align, shape), fill, flip, params, mask)
        for core in cores
    ]
    found = map_tasks(chunk_peaks, tasks, scheduler, progress)
    merged, at_places = (
        merged_peaks([part[key] for part in found]) for key in ("peaks", "at_places")
    )
    area = float(max(sum(part["area"] for part in found), 1))
    table, counts = select_peaks(
        merged,
        at_places,
        params,
        sample,
        excluded,
        flat,
        area,
        whole,
        noise,
        pixel_noise,
        shape,
    )
    if whole and not params.get("honeycomb"):  # as detect_atoms: the lattice's sites judged
        table = _on_lattice(sample, table, params, counts, excluded)
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
        why = empty_reason(counts, params)
        return atoms._checked(empty_detections(atoms._PROPERTY_COLUMNS, params=params, message=why))
    message = ""  # as detect_atoms says it
    if counts["outside_crystal"]:
        message = with_note(message, outside_note(counts["outside_crystal"]))
    if params.get("sublattice"):
        message = with_note(message, params["sublattice"])
    return atoms._checked(make_detections(table, params=params, message=message))


def _on_lattice(frame, table, params, counts, excluded):
    """:func:`~napari_ivae.core.detection.lattice_sites.lattice_sites` on the whole frame's
    table (a :class:`pandas.DataFrame` here)."""
    import pandas as pd

    from napari_ivae.core.detection.lattice_sites import lattice_sites

    columns = {name: table[name].to_numpy() for name in table.columns}
    return pd.DataFrame(lattice_sites(frame, columns, params, counts, excluded))


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


__all__ = ["CHUNK_SIDE", "SAMPLE_SIDE", "detect_atoms_chunked"]
