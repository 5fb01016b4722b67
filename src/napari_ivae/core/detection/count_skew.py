"""The skew that counting noise leaves in a filter's response, and the levels it moves.

At a few counts a pixel, Poisson noise reaches further on the counts' high side: a Laplacian
of Gaussian's response to the background is skewed, and a cut set from the other side's
spread (:mod:`~napari_ivae.core.detection.particle_far_background`) admits the long side's
tail. :func:`response_skews` reads that skew from the frame's own counting noise (measured as
in :mod:`~napari_ivae.core.detection.count_noise`); :func:`symmetrised_skew` the part the power
2/3 of :func:`~napari_ivae.core.detection.count_noise.symmetrised` leaves in the faint pass's
filter (pixels that share their events); :func:`opposite_levels` carries a level to the other
side of a gamma-distributed noise of that skew.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.count_noise import (
    blur_square,
    counting_noise,
    gaussian_kernel,
)

SKEW_DRAW = 512  # counting noise drawn on a square this many px wide to read a skew
SKEW_BLOCKS = 4  # ... in this many blocks a side, for the skew's standard error
SKEW_ERRORS = 2.0  # the skew read less this many of its standard errors
# the scale-normalised Laplacian of Gaussian of width t: its cubes' sum over its squares' to the
# power 1.5 is LOG_SKEW / t (in the continuum: 8 (2 pi)^1.5 / (27 pi^2))
LOG_SKEW = 8.0 * (2.0 * np.pi) ** 1.5 / (27.0 * np.pi**2)


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
    from napari_ivae.core.detection.detection_memo import remembered

    # the size range's two searches ask it of the same background (the active memo's)
    counting = remembered("counting_noise", counting_noise, frame, use)
    if counting is None:
        return None
    b, blur, variance, above = counting
    square = blur_square(blur)
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

    from napari_ivae.core.detection._filters import gaussian_smooth

    counting = counting_noise(frame, use, line)
    if counting is None or not spread > 0.0:
        return None
    a, b = line
    slope, blur, variance, above = counting
    if slope * b <= 0.0:
        return None
    square = blur_square(blur)
    gain = variance / (abs(above) * square) / abs(b)  # one event, in counts
    events = abs(above) / (gain * abs(b))
    level = float(np.mean(np.asarray(frame, dtype=np.float64)[np.asarray(use, dtype=bool)]))
    counts = max((a + b * level) / (b * b), 0.0)
    narrow, wide = (gaussian_kernel(width) for width in widths)
    kernel = -wide
    offset = (wide.shape[0] - narrow.shape[0]) // 2
    kernel[offset : offset + narrow.shape[0], offset : offset + narrow.shape[1]] += narrow
    blurred = full_convolution(kernel, gaussian_kernel(blur))
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


def full_convolution(first, second) -> np.ndarray:
    """``scipy.signal.fftconvolve(first, second)`` (mode ``"full"``) of two real 2D arrays, the
    same numbers (the same transforms of the same padded sizes, in the same order), without
    importing :mod:`scipy.signal` (0.3-0.7 s of a process's first detection)."""
    from scipy import fft

    first, second = np.asarray(first), np.asarray(second)
    # axes of length 1 broadcast, as fftconvolve's
    axes = [axis for axis in range(2) if first.shape[axis] != 1 and second.shape[axis] != 1]
    if not axes:
        return first * second
    shape = [
        first.shape[axis] + second.shape[axis] - 1
        if axis in axes
        else max(first.shape[axis], second.shape[axis])
        for axis in range(2)
    ]
    padded = [fft.next_fast_len(shape[axis], True) for axis in axes]
    spectrum = fft.rfftn(first, padded, axes=axes) * fft.rfftn(second, padded, axes=axes)
    out = fft.irfftn(spectrum, padded, axes=axes)
    return out[tuple(slice(size) for size in shape)].copy()


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


__all__ = [
    "full_convolution",
    "opposite_levels",
    "response_skews",
    "symmetrised_skew",
]
