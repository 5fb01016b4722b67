"""How much the pixel noise varies across a frame: each candidate judged by the noise where it lies.

The particle cut's noise floor (:func:`~napari_ivae.core.detection.particle_threshold.noise_floor`)
takes one pixel noise for the whole frame, its median. Counting noise grows with the signal: on
a HAADF support thick in places the noise there is 1.5 x the median, and at one floor that
noise passed as particles (a third generator's scene of 2-5 px catalyst particles at 7 counts a
pixel: 25 of its 30 false points at sigma 1 px, all on the thick areas), while on the thin areas
the floor stood above what the noise reaches there.

:func:`noise_ratio` measures the noise in blocks of ``BLOCK`` px a side: the mean absolute
deviation (the largest ``1 - TRIM`` left out: the particles' own residuals) of each pixel's
residual against its four neighbours (the frame's slow variation and most of a support's
texture cancel in it), over the pixels not skipped; the blocks' noise over their median,
smoothed over the neighbouring blocks and drawn back to the frame's pixels. Where the blocks'
noise varies less than ``SPREAD`` (its 95th over its 5th percentile) the noise counts as one
over the frame and the ratio is None (the blocks' own sampling and the particles in them vary
it by a few per cent): frames of even noise are judged as before. The detector scales the
floor's part of each candidate's cut by the ratio where the candidate lies (the bounds from the
background's reach stay the frame's: a texture does not grow with the noise), not on a packed
layer (its cut is a false discovery rate over the whole layer; a liquid cell's dose gradient
judged so lost 3-5 % recall for the false points it removed).
"""

from __future__ import annotations

import numpy as np

BLOCK = 32  # the noise is measured in blocks this many px a side (about 1000 residuals)
MIN_SHARE = 0.5  # ... a block with fewer of its pixels measured takes its neighbours' noise
SPREAD = 1.25  # blocks' noise varying less than this (95th / 5th percentile): one noise
SMOOTH = 1.0  # the blocks' noise is smoothed over this many blocks (a Gaussian)
TRIM = 0.9  # a block's noise: its residuals' mean absolute deviation below this quantile


def noise_ratio(frame: np.ndarray, skip=None) -> np.ndarray | None:
    """The pixel noise around each pixel over the frame's median noise, or None where the noise
    is even over the frame (see the module docstring).

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame.
    skip : numpy.ndarray of bool, optional
        Pixels left out of the measure (padding, an annotation, constant areas).

    Returns
    -------
    numpy.ndarray or None
        ``(Y, X)`` float32 ratios (1 where the noise is the frame's median), or None.
    """
    from scipy import ndimage

    from napari_ivae.core.detection._medians import _median_of_numbers

    frame = np.asarray(frame, dtype=np.float64)
    if frame.ndim != 2 or min(frame.shape) < 2 * BLOCK + 2:
        return None
    neighbours = (frame[:-2, 1:-1] + frame[2:, 1:-1] + frame[1:-1, :-2] + frame[1:-1, 2:]) / 4.0
    residual = np.pad(frame[1:-1, 1:-1] - neighbours, 1, mode="edge")
    use = np.ones(frame.shape, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    if skip is not None:  # a residual touching a skipped pixel is no noise
        use &= ~ndimage.binary_dilation(~use)
    use[[0, -1], :] = False
    use[:, [0, -1]] = False
    rows, cols = frame.shape[0] // BLOCK, frame.shape[1] // BLOCK
    height, width = rows * BLOCK, cols * BLOCK
    top, left = (frame.shape[0] - height) // 2, (frame.shape[1] - width) // 2
    window = (slice(top, top + height), slice(left, left + width))

    def blocks(values):
        return (
            values[window]
            .reshape(rows, BLOCK, cols, BLOCK)
            .swapaxes(1, 2)
            .reshape(rows, cols, BLOCK * BLOCK)
        )

    values = blocks(np.where(use, residual, np.nan))
    measured = np.isfinite(values).mean(axis=2) >= MIN_SHARE
    if measured.sum() < 4:
        return None
    # numpy's nanmedian and nanpercentile along an axis loop over the rows in Python (0.04 s
    # of a 640 x 640 frame); these give their numbers from one sort of the rows
    deviation = np.abs(values[measured] - _median_of_numbers(values[measured])[:, None])
    # the mean deviation below its TRIM quantile: particles' residuals left out, and no step
    # with the values' lattice at a few counts a pixel (a median's would be one)
    bound = _row_percentile(deviation, 100 * TRIM)
    spread = np.full((rows, cols), np.nan)
    spread[measured] = np.nanmean(np.where(deviation <= bound, deviation, np.nan), axis=1)
    good = measured & (spread > 0)
    if good.sum() < 4:
        return None
    low, high = np.percentile(spread[good], [5, 95])
    if not low > 0 or high / low < SPREAD:
        return None
    # blocks not measured take the noise of the measured ones nearest (a normalised smoothing)
    filled = np.where(good, spread, 0.0)
    weight = ndimage.gaussian_filter(good.astype(np.float64), SMOOTH, mode="nearest")
    smooth = ndimage.gaussian_filter(filled, SMOOTH, mode="nearest")
    grid = np.divide(smooth, weight, out=np.full_like(smooth, np.nan), where=weight > 1e-3)
    if np.isnan(grid).any():
        _, nearest = ndimage.distance_transform_edt(np.isnan(grid), return_indices=True)
        grid = grid[tuple(nearest)]
    grid = grid / float(np.median(spread[good]))
    # block centres to pixels (linear between them, the nearest block's value beyond them)
    row_at = (np.arange(frame.shape[0]) - top - 0.5 * (BLOCK - 1)) / BLOCK
    col_at = (np.arange(frame.shape[1]) - left - 0.5 * (BLOCK - 1)) / BLOCK
    row_at, col_at = np.clip(row_at, 0, rows - 1), np.clip(col_at, 0, cols - 1)
    return _linear_at(grid, row_at, col_at).astype(np.float32)


def _linear_at(grid, row_at, col_at) -> np.ndarray:
    """``ndimage.map_coordinates(grid, np.meshgrid(row_at, col_at, indexing="ij"), order=1,
    mode="nearest")`` for coordinates inside the grid, bit for bit: its weights (``1 - f``
    and ``1`` less that) and its sum's order (each corner's value times the row's weight,
    then the column's), each row's products made once for all columns (2 x faster)."""
    first_row, first_col = np.floor(row_at).astype(np.intp), np.floor(col_at).astype(np.intp)
    next_row = np.minimum(first_row + 1, grid.shape[0] - 1)
    next_col = np.minimum(first_col + 1, grid.shape[1] - 1)
    upper = 1.0 - (row_at - first_row)
    lower = 1.0 - upper
    left = 1.0 - (col_at - first_col)
    right = 1.0 - left
    above, below = grid[first_row] * upper[:, None], grid[next_row] * lower[:, None]
    out = above[:, first_col] * left
    out += above[:, next_col] * right
    out += below[:, first_col] * left
    out += below[:, next_col] * right
    return out


def _row_percentile(values: np.ndarray, percent: float) -> np.ndarray:
    """``np.nanpercentile(values, percent, axis=1, keepdims=True)`` (linear), bit for bit, from
    one sort of the rows (every row holds a number): numpy's virtual index ``(n - 1) q``, its
    interpolation (from the upper value when the weight is 0.5 or more) and its weight at the
    last index."""
    ordered = np.sort(values, axis=1)  # NaN last
    count = np.count_nonzero(~np.isnan(values), axis=1)[:, None]
    virtual = (count - 1) * np.true_divide(percent, 100)
    below = np.floor(virtual)
    last = virtual >= count - 1
    first = np.where(last, count - 1, below).astype(np.intp)
    low = np.take_along_axis(ordered, first, axis=1)
    high = np.take_along_axis(ordered, np.where(last, count - 1, first + 1), axis=1)
    weight = np.where(last, virtual + 1.0, virtual - below)
    step = high - low
    return np.where(weight >= 0.5, high - step * (1.0 - weight), low + step * weight)


__all__ = ["noise_ratio"]
