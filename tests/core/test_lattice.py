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
    result = make_lattice((200, 200), spacing=10.0, domains=2, vacancies=0.1, dopants=0.2,
                          seed=3)
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


@pytest.mark.parametrize("kwargs", [dict(lattice="cubic"), dict(vacancies=1.5),
                                    dict(domains=0), dict(spacing=1.0), dict(shape=(4, 100))])
def test_bad_parameters(kwargs):
    with pytest.raises(InputError):
        make_lattice(**kwargs)
