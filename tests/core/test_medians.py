"""The fast medians give numpy's and ndimage's numbers to the bit."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection._medians import (
    _by_group_then_value,
    _group_medians,
    _order_statistics,
    _quantile,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(3))
def test_group_medians_are_ndimage_median_per_label(dtype, seed):
    # what particle_contrast.local_contrast takes per particle and per ring
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 40, size=(90, 70))
    labels[labels % 7 == 3] = 0  # background; some labels absent
    values = np.round(rng.normal(size=labels.shape), 1).astype(dtype)  # ties
    index = np.unique(labels[labels > 0])
    inside = labels > 0
    expected = np.asarray(ndimage.median(values, labels, index))
    got = _group_medians(values[inside], labels[inside])
    assert got.tobytes() == expected.astype(got.dtype).tobytes()


@pytest.mark.parametrize("size", [1 << 14, 100_001, 409_600, 2_000_001])  # samples 2 048 - 11 313
def test_order_statistics_are_the_sorted_values(size):
    rng = np.random.default_rng(size)
    for values in (
        rng.normal(size=size).astype(np.float32),
        np.abs(rng.standard_cauchy(size)),  # a heavy tail: the sampled bounds may miss
        rng.integers(0, 3, size).astype(np.float64),  # ties
    ):
        ordered = np.sort(values)
        for ranks in ([0], [size // 2], [size // 2 - 1, size // 2], [size - 1]):
            assert _order_statistics(values, ranks) == [ordered[r] for r in ranks]
    with_nan = rng.normal(size=size)
    with_nan[size // 5] = np.nan
    assert _order_statistics(with_nan, [size // 2]) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 2, 7, 1000, 1 << 14, 100_001])
def test_quantile_is_numpys_to_the_bit(dtype, size):
    # what particle_threshold.background_strengths takes of each scale's response
    rng = np.random.default_rng(size)
    for values in (
        rng.normal(size=size),
        rng.standard_gamma(0.5, size),  # one-sided, skewed
        np.round(rng.normal(size=size) * 3) + 0.0,  # ties (+ 0.0: no -0.0 among the zeros)
        np.exp(3.0 * rng.normal(size=size)),  # a heavy tail: the sampled bounds may miss
    ):
        values = values.astype(dtype)
        for q in (0.0, 0.001, 0.3, 0.5, 0.75, 0.999, 1.0):
            expected, got = np.quantile(values, q), _quantile(values, q)
            assert np.asarray(got).dtype == np.asarray(expected).dtype
            assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()
    if size > 2:
        with_nan = rng.normal(size=size).astype(dtype)
        with_nan[size // 3] = np.nan
        assert np.isnan(_quantile(with_nan, 0.999))


@pytest.mark.parametrize("seed", range(4))
def test_the_group_then_value_order_is_lexsorts_permutation(seed):
    # ties, NaN, signed zeros, labels past 16 bits and negative ones: the same permutation
    rng = np.random.default_rng(seed)
    size = 5000
    values = np.round(rng.normal(size=size), 1).astype(np.float32 if seed % 2 else np.float64)
    values[rng.random(size) < 0.05] = np.nan
    values[rng.random(size) < 0.1] = -0.0
    top = (40, 70_000, 300, 5)[seed]
    groups = rng.integers(-3 if seed == 2 else 0, top, size)
    assert np.array_equal(_by_group_then_value(values, groups), np.lexsort((values, groups)))
