"""Each synthetic particle's ideal-observer SNR: how visible it is in its own image.

The benchmark's synthetic particles are drawn again without their texture and noise (the same
seed places them in the same spots), so the image less that drawing is exactly what hides them:
the support's texture and the shot or Gaussian noise. Its power spectrum (the periodogram,
smoothed over 9 x 9 frequencies) whitens it; a particle's SNR is the norm of its own signal
(its projected sphere at its true radius, times the illumination where it sits) after the same
whitening: the matched filter's output over its noise, d', for an observer who knows where the
particle is, how large and how bright (the ideal observer in Gaussian stationary noise).

An observer who must also find it cuts that output where the background's own maxima stop: on
the benchmark's low-dose 384 x 384 frames the whitened filter of the median particle reaches
3.7-5.6 on the nuisance alone (its strongest maximum; 3.1-4.5 at as many maxima as 5 % of the
particles), so about 95 % of the particles of d' 6.5 stand above it and a particle of d' below
4 cannot be told from the background's extremes. ``SNR_LIMIT`` is where the defaults find at
least 95 % of the particles on every low-dose row kind of the robustness benchmark (docs/
performance.md, "ideal observer" round 15): the benchmark's "within the stated limit" count scores
recall over those particles only (precision over every detection, as the rows).

The SNR needs pixel noise (shot or read noise) in the image: a texture alone (2 px correlation)
has almost no power at a particle's edge, and the whitened norm grows without bound there
(89-109 on the dose sweep's noise-free frames). On the dose sweep with pixel noise the limit
holds on sparse and moderately dense images down to 4 counts per pixel, on dense layers (400
touching particles of radius 7) down to 60 only.

Truth is used here only to measure; nothing in the detector reads it.
"""

from __future__ import annotations

import numpy as np

SNR_LIMIT = 8.0  # the defaults find >= 95 % of the particles of at least this ideal-observer SNR


def _sphere(shape, radius: float, median_radius: float) -> np.ndarray:
    """A projected sphere of ``radius`` at the origin (wrapped), as the generator draws it."""
    from scipy import ndimage

    rows = np.fft.fftfreq(shape[0], 1.0 / shape[0])[:, None]
    cols = np.fft.fftfreq(shape[1], 1.0 / shape[1])[None, :]
    thickness = np.sqrt(np.clip(radius**2 - rows**2 - cols**2, 0.0, None))
    return ndimage.gaussian_filter(thickness, 0.7, mode="wrap") / median_radius


def binned(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` binned by ``factor`` (the mean of each ``factor`` x ``factor`` block; rows and
    columns beyond the last whole block dropped): the same scene at ``1 / factor`` the
    magnification, with the same counts per area (shot noise stays white)."""
    height, width = (n // factor * factor for n in image.shape)
    blocks = image[:height, :width].reshape(height // factor, factor, width // factor, factor)
    return blocks.mean(axis=(1, 3))


def binned_centres(centres: np.ndarray, factor: int) -> np.ndarray:
    """Pixel coordinates ``centres`` in the frame :func:`binned` by ``factor``."""
    return (np.asarray(centres, dtype=np.float64) + 0.5) / factor - 0.5


def _drawn(shape, radius: float, median_radius: float, binning: int) -> np.ndarray:
    """:func:`_sphere` in a frame of ``shape`` (whole blocks of ``binning``), :func:`binned`."""
    sphere = _sphere(shape, radius, median_radius)
    return sphere if binning == 1 else binned(sphere, binning)


def particle_snr(kwargs: dict, truth, binning: int = 1) -> np.ndarray:
    """Ideal-observer SNR (d') of each of ``truth``'s particles (``make_particles(**kwargs)``).

    Parameters
    ----------
    kwargs : dict
        The generator's arguments that made ``truth``.
    truth : ParticleImage
        The image and its particles.
    binning : int
        Measure in the frame :func:`binned` by this factor (image, noise-free drawing and each
        particle's signal alike): a lower magnification of the same scene. Binning averages
        the shot noise as it averages the signal; a particle loses visibility only where its
        signal has power beyond the binned frame's sampling (radius below ~2 binned pixels).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` one SNR per particle of ``truth.centres``.
    """
    from scipy import ndimage

    from napari_ivae.core.synthetic.particles import make_particles

    quiet = dict(kwargs, texture=0.0, dose=None, noise=0.0)
    expected = make_particles(**quiet).image.astype(np.float64)
    support = make_particles(**dict(quiet, contrast=0.0)).image.astype(np.float64)
    nuisance = truth.image.astype(np.float64) - expected
    if truth.scale_bar is not None:
        nuisance[truth.scale_bar] = 0.0
    fine_shape = nuisance.shape
    if binning > 1:
        nuisance, support = binned(nuisance, binning), binned(support, binning)
    shape = nuisance.shape
    power = np.abs(np.fft.fft2(nuisance)) ** 2 / nuisance.size
    power = np.fft.ifftshift(ndimage.uniform_filter(np.fft.fftshift(power), 9, mode="wrap"))
    inverse = 1.0 / np.maximum(power, 1e-12 * float(power.max()))
    median = float(kwargs.get("radius", 6.0))
    radii = np.asarray(truth.radii, dtype=np.float64)
    if not len(radii):
        return np.zeros(0)
    # the whitened norm of a unit-contrast sphere, on a grid of radii, interpolated in log r
    grid = np.geomspace(0.8 * radii.min(), 1.25 * radii.max(), 16)
    norms = [
        np.sqrt(
            (np.abs(np.fft.fft2(_drawn(fine_shape, r, median, binning))) ** 2 * inverse).sum()
            / power.size
        )
        for r in grid
    ]
    unit = np.exp(np.interp(np.log(radii), np.log(grid), np.log(norms)))
    centres = binned_centres(truth.centres, binning) if binning > 1 else truth.centres
    rows = np.clip(np.round(centres[:, 0]).astype(int), 0, shape[0] - 1)
    cols = np.clip(np.round(centres[:, 1]).astype(int), 0, shape[1] - 1)
    return float(kwargs.get("contrast", 1.0)) * support[rows, cols] * unit
