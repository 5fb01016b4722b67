"""One chunk's share of chunked atom detection: its window and halo, its peaks in frame pixels.

:func:`~napari_ivae.core.detection.chunked.detect_atoms_chunked` cuts the frame into square
cores; each core is read with a halo that covers every filter the detector applies, so the
peaks found in the core and their refined positions equal those of the whole frame. The
chunk hands back its peaks with their smoothed value, contrast and refined position, and the
core's local maxima a weaker sub-lattice's sites may pick.
"""

from __future__ import annotations

import math

import numpy as np

FLAT_WINDOW = 25  # peaks.flat_mask's window


def prepared_chunk(raw: np.ndarray, fill, flip, cast: bool = True) -> np.ndarray:
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


def chunk_halo(params) -> tuple[int, int]:
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


def chunk_window(core, halo: int, align: int, shape) -> tuple[int, int, int, int]:
    """The window a core ``(top, bottom, left, right)`` is read with: grown by ``halo``,
    clipped to the frame ``shape``, its top-left corner on the ``align`` grid."""
    r0, r1, c0, c1 = core
    top, left = max(r0 - halo, 0) // align * align, max(c0 - halo, 0) // align * align
    return top, min(r1 + halo, shape[0]), left, min(c1 + halo, shape[1])


def chunk_peaks(image, core, window, fill, flip, params, exclude) -> dict:
    """One chunk's candidate peaks (in frame pixels) with their contrast and refined position,
    the area searched in its core, and (``at_places``, when a weaker sub-lattice's sites are
    judged) the local maxima of its core that may be a site's or a control place's atom."""
    from napari_ivae.core.detection import atom_frame, atom_sites
    from napari_ivae.core.detection.peaks import flat_mask

    r0, r1, c0, c1 = core
    top, bottom, left, right = window
    local = (r0 - top, r1 - top, c0 - left, c1 - left)  # the core in window pixels
    frame = prepared_chunk(np.asarray(image[top:bottom, left:right]), fill, flip)
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


__all__ = ["FLAT_WINDOW", "chunk_halo", "chunk_peaks", "chunk_window", "prepared_chunk"]
