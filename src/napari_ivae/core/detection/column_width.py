"""The atom columns' width from the image's autocorrelation, whatever the smoothing.

A first detection pass finds its atoms at maxima of the smoothed frame; at low dose the noise
decides where those maxima fall, and the mean profile around them gains a spike of the
smoothing's own width (the noise that made each of them a maximum). A width measured there
follows the smoothing it is meant to choose. The autocorrelation needs no positions: pixel
noise (white, or correlated along the fast scan only) adds to it only at lags within one scan
line, and every other lag is the signal's own, averaged over the whole crop. There it is a sum
of Gaussians of ``sqrt(2)`` times the columns' sigma, one at the origin and one at every vector
between two columns (the autocorrelation's own peaks), on a constant. The sigma whose model
fits best (least squares over the lags off the central scan line; the peaks' heights and the
constant free) is the width.
"""

from __future__ import annotations

import numpy as np

MAX_SIDE = 512  # the autocorrelation is taken on a central crop at most this large
REACH = 1.3  # lags out to this many spacings enter the fit
BACKGROUND = 2.0  # slow background (a Gaussian of this many spacings) removed first
MIN_SIGMA = 0.3  # pixels: the narrowest width tried
MAX_SIGMA = 0.45  # spacings: the widest width tried
LAG_STEPS = 14  # lags sampled about this many times per spacing
MIN_PEAK = 0.05  # autocorrelation maxima below this fraction of the origin's are its ripple


def column_width(frame: np.ndarray, spacing: float) -> float | None:
    """Gaussian sigma (pixels) of the atom columns, from the autocorrelation.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame (a central crop of at most ``MAX_SIDE`` pixels is used).
    spacing : float
        The atom separation (pixels): the autocorrelation's first peaks lie this far out.

    Returns
    -------
    float or None
        The sigma (``MIN_SIGMA`` px to ``MAX_SIGMA`` spacings: the widths tried); ``None`` when
        the frame is too small for the lags the fit needs.
    """
    from scipy import ndimage

    from napari_ivae.core.detection._filters import smooth_background

    reach = int(np.ceil(REACH * spacing))
    wide = reach + int(np.ceil(2 * spacing))  # peaks this far out still reach into the fit
    side = min(MAX_SIDE, *frame.shape)
    if spacing < 2 or side < 2 * (wide + reach):
        return None
    starts = [(n - side) // 2 for n in frame.shape]
    crop = np.asarray(frame[starts[0] : starts[0] + side, starts[1] : starts[1] + side], np.float32)
    crop = (crop - smooth_background(crop, BACKGROUND * spacing)).astype(np.float64)
    acf = _autocorrelation(crop, wide)
    offsets = np.arange(-wide, wide + 1)
    lag_r, lag_c = np.meshgrid(offsets, offsets, indexing="ij")
    distance = np.hypot(lag_r, lag_c)
    filled = acf.copy()  # the origin holds the noise's variance: take its neighbours' mean
    filled[wide, wide] = 0.5 * (acf[wide - 1, wide] + acf[wide + 1, wide])
    size = 2 * int(0.35 * spacing) + 1
    is_peak = filled == ndimage.maximum_filter(filled, size=size, mode="nearest")
    is_peak &= (distance >= 0.5 * spacing) & (distance <= wide - 1)
    is_peak &= filled > MIN_PEAK * filled[wide, wide]
    peaks = np.concatenate([[[0, 0]], np.column_stack([lag_r[is_peak], lag_c[is_peak]])])
    use = (lag_r != 0) & (distance <= reach)  # off the scan line through the origin
    # widths under a tenth of the spacing all give the same smoothing: lags that far apart do
    stride = max(1, int(spacing / LAG_STEPS))
    use &= (lag_r % stride == 0) & (lag_c % stride == 0)
    points = np.column_stack([lag_r[use], lag_c[use]]).astype(np.float64)
    squared = ((points[:, None, :] - peaks[None, :, :]) ** 2).sum(axis=2)
    sigmas = np.geomspace(MIN_SIGMA, MAX_SIGMA * spacing, 24)
    misfits = np.array([_misfit(squared, acf[use], sigma) for sigma in sigmas])
    best = int(np.argmin(misfits))
    if best in (0, len(sigmas) - 1):  # as narrow or as wide as any tried: at least that
        return float(sigmas[best])
    left, centre, right = misfits[best - 1 : best + 2]  # a parabola in log sigma
    curvature = left - 2 * centre + right
    shift = 0.5 * (left - right) / curvature if curvature > 0 else 0.0
    return float(sigmas[best] * (sigmas[1] / sigmas[0]) ** shift)


def _misfit(squared: np.ndarray, values: np.ndarray, sigma: float) -> float:
    """Least-squares misfit of Gaussians of the autocorrelation's width ``sqrt(2) sigma`` at
    every peak (``squared``: each lag's squared distance to each), free heights, on a free
    constant."""
    design = np.exp(-squared / (4.0 * sigma**2))
    design = np.column_stack([design, np.ones(len(values))])
    # the normal equations: a few dozen unknowns over a thousand lags (einsum, not BLAS,
    # whose threads only wait for each other on products this small)
    gram = np.einsum("ij,ik->jk", design, design)
    coefficients = np.linalg.lstsq(gram, np.einsum("ij,i->j", design, values), rcond=None)[0]
    return float(np.sum((np.einsum("ij,j->i", design, coefficients) - values) ** 2))


def _autocorrelation(crop: np.ndarray, reach: int) -> np.ndarray:
    """The crop's autocorrelation at lags up to ``reach`` (each lag's mean over its overlap),
    as a ``(2 reach + 1)`` square centred on the origin."""
    shape = [n + reach for n in crop.shape]
    full = np.fft.irfft2(np.abs(np.fft.rfft2(crop, s=shape)) ** 2, s=shape)
    overlap = np.fft.irfft2(np.abs(np.fft.rfft2(np.ones_like(crop), s=shape)) ** 2, s=shape)
    full = full / np.maximum(overlap, 1.0)
    index = np.arange(-reach, reach + 1)
    return full[np.ix_(index % shape[0], index % shape[1])]


__all__ = ["column_width"]
