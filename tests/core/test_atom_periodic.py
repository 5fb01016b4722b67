"""The dark/bright call from the lattice's periodic part (atom_periodic): a crystal on a
textured support whose blobs tie the whole frame's call."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection.atom_geometry import atom_polarity
from napari_ivae.core.detection.atom_periodic import lattice_reflections, periodic_polarity
from napari_ivae.core.detection.atoms import detect_atoms


def _particle_on_carbon(sign, seed=1, n=256, d=9.0, radius=70.0):
    """HRTEM-like: a round particle (thickness falling to its rim) whose columns are Gaussian
    dips (``sign`` -1, phase contrast at Scherzer defocus) or peaks (+1) on amorphous carbon's
    texture, which covers the whole frame; Poisson counts. Returns the image and the columns
    within 0.8 of the radius."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[:n, :n].astype(float)
    centre = n / 2
    thick = np.sqrt(np.clip(1 - (np.hypot(rr - centre, cc - centre) / radius) ** 2, 0, 1))
    sites = np.array([(i, j) for i in np.arange(d / 2, n, d) for j in np.arange(d / 2, n, d)])
    lattice = np.zeros((n, n))
    lattice[np.round(sites[:, 0]).astype(int), np.round(sites[:, 1]).astype(int)] = 1.0
    lattice = ndimage.gaussian_filter(lattice, 0.22 * d)
    lattice /= lattice.max()
    carbon = ndimage.gaussian_filter(rng.standard_normal((n, n)), 1.4)
    carbon /= carbon.std()
    image = 1.0 + 0.12 * carbon + sign * 0.5 * thick * lattice - 0.12 * thick
    image = rng.poisson(np.clip(image, 0.01, None) * 150) / 150
    inner = np.hypot(sites[:, 0] - centre, sites[:, 1] - centre) < 0.8 * radius
    return image.astype(np.float32), sites[inner]


def _share_found(points, sites, tolerance=2.5):
    from scipy.spatial import cKDTree

    if not len(points):
        return 0.0
    return float(np.mean(cKDTree(points).query(sites)[0] < tolerance))


def test_dark_columns_of_a_particle_on_amorphous_carbon_are_found():
    image, sites = _particle_on_carbon(-1)
    # the frame's blobs tie: the carbon's are as strong on both sides
    assert atom_polarity(image, 9.0)[0] == "bright"
    assert periodic_polarity(image, 9.0)[0] == "dark"
    found = detect_atoms(image)
    assert found.params["invert"] is True
    assert found.params["polarity"] == "dark (auto: the lattice's periodic part)"
    assert _share_found(np.asarray(found.coords)[:, 1:], sites) > 0.85


def test_bright_columns_on_the_same_support_stay_bright():
    image, sites = _particle_on_carbon(+1)
    assert periodic_polarity(image, 9.0)[0] == "bright"
    found = detect_atoms(image)
    assert found.params["invert"] is False
    assert _share_found(np.asarray(found.coords)[:, 1:], sites) > 0.8


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_sinusoidal_lattice_fringes_are_neither_side(sign):
    # cos + cos on a square lattice is as symmetric as its negative: no dark call
    rr, cc = np.mgrid[:256, :256].astype(float)
    k = 2 * np.pi / 10.0
    image = (1.0 + sign * 0.3 * (np.cos(k * rr) + np.cos(k * cc))).astype(np.float32)
    polarity, ratio = periodic_polarity(image, 10.0)
    assert polarity == "bright" and ratio == pytest.approx(1.0, abs=0.2)


def test_lattice_reflections_add_the_harmonics_of_two_first_orders():
    g1, g2 = np.array([0.1, 0.0]), np.array([0.0, 0.1])
    found = lattice_reflections(np.array([g1, g2]))
    as_set = {tuple(np.round(v, 6)) for v in found}
    assert (0.1, 0.1) in as_set and (0.1, -0.1) in as_set and (0.2, 0.0) in as_set
    assert all(np.hypot(*v) <= 0.2 + 1e-9 for v in found)
    # one set of fringes has no lattice to repeat
    assert len(lattice_reflections(np.array([g1, 2 * g1]))) == 2
