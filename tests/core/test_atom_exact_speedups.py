"""Issue 9's faster steps of the atom search give bit for bit what their plain forms give: the
close pairs of a frame's peaks found on a raster, the close-point thinning's rounds over the
undecided pairs only, the lattice's nearest-atom queries given up past their reach, the
translations' difference vectors and shares, and the mixture fit's rounds in place."""

import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_ivae.core.detection import atom_threshold, lattice_translations
from napari_ivae.core.detection.lattice_translations import nearest_within, translations
from napari_ivae.core.detection.peaks import close_pairs, close_point_losers


def _pair_set(pairs):
    return set(map(tuple, np.sort(np.asarray(pairs).reshape(-1, 2), axis=1).tolist()))


@pytest.mark.parametrize(
    "distance",
    [1.0, math.sqrt(2.0), np.nextafter(math.sqrt(2.0), 0.0), 1.2649, 2.0, math.sqrt(5.0), 3.3],
)
@pytest.mark.parametrize("density", [0.95, 0.3])
def test_close_pairs_are_the_trees_pairs(distance, density):
    rng = np.random.default_rng(0)
    points = np.argwhere(rng.random((50, 63)) < density).astype(np.int64) + [7, -3]
    plain = cKDTree(points.astype(np.float64)).query_pairs(distance, output_type="ndarray")
    pairs = close_pairs(points, distance)
    assert len(pairs) == len(plain)
    assert _pair_set(pairs) == _pair_set(plain)


def _greedy_losers(points, intensity, distance):
    """The rule itself: brightest first, keep a point with no kept point within reach."""
    tree = cKDTree(np.asarray(points, dtype=np.float64))
    removed = np.zeros(len(points), dtype=bool)
    kept = np.zeros(len(points), dtype=bool)
    for i in np.argsort(-np.asarray(intensity), kind="stable"):
        near = tree.query_ball_point(points[i], distance)
        if kept[near].any():
            removed[i] = True
        else:
            kept[i] = True
    return removed


@pytest.mark.parametrize("integer", [True, False])
def test_close_point_losers_is_the_greedy_rule(integer):
    rng = np.random.default_rng(1)
    points = np.argwhere(rng.random((60, 70)) < 0.8).astype(np.int64)
    if not integer:
        points = points + rng.uniform(-0.3, 0.3, points.shape)
    intensity = rng.integers(0, 6, len(points)).astype(np.float32)  # ties
    intensity[::7] = np.arange(len(intensity[::7]))  # long chains of ever dimmer points
    for distance in (1.2649, 1.5, 2.3):
        removed = close_point_losers(points, intensity, distance)
        np.testing.assert_array_equal(removed, _greedy_losers(points, intensity, distance))


def test_nearest_within_is_the_plain_query_within_reach():
    rng = np.random.default_rng(2)
    points = rng.uniform(0, 200, (3000, 2))
    places = rng.uniform(-10, 210, (40, 50, 2))
    distance, index = cKDTree(points).query(places)
    reach = 1.7
    near, near_index = nearest_within(points, places, reach)
    within = distance <= reach
    assert within.any() and not within.all()
    np.testing.assert_array_equal(near[within], distance[within])
    np.testing.assert_array_equal(near_index[within], index[within])
    assert (near[~within] > reach).all()


def test_translations_are_the_plain_translations():
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:30, 0:30]
    lattice = np.column_stack([rows.ravel() * 6.0, cols.ravel() * 6.0 + 3.0 * (rows.ravel() % 2)])
    points = lattice + rng.normal(0, 0.3, lattice.shape)
    points = points[rng.random(len(points)) < 0.9]
    spacing = 6.0
    sample = points[:: max(len(points) // 100, 1)]
    tree = cKDTree(points)
    near = tree.query_ball_point(sample, lattice_translations.REACH * spacing)
    plain = np.concatenate(
        [points[np.asarray(n, dtype=np.int64)] - p for p, n in zip(sample, near, strict=True)]
    )
    differences = lattice_translations._differences(tree, points, sample, 3.2 * spacing)
    np.testing.assert_array_equal(differences, plain)
    vectors = np.array([[0.0, 6.0], [5.2, 3.1], [5.0, -3.0], [2.0, 2.0]])
    plain_shares = [
        np.mean(tree.query(sample + v)[0] <= lattice_translations.TOLERANCE * spacing)
        for v in vectors
    ]
    shares = lattice_translations._shares(tree, sample, vectors, spacing)
    np.testing.assert_array_equal(shares, plain_shares)
    assert len(translations(points, spacing)) >= 6


def _plain_atoms_below(levels, null, level):
    """:func:`atom_threshold.atoms_below` as it was written before its rounds were in place."""
    levels = np.asarray(levels, dtype=np.float64)
    grid = np.linspace(levels[0], levels[-1], atom_threshold.MIXTURE_GRID)
    density = atom_threshold._kernel_density(np.asarray(null, float), grid)
    noise_density = np.interp(levels, grid, density)
    share, centre, width = 0.5, float(np.percentile(levels, 75)), float(levels.std())
    for _ in range(atom_threshold.MIXTURE_ROUNDS):
        atom_density = np.exp(-0.5 * ((levels - centre) / width) ** 2) / width
        noise_part = share * noise_density
        total = noise_part + (1.0 - share) * atom_density / np.sqrt(2.0 * np.pi)
        noise_weight = np.divide(noise_part, total, out=np.ones_like(total), where=total > 0)
        settled = abs(float(noise_weight.mean()) - share) < atom_threshold.MIXTURE_SETTLED
        share = float(noise_weight.mean())
        atom_weight = 1.0 - noise_weight
        centre = float((atom_weight * levels).sum() / atom_weight.sum())
        width = float(np.sqrt((atom_weight * (levels - centre) ** 2).sum() / atom_weight.sum()))
        if settled:
            break
    if not centre > level:
        return 0.0
    below = 0.5 * (1.0 + math.erf((level - centre) / (width * math.sqrt(2.0))))
    return (1.0 - share) * len(levels) * below


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_atoms_below_is_the_plain_mixture_fit(seed):
    rng = np.random.default_rng(seed)
    null = rng.gumbel(1.0, 0.3, 5000)
    levels = np.sort(np.concatenate([rng.gumbel(1.0, 0.3, 20000), rng.normal(3.0, 0.6, 9000)]))
    for level in (1.5, 2.5, 3.5):
        assert atom_threshold.atoms_below(levels, null, level) == _plain_atoms_below(
            levels, null, level
        )
