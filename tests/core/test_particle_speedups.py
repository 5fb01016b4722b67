"""The fast forms of the particle search's steps give exactly what their plain forms give."""

import numpy as np
import pytest

from napari_ivae.core.detection._filters import maximum_filter3
from napari_ivae.core.detection.particle_blobs import OVERLAP, strongest_of_overlaps


def _strongest_of_overlaps_one_by_one(points, sigma, strength):
    """The rule as written: blobs strongest first (ties by position), each kept unless a
    kept one's centre lies within ``OVERLAP`` x the larger of the two radii."""
    radius = np.sqrt(2.0) * np.asarray(sigma)
    kept = np.zeros(len(points), dtype=bool)
    for index in np.argsort(-np.asarray(strength), kind="stable"):
        distance = np.hypot(*(points[kept] - points[index]).T)
        kept[index] = not (distance < OVERLAP * np.maximum(radius[kept], radius[index])).any()
    return kept


@pytest.mark.parametrize("seed", range(12))
def test_strongest_of_overlaps_keeps_what_the_one_by_one_rule_keeps(seed):
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 300))
    points = rng.integers(0, int(rng.integers(4, 80)), (count, 2))
    sigma = rng.choice([1.0, 1.4, 2.0, 3.5, 6.0], count)
    # tied strengths (even seeds) test the order among equals
    strength = rng.choice([1.0, 2.0, 3.0], count) if seed % 2 == 0 else rng.random(count)
    kept = strongest_of_overlaps(points, sigma, strength)
    assert kept.dtype == bool and kept.shape == (count,)
    np.testing.assert_array_equal(kept, _strongest_of_overlaps_one_by_one(points, sigma, strength))


def test_strongest_of_overlaps_a_chain_of_overlaps_is_decided_in_order():
    # each blob overlaps the next; strength falls along the chain: 0 kept, 1 not, 2 kept, ...
    points = np.array([[0, 3 * i] for i in range(7)])
    sigma = np.full(7, 3.0)  # radius 4.2: neighbours 3 px apart overlap, 6 px apart do not
    kept = strongest_of_overlaps(points, sigma, np.arange(7.0)[::-1])
    np.testing.assert_array_equal(kept, [True, False, True, False, True, False, True])
    assert not strongest_of_overlaps(np.zeros((0, 2), dtype=int), np.zeros(0), np.zeros(0)).size


@pytest.mark.parametrize(
    "shape", [(7,), (1, 9), (2, 1), (33, 17), (5, 40, 31), (1, 12, 12), (3, 1, 4, 6)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_maximum_filter3_is_ndimage_maximum_filter_of_size_3(shape, dtype):
    from scipy import ndimage

    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    array = rng.integers(-4, 5, shape).astype(dtype)  # few values: many ties and plateaus
    if dtype != np.int16:
        array += rng.random(shape).astype(dtype) * (rng.random(shape) < 0.5)
    out = maximum_filter3(array)
    assert out.dtype == array.dtype and out.shape == array.shape
    for mode in ("reflect", "nearest"):
        np.testing.assert_array_equal(out, ndimage.maximum_filter(array, size=3, mode=mode))
