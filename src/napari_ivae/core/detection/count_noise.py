"""Counting noise measured from a frame, and the transform that makes it symmetric.

A frame of counts (electrons, photons), scaled and offset or not, has a noise variance that
grows along a line with the mean, ``a + b x``, and Poisson noise at a few counts a pixel is
skewed toward the counts' high side: one side of the background reaches further than the
other. :func:`count_noise_line` measures that line from the frame itself (each pixel's
residual against its neighbours, binned by the local mean); :func:`symmetrised` turns the
frame into counts to the power 2/3, after which the noise is close to symmetric. A frame
whose noise does not follow such a line (too narrow a range of means to tell, or a line that
would reach zero variance inside the frame's values) is left as it is.
"""

from __future__ import annotations

import functools

import numpy as np

from napari_ivae.core.detection._medians import _median

COUNT_BINS = 12  # the local means are cut into this many bins of equal pixel counts
COUNT_PIXELS = 200  # ... each holding at least this many pixels
COUNT_SPREAD = 0.25  # every bin's noise variance within this share of the fitted line
COUNT_WINDOW = 4.0  # the local mean: a Gaussian of this many px
COUNT_SLOPE_ERRORS = 4.0  # the line's slope at least this many of its standard errors from 0
COUNT_REACH = (
    3  # the residual against pixels this far (px) apart is past a camera's or export's blur
)


def count_noise_line(frame, use=None) -> tuple[float, float] | None:
    """The line ``a + b x`` the noise variance follows against the local mean ``x``.

    The residual of each pixel against the mean of its four neighbours (white noise: 1.25
    times its variance) is binned by the local mean (a Gaussian of ``COUNT_WINDOW`` px less
    those five pixels, see :func:`_less_cross`) into ``COUNT_BINS`` bins between its 1st and
    99th percentiles; each bin's variance comes from its mean absolute deviation. The line is
    fitted to the bins, weighted by their pixels, and kept where its slope stands at least
    ``COUNT_SLOPE_ERRORS`` standard errors from zero, it stays positive over the binned means
    and every bin lies within ``COUNT_SPREAD`` of it.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame.
    use : numpy.ndarray of bool, optional
        The pixels to measure on (the background, away from what the frame shows).

    Returns
    -------
    (float, float) or None
        ``(a, b)``; None where the noise does not follow a line that stays positive over the
        measured values (no counting noise: constant or tracking something else), or where
        too few pixels were measured.
    """
    from napari_ivae.core.detection._filters import gaussian_smooth

    frame = np.asarray(frame, dtype=np.float64)
    if frame.ndim != 2 or min(frame.shape) < 8:
        return None
    residual = _less_neighbours(frame, *_neighbours(frame.shape, 1))
    residual /= np.sqrt(1.25)
    # the local mean over a Gaussian of COUNT_WINDOW px, less the five pixels the residual
    # uses: with them in it, counts' skew ties the residual's spread to the mean (on a flat
    # Poisson frame, twice the true line); a narrower mean is noisy, which spreads the bins
    # past the means they hold and flattens the line. Over ``use`` alone, so that a
    # particle's light does not lift the background's
    chosen = np.ones(frame.shape, dtype=bool) if use is None else np.asarray(use, dtype=bool)
    weight = _less_cross(gaussian_smooth(chosen.astype(np.float32), COUNT_WINDOW), chosen)
    mean = _less_cross(gaussian_smooth(np.where(chosen, frame, 0.0), COUNT_WINDOW), frame * chosen)
    chosen = chosen[1:-1, 1:-1] & (weight > 0.5)
    mean /= np.maximum(weight, 1e-6, out=weight)
    residual, mean = residual[chosen], mean[chosen]
    if len(mean) < COUNT_BINS * COUNT_PIXELS:
        return None
    edges = np.quantile(mean, np.linspace(0.01, 0.99, COUNT_BINS + 1))
    which = np.searchsorted(edges, mean, side="right")  # bin index + 1: 0 ... COUNT_BINS + 1
    # the pixels grouped by bin, each bin's in their order (a stable radix sort of small
    # integers): each bin's values are the same array as ``residual[which == index]``, the
    # same sums, without a pass over all the pixels per bin
    order = np.argsort(which.astype(np.int8), kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(which, minlength=COUNT_BINS + 2))])
    residual, mean = residual[order], mean[order]
    centres, variances, weights = [], [], []
    for index in range(COUNT_BINS):
        inside = slice(starts[index + 1], starts[index + 2])
        values = residual[inside]
        if len(values) < COUNT_PIXELS:
            continue
        # the mean absolute deviation (Gaussian: 0.798 sd): the median's would step with
        # the values' lattice at a few counts a pixel
        spread = 1.2533 * float(np.mean(np.abs(values - _median(values))))
        centres.append(float(np.mean(mean[inside])))
        variances.append(spread**2)
        weights.append(np.sqrt(len(values)))
    if len(centres) < 3 or max(variances) <= 0.0:
        return None
    bin_means, bin_variances, bin_weights = (np.asarray(x) for x in (centres, variances, weights))
    (b, a), covariance = np.polyfit(bin_means, bin_variances, 1, w=bin_weights, cov="unscaled")
    fitted = a + b * bin_means
    # the slope's standard error from the bins' own scatter about the line
    error = np.sqrt(covariance[0, 0] * np.mean(((bin_variances - fitted) * bin_weights) ** 2))
    if abs(b) < COUNT_SLOPE_ERRORS * error:
        return None  # the means' range too narrow, or the variance does not follow them
    line = a + b * np.asarray([edges[0], edges[-1]])
    if line.min() <= 0.0:  # zero variance inside the values: not counting noise
        return None
    if np.max(np.abs(bin_variances - fitted) / fitted) > COUNT_SPREAD:
        return None
    return float(a), float(b)


def counting_noise(frame, use, line=None) -> tuple[float, float, float, float] | None:
    """The counting noise of ``frame`` over the ``use`` pixels (see
    :func:`~napari_ivae.core.detection.count_skew.response_skews`): the noise line's slope,
    the blur's width, the pixels' own variance and their mean above the line's zero; None
    where the noise is no counting noise. ``line``: the noise line already measured there
    (:func:`count_noise_line`)."""
    frame = np.asarray(frame, dtype=np.float64)
    use = np.asarray(use, dtype=bool)
    if line is None:
        line = count_noise_line(frame, use)
    if line is None:
        return None
    a, b = line
    near, far = (residual_variance(frame, use, step) for step in (1, COUNT_REACH))
    if not near > 0.0 or not np.isfinite(far):
        return None
    blur = float(np.interp(max(far / near, 1.0), *_blur_ratios()))
    level = float(np.mean(frame[use]))  # the median of a few counts is a count
    variance = max(a + b * level, 0.0) * max(far / near, 1.0)  # the pixels' own variance
    above = (a + b * level) / b  # above the line's zero
    values = frame[use]
    if (
        np.all(values == np.round(values))
        and abs(variance / max(level, 1e-12) - 1.0) < COUNT_SPREAD
    ):
        above = level  # counts of gain 1
    if not variance > 0.0 or not abs(above) > 0.0:
        return None
    return float(b), blur, variance, float(above)


def residual_variance(frame, use, step: int) -> float:
    """The variance of each ``use`` pixel's residual against the mean of the four pixels
    ``step`` px away (also ``use``), from its mean absolute deviation; ``nan`` with fewer
    than ``COUNT_PIXELS`` of them."""
    if min(frame.shape) <= 2 * step:
        return float("nan")
    inner, shifts = _neighbours(frame.shape, step)
    chosen = use[inner].copy()
    for shift in shifts:
        chosen &= use[shift]
    if chosen.sum() < COUNT_PIXELS:
        return float("nan")
    residual = _less_neighbours(frame, inner, shifts)[chosen]
    return (1.2533 * float(np.mean(np.abs(residual - _median(residual))))) ** 2


def _neighbours(shape, step: int) -> tuple[tuple, list]:
    """The inner pixels ``step`` px from the edges and the four shifts (up, down, left,
    right) that put each one's neighbour ``step`` px away on it, as slices."""
    height, width = shape
    inner = (slice(step, height - step), slice(step, width - step))
    shifts = [
        (slice(0, height - 2 * step), inner[1]),
        (slice(2 * step, height), inner[1]),
        (inner[0], slice(0, width - 2 * step)),
        (inner[0], slice(2 * step, width)),
    ]
    return inner, shifts


def _less_neighbours(frame, inner, shifts) -> np.ndarray:
    """Each inner pixel less the mean of its four neighbours (:func:`_neighbours`), in place
    in one new array: ``(up + down) + left + right``, over 4, subtracted from the pixel (no
    frame-sized temporary each; ``sum()``'s leading ``0 +`` changed only a zero's sign)."""
    residual = frame[shifts[0]] + frame[shifts[1]]
    residual += frame[shifts[2]]
    residual += frame[shifts[3]]
    residual /= 4.0
    return np.subtract(frame[inner], residual, out=residual)


def gaussian_kernel(width: float) -> np.ndarray:
    """A normalised 2D Gaussian of ``width`` px on the pixel grid (one pixel at 0)."""
    if width <= 0.0:
        return np.ones((1, 1))
    x = np.arange(-int(np.ceil(4.0 * width)) - 1, int(np.ceil(4.0 * width)) + 2)
    taps = np.exp(-0.5 * (x / width) ** 2)
    taps /= taps.sum()
    return np.outer(taps, taps)


def blur_square(width: float) -> float:
    """The sum of the squared taps of the Gaussian blur of ``width`` px."""
    return float(np.sum(gaussian_kernel(width) ** 2))


def residual_ratio(width: float) -> float:
    """The far residual's variance over the adjacent one's for noise blurred by ``width``."""
    blur = gaussian_kernel(width)
    size = blur.shape[0]
    variances = []
    for step in (1, COUNT_REACH):
        # the residual's five taps, each a shifted copy of the blur (no FFT: scipy.signal's
        # import alone took 0.3 s of a detection's first call)
        filtered = np.zeros((size + 2 * step, size + 2 * step))
        filtered[step : step + size, step : step + size] += blur
        for dy, dx in ((step, 0), (-step, 0), (0, step), (0, -step)):
            rows, cols = step + dy, step + dx
            filtered[rows : rows + size, cols : cols + size] -= 0.25 * blur
        variances.append(float(np.sum(filtered**2)))
    return variances[1] / variances[0]


@functools.cache
def _blur_ratios() -> tuple[np.ndarray, np.ndarray]:
    """Residual ratios (:func:`residual_ratio`) and the blur widths (0-3 px) they come
    from, both ascending."""
    widths = np.linspace(0.0, 3.0, 61)
    return np.asarray([residual_ratio(width) for width in widths]), widths


def _less_cross(smoothed, values):
    """``smoothed`` (a Gaussian of ``COUNT_WINDOW`` px of ``values``) less the kernel's share
    of each pixel and its four neighbours, on the pixels one inside the edge."""
    reach = int(4.0 * COUNT_WINDOW + 0.5)  # gaussian_smooth's kernel
    taps = np.exp(-0.5 * (np.arange(-reach, reach + 1) / COUNT_WINDOW) ** 2)
    centre, side = np.exp(-0.5 * (np.asarray([0.0, 1.0]) / COUNT_WINDOW) ** 2) / taps.sum()
    if np.asarray(values).dtype == bool:  # a weight's mask: the same sums by a table
        cross = _mask_cross(values, centre, side)
        return np.subtract(smoothed[1:-1, 1:-1], cross, out=cross)
    values = np.asarray(values, dtype=np.float64)
    # in place, in the order of ``c c v + c s (up + down + left + right)``: the same numbers
    around = values[:-2, 1:-1] + values[2:, 1:-1]
    around += values[1:-1, :-2]
    around += values[1:-1, 2:]
    around *= centre * side
    cross = centre * centre * values[1:-1, 1:-1]
    cross += around
    return np.subtract(smoothed[1:-1, 1:-1], cross, out=cross)


def _mask_cross(mask, centre, side) -> np.ndarray:
    """:func:`_less_cross`'s ``c c v + c s (up + down + left + right)`` of a boolean ``mask``
    (values 0 and 1, float64): its ten possible sums computed as the float path computes
    them, looked up by each pixel's count of set neighbours and its own value (one pass over
    bytes instead of six over float64 frames; the same numbers)."""
    mask = np.asarray(mask, dtype=bool).view(np.uint8)
    index = mask[:-2, 1:-1] + mask[2:, 1:-1]
    index += mask[1:-1, :-2]
    index += mask[1:-1, 2:]
    index += 5 * mask[1:-1, 1:-1]  # neighbours 0-4, the pixel's own value in the fives
    around = np.arange(5, dtype=np.float64) * (centre * side)
    sums = np.concatenate([centre * centre * 0.0 + around, centre * centre * 1.0 + around])
    return sums[index]


def symmetrised(frame, line) -> np.ndarray:
    """``frame`` as counts (from the noise ``line`` ``(a, b)``) to the power 2/3.

    The counts are ``k = (a + b x) / b^2`` (for ``x = g k + c``: ``a = -g c``, ``b = g``;
    variance not from counting, such as a camera's read noise, counts as more of them), and
    ``(k + 1/6)^(2/3)`` is close to symmetric down to 3 counts (Poisson's skew ``1 / sqrt(k)``
    becomes under 0.03; the square root of the Anscombe transform, which evens the variance,
    turns it to about half that skew on the other side). Increasing in ``x`` whatever the
    sign of ``b`` (a frame of counts whose sign was turned); values past the line's zero
    (fewer than no counts) take its end.
    """
    a, b = line
    counts = np.maximum((a + b * np.asarray(frame, dtype=np.float64)) / (b * b), 0.0)
    return (np.sign(b) * (counts + 1.0 / 6.0) ** (2.0 / 3.0)).astype(np.float32)


__all__ = [
    "blur_square",
    "count_noise_line",
    "counting_noise",
    "gaussian_kernel",
    "residual_ratio",
    "residual_variance",
    "symmetrised",
]
