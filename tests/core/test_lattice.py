"""make_lattice: ground truth consistent with the image, options, speed-relevant sizes."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.lattice import make_lattice


def test_positions_have_the_requested_spacing_and_lie_on_peaks():
    result = make_lattice((128, 160), spacing=10.0, noise=0.0, seed=1)
    distances, _ = cKDTree(result.positions).query(result.positions, k=2)
    np.testing.assert_allclose(distances[:, 1], 10.0, atol=1e-6)
    assert result.image.shape == (128, 160) and result.image.dtype == np.float32
    rows, cols = np.round(result.positions).astype(int).T
    assert result.image[rows, cols].min() > 0.8  # background 0.1 + unit-height atoms
    assert (result.positions >= 0).all() and (result.positions[:, 0] <= 127).all()


def test_seed_reproducible_and_recorded():
    a, b = make_lattice(64, seed=5), make_lattice(64, seed=5)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.params["seed"] == 5
    assert not np.array_equal(a.image, make_lattice(64, seed=6).image)


def test_domains_vacancies_dopants():
    full = make_lattice((200, 200), spacing=10.0, seed=3)
    result = make_lattice((200, 200), spacing=10.0, domains=2, vacancies=0.1, dopants=0.2, seed=3)
    assert set(np.unique(result.domain)) == {0, 1}
    assert len(result.params["vacancy_positions"]) > 0
    assert 0.1 < result.species.mean() < 0.3
    angles = {d: np.unique(np.round(result.angles[result.domain == d], 6)) for d in (0, 1)}
    assert np.rad2deg(angles[1][0] - angles[0][0]) == pytest.approx(45.0)
    assert len(result.positions) < len(full.positions)
    distances, _ = cKDTree(result.positions).query(result.positions, k=2)
    assert distances[:, 1].min() >= 7.0  # domain-boundary clashes removed


def test_hexagonal_has_six_neighbours():
    result = make_lattice((200, 200), spacing=12.0, lattice="hexagonal", noise=0.0, seed=0)
    tree = cKDTree(result.positions)
    centre = np.argmin(np.hypot(*(result.positions - 100).T))
    assert len(tree.query_ball_point(result.positions[centre], 12.5)) == 7


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lattice="cubic"),
        dict(vacancies=1.5),
        dict(domains=0),
        dict(spacing=1.0),
        dict(shape=(4, 100)),
    ],
)
def test_bad_parameters(kwargs):
    with pytest.raises(InputError):
        make_lattice(**kwargs)


@pytest.mark.parametrize("lattice", ["honeycomb", "perovskite", "dumbbell"])
def test_lattices_with_a_basis_keep_spacing_as_the_nearest_atom_distance(lattice):
    truth = make_lattice((200, 200), spacing=10.0, lattice=lattice, noise=0.0, rotation=12, seed=1)
    nearest = cKDTree(truth.positions).query(truth.positions, k=2)[0][:, 1]
    assert np.median(nearest) == pytest.approx(10.0, abs=1e-6)
    assert nearest.min() > 10.0 - 1e-6  # no two atoms closer than the spacing
    # the perovskite's second sub-lattice is dimmer
    if lattice == "perovskite":
        heights = truth.image[tuple(np.rint(truth.positions).astype(int).T)]
        assert heights.min() < 0.7 * heights.max()


def test_particle_disc_amorphous_support_and_scan_jitter():
    plain = make_lattice((160, 160), spacing=10.0, noise=0.0, seed=2)
    disc = make_lattice((160, 160), spacing=10.0, noise=0.0, particle_radius=50, seed=2)
    assert np.hypot(*(disc.positions - 80).T).max() <= 50
    assert len(disc.positions) < 0.5 * len(plain.positions)
    support = make_lattice(
        (160, 160), spacing=10.0, noise=0.0, particle_radius=50, amorphous=0.3, seed=2
    )
    corner = (slice(0, 30), slice(0, 30))
    assert support.image[corner].std() > 10 * disc.image[corner].std()
    jittered = make_lattice((160, 160), spacing=10.0, noise=0.0, scan_jitter=0.5, seed=2)
    np.testing.assert_array_equal(jittered.positions, plain.positions)
    assert not np.allclose(jittered.image, plain.image)


def test_synthetic_particles_ground_truth():
    from napari_ivae.core.synthetic.particles import make_particles

    sparse = make_particles(200, count=20, radius=6, touching=0.0, noise=0.0, seed=3)
    gaps = cKDTree(sparse.centres).query(sparse.centres, k=2)[0][:, 1]
    assert len(sparse.centres) == 20 and (gaps >= 0.98 * 2 * sparse.radii.min()).all()
    dark = make_particles(200, count=20, radius=6, polarity="dark", noise=0.0, seed=3)
    centre = tuple(np.rint(dark.centres[0]).astype(int))
    assert dark.image[centre] < np.median(dark.image)
    with_bar = make_particles(200, count=5, radius=6, scale_bar=True, seed=4)
    assert with_bar.scale_bar.sum() > 0
    assert (with_bar.image[with_bar.scale_bar] >= with_bar.image[~with_bar.scale_bar].max()).all()
