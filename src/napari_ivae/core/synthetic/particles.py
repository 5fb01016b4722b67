"""Nanoparticles on a support, with exact ground truth: the particle detector's test bench.

Particles are projected spheres (thickness ``sqrt(r^2 - d^2)``, softened by a probe blur) with a
log-normal spread of radii, bright (HAADF, dark-field, fluorescence) or dark (bright-field TEM)
on a background that can hold an uneven illumination, an amorphous carbon texture (smoothed
noise at a few pixels' correlation), Poisson or Gaussian noise and a burned-in scale bar.
``touching`` places that fraction of particles against a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from napari_ivae.core.errors import InputError


@dataclass
class ParticleImage:
    """A synthetic particle image and its ground truth.

    Attributes
    ----------
    image : numpy.ndarray
        ``(Y, X)`` float32 image.
    centres : numpy.ndarray
        ``(N, 2)`` ``(row, col)`` of every particle whose centre lies in the frame.
    radii : numpy.ndarray
        ``(N,)`` radii in pixels.
    scale_bar : numpy.ndarray or None
        Boolean mask of the burned-in scale bar, if any.
    params : dict
        Every generator parameter.
    """

    image: np.ndarray
    centres: np.ndarray
    radii: np.ndarray
    scale_bar: np.ndarray | None
    params: dict = field(default_factory=dict)


def make_particles(
    shape=(384, 384),
    *,
    count: int = 60,
    radius: float = 6.0,
    radius_spread: float = 0.25,
    polarity: str = "bright",
    contrast: float = 1.0,
    touching: float = 0.0,
    illumination: float = 0.0,
    texture: float = 0.0,
    noise: float = 0.05,
    dose: float | None = None,
    scale_bar: bool = False,
    seed: int = 0,
) -> ParticleImage:
    """Generate particles on a support with exact centres.

    Parameters
    ----------
    shape : int or (int, int)
        Image size.
    count : int
        Number of particles placed (some may be dropped where they would overlap).
    radius : float
        Median particle radius (pixels).
    radius_spread : float
        Standard deviation of ``log(radius)``.
    polarity : {"bright", "dark"}
        Particles brighter or darker than the support.
    contrast : float
        Particle signal at the centre of a particle of the median radius, relative to the
        support level 1 (a dark particle of contrast 0.6 goes down to 0.4).
    touching : float
        Fraction of particles placed in contact with an earlier one.
    illumination : float
        Relative amplitude of a smooth illumination gradient across the frame.
    texture : float
        Standard deviation of the amorphous support's texture (correlation ~2 px), relative to
        the support level.
    noise : float
        Standard deviation of additive Gaussian noise.
    dose : float, optional
        Poisson noise with this many counts at the support level.
    scale_bar : bool
        Burn a saturated scale bar into the lower right corner.
    seed : int
        Random seed.

    Returns
    -------
    ParticleImage
    """
    from scipy import ndimage

    if polarity not in ("bright", "dark"):
        raise InputError(f"polarity must be 'bright' or 'dark', got {polarity!r}.")
    height, width = (
        (int(shape), int(shape)) if np.ndim(shape) == 0 else (int(shape[0]), int(shape[1]))
    )
    rng = np.random.default_rng(seed)
    centres, radii = _place(height, width, count, radius, radius_spread, touching, rng)
    rows, cols = np.mgrid[:height, :width].astype(np.float64)
    thickness = np.zeros((height, width))
    for (r0, c0), rad in zip(centres, radii):
        reach = int(np.ceil(rad)) + 2
        window = (
            slice(max(int(r0) - reach, 0), min(int(r0) + reach + 1, height)),
            slice(max(int(c0) - reach, 0), min(int(c0) + reach + 1, width)),
        )
        d2 = (rows[window] - r0) ** 2 + (cols[window] - c0) ** 2
        thickness[window] += np.sqrt(np.clip(rad**2 - d2, 0.0, None))
    thickness = ndimage.gaussian_filter(thickness, 0.7) / float(radius)
    support = np.ones((height, width))
    if illumination:
        support += illumination * (rows / height - 0.5 + 0.5 * np.sin(cols / width * np.pi))
    if texture:
        grain = ndimage.gaussian_filter(rng.normal(size=(height, width)), 2.0)
        support += texture * grain / (grain.std() or 1.0)
    sign = 1.0 if polarity == "bright" else -1.0
    image = support * np.clip(1.0 + sign * contrast * thickness, 0.02, None)
    if dose is not None:
        image = rng.poisson(np.clip(image, 0, None) * dose) / float(dose)
    if noise > 0:
        image = image + rng.normal(0.0, noise, size=image.shape)
    bar = None
    if scale_bar:
        bar = np.zeros((height, width), dtype=bool)
        bar[
            int(0.92 * height) : int(0.92 * height) + max(3, height // 60),
            int(0.70 * width) : int(0.92 * width),
        ] = True
        image[bar] = image.max() * 1.05  # saturated white, as most microscopes burn it in
    inside = (
        (centres[:, 0] >= 0)
        & (centres[:, 0] < height)
        & (centres[:, 1] >= 0)
        & (centres[:, 1] < width)
    )
    params = dict(
        shape=(height, width),
        count=count,
        radius=radius,
        radius_spread=radius_spread,
        polarity=polarity,
        contrast=contrast,
        touching=touching,
        illumination=illumination,
        texture=texture,
        noise=noise,
        dose=dose,
        scale_bar=scale_bar,
        seed=seed,
    )
    return ParticleImage(
        image=image.astype(np.float32),
        centres=centres[inside],
        radii=radii[inside],
        scale_bar=bar,
        params=params,
    )


def _place(height, width, count, radius, spread, touching, rng):
    """Non-overlapping (or, for the ``touching`` share, just touching) particle centres."""
    centres, radii = [], []
    for _ in range(count * 20):
        if len(centres) == count:
            break
        rad = float(radius * np.exp(rng.normal(0.0, spread)))
        if centres and rng.random() < touching:
            k = rng.integers(len(centres))
            angle = rng.uniform(0, 2 * np.pi)
            gap = radii[k] + rad
            candidate = centres[k] + gap * np.array([np.sin(angle), np.cos(angle)])
        else:
            candidate = rng.uniform([rad, rad], [height - rad, width - rad])
        if centres:
            distance = np.hypot(*(np.asarray(centres) - candidate).T)
            if (distance < 0.98 * (np.asarray(radii) + rad)).any():
                continue
        centres.append(candidate)
        radii.append(rad)
    return np.asarray(centres, dtype=np.float64).reshape(-1, 2), np.asarray(radii)


__all__ = ["ParticleImage", "make_particles"]
