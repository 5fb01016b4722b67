"""Blobs that are one pixel: a camera's noisy pixels are no particles.

A light microscope's camera adds noise that is neither Poisson nor Gaussian: an sCMOS has
pixels of their own gain, offset and read noise (a few far noisier than the rest), an EMCCD's
multiplication gives the counts an exponential tail, a photomultiplier's single photons stand
as lone spikes on a black clipped to zero. Such a pixel is as strong at a blob scale as a
particle whose peak it matches, and far beyond what white noise of the frame's pixel noise
reaches: the noise floor and the per-scale bounds, all drawn from Gaussian or two-sided
nulls, let it through. A particle is an object of the particle scale: the blob's response
without its brightest pixel (set to the median of its eight neighbours) must still stand
above the white-noise floor at its scale. A particle spread over many pixels loses a small
share of its response; an undersampled spot (most of its light in one pixel) keeps the part
its neighbours hold; a lone noisy pixel keeps the noise around it.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def kernel_value(offset_sq, sigma):
    """``-sigma^2 LoG`` of a unit impulse at squared distances ``offset_sq`` (the response
    :func:`~napari_ivae.core.detection.particle_blobs.scale_space` gives a one-pixel spike)."""
    ratio = offset_sq / sigma**2
    return (2.0 - ratio) * np.exp(-0.5 * ratio) / (2.0 * np.pi * sigma**2)


def blob_responses(signal: np.ndarray, points: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``-sigma^2 LoG`` of ``signal`` at each integer point, each at its own scale (the frame
    mirrored beyond its edges, as the scale space's transforms mirror it)."""
    out = np.empty(len(points))
    for scale in np.unique(sigma):
        mine = np.flatnonzero(sigma == scale)
        reach = int(np.ceil(4.0 * scale))
        rows, cols = np.mgrid[-reach : reach + 1, -reach : reach + 1]
        kernel = kernel_value(rows**2 + cols**2, np.float64(scale))
        kernel -= kernel.mean()  # zero sum, as the transfer function is 0 at frequency 0
        padded = np.pad(signal, reach, mode="symmetric")
        for index in mine:
            row, col = points[index] + reach
            patch = padded[row - reach : row + reach + 1, col - reach : col + reach + 1]
            out[index] = float(np.sum(patch * kernel))
    return out


def spike_share(signal: np.ndarray, points: np.ndarray, sigma: np.ndarray) -> tuple:
    """The part of each blob's response that its brightest pixel within one pixel of the
    centre holds above the median of that pixel's eight neighbours, and that excess."""
    padded = np.pad(np.asarray(signal, dtype=np.float64), 2, mode="symmetric")
    share, spike = np.zeros(len(points)), np.zeros(len(points))
    offsets = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)])
    ring = offsets[np.any(offsets != 0, axis=1)]
    for index, (row, col) in enumerate(np.asarray(points, dtype=int) + 2):
        around = padded[row + offsets[:, 0], col + offsets[:, 1]]
        top = offsets[int(np.argmax(around))]
        peak_row, peak_col = row + top[0], col + top[1]
        excess = padded[peak_row, peak_col] - np.median(
            padded[peak_row + ring[:, 0], peak_col + ring[:, 1]]
        )
        if excess > 0:
            spike[index] = excess
            share[index] = excess * kernel_value(float(top @ top), float(sigma[index]))
    return share, spike


def not_one_pixel(
    signal: np.ndarray,
    points: np.ndarray,
    sigma: np.ndarray,
    floor: np.ndarray,
    pixel_noise: np.ndarray,
) -> np.ndarray:
    """Whether each blob stands above ``floor`` (the white-noise floor at its scale and place)
    without its brightest pixel, where that pixel is beyond the frame's noise.

    The pixel is judged only where it stands above its neighbours' median by more than
    Gaussian noise of the pixel noise reaches once over the frame's pixels (a camera's heavy
    tail, not the noise a faint particle's peak carries), or where it holds more of the blob's
    response than the rest of the blob does (a low dose's faint particles stand
    just above the floor, and lose a tenth of their response with their brightest pixel).

    Parameters
    ----------
    signal : numpy.ndarray
        The frame, particles positive.
    points : numpy.ndarray
        ``(n, 2)`` integer blob centres.
    sigma : numpy.ndarray
        ``(n,)`` blob scales.
    floor : numpy.ndarray
        ``(n,)`` the strength white noise of the frame's pixel noise reaches at each blob.
    pixel_noise : numpy.ndarray
        ``(n,)`` the pixel noise (standard deviation) at each blob.

    Returns
    -------
    numpy.ndarray of bool
        ``(n,)`` True where the blob is more than one pixel.
    """
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    signal = np.asarray(signal, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    share, spike = spike_share(signal, points, sigma)
    # the median of eight neighbours has about a third of a pixel's noise variance
    reach = np.sqrt(1.0 + np.pi / 16.0) * special.ndtri(1.0 - 1.0 / signal.size)
    beyond = spike > reach * np.asarray(pixel_noise, dtype=np.float64)
    response = blob_responses(signal, points, sigma)
    # ... or it holds most of the blob's response; a blob found beside a larger one (with
    # that one's profile taken out) may have none in the frame itself: not judged here
    judged = (beyond | (share >= 0.5 * response)) & (response > 0)
    return ~judged | (response - share >= floor)
