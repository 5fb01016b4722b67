"""The pixels within given radii of particle centres.

:func:`within_discs` marks every pixel within a radius of its centre, the centres of one radius
at a time. The kept particles' discs, widened by a margin, are what the faint pass and the far
background leave out (:mod:`~napari_ivae.core.detection.particle_faint`,
:mod:`~napari_ivae.core.detection.particle_far_background`,
:mod:`~napari_ivae.core.detection.field_noise`); the labels' watershed, the rims, rods, streaks,
edge cuts and the other polarity's particles are measured within them.
"""

from __future__ import annotations

import numpy as np


def within_discs(shape, centres, radii) -> np.ndarray:
    """True within ``radii`` (one per centre) of any of the integer ``centres``.

    The centres of one radius at once: the flat offsets of its disc's pixels (the same test
    as centre by centre) added to each centre's flat index; only the centres whose square
    the frame's edge cuts test their pixels against the frame."""
    near = np.zeros(shape, dtype=bool)
    centres = np.asarray(centres).reshape(-1, 2).astype(np.int64)
    radii = np.asarray(radii, dtype=np.float64).reshape(-1)
    if not len(centres):
        return near
    flat_near = near.reshape(-1)
    height, width = near.shape
    for radius in np.unique(radii).tolist():
        group = np.flatnonzero(radii == radius)
        span = int(np.ceil(radius))
        step = np.arange(-span, span + 1)
        offset_rows, offset_cols = np.repeat(step, len(step)), np.tile(step, len(step))
        disc = offset_rows**2 + offset_cols**2 <= radius**2
        offset_rows, offset_cols = offset_rows[disc], offset_cols[disc]
        rows, cols = centres[group, 0], centres[group, 1]
        clear = (rows >= span) & (rows < height - span) & (cols >= span) & (cols < width - span)
        offsets = offset_rows * width + offset_cols
        for chunk in _chunks(np.flatnonzero(clear), len(offsets)):
            flat_near[((rows[chunk] * width + cols[chunk])[:, None] + offsets).ravel()] = True
        for chunk in _chunks(np.flatnonzero(~clear), len(offsets)):
            at_rows = rows[chunk, None] + offset_rows[None, :]
            at_cols = cols[chunk, None] + offset_cols[None, :]
            inside = (at_rows >= 0) & (at_rows < height) & (at_cols >= 0) & (at_cols < width)
            near[at_rows[inside], at_cols[inside]] = True
    return near


def _chunks(indices, pixels):
    """``indices`` in pieces of at most about 4 million pixels (``pixels`` each)."""
    pieces = -(-len(indices) * pixels // (1 << 22))
    return np.array_split(indices, pieces) if pieces > 1 else [indices] if pieces else []


__all__ = ["within_discs"]
