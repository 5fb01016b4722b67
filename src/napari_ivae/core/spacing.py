"""Nearest-neighbour lattice spacing from the image autocorrelation.

The autocorrelation of a periodic image has a peak at every lattice vector. After removing the
slowly varying background (which would otherwise dominate it) and windowing the image, the
nearest off-centre autocorrelation peak that stands out (at least ``min_relative_height`` of the
strongest off-centre peak) is the nearest-neighbour vector; its length, refined to sub-pixel
precision and averaged over the first shell of equivalent peaks, is the spacing.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.errors import InputError

MIN_SPACING = 2.0  # pixels; closer "lattices" are noise
MIN_PEAK_HEIGHT = 0.1  # strongest off-centre peak / zero-lag peak; white noise stays below ~0.06
MAX_SIDE = 1024  # the spacing is estimated on a central crop at most this large (speed)


def estimate_spacing(
    image2d,
    *,
    max_spacing: float | None = None,
    min_relative_height: float = 0.3,
    return_details: bool = False,
):
    """Estimate the nearest-neighbour spacing (pixels) of a lattice image.

    Parameters
    ----------
    image2d : array-like
        2D image (bright or dark features; only the periodicity matters).
    max_spacing : float, optional
        Largest spacing searched; default a sixth of the smaller side of the analysed image
        (the central ``MAX_SIDE`` x ``MAX_SIDE`` crop of a larger image).
    min_relative_height : float
        A peak counts only if its autocorrelation is at least this fraction of the strongest
        off-centre peak (rejects weak cross-sublattice or noise maxima).
    return_details : bool
        Also return a dict with the first-shell peak vectors and their heights.

    Returns
    -------
    float or (float, dict)
        Spacing in pixels (and details when asked).

    Raises
    ------
    InputError
        Not 2D, too small, or no periodicity found (e.g. an image of isolated particles).
    """
    from scipy import fft

    image = np.asarray(image2d)
    if image.ndim != 2:
        raise InputError(f"estimate_spacing needs one 2D frame; got shape {image.shape}.")
    height, width = image.shape
    if min(height, width) < 16:
        raise InputError(f"The image ({height}x{width}) is too small to estimate a spacing; "
                         "give the spacing explicitly.")
    image = _central_crop(image, MAX_SIDE).astype(np.float64)  # crop first: less to convert
    if not np.isfinite(image).all():
        image = np.where(np.isfinite(image), image, np.nanmedian(image))
    # the default search range follows the analysed crop (a sixth of its side)
    max_spacing = float(max_spacing) if max_spacing else min(image.shape) / 6.0
    detail = (image - image.mean()) * np.outer(np.hanning(image.shape[0]),
                                               np.hanning(image.shape[1]))
    shape = detail.shape
    spectrum = fft.rfft2(detail, workers=1)
    # high-pass (minus a Gaussian blur of width max_spacing/2, done in Fourier space): a slow
    # background (illumination, a particle's envelope) would otherwise swamp the lattice peaks
    freq_sq = fft.fftfreq(shape[0])[:, None] ** 2 + fft.rfftfreq(shape[1])[None, :] ** 2
    high_pass = 1.0 - np.exp(-2.0 * np.pi**2 * (max_spacing / 2.0) ** 2 * freq_sq)
    acf = fft.irfft2(np.abs(spectrum * high_pass) ** 2, shape, workers=1)
    reach = min(int(np.ceil(max_spacing * 1.5)) + 2, min(shape) // 2 - 1)
    lags = np.arange(-reach, reach + 1)  # zero lag in the middle (a partial fftshift)
    crop = acf.take(lags, axis=0, mode="wrap").take(lags, axis=1, mode="wrap")
    if crop[reach, reach] <= 0:
        raise InputError("The image has no intensity variation to estimate a spacing from.")
    crop = crop / crop[reach, reach]
    peaks, heights = _off_centre_peaks(crop, reach, max_spacing)
    if len(peaks) == 0:
        raise InputError("No lattice periodicity found (no autocorrelation peak); the image may "
                         "not show a lattice. Give the spacing explicitly.")
    if heights.max() < MIN_PEAK_HEIGHT:
        raise InputError("No clear lattice periodicity found (autocorrelation peaks at noise "
                         "level); the image may not show a lattice. Give the spacing explicitly.")
    distances = np.hypot(*peaks.T)
    strong = heights >= min_relative_height * heights.max()
    nearest = distances[strong].min()
    shell = strong & (distances <= nearest * 1.15)
    spacing = float(np.median(distances[shell]))
    if spacing < MIN_SPACING:
        raise InputError(f"The estimated spacing ({spacing:.2f} px) is below {MIN_SPACING} px: "
                         "the image looks like noise. Give the spacing explicitly.")
    if return_details:
        return spacing, {"vectors": peaks[shell], "heights": heights[shell],
                         "all_vectors": peaks, "all_heights": heights}
    return spacing


def _off_centre_peaks(crop: np.ndarray, reach: int, max_spacing: float):
    """Local maxima of the autocorrelation (sub-pixel, relative to the centre) and heights."""
    from scipy import ndimage

    is_max = crop == ndimage.maximum_filter(crop, size=3, mode="nearest")
    rows, cols = np.nonzero(is_max)
    offsets = np.stack([rows - reach, cols - reach], axis=1).astype(np.float64)
    distance = np.hypot(*offsets.T)
    # the central peak's own flanks are not lattice peaks: require a dip towards the centre
    keep = (distance >= MIN_SPACING) & (distance <= max_spacing * 1.2)
    keep &= (rows > 0) & (rows < crop.shape[0] - 1) & (cols > 0) & (cols < crop.shape[1] - 1)
    rows, cols, offsets = rows[keep], cols[keep], offsets[keep]
    if len(rows) == 0:
        return offsets, np.zeros(0)
    heights = crop[rows, cols]
    dips = _dip_towards_centre(crop, reach, offsets)
    valid = heights - dips > 0.02
    rows, cols, offsets, heights = rows[valid], cols[valid], offsets[valid], heights[valid]
    offsets += np.stack([_parabola_offset(crop[rows - 1, cols], heights, crop[rows + 1, cols]),
                         _parabola_offset(crop[rows, cols - 1], heights, crop[rows, cols + 1])],
                        axis=1)
    return offsets, heights


def _dip_towards_centre(crop, reach, offsets):
    """Minimum autocorrelation on the straight line from the centre to each peak."""
    from scipy import ndimage

    fractions = np.linspace(0.1, 0.9, 17)
    points = reach + offsets[:, None, :] * fractions[None, :, None]
    samples = ndimage.map_coordinates(crop, points.reshape(-1, 2).T, order=1)
    return samples.reshape(len(offsets), -1).min(axis=1)


def _parabola_offset(left, centre, right):
    denominator = left - 2.0 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denominator < 0, 0.5 * (left - right) / denominator, 0.0)
    return np.clip(shift, -0.5, 0.5)


def _central_crop(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape
    top, left = max((height - side) // 2, 0), max((width - side) // 2, 0)
    return image[top:top + side, left:left + side]
