"""Scan-line offsets taken out of the faint pass's frame, where the lines carry them.

A scanned frame (HAADF STEM, a confocal's or an AFM's raster) can carry an offset of its
own on each fast-scan line (flyback, a flickering source). The faint pass's narrow filter
averages a few lines, so those offsets reach its response as a noise that no pixel count
foresees, and a small particle of a few pixels' radius drowns in it (stranger_heldlike.py
stem_bright_carbon: offsets of a third of the pixel noise made a sixth of the response's
spread). Each line's offset is its mean over the support, less the support's slow level,
away from the kept particles (:func:`line_offsets`); the null is the difference of each
line's two halves, where its own offset cancels and its noise and texture stay: the frame is
left as it came unless the lines' means vary more than that beyond ``LINE_FALSE_ALARM`` of an
F-test. (The other axis's lines are no null: a frame's rows and columns differ in length, and
a TEM frame of 768 x 1152 px had its columns' means vary 1.2-2 x its rows'.)
"""

from __future__ import annotations

import numpy as np

LINE_FALSE_ALARM = 1e-3  # the F-test's chance of levelling a frame whose lines carry no offsets


def line_offsets(values, use, level, least: int) -> tuple[np.ndarray, int | None]:
    """``values`` less each scan line's offset, and the axis levelled (0: rows, each a line
    along axis 1; 1: columns; None: not levelled, ``values`` returned as they came).

    Parameters
    ----------
    values : numpy.ndarray
        2D frame.
    use : numpy.ndarray of bool
        The pixels that measure the offsets (the support away from the kept particles).
    level : numpy.ndarray
        The support's slow level (taken out before the lines' means are read).
    least : int
        A line with fewer ``use`` pixels in either half gets no offset (and does not enter
        the test).

    Returns
    -------
    (numpy.ndarray, int or None)
        The levelled frame and the levelled axis.
    """
    use = np.asarray(use, dtype=bool)
    residual = np.where(use, np.subtract(values, level, dtype=np.float64), 0.0)
    for axis in (0, 1):
        offsets = _line_offsets(residual, use, axis, least)
        if offsets is not None:
            shaped = offsets[:, None] if axis == 0 else offsets[None, :]
            return np.subtract(values, shaped, dtype=np.float32), axis
    return values, None


def lines_levelled(frame, use, sigma: float, least: int) -> tuple[np.ndarray, int | None]:
    """:func:`line_offsets` against the support's level: a Gaussian of ``sigma`` over the
    ``use`` pixels, normalised by their weight (the whole frame's where they weigh under
    5 %)."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    frame = np.asarray(frame, dtype=np.float32)
    use = np.asarray(use, dtype=bool)
    weight = gaussian_smooth(use.astype(np.float32), sigma)
    level = gaussian_smooth(np.where(use, frame, 0.0).astype(np.float32), sigma)
    measured = weight > 0.05
    level[measured] /= weight[measured]
    unmeasured = ~measured
    if unmeasured.any():  # the whole frame's Gaussian only where it is read
        level[unmeasured] = gaussian_smooth(frame, sigma)[unmeasured]
    return line_offsets(frame, use, level, least)


def _line_offsets(residual, use, axis: int, least: int) -> np.ndarray | None:
    """Each line's mean ``residual`` over its ``use`` pixels (lines along the other axis than
    ``axis``; 0 where fewer than ``least`` in either half), where they vary beyond their null.

    The null is each line's two halves' difference (half of it): a line's own offset is in
    both halves and cancels there, while the noise and the texture along the line (of the
    same length, correlated along the line as the means are) stay as they are in its mean.
    """
    # the F distribution's survival function from scipy.special: scipy.stats costs ~0.1 s of
    # import on every particle frame
    from scipy.special import fdtrc

    lines = residual if axis == 0 else residual.T
    used = use if axis == 0 else use.T
    half = lines.shape[1] // 2
    sums = np.stack([lines[:, :half].sum(axis=1), lines[:, half:].sum(axis=1)])
    counts = np.stack([used[:, :half].sum(axis=1), used[:, half:].sum(axis=1)])
    enough: np.ndarray = np.all(counts >= least, axis=0)
    if int(enough.sum()) < 3:
        return None
    means = sums / np.maximum(counts, 1)
    # each line's mean and its halves' half difference, of (nearly) equal halves; each
    # differenced with the next line's (lines 0-1, 2-3, ...: independent pairs), which takes
    # out what varies slowly from line to line (a vignetting's curvature the support's level
    # left, symmetric about the frame's centre, is in the means and not in the halves')
    mean = 0.5 * (means[0] + means[1])
    null = 0.5 * (means[0] - means[1])
    pairs = enough[0 : len(enough) - 1 : 2] & enough[1::2]
    count = int(pairs.sum())
    if count < 3:
        return None
    step = (mean[1::2] - mean[0 : len(mean) - 1 : 2])[pairs]
    null_step = (null[1::2] - null[0 : len(null) - 1 : 2])[pairs]
    spread, null_spread = float(np.mean(step**2)), float(np.mean(null_step**2))
    if not null_spread > 0.0:
        return None
    if fdtrc(count, count, spread / null_spread) >= LINE_FALSE_ALARM:
        return None
    full = sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1)
    return np.where(enough, full, 0.0).astype(np.float32)


__all__ = ["LINE_FALSE_ALARM", "line_offsets", "lines_levelled"]
