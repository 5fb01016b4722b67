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
SKEW_DRAW = 512  # counting noise drawn on a square this many px wide to read a skew
SKEW_BLOCKS = 4  # ... in this many blocks a side, for the skew's standard error
SKEW_ERRORS = 2.0  # the skew read less this many of its standard errors
COUNT_REACH = (
    3  # the residual against pixels this far (px) apart is past a camera's or export's blur
)
# the scale-normalised Laplacian of Gaussian of width t: its cubes' sum over its squares' to the
# power 1.5 is LOG_SKEW / t (in the continuum: 8 (2 pi)^1.5 / (27 pi^2))
LOG_SKEW = 8.0 * (2.0 * np.pi) ** 1.5 / (27.0 * np.pi**2)


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
    neighbours = (frame[:-2, 1:-1] + frame[2:, 1:-1] + frame[1:-1, :-2] + frame[1:-1, 2:]) / 4.0
    residual = (frame[1:-1, 1:-1] - neighbours) / np.sqrt(1.25)
    # the local mean over a Gaussian of COUNT_WINDOW px, less the five pixels the residual
    # uses: with them in it, counts' skew ties the residual's spread to the mean (on a flat
    # Poisson frame, twice the true line); a narrower mean is noisy, which spreads the bins
    # past the means they hold and flattens the line. Over ``use`` alone, so that a
    # particle's light does not lift the background's
    chosen = np.ones(frame.shape, dtype=bool) if use is None else np.asarray(use, dtype=bool)
    weight = _less_cross(gaussian_smooth(chosen.astype(np.float32), COUNT_WINDOW), chosen)
    mean = _less_cross(gaussian_smooth(np.where(chosen, frame, 0.0), COUNT_WINDOW), frame * chosen)
    mean = mean / np.maximum(weight, 1e-6)
    chosen = chosen[1:-1, 1:-1] & (weight > 0.5)
    residual, mean = residual[chosen], mean[chosen]
    if len(mean) < COUNT_BINS * COUNT_PIXELS:
        return None
    edges = np.quantile(mean, np.linspace(0.01, 0.99, COUNT_BINS + 1))
    which = np.searchsorted(edges, mean, side="right") - 1
    centres, variances, weights = [], [], []
    for index in range(COUNT_BINS):
        inside = which == index
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


def response_skews(frame, use, scales, spreads=None) -> np.ndarray | None:
    """The skew of counting noise in ``-sigma^2 LoG`` of ``frame`` at each of ``scales``.

    Counting noise is independent events (counts) of gain ``G`` each, spread over the pixels
    by a blur ``C`` (a camera's, a probe's, an exported map's smoothing) that the frame shares
    with every filter: at a Laplacian of Gaussian of width ``sigma`` its response has the
    cumulants ``kappa_n = G^n lambda sum (K * C)^n`` (``lambda`` events a pixel), and with ``C``
    a Gaussian of width ``s``, ``K * C`` is that Laplacian at ``t = sqrt(sigma^2 + s^2)``:
    the skew is ``LOG_SKEW / (t sqrt(lambda))``. ``s`` comes from the variance of the residual
    against the four pixels ``COUNT_REACH`` px away over that of the adjacent one's (1 for
    white noise; a 3 x 3 sum's: about 6), the pixel variance ``v`` from the far one; the
    events from the counts above the line's zero ``m``: ``lambda = m^2 sum C^2 / v`` (a count
    whose events are shared between pixels reads fewer events than its pixel counts). Where
    the frame's values are integers whose variance is their value (counts with gain 1, no
    offset), ``m`` is the value itself, not the line's reading, which a support's texture
    tilts. The skew is diluted by whatever else spreads the response (a support's texture):
    times the counting noise's share of the response's variance over the ``use`` pixels to
    the power 1.5. Positive where the counts grow with the frame's values.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame.
    use : numpy.ndarray of bool
        The pixels measured (the background).
    scales : numpy.ndarray
        The scales (sigmas, px).
    spreads : numpy.ndarray, optional
        The response's standard deviation over ``use`` at each scale (the skew diluted by
        what else spreads it; not where not given).

    Returns
    -------
    numpy.ndarray or None
        One skew per scale; None where the noise is no counting noise.
    """
    counting = _counting(frame, use)
    if counting is None:
        return None
    b, blur, variance, above = counting
    square = _blur_square(blur)
    events = above * above * square / variance
    scales = np.asarray(scales, dtype=np.float64)
    width = np.sqrt(scales**2 + blur**2)
    skews = np.sign(b) * LOG_SKEW / (width * np.sqrt(events))
    if spreads is not None:
        # the counting noise's own variance in the response: (sigma / t)^4 / (2 pi t^2) of
        # the events' variance G^2 lambda = v / sum C^2
        own = variance / square * (scales / width) ** 4 / (2.0 * np.pi * width**2)
        spreads = np.asarray(spreads, dtype=np.float64)
        share = np.where(spreads > 0.0, own / np.maximum(spreads, 1e-30) ** 2, 1.0)
        skews = skews * np.minimum(share, 1.0) ** 1.5
    return skews


def symmetrised_skew(frame, use, line, widths, spread) -> float | None:
    """The skew counting noise leaves in a Gaussian of ``widths[0]`` less one of ``widths[1]``
    of :func:`symmetrised` ``frame``, over the ``use`` pixels.

    The power 2/3 takes each pixel's skew out, not that of a filter's sums of pixels that
    share their events (a blur ``C``: an exported map's 3 x 3 sum) nor, under a count a pixel,
    all of it: to second order it cancels the filtered counts' third cumulant only for
    independent pixels, and a few counts are far from second order. So the frame's counting
    noise (as :func:`response_skews` reads it: ``lambda`` events a pixel of gain ``G``,
    blurred by a Gaussian ``C``, at the background's mean counts) is drawn on a square of
    ``SKEW_DRAW`` px (a fixed seed), made symmetric as the frame was and filtered; the drawn
    skew's sampling error is evened by that of the drawn counts filtered as they are, whose
    exact skew ``sum (w * C)^3 / (sum (w * C)^2)^1.5 / sqrt(lambda)`` (``w`` the filter) is
    known: the skew left is that times the ratio of the two drawn ones, less ``SKEW_ERRORS``
    standard errors over ``SKEW_BLOCKS`` x ``SKEW_BLOCKS`` blocks of the draw (at hundreds of
    counts a skew of 0.01 read from the draw's noise, within 1 standard error, moved a 2048 px
    frame's faint cut past one of its 70 faint particles). Diluted as in :func:`response_skews`
    by the share of ``spread`` (the response's standard deviation over ``use``) the counting
    noise explains. Within 0.03 of the measured skew from a count a pixel up; at 0.3 a pixel
    it reads 0.35-0.65 of it (the line's slope is read low there).

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame (not symmetrised).
    use : numpy.ndarray of bool
        The pixels measured (the background).
    line : tuple of float
        The noise line :func:`symmetrised` was given, measured over ``use``.
    widths : tuple of float
        The filter's two Gaussians (px), the second subtracted.
    spread : float
        The symmetrised response's standard deviation over ``use``.

    Returns
    -------
    float or None
        The skew toward the counts' high side; None where the noise is no counting noise.
    """
    from scipy import ndimage
    from scipy.signal import fftconvolve

    from napari_ivae.core.detection._filters import gaussian_smooth

    counting = _counting(frame, use, line)
    if counting is None or not spread > 0.0:
        return None
    a, b = line
    slope, blur, variance, above = counting
    if slope * b <= 0.0:
        return None
    square = _blur_square(blur)
    gain = variance / (abs(above) * square) / abs(b)  # one event, in counts
    events = abs(above) / (gain * abs(b))
    level = float(np.mean(np.asarray(frame, dtype=np.float64)[np.asarray(use, dtype=bool)]))
    counts = max((a + b * level) / (b * b), 0.0)
    narrow, wide = (_gaussian_kernel(width) for width in widths)
    kernel = -wide
    offset = (wide.shape[0] - narrow.shape[0]) // 2
    kernel[offset : offset + narrow.shape[0], offset : offset + narrow.shape[1]] += narrow
    blurred = fftconvolve(kernel, _gaussian_kernel(blur))
    exact = float(np.sum(blurred**3)) / float(np.sum(blurred**2)) ** 1.5 / np.sqrt(events)
    # the frame's counting noise drawn (a fixed seed), made symmetric and filtered
    rng = np.random.default_rng(0)
    drawn = rng.poisson(events, (SKEW_DRAW, SKEW_DRAW)).astype(np.float64)
    if blur > 0.0:
        drawn = ndimage.gaussian_filter(drawn, blur, mode="wrap")
    drawn = gain * drawn + counts - gain * events
    margin = int(np.ceil(3.0 * widths[0])) + 1  # the narrow one's reach past the reflected edge
    moments = []
    for values in (drawn, (np.maximum(drawn, 0.0) + 1.0 / 6.0) ** (2.0 / 3.0)):
        values = values.astype(np.float32)
        response = gaussian_smooth(values, widths[0]) - gaussian_smooth(values, widths[1])
        response = response[margin:-margin, margin:-margin].astype(np.float64)
        response -= response.mean()
        moments.append(_block_moments(response))
    # the drawn symmetric side's skew, its sampling error evened by the drawn counts' own
    # (whose exact value is known: the filter is linear in them), block by block
    raw, even = (third / second**1.5 for second, third in moments)
    if not raw.sum() > 0.0:
        return None
    blocks = exact * even / np.where(raw > 0.0, raw, np.nan)
    skew = exact * float(even.mean() / raw.mean())
    # only the part beyond the draw's own standard error (high counts: a skew of 0.01 read
    # from noise moves the cut by more than the noise it would correct)
    error = float(np.nanstd(blocks)) / np.sqrt(np.isfinite(blocks).sum())
    skew = np.sign(b) * max(skew - SKEW_ERRORS * error, 0.0)
    own = float(moments[1][0].mean())  # the symmetric side's variance
    return float(skew * min(own / spread**2, 1.0) ** 1.5)


def _block_moments(response) -> tuple[np.ndarray, np.ndarray]:
    """The second and third moments of ``response`` in each of ``SKEW_BLOCKS`` x
    ``SKEW_BLOCKS`` blocks."""
    size = response.shape[0] // SKEW_BLOCKS
    blocks = response[: size * SKEW_BLOCKS, : size * SKEW_BLOCKS]
    blocks = blocks.reshape(SKEW_BLOCKS, size, SKEW_BLOCKS, size)
    return (blocks**2).mean(axis=(1, 3)).ravel(), (blocks**3).mean(axis=(1, 3)).ravel()


def opposite_levels(levels, skew, spread) -> np.ndarray:
    """The levels a gamma-distributed noise of ``skew`` (toward ``levels``' side) and
    standard deviation ``spread`` reaches on its other side as often as ``levels`` on theirs.

    The shape is ``4 / skew^2``; equal probabilities through the Wilson-Hilferty cube root
    (as :func:`~napari_ivae.core.detection.particle_far_background.skewed_levels`, the other
    way); past the gamma's bound on the other side, that bound. ``levels`` unchanged where
    ``skew`` is not positive.
    """
    levels = np.asarray(levels, dtype=np.float64)
    if not skew > 0.0 or not spread > 0.0:
        return levels
    shape = 4.0 / skew**2
    third = 1.0 / (9.0 * shape)  # the cube root's variance
    highest = np.maximum(1.0 + levels / spread / np.sqrt(shape), 0.0)
    normal = (np.cbrt(highest) - 1.0 + third) / np.sqrt(third)
    lowest = np.maximum(1.0 - third - normal * np.sqrt(third), 0.0) ** 3
    return spread * (1.0 - lowest) * np.sqrt(shape)


def _counting(frame, use, line=None) -> tuple[float, float, float, float] | None:
    """The counting noise of ``frame`` over the ``use`` pixels (see :func:`response_skews`):
    the noise line's slope, the blur's width, the pixels' own variance and their mean above
    the line's zero; None where the noise is no counting noise. ``line``: the noise line
    already measured there (:func:`count_noise_line`)."""
    frame = np.asarray(frame, dtype=np.float64)
    use = np.asarray(use, dtype=bool)
    if line is None:
        line = count_noise_line(frame, use)
    if line is None:
        return None
    a, b = line
    near, far = (_residual_variance(frame, use, step) for step in (1, COUNT_REACH))
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


def _residual_variance(frame, use, step: int) -> float:
    """The variance of each ``use`` pixel's residual against the mean of the four pixels
    ``step`` px away (also ``use``), from its mean absolute deviation; ``nan`` with fewer
    than ``COUNT_PIXELS`` of them."""
    height, width = frame.shape
    if min(height, width) <= 2 * step:
        return float("nan")
    inner = (slice(step, height - step), slice(step, width - step))
    shifts = [
        (slice(0, height - 2 * step), inner[1]),
        (slice(2 * step, height), inner[1]),
        (inner[0], slice(0, width - 2 * step)),
        (inner[0], slice(2 * step, width)),
    ]
    chosen = use[inner].copy()
    for shift in shifts:
        chosen &= use[shift]
    if chosen.sum() < COUNT_PIXELS:
        return float("nan")
    neighbours = sum(frame[shift] for shift in shifts) / 4.0
    residual = (frame[inner] - neighbours)[chosen]
    return (1.2533 * float(np.mean(np.abs(residual - _median(residual))))) ** 2


def _gaussian_kernel(width: float) -> np.ndarray:
    """A normalised 2D Gaussian of ``width`` px on the pixel grid (one pixel at 0)."""
    if width <= 0.0:
        return np.ones((1, 1))
    x = np.arange(-int(np.ceil(4.0 * width)) - 1, int(np.ceil(4.0 * width)) + 2)
    taps = np.exp(-0.5 * (x / width) ** 2)
    taps /= taps.sum()
    return np.outer(taps, taps)


def _blur_square(width: float) -> float:
    """The sum of the squared taps of the Gaussian blur of ``width`` px."""
    return float(np.sum(_gaussian_kernel(width) ** 2))


def _residual_ratio(width: float) -> float:
    """The far residual's variance over the adjacent one's for noise blurred by ``width``."""
    from scipy.signal import fftconvolve

    blur = _gaussian_kernel(width)
    variances = []
    for step in (1, COUNT_REACH):
        taps = np.zeros((2 * step + 1, 2 * step + 1))
        taps[step, step] = 1.0
        for dy, dx in ((step, 0), (-step, 0), (0, step), (0, -step)):
            taps[step + dy, step + dx] = -0.25
        variances.append(float(np.sum(fftconvolve(taps, blur) ** 2)))
    return variances[1] / variances[0]


@functools.cache
def _blur_ratios() -> tuple[np.ndarray, np.ndarray]:
    """Residual ratios (:func:`_residual_ratio`) and the blur widths (0-3 px) they come
    from, both ascending."""
    widths = np.linspace(0.0, 3.0, 61)
    return np.asarray([_residual_ratio(width) for width in widths]), widths


def _less_cross(smoothed, values):
    """``smoothed`` (a Gaussian of ``COUNT_WINDOW`` px of ``values``) less the kernel's share
    of each pixel and its four neighbours, on the pixels one inside the edge."""
    reach = int(4.0 * COUNT_WINDOW + 0.5)  # gaussian_smooth's kernel
    taps = np.exp(-0.5 * (np.arange(-reach, reach + 1) / COUNT_WINDOW) ** 2)
    centre, side = np.exp(-0.5 * (np.asarray([0.0, 1.0]) / COUNT_WINDOW) ** 2) / taps.sum()
    values = np.asarray(values, dtype=np.float64)
    cross = centre * centre * values[1:-1, 1:-1] + centre * side * (
        values[:-2, 1:-1] + values[2:, 1:-1] + values[1:-1, :-2] + values[1:-1, 2:]
    )
    return smoothed[1:-1, 1:-1] - cross


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
    "count_noise_line",
    "opposite_levels",
    "response_skews",
    "symmetrised",
    "symmetrised_skew",
]
