"""A generated nanoparticle-on-support image shared by the crystal-region tests."""

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
