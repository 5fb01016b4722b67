"""Local lattice-fringe amplitude: each Bragg reflection demodulated and low-passed.

As in geometric phase analysis, each reflection ``g`` of the image is demodulated
(``image * exp(-2 pi i g.x)``, then a Gaussian low-pass): the modulus is the local amplitude of
that lattice fringe. Summed in quadrature over the reflections, it is high wherever atoms sit
on a lattice and falls to the noise level elsewhere. The same demodulation of the diffuse
spectrum gives the amplitude's floor (what noise and an amorphous film reach).
"""

from __future__ import annotations

import numpy as np


def fringe_amplitude(detail, reflections, sigma):
    """Local fringe amplitude for each reflection, combined in quadrature, on a coarse grid.

    Demodulation and the Gaussian low-pass happen in Fourier space: the band around ``g`` is
    cut out, zero padded to twice its size (a finer output grid for free) and inverse
    transformed. The frame is zero padded and the result divided by the low-passed support
    (normalised convolution), so the amplitude does not sag at the image edges.

    Parameters
    ----------
    detail : numpy.ndarray
        2D image with its slow background removed.
    reflections : numpy.ndarray
        ``(n, 2)`` Bragg vectors in cycles per pixel (row, col).
    sigma : float
        Gaussian sigma of the low-pass in pixels.

    Returns
    -------
    amplitude : numpy.ndarray
        The amplitude on the samples that fall on the frame (float32).
    step : tuple of float
        Input pixels per sample along rows and columns.
    origin : tuple of float
        Input position of sample ``(0, 0)``.
    floor : float
        What the same demodulation gives where nothing is periodic (the rms amplitude of the
        diffuse spectrum), on the same scale.
    """
    from scipy import fft

    pad = int(np.ceil(3.0 * sigma))
    shape = tuple(fft.next_fast_len(n + 2 * pad) for n in detail.shape)
    padded = np.zeros(shape, dtype=np.float32)
    padded[pad : pad + detail.shape[0], pad : pad + detail.shape[1]] = detail
    spectrum = fft.fft2(padded, workers=1)
    # the low-pass keeps |f| < 3 / (2 pi sigma) (Gaussian below 1.1 %): cut that band out
    half = [min(int(np.ceil(3.0 / (2.0 * np.pi * sigma) * n)), (n - 1) // 2) for n in shape]
    offsets = [np.arange(-h, h + 1) for h in half]
    gauss = np.exp(
        -2.0
        * np.pi**2
        * sigma**2
        * ((offsets[0][:, None] / shape[0]) ** 2 + (offsets[1][None, :] / shape[1]) ** 2)
    )
    fine = tuple(min(2 * len(o), n) for o, n in zip(offsets, shape))
    place = tuple(
        slice((f - len(o)) // 2, (f - len(o)) // 2 + len(o)) for f, o in zip(fine, offsets)
    )
    total = np.zeros(fine, dtype=np.float64)
    rings = np.rint(
        np.hypot(fft.fftfreq(shape[0])[:, None], fft.fftfreq(shape[1])[None, :]) * max(shape)
    ).astype(np.int64)
    diffuse = 0.0
    for g_row, g_col in reflections:
        centre = (int(round(g_row * shape[0])), int(round(g_col * shape[1])))
        band = spectrum.take(centre[0] + offsets[0], axis=0, mode="wrap").take(
            centre[1] + offsets[1], axis=1, mode="wrap"
        )
        # the diffuse power on the reflection's ring (exponential periodogram: mean = median
        # / ln 2; the few Bragg samples on the ring do not move the median)
        on_ring = rings == int(round(np.hypot(g_row, g_col) * max(shape)))
        diffuse += float(np.median(np.abs(spectrum[on_ring]) ** 2)) / np.log(2.0)
        grid = np.zeros(fine, dtype=np.complex128)
        grid[place] = band * gauss
        field = fft.ifft2(fft.ifftshift(grid), workers=1)
        total += field.real**2 + field.imag**2
    amplitude = np.sqrt(total) * (np.prod(fine) / np.prod(shape))
    # what the same demodulation gives where nothing is periodic (the rms amplitude of the
    # diffuse spectrum: noise, an amorphous film), on the same scale
    floor = float(np.sqrt(diffuse * np.sum(gauss**2)) / np.prod(shape))
    step = (shape[0] / fine[0], shape[1] / fine[1])  # padded px per sample
    amplitude = amplitude / np.maximum(
        _smoothed_support(detail.shape, pad, fine, step, sigma), 0.05
    )
    # keep the samples that fall on the frame
    first = [int(np.ceil(pad / s)) for s in step]
    last = [int(np.floor((pad + n - 1) / s)) for n, s in zip(detail.shape, step)]
    cropped = amplitude[first[0] : last[0] + 1, first[1] : last[1] + 1].astype(np.float32)
    return cropped, step, tuple(f * s - pad for f, s in zip(first, step)), floor


def _smoothed_support(size, pad, samples, step, sigma):
    """Gaussian-smoothed indicator of the unpadded frame, at the coarse sample positions."""
    from scipy.special import erf

    profiles = []
    for n, count, s in zip(size, samples, step):
        x = np.arange(count) * s
        scale = np.sqrt(2.0) * sigma
        profiles.append(0.5 * (erf((pad + n - 0.5 - x) / scale) - erf((pad - 0.5 - x) / scale)))
    return np.outer(profiles[0], profiles[1])


__all__ = ["fringe_amplitude"]
