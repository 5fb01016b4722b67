"""Whether detected particles stand out from the background at all: the warning the CLI and
the Detect widget give when they barely do (the image may hold noise only, or the particles
are of the other polarity)."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median

MIN_CONTRAST = 1.5  # particles less distinct than this (in background-noise units): warn
MIN_LOCAL_CONTRAST = 2.5  # ... unless they stand out this much from their own surroundings
LINE_SAMPLES = 256  # a scan line's offset: the median of about this many of its pixels


def resolved_polarity(detections, asked: str) -> str:
    """The polarity used (the first frame's, when it was decided from the image)."""
    resolved = detections.params.get("resolved")
    first = resolved[0] if isinstance(resolved, list) and resolved else resolved
    if isinstance(first, dict) and first.get("polarity"):
        return first["polarity"]
    return asked


def particle_contrast(prepared, labels, polarity: str) -> float:
    """How far the particles stand out: (median inside - median outside) / background noise."""
    frames = prepared if prepared.ndim == 3 else prepared[None]
    labels = np.asarray(labels).reshape(frames.shape)
    signal = frames if polarity == "bright" else -frames
    background, inside = signal[labels == 0], signal[labels > 0]
    if background.size == 0 or inside.size == 0:
        return float("inf")
    centre = _median(background)
    noise = 1.4826 * _median(np.abs(background - centre))
    if noise == 0:
        return float("inf")
    return float((_median(inside) - centre) / noise)


def local_contrast(prepared, labels, polarity: str) -> float:
    """How far the particles stand out from their own surroundings: the median over particles
    of (median inside - median of a ring around it), in units of the background's noise once
    its smooth trend (a Gaussian of 3 particle radii, particles left out) is taken away.

    On a background that is uneven at a larger scale than the particles (vacuum beside a
    support, illumination), the whole background's spread is not noise; this measure is not
    fooled by it. Noise alone stayed at or below 2.0 (28 noise images, 1 to 1567 blobs found)."""
    from scipy import ndimage as ndi

    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection._medians import _group_medians

    frames = prepared if prepared.ndim == 3 else prepared[None]
    labels = np.asarray(labels).reshape(frames.shape)
    steps, residuals = [], []
    for frame, lab in zip(frames, labels):
        index = np.unique(lab[lab > 0])
        if index.size == 0:
            continue
        signal = np.asarray(frame if polarity == "bright" else -frame, dtype=np.float64)
        background = lab == 0
        radius = max(1.0, float(np.sqrt(np.median(np.bincount(lab.ravel())[index]) / np.pi)))
        # ndimage's blur at these widths (120+ taps) was 0.08 s of a 640 x 640 frame
        weight = gaussian_smooth(background, 3 * radius)
        trend = gaussian_smooth(np.where(background, signal, 0.0), 3 * radius)
        residual = signal - trend / np.maximum(weight, 1e-6)
        # a scanned frame's line offsets are neither noise nor a particle's step
        offsets = _line_offsets(residual, background)
        signal = signal - offsets
        residuals.append((residual - offsets)[background])
        width = max(2, int(round(radius)))
        grown = ndi.grey_dilation(lab, size=2 * width + 1)  # each ring pixel: a particle's
        ring = np.where(background, grown, 0)
        # ndimage.median's numbers, by one sort of the labelled pixels (4-6 x faster)
        in_ring, labelled = ring > 0, lab > 0
        around = (  # the labels with a ring, ascending
            _group_medians(signal[in_ring], ring[in_ring]) if in_ring.any() else np.zeros(0)
        )
        inside = _group_medians(signal[labelled], lab[labelled])  # every label (index)
        has_ring = np.isin(index, np.unique(ring[in_ring]))
        steps.append(inside[has_ring] - around)
    if not residuals or not np.concatenate(steps).size:
        return float("inf")
    residual = np.concatenate(residuals)
    noise = 1.4826 * _median(np.abs(residual - _median(residual)))
    if noise == 0:
        return float("inf")
    return float(_median(np.concatenate(steps)) / noise)


def _line_offsets(residual, background) -> np.ndarray:
    """Each row's median of ``residual`` over its ``background`` pixels, plus each column's
    median of what is left (from about ``LINE_SAMPLES`` pixels of each): the offsets of a
    scanned frame's lines (0 for a line with no background pixel among those).

    A scanned frame (AFM, STM, STEM) carries an offset per scan line that a trend smooth
    over a few particle radii does not follow. Counted as noise, it made particles standing
    well out of a height map read 0.4-1.3 x the noise (stranger_probe.py's AFM row); taken
    for a step, it made blobs found along one bright line stand out of their rings."""
    from napari_ivae.core.detection._medians import _median_of_numbers

    offsets = np.zeros(residual.shape)
    for axis in (1, 0):
        # a line's median from at most LINE_SAMPLES of its pixels (its standard error 0.08 x
        # the noise; all of a 2048 px frame's took 0.4 s)
        step = max(1, residual.shape[axis] // LINE_SAMPLES)
        every = (slice(None), slice(None, None, step)) if axis == 1 else (slice(None, None, step),)
        values = np.where(background[every], residual[every] - offsets[every], np.nan)
        measured = np.isfinite(values).any(axis=axis)
        level = np.zeros(measured.shape)
        if measured.any():
            kept = values[measured] if axis == 1 else values[:, measured]
            # numpy's nanmedian along an axis loops over the lines in Python: one sort instead
            level[measured] = _median_of_numbers(kept if axis == 1 else kept.T)
        offsets += level[:, None] if axis == 1 else level[None, :]
    return offsets


def packed_layer(prepared, polarity: str) -> bool:
    """Whether every frame is a layer of particles of ``polarity`` with the background a network
    of gaps between them (:func:`~napari_ivae.core.detection.packed.packed_layer`).

    Both contrasts above take the pixels outside the particles' discs for the background: on
    a packed layer those are mostly the particles' own rims (dark spheres of radius 9 px, gaps
    of 2 px: contrast 1.46 and 1.53), so their spread is the particles' profile, not noise. A
    frame cut at one level into hundreds of compact pieces of one polarity inside a connected
    network of the other is no noise and no other polarity."""
    from napari_ivae.core.detection.packed import packed_layer as layer_of

    frames = prepared if prepared.ndim == 3 else prepared[None]
    for frame in frames:
        packed = layer_of(frame)
        if packed is None or packed[0] != polarity:
            return False
    return True


def noise_warning(prepared, labels, polarity: str, count: int) -> str | None:
    """The warning when particles barely stand out from the background, both overall and
    from their own surroundings (noise, or the other polarity), else the warning when the
    first frame holds many particles of the other polarity besides those found
    (:func:`~napari_ivae.core.detection.particle_other_side.other_polarity_warning`), else
    None. The Detect widget shows it too (``--polarity`` is the command line's spelling; the
    widget names its own control)."""
    contrast = particle_contrast(prepared, labels, polarity)
    if (
        contrast < MIN_CONTRAST
        and local_contrast(prepared, labels, polarity) < MIN_LOCAL_CONTRAST
        and not packed_layer(prepared, polarity)
    ):
        other = "dark" if polarity == "bright" else "bright"
        return (
            f"the {count} particles barely stand out from the background (contrast "
            f"{contrast:.2f} x its noise, below {MIN_CONTRAST:g}): the image may hold noise "
            f"only, or the particles are {other} (--polarity {other}); check the result "
            "before using it"
        )
    from napari_ivae.core.detection.particle_other_side import other_polarity_warning

    frames = prepared if prepared.ndim == 3 else prepared[None]
    return other_polarity_warning(frames[0], np.asarray(labels).reshape(frames.shape)[0], polarity)
