"""A frame's masked pixels (a burned-in scale bar, its label, ``exclude``) filled with the
background around them, so that no filter reads the mask's edges as structure."""

from __future__ import annotations

import numpy as np


def filled_frame(frame, masked, skip) -> np.ndarray:
    """``frame`` (float32) with the ``masked`` pixels (a scale bar, its label, ``exclude``)
    replaced by the background around them: the frame's average over the unmasked pixels
    nearby (a Gaussian as wide as twice the mask's thickness, at least 2 px). One value for
    the whole mask (the frame's median) stood out of a vignetted or tilted background as a
    patch of its own, whose rim gave particles of the other polarity along the bar's edges."""
    from scipy import ndimage

    frame = np.asarray(frame, dtype=np.float32)
    if not masked.any():
        return frame.copy()
    if masked.all():
        return np.zeros_like(frame)
    # only the masked pixels take the blur: it is computed on their bounding box and as far
    # around it as the kernel reaches (ndimage filters each line apart: the same numbers)
    box = _grown_box(masked, 1)
    width = 2.0 * max(float(ndimage.distance_transform_edt(masked[box]).max()), 1.0)
    box = _grown_box(masked, int(4.0 * width + 0.5))  # gaussian_filter's kernel radius
    inside = masked[box]
    total = ndimage.gaussian_filter(np.where(inside, 0.0, frame[box]).astype(np.float32), width)
    share = ndimage.gaussian_filter((~inside).astype(np.float32), width)
    level = float(np.median(frame[~skip])) if (~skip).any() else 0.0
    nearby = np.divide(total, share, out=np.full_like(total, level), where=share > 1e-3)
    out = frame.copy()
    out[box] = np.where(inside, nearby, frame[box])
    return out


def _grown_box(mask, margin: int) -> tuple[slice, slice]:
    """The bounding box of ``mask``'s True pixels grown by ``margin`` on each side, within
    the frame."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (
        slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, mask.shape[0])),
        slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, mask.shape[1])),
    )


__all__ = ["filled_frame"]
