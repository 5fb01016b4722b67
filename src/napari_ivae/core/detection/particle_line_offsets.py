"""Scan-line offsets taken out of the faint pass's frame, where the lines carry them.

A scanned frame (HAADF STEM, a confocal's or an AFM's raster) can carry an offset of its
own on each fast-scan line (flyback, a flickering source). The faint pass's narrow filter
averages a few lines, so those offsets reach its response as a noise that no pixel count
foresees, and a small particle of a few pixels' radius drowns in it (stranger_heldlike.py
stem_bright_carbon: offsets of a third of the pixel noise made a sixth of the response's
spread). Each line's offset is its mean over the support, less the support's slow level,
away from the kept particles (:func:`line_offsets`); the other axis's lines are the null:
without offsets of their own the rows' and the columns' means vary alike (both hold the
same noise and texture), and the frame is left as it came unless one axis's vary more than
the other's beyond ``LINE_FALSE_ALARM`` of an F-test.
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
        A line with fewer ``use`` pixels gets no offset (and does not enter the test).

    Returns
    -------
    (numpy.ndarray, int or None)
        The levelled frame and the levelled axis.
    """
    from scipy import stats

    use = np.asarray(use, dtype=bool)
    residual = np.where(use, np.subtract(values, level, dtype=np.float64), 0.0)
    # each line's mean (a median of counts is quantised: on a Poisson frame without offsets
    # the rows' and the columns' medians vary unalike); a row of faint particles lifts its
    # line's mean by their mass over the line's length, a few % of their peaks
    means, enough = [], []
    for axis in (1, 0):  # along axis 1: each row's; along axis 0: each column's
        count = use.sum(axis=axis)
        enough.append(count >= least)
        means.append(residual.sum(axis=axis) / np.maximum(count, 1))
    if min(int(e.sum()) for e in enough) < 3:
        return values, None
    spread = [float(np.var(m[e], ddof=1)) for m, e in zip(means, enough)]
    sizes = [int(e.sum()) for e in enough]
    for line, other in ((0, 1), (1, 0)):
        if spread[other] <= 0.0:
            continue
        ratio = spread[line] / spread[other]
        if stats.f.sf(ratio, sizes[line] - 1, sizes[other] - 1) < LINE_FALSE_ALARM:
            offset = np.where(enough[line], means[line], 0.0).astype(np.float32)
            shaped = offset[:, None] if line == 0 else offset[None, :]
            return np.subtract(values, shaped, dtype=np.float32), line
    return values, None


__all__ = ["LINE_FALSE_ALARM", "line_offsets"]
