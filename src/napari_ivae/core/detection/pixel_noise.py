"""The white-noise level of a frame's pixels, from its pixel-to-pixel differences.

The median absolute difference ignores atoms, particles and slow backgrounds, but it is only
right when the differences spread like noise around zero. On a quantised frame (8-bit, low
counts) whose noise is below a grey level in places, half the differences are one value (zero,
or zero plus a trace of float processing such as a flat-field, a drift-corrected sum or an
interpolation): the median then measures that spike, not the noise, and can be thousands of
times too small. The trimmed root mean square sees every grey-level step; the median is used
only while it agrees with it.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median

TRIM_PERCENTILE = 90  # differences above it are edges and atoms, not noise
TRIMMED_GAUSS = 0.789  # RMS of a normal variable's central 90 %, in standard deviations
TRUSTED_RATIO = 0.5  # the median's estimate is kept while it is at least this share of the RMS's


def pixel_noise_from_differences(differences: np.ndarray) -> float:
    """Standard deviation of a frame's white pixel noise from neighbour differences.

    Parameters
    ----------
    differences : numpy.ndarray
        Differences of horizontally and vertically adjacent pixels (any shape).

    Returns
    -------
    float
        The noise standard deviation of one pixel: ``1.4826 * MAD / sqrt(2)`` when that agrees
        with the Gaussian-corrected RMS of the central 90 % of the differences (at least half
        of it); otherwise, when most differences sit on a spike (quantised steps, noise-free
        areas), the RMS of the differences below their 99th percentile. 0 for a frame without
        differences or with (almost) none that are non-zero.
    """
    differences = np.asarray(differences, dtype=np.float64).ravel()
    if differences.size == 0:
        return 0.0
    median_noise = 1.4826 * _median(np.abs(differences - _median(differences))) / np.sqrt(2)
    if np.count_nonzero(differences) < 0.05 * differences.size:
        return float(median_noise)  # (nearly) constant: no noise to speak of
    trimmed_noise = trimmed_pixel_noise(differences)
    if median_noise > 0 and median_noise >= TRUSTED_RATIO * trimmed_noise:
        return float(median_noise)
    size = np.abs(differences)
    small = size <= np.percentile(size, 99)
    return float(np.sqrt(np.mean(differences[small] ** 2) / 2.0))


def trimmed_pixel_noise(differences: np.ndarray) -> float:
    """The one-pixel noise from pixel ``differences`` (float64, 1D, not empty): the
    Gaussian-corrected root mean square of their central ``TRIM_PERCENTILE`` % (the largest
    are edges and atoms, not noise)."""
    size = np.abs(differences)
    central = size <= np.percentile(size, TRIM_PERCENTILE)
    return float(np.sqrt(np.mean(differences[central] ** 2) / 2.0) / TRIMMED_GAUSS)


__all__ = ["pixel_noise_from_differences", "trimmed_pixel_noise"]
