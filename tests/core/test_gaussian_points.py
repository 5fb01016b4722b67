"""Issue 9's Gaussian filter at a few pixels (``gaussian_points``) and the small graphs'
components (``graph_components``) give bit for bit what ``scipy.ndimage`` and
``scipy.sparse.csgraph`` give, and the blob tests that use them (the lips' sides, the peaks'
curvature) what their whole-window forms give."""

import numpy as np
import pytest
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from napari_ivae.core.detection import particle_lips, particle_surround
from napari_ivae.core.detection.gaussian_points import (
    CACHED_VALUES,
    _correlated_lines,
    gaussian_at,
)
from napari_ivae.core.detection.graph_components import component_labels
from napari_ivae.core.detection.particle_peak_shape import curvature_ratio


@pytest.mark.parametrize("seed", range(6))
def test_gaussian_at_is_gaussian_filter_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        shape = tuple(int(n) for n in rng.integers(3, 90, 2))
        frame = rng.normal(size=shape) * rng.uniform(0.1, 1000) + rng.uniform(-50, 50)
        sigma = float(rng.choice([rng.uniform(0.3, 3), rng.uniform(3, 15), rng.uniform(15, 60)]))
        order = tuple(int(o) for o in rng.integers(0, 3, 2))  # symmetric and odd kernels
        rows, cols = (rng.integers(0, n, 20) for n in shape)  # at the edges, long kernels too
        whole = ndimage.gaussian_filter(frame, sigma, order=order, mode="reflect")
        np.testing.assert_array_equal(
            gaussian_at(frame, sigma, order, rows, cols), whole[rows, cols]
        )


def test_gaussian_at_rounds_each_pass_of_a_float32_frame_as_gaussian_filter():
    rng = np.random.default_rng(11)
    for _ in range(40):
        shape = tuple(int(n) for n in rng.integers(3, 90, 2))
        frame = (rng.normal(size=shape) * rng.uniform(0.1, 1000)).astype(np.float32)
        sigma = float(rng.uniform(0.5, 20))
        order = tuple(int(o) for o in rng.integers(0, 3, 2))
        rows, cols = (rng.integers(0, n, 20) for n in shape)
        whole = ndimage.gaussian_filter(frame, sigma, order=order, mode="reflect")
        found = gaussian_at(frame, sigma, order, rows, cols)
        assert found.dtype == np.float32
        np.testing.assert_array_equal(found, whole[rows, cols])


def test_gaussian_at_on_a_stack_and_past_the_cache():
    rng = np.random.default_rng(7)
    stack = rng.normal(size=(5, 61, 61))
    rows, cols = np.repeat([29, 30, 31], 3), np.tile([29, 30, 31], 3)
    for order in ((2, 0), (0, 2), (1, 1)):
        whole = ndimage.gaussian_filter(stack, (0.0, 7.0, 7.0), order=(0, *order), mode="reflect")
        np.testing.assert_array_equal(
            gaussian_at(stack, 7.0, order, rows, cols), whole[:, rows, cols]
        )
    wide = rng.normal(size=(260, 260))  # more rows than CACHED_VALUES: tap by tap
    rows, cols = rng.integers(0, 260, 30), rng.integers(0, 260, 30)
    assert 30 * 260 * 2 * int(4 * 15.0 + 0.5) > CACHED_VALUES
    np.testing.assert_array_equal(
        gaussian_at(wide, 15.0, (0, 0), rows, cols),
        ndimage.gaussian_filter(wide, 15.0, mode="reflect")[rows, cols],
    )


def test_an_asymmetric_kernel_sums_as_correlate1d():
    rng = np.random.default_rng(8)
    lines, taps = rng.normal(size=(12, 9)), rng.normal(size=9)  # each line the kernel's reach
    whole = ndimage.correlate1d(lines, taps, axis=1, mode="reflect")
    np.testing.assert_array_equal(_correlated_lines(lines, taps), whole[:, 4])


@pytest.mark.parametrize("seed", range(4))
def test_component_labels_order_the_components_as_csgraph(seed):
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 80))
    edges = rng.integers(0, count, (int(rng.integers(0, 60)), 2))
    ours = component_labels(count, edges[:, 0], edges[:, 1])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(count, count))
    theirs = connected_components(graph, directed=False)[1]
    # the same partition, numbered in the same order
    np.testing.assert_array_equal(np.unique(ours, return_inverse=True)[1].ravel(), theirs)


def _whole_peak_ratio(signal, point, sigma):
    reach = int(np.ceil(4.0 * sigma)) + 2
    low = np.maximum(np.asarray(point) - reach, 0)
    window = np.asarray(
        signal[low[0] : point[0] + reach + 1, low[1] : point[1] + reach + 1], dtype=np.float64
    )
    layer = -(sigma**2) * ndimage.gaussian_laplace(window, sigma, mode="reflect")
    return float(curvature_ratio(layer, [point[0] - low[0]], [point[1] - low[1]])[0])


def test_peak_ratios_are_the_whole_windows():
    rng = np.random.default_rng(9)
    frame = ndimage.gaussian_filter(rng.normal(size=(120, 140)), 2.0).astype(np.float32)
    points = np.concatenate([rng.integers(0, 120, (40, 1)), rng.integers(0, 140, (40, 1))], 1)
    points[:6] = [(0, 0), (119, 139), (0, 70), (60, 0), (1, 138), (118, 1)]  # the frame's edge
    for sigma in (1.5, 3.0, 6.0):
        plain = [_whole_peak_ratio(frame, p, sigma) for p in points]
        ours = [particle_surround._peak_ratio(frame, p, sigma) for p in points]
        np.testing.assert_array_equal(ours, plain)
        reach = int(np.ceil(4.0 * sigma)) + 2
        inner = points[((points >= reach) & (points + reach < frame.shape)).all(axis=1)]
        np.testing.assert_array_equal(
            particle_surround._window_ratios(frame, inner, sigma, reach),
            [_whole_peak_ratio(frame, p, sigma) for p in inner],
        )


def test_the_lips_smoothed_samples_are_the_whole_windows():
    rng = np.random.default_rng(10)
    window = rng.normal(size=(81, 95))
    sigma = 6.0
    whole = ndimage.gaussian_filter(window, sigma, mode="reflect")
    at = np.concatenate([rng.uniform(0, 80, (60, 1)), rng.uniform(0, 94, (60, 1))], 1)
    at[:4] = [(80, 94), (0, 0), (80, 3.5), (2.25, 94)]  # on the last row and column
    smooth = np.zeros(window.shape)
    particle_lips._smooth_near(smooth, window, sigma, at)
    np.testing.assert_array_equal(
        particle_lips._inside(smooth, at), ndimage.map_coordinates(whole, at.T, order=1)
    )
