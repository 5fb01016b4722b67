"""A noisy atomic-lattice image with exact ground truth.

Atoms are 2D Gaussians on a square or hexagonal lattice, or on a lattice with a basis: a
honeycomb (graphene), a perovskite projection (a weaker column at the cell centre) or
dumbbells (Si [110]). The image can hold several domains
(Voronoi regions, each with its own lattice orientation), vacancies, dopants (brighter or dimmer
atoms), elliptical atoms whose orientation follows the local lattice angle plus a smooth random
"local rotation" field, an amorphous background of random atom-sized bumps, a crystal that
fills only a disc (a nanoparticle), scan-line jitter, and Gaussian and/or Poisson noise.
Rendering is vectorised (one ``bincount``), so a 512x512 image takes a few tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from napari_ivae.core.errors import InputError

LATTICE_TYPES = ("square", "hexagonal", "honeycomb", "perovskite", "dumbbell")
_SYMMETRY_DEG = {
    "square": 90.0,
    "hexagonal": 60.0,
    "honeycomb": 60.0,
    "perovskite": 90.0,
    "dumbbell": 180.0,
}
# per lattice type, in units of the nearest-neighbour distance: |a1|, |a2|, the angle from a1 to
# a2 (degrees), and the basis as (fraction of a1, fraction of a2, amplitude; None = the
# ``sublattice_intensity`` argument)
_CELLS = {
    "square": (1.0, 1.0, 90.0, [(0.0, 0.0, 1.0)]),
    "hexagonal": (1.0, 1.0, 60.0, [(0.0, 0.0, 1.0)]),
    "honeycomb": (np.sqrt(3.0), np.sqrt(3.0), 60.0, [(0.0, 0.0, 1.0), (1 / 3, 1 / 3, 1.0)]),
    "perovskite": (np.sqrt(2.0), np.sqrt(2.0), 90.0, [(0.0, 0.0, 1.0), (0.5, 0.5, None)]),
    # Si [110]: a rectangular cell a/sqrt(2) x a holding two dumbbells 0.25 a long
    "dumbbell": (
        4.0 / np.sqrt(2.0),
        4.0,
        90.0,
        [(0.0, 0.0, 1.0), (0.0, 0.25, 1.0), (0.5, 0.5, 1.0), (0.5, 0.75, 1.0)],
    ),
}


@dataclass
class LatticeImage:
    """A synthetic lattice image and its ground truth.

    Attributes
    ----------
    image : numpy.ndarray
        ``(Y, X)`` float32 image (background plus atoms of unit peak height, plus noise).
    positions : numpy.ndarray
        ``(N, 2)`` float64 exact ``(row, col)`` of every atom whose centre lies in the frame.
    angles : numpy.ndarray
        ``(N,)`` local lattice orientation of each atom in radians (domain angle + local rotation).
    domain : numpy.ndarray
        ``(N,)`` int64 domain index of each atom.
    species : numpy.ndarray
        ``(N,)`` int64: 0 host atom, 1 dopant.
    params : dict
        Every generator parameter, resolved defaults included, plus ``seed``, ``domain_angles``
        (degrees) and ``vacancy_positions`` (list of ``[row, col]``).
    """

    image: np.ndarray
    positions: np.ndarray
    angles: np.ndarray
    domain: np.ndarray
    species: np.ndarray
    params: dict = field(default_factory=dict)


def make_lattice(
    shape=(256, 256),
    *,
    spacing: float = 12.0,
    lattice: str = "square",
    atom_sigma: float | None = None,
    noise: float = 0.1,
    dose: float | None = None,
    background: float = 0.1,
    rotation: float = 0.0,
    local_rotation: float = 0.0,
    ellipticity: float = 0.0,
    domains: int = 1,
    domain_angles=None,
    vacancies: float = 0.0,
    dopants: float = 0.0,
    dopant_intensity: float = 1.6,
    position_jitter: float = 0.0,
    sublattice_intensity: float = 0.5,
    amorphous: float = 0.0,
    particle_radius: float | None = None,
    scan_jitter: float = 0.0,
    seed: int = 0,
) -> LatticeImage:
    """Generate a noisy atomic lattice with exact atom positions.

    Parameters
    ----------
    shape : int or (int, int)
        Image size ``(Y, X)`` in pixels.
    spacing : float
        Nearest-neighbour distance in pixels.
    lattice : {"square", "hexagonal", "honeycomb", "perovskite", "dumbbell"}
        Lattice type; the last three have two atoms per cell or more (``spacing`` is still the
        distance between nearest atoms, not the lattice constant).
    atom_sigma : float, optional
        Gaussian width of an atom in pixels; default ``0.15 * spacing``.
    noise : float
        Standard deviation of additive Gaussian noise, relative to the atom peak height (1).
    dose : float, optional
        If given, Poisson (shot) noise with ``dose`` expected counts at an atom peak is applied
        before the Gaussian noise.
    background : float
        Constant background level.
    rotation : float
        Orientation of domain 0 in **degrees** (counter-clockwise in the displayed image).
    local_rotation : float
        Standard deviation (degrees) of a smooth random field added to each atom's angle; visible
        as the orientation of elliptical atoms (``ellipticity > 0``).
    ellipticity : float
        ``0`` round atoms; up to ``< 1`` elongated along the local lattice angle.
    domains : int
        Number of Voronoi domains; domain ``d`` is rotated by ``d * symmetry / domains`` degrees
        relative to domain 0 unless ``domain_angles`` is given.
    domain_angles : sequence of float, optional
        Orientation of each domain in degrees (overrides ``rotation``/automatic angles).
    vacancies : float
        Fraction of lattice sites left empty.
    dopants : float
        Fraction of atoms with intensity ``dopant_intensity`` (species 1).
    dopant_intensity : float
        Peak height of dopants relative to host atoms (> 1 brighter, < 1 dimmer).
    position_jitter : float
        Standard deviation (pixels) of random displacements of atoms from their sites.
    sublattice_intensity : float
        Peak height of the perovskite's cell-centre column relative to the corner columns.
    amorphous : float
        Peak height of an amorphous background: random atom-sized bumps (no ground truth) at
        about the lattice's density, everywhere outside the particle (or under a thin crystal).
    particle_radius : float, optional
        Atoms only inside a disc of this radius (pixels) at the image centre: a nanoparticle
        on vacuum or, with ``amorphous``, on an amorphous support.
    scan_jitter : float
        Standard deviation (pixels) of a random horizontal shift of each scan line (STEM/STM
        line-to-line jitter); ``positions`` stay the undistorted ones.
    seed : int
        Seed of the random generator (recorded in ``params``).

    Returns
    -------
    LatticeImage
    """
    height, width = _check_shape(shape)
    _check_params(spacing, lattice, noise, domains, vacancies, dopants, ellipticity)
    rng = np.random.default_rng(seed)
    sigma = float(atom_sigma) if atom_sigma is not None else 0.15 * float(spacing)
    if not sigma > 0:
        raise InputError(f"atom_sigma must be positive, got {atom_sigma}.")
    symmetry = _SYMMETRY_DEG[lattice]
    if domain_angles is None:
        angles_deg = [rotation + d * symmetry / domains for d in range(domains)]
    else:
        angles_deg = [float(a) for a in domain_angles]
        if len(angles_deg) != domains:
            raise InputError(f"domain_angles has {len(angles_deg)} entries for {domains} domains.")
    seeds = rng.uniform([0, 0], [height, width], size=(domains, 2))
    pad = 4.0 * sigma  # atoms just outside the frame still light its edge
    site_parts, height_parts, domain_parts = [], [], []
    for d, angle in enumerate(angles_deg):
        points, heights = _lattice_points(
            height, width, pad, spacing, lattice, np.deg2rad(angle), sublattice_intensity, rng
        )
        owner = _nearest_seed(points, seeds)
        site_parts.append(points[owner == d])
        height_parts.append(heights[owner == d])
        domain_parts.append(np.full(int((owner == d).sum()), d, dtype=np.int64))
    sites = np.concatenate(site_parts)
    site_height = np.concatenate(height_parts)
    site_domain = np.concatenate(domain_parts)
    if particle_radius is not None:
        inside_particle = np.hypot(sites[:, 0] - height / 2.0, sites[:, 1] - width / 2.0) <= float(
            particle_radius
        )
        sites, site_height = sites[inside_particle], site_height[inside_particle]
        site_domain = site_domain[inside_particle]
    keep = _drop_boundary_clashes(sites, site_domain, 0.7 * spacing)
    sites, site_domain, site_height = sites[keep], site_domain[keep], site_height[keep]

    vacant = rng.random(len(sites)) < vacancies
    vacancy_sites = sites[vacant]
    sites, site_domain, site_height = sites[~vacant], site_domain[~vacant], site_height[~vacant]
    if position_jitter > 0:
        sites = sites + rng.normal(0.0, position_jitter, size=sites.shape)
    species = (rng.random(len(sites)) < dopants).astype(np.int64)
    amplitude = np.where(species == 1, dopant_intensity, 1.0) * site_height
    angle_rad = np.deg2rad(np.asarray(angles_deg))[site_domain]
    if local_rotation > 0:
        angle_rad = angle_rad + np.deg2rad(local_rotation) * _smooth_field(
            sites, height, width, 4.0 * spacing, rng
        )

    image = np.full((height, width), float(background), dtype=np.float64)
    _render_atoms(image, sites, amplitude, sigma, ellipticity, angle_rad)
    if amorphous > 0:
        _add_amorphous(image, amorphous, spacing, sigma, sites, particle_radius, rng)
    if scan_jitter > 0:
        image = _jitter_lines(image, scan_jitter, rng)
    if dose is not None:
        if not dose > 0:
            raise InputError(f"dose must be positive, got {dose}.")
        image = rng.poisson(np.clip(image, 0, None) * dose) / float(dose)
    if noise > 0:
        image = image + rng.normal(0.0, noise, size=image.shape)

    inside = _within(sites, height, width)
    vacancy_inside = vacancy_sites[_within(vacancy_sites, height, width)]
    params = dict(
        shape=(height, width),
        spacing=float(spacing),
        lattice=lattice,
        atom_sigma=sigma,
        noise=float(noise),
        dose=dose,
        background=float(background),
        rotation=float(rotation),
        local_rotation=float(local_rotation),
        ellipticity=float(ellipticity),
        domains=int(domains),
        domain_angles=angles_deg,
        vacancies=float(vacancies),
        dopants=float(dopants),
        dopant_intensity=float(dopant_intensity),
        position_jitter=float(position_jitter),
        sublattice_intensity=float(sublattice_intensity),
        amorphous=float(amorphous),
        particle_radius=particle_radius,
        scan_jitter=float(scan_jitter),
        seed=seed,
        vacancy_positions=vacancy_inside.tolist(),
    )
    return LatticeImage(
        image=np.ascontiguousarray(image, dtype=np.float32),
        positions=sites[inside].astype(np.float64),
        angles=angle_rad[inside],
        domain=site_domain[inside],
        species=species[inside],
        params=params,
    )


def _check_shape(shape):
    if np.isscalar(shape):
        shape = (shape, shape)
    if len(shape) != 2 or min(shape) < 8:
        raise InputError(f"shape must be (Y, X) with both sides >= 8 pixels, got {shape}.")
    return int(shape[0]), int(shape[1])


def _check_params(spacing, lattice, noise, domains, vacancies, dopants, ellipticity):
    if lattice not in LATTICE_TYPES:
        raise InputError(f"lattice={lattice!r} is not known; use one of {LATTICE_TYPES}.")
    if not spacing >= 2:
        raise InputError(f"spacing must be at least 2 pixels, got {spacing}.")
    if noise < 0:
        raise InputError(f"noise must be >= 0, got {noise}.")
    if int(domains) != domains or domains < 1:
        raise InputError(f"domains must be a positive integer, got {domains}.")
    for name, value in (("vacancies", vacancies), ("dopants", dopants)):
        if not 0 <= value < 1:
            raise InputError(f"{name} is a fraction in [0, 1), got {value}.")
    if not 0 <= ellipticity < 1:
        raise InputError(f"ellipticity must be in [0, 1), got {ellipticity}.")


def _lattice_points(height, width, pad, spacing, lattice, theta, sublattice_intensity, rng):
    """All sites (and peak heights) of a rotated lattice with a random origin in the padded
    frame, as (row, col)."""
    length1, length2, between, basis = _CELLS[lattice]
    # a direction at angle phi, counter-clockwise on screen (rows grow downwards), as (row, col)
    a1 = length1 * spacing * np.array([-np.sin(theta), np.cos(theta)])
    phi = theta + np.deg2rad(between)
    a2 = length2 * spacing * np.array([-np.sin(phi), np.cos(phi)])
    centre = np.array([height / 2.0, width / 2.0]) + rng.uniform(-0.5, 0.5, 2) * spacing
    shortest = min(length1, length2) * spacing * np.sin(np.deg2rad(between))
    reach = int(np.ceil(np.hypot(height, width) / shortest)) + 2
    i, j = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1), indexing="ij")
    cells = centre + i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2
    points, heights = [], []
    for f1, f2, amplitude in basis:
        points.append(cells + f1 * a1 + f2 * a2)
        value = sublattice_intensity if amplitude is None else amplitude
        heights.append(np.full(len(cells), float(value)))
    points, heights = np.concatenate(points), np.concatenate(heights)
    ok = _within(points, height, width, pad)
    return points[ok], heights[ok]


def _within(points: np.ndarray, height: int, width: int, pad: float = 0.0) -> np.ndarray:
    """Which ``(N, 2)`` (row, col) points lie on the frame's pixel centres' span, widened by
    ``pad`` on every side."""
    return (
        (points[:, 0] >= -pad)
        & (points[:, 0] <= height - 1 + pad)
        & (points[:, 1] >= -pad)
        & (points[:, 1] <= width - 1 + pad)
    )


def _add_amorphous(image, amplitude, spacing, sigma, sites, particle_radius, rng):
    """Random atom-sized bumps of random height (mean ``amplitude``) at the lattice density.

    With a particle, the bumps cover the support around it (and thinly the particle itself:
    a tenth of the density, as a support film under the crystal).
    """
    height, width = image.shape
    count = int(height * width / spacing**2)
    bumps = rng.uniform([0, 0], [height, width], size=(count, 2))
    if particle_radius is not None:
        under = np.hypot(bumps[:, 0] - height / 2.0, bumps[:, 1] - width / 2.0) <= float(
            particle_radius
        )
        bumps = bumps[~under | (rng.random(count) < 0.1)]
    heights = amplitude * rng.uniform(0.3, 1.7, size=len(bumps))
    _render_atoms(image, bumps, heights, sigma * rng.uniform(1.0, 1.5), 0.0, np.zeros(len(bumps)))


def _jitter_lines(image, jitter, rng):
    """Shift each row by a random sub-pixel amount (line-to-line scan jitter)."""
    from scipy import ndimage

    shifts = rng.normal(0.0, jitter, size=image.shape[0])
    out = np.empty_like(image)
    for row, shift in enumerate(shifts):
        out[row] = ndimage.shift(image[row], shift, order=1, mode="nearest")
    return out


def _nearest_seed(points, seeds):
    distance = ((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
    return distance.argmin(axis=1)


def _drop_boundary_clashes(points, domain, min_distance):
    """Keep a site unless it is closer than ``min_distance`` to a site of a lower domain."""
    keep = np.ones(len(points), dtype=bool)
    if domain.max(initial=0) == 0:
        return keep
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    for i, j in tree.query_pairs(min_distance, output_type="ndarray"):
        if domain[i] != domain[j]:
            keep[i if domain[i] > domain[j] else j] = False
    return keep


def _smooth_field(points, height, width, correlation, rng):
    """Unit-variance smooth random field sampled at ``points`` (correlation length in px)."""
    from scipy import ndimage

    step = max(correlation / 4.0, 1.0)
    grid = rng.normal(size=(int(height / step) + 3, int(width / step) + 3))
    grid = ndimage.gaussian_filter(grid, 4.0, mode="wrap")
    grid /= grid.std() or 1.0
    coords = (points / step + 1.0).T
    return ndimage.map_coordinates(grid, coords, order=1, mode="nearest")


def _render_atoms(image, sites, amplitude, sigma, ellipticity, angle):
    """Add elliptical Gaussians (peak ``amplitude``) at ``sites`` into ``image`` in place."""
    if len(sites) == 0:
        return
    height, width = image.shape
    radius = int(np.ceil(4.0 * sigma))
    offsets = np.arange(-radius, radius + 1)
    base = np.round(sites).astype(np.int64)
    rows = base[:, 0, None, None] + offsets[None, :, None]
    cols = base[:, 1, None, None] + offsets[None, None, :]
    d_row = rows - sites[:, 0, None, None]
    d_col = cols - sites[:, 1, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    along = d_col * cos - d_row * sin  # axis along the atom's angle (screen counter-clockwise)
    across = d_col * sin + d_row * cos
    sigma_minor = sigma * (1.0 - ellipticity)
    values = amplitude[:, None, None] * np.exp(
        -0.5 * ((along / sigma) ** 2 + (across / sigma_minor) ** 2)
    )
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    flat = (rows * width + cols)[inside]
    image += np.bincount(flat, weights=values[inside], minlength=height * width).reshape(
        height, width
    )
