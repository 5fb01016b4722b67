"""Generated crystal images shared by the tests: a nanoparticle on a support (crystal region)
and a perovskite whose B columns only the unit cell's average shows (weak sub-lattice)."""

import numpy as np

from napari_ivae.core.synthetic.lattice import make_lattice

SPACING = 12.0


def _blobs(shape, points, sigma):
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape)
    for r, c in points:
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    return image


def particle_on_amorphous_support(seed=0, size=256, radius=80.0):
    """A crystalline disc among atom-sized bumps at random places (no lattice outside).

    The bumps are as dense as the lattice sites and half as bright (amorphous support is
    lighter than the crystal's columns); bumps as bright as the atoms leak into the region.
    """
    rng = np.random.default_rng(seed)
    lattice = make_lattice((size, size), spacing=SPACING, noise=0.0, seed=seed)
    rows, cols = np.mgrid[:size, :size]
    disc = np.hypot(rows - size / 2, cols - size / 2) <= radius
    truth = lattice.positions[np.hypot(*(lattice.positions - size / 2).T) <= radius - 2]
    # as many bumps per area as lattice sites, none on the disc
    n_bumps = int((~disc).sum() / SPACING**2)
    bumps = rng.uniform(0, size, size=(4 * n_bumps, 2))
    bumps = bumps[np.hypot(*(bumps - size / 2).T) > radius + 0.5 * SPACING][:n_bumps]
    support = 0.5 * _blobs((size, size), bumps, sigma=0.15 * SPACING)
    image = np.where(disc, lattice.image, support) + rng.normal(0, 0.05, (size, size))
    return image, truth, bumps


def weak_perovskite(size=256, dose=None, seed=11, rotation=27, vacancies=0.0):
    """A perovskite with B columns at 0.25 of A (core/detection/motif): shot noise at ``dose``
    counts, or Gaussian noise 0.02 without a dose."""
    return make_lattice(
        size,
        spacing=11.3,
        lattice="perovskite",
        sublattice_intensity=0.25,
        atom_sigma=2.5,
        noise=0.0 if dose else 0.02,
        background=0.3,
        dose=dose,
        rotation=rotation,
        seed=seed,
        vacancies=vacancies,
    )
