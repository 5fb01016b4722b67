"""Nanoparticles on a support, with exact ground truth: the particle detector's test bench.

Particles are projected spheres (thickness ``sqrt(r^2 - d^2)``, softened by a probe blur) with a
log-normal spread of radii, bright (HAADF, dark-field, fluorescence) or dark (bright-field TEM)
on a background that can hold an uneven illumination, an amorphous carbon texture (smoothed
noise at a few pixels' correlation), Poisson or Gaussian noise and a burned-in scale bar.
``touching`` places that fraction of particles against a neighbour. :func:`make_monolayer`
packs them on a hexagonal lattice with thin gaps (a nanoparticle film), with vacancies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.particle_rendering import render_particles

JITTER_TRIES = 20  # a monolayer's particle is moved from its site at most this many times


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
    if polarity not in ("bright", "dark"):
        raise InputError(f"polarity must be 'bright' or 'dark', got {polarity!r}.")
    height, width = _shape(shape)
    rng = np.random.default_rng(seed)
    centres, radii = _place(height, width, count, radius, radius_spread, touching, rng)
    image, bar = render_particles(
        height,
        width,
        centres,
        radii,
        radius,
        rng,
        polarity=polarity,
        contrast=contrast,
        illumination=illumination,
        texture=texture,
        noise=noise,
        dose=dose,
        scale_bar=scale_bar,
    )
    inside = _in_frame(centres, height, width)
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


def make_monolayer(
    shape=(384, 384),
    *,
    radius: float = 9.0,
    gap: float = 2.0,
    radius_spread: float = 0.08,
    jitter: float = 1.0,
    vacancies: float = 0.0,
    overlap: bool = False,
    blur: float = 0.7,
    polarity: str = "dark",
    contrast: float = 0.6,
    illumination: float = 0.0,
    texture: float = 0.03,
    noise: float = 0.05,
    dose: float | None = None,
    seed: int = 0,
) -> ParticleImage:
    """A packed monolayer: particles on a hexagonal lattice, nearly touching, with exact centres.

    In-situ films of nanoparticles (TEM of Au monolayers) cover most of the frame; the support
    shows only as a network of thin gaps between them. Particles are rendered as in
    :func:`make_particles` (projected spheres, probe blur, support texture and noise).

    Parameters
    ----------
    shape : int or (int, int)
        Image size.
    radius : float
        Median particle radius (pixels).
    gap : float
        Surface-to-surface gap between neighbours of the median radius (the lattice spacing is
        ``2 radius + gap``).
    radius_spread : float
        Standard deviation of ``log(radius)``.
    jitter : float
        Standard deviation (pixels) of each centre's displacement from its lattice site; drawn
        again while the particle would overlap a neighbour (particles touch, never
        interpenetrate); where none of ``JITTER_TRIES`` draws fits, it sits at its site,
        shrunk to fit.
    vacancies : float
        Share of lattice sites left empty (at random).
    overlap : bool
        Jitter drawn freely, so that neighbours may overlap (necked or sintered particles: their
        projected thicknesses add up where they meet, and the gaps break into pockets).
    blur : float
        Gaussian blur (pixels) of the projected spheres (the probe; :func:`make_particles` uses
        0.7); 0 leaves the gaps' edges sharp.
    polarity, contrast, illumination, texture, noise, dose
        As in :func:`make_particles`.
    seed : int
        Random seed.

    Returns
    -------
    ParticleImage
        ``params["count"]`` is the number of particles placed (in the frame or cut by its edge).
    """
    if polarity not in ("bright", "dark"):
        raise InputError(f"polarity must be 'bright' or 'dark', got {polarity!r}.")
    if radius <= 0 or gap < 0:
        raise InputError(f"radius must be > 0 and gap >= 0, got {radius} and {gap}.")
    height, width = _shape(shape)
    rng = np.random.default_rng(seed)
    spacing = 2.0 * radius + gap
    row_step = spacing * np.sqrt(3.0) / 2.0
    rows = np.arange(-1, int(height / row_step) + 2)
    cols = np.arange(-1, int(width / spacing) + 2)
    grid_rows, grid_cols = np.meshgrid(rows, cols, indexing="ij")
    sites = np.stack(
        [grid_rows * row_step, (grid_cols + 0.5 * (grid_rows % 2)) * spacing], axis=-1
    ).reshape(-1, 2)
    radii = radius * np.exp(rng.normal(0.0, radius_spread, len(sites)))
    kept = rng.random(len(sites)) >= vacancies
    reach = radii + 1.0
    kept &= (
        (sites[:, 0] > -reach - spacing)
        & (sites[:, 0] < height - 1 + reach + spacing)
        & (sites[:, 1] > -reach - spacing)
        & (sites[:, 1] < width - 1 + reach + spacing)
    )
    if overlap:
        centres, radii = sites[kept] + rng.normal(0.0, jitter, (int(kept.sum()), 2)), radii[kept]
    else:
        centres, radii = _jittered(sites[kept], radii[kept], jitter, rng)
    inside = (
        (centres[:, 0] > -radii - 1.0)
        & (centres[:, 0] < height + radii)
        & (centres[:, 1] > -radii - 1.0)
        & (centres[:, 1] < width + radii)
    )
    centres, radii = centres[inside], radii[inside]
    image, _ = render_particles(
        height,
        width,
        centres,
        radii,
        radius,
        rng,
        polarity=polarity,
        contrast=contrast,
        illumination=illumination,
        texture=texture,
        noise=noise,
        dose=dose,
        scale_bar=False,
        blur=blur,
    )
    inside = _in_frame(centres, height, width)
    params = dict(
        shape=(height, width),
        count=int(len(centres)),
        radius=radius,
        gap=gap,
        radius_spread=radius_spread,
        jitter=jitter,
        vacancies=vacancies,
        overlap=overlap,
        blur=blur,
        polarity=polarity,
        contrast=contrast,
        illumination=illumination,
        texture=texture,
        noise=noise,
        dose=dose,
        seed=seed,
    )
    return ParticleImage(
        image=image.astype(np.float32),
        centres=centres[inside],
        radii=radii[inside],
        scale_bar=None,
        params=params,
    )


def _jittered(sites, radii, jitter, rng, tries: int = JITTER_TRIES):
    """Each particle at its site moved by a Gaussian ``jitter``, drawn again (up to ``tries``
    times) while it would overlap one placed before (centres closer than 0.98 x the sum of the
    radii, as :func:`_place`); one that never fits stays at its site, shrunk to fit between its
    neighbours, or (under half its radius) leaves the site empty."""
    from scipy.spatial import cKDTree

    radii = np.array(radii, dtype=np.float64)
    reach = 2.0 * float(radii.max()) + 4.0 * jitter + 1.0
    near = cKDTree(sites).query_ball_point(sites, reach)
    centres = np.full(sites.shape, np.nan)
    for index in range(len(sites)):
        others = [k for k in near[index] if k < index and not np.isnan(centres[k, 0])]
        for _ in range(tries):
            candidate = sites[index] + rng.normal(0.0, jitter, 2)
            gaps = np.hypot(*(centres[others] - candidate).T) if others else np.zeros(0)
            if not (gaps < 0.98 * (radii[others] + radii[index])).any():
                centres[index] = candidate
                break
        else:  # at its site, as large as fits between the neighbours placed (half its size at least)
            gaps = np.hypot(*(centres[others] - sites[index]).T) if others else np.zeros(0)
            fits = float((gaps / 0.98 - radii[others]).min()) if others else radii[index]
            if fits >= 0.5 * radii[index]:
                centres[index], radii[index] = sites[index], min(radii[index], fits)
    placed = ~np.isnan(centres[:, 0])
    return centres[placed], radii[placed]


def _shape(shape) -> tuple[int, int]:
    return (int(shape), int(shape)) if np.ndim(shape) == 0 else (int(shape[0]), int(shape[1]))


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


__all__ = ["ParticleImage", "make_monolayer", "make_particles"]


def _in_frame(centres: np.ndarray, height: int, width: int) -> np.ndarray:
    """Which centres lie in the frame (the particles whose positions are the truth)."""
    return (
        (centres[:, 0] >= 0)
        & (centres[:, 0] < height)
        & (centres[:, 1] >= 0)
        & (centres[:, 1] < width)
    )
