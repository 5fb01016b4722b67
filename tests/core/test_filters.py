"""Fast float32 filters and window sampling against scipy.ndimage / per-point references."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection import _filters
from napari_ivae.core.detection._filters import (
    gaussian_smooth,
    local_maxima,
    maximum_filter3,
    square_extreme,
)
from napari_ivae.core.detection.peaks import flat_mask
from napari_ivae.core.detection.refine import (
    _disc_offsets,
    _sample,
    gather_offsets,
    refine_centre_of_mass,
)


@pytest.mark.parametrize("shape", [(97, 130), (5, 40), (3, 3), (300, 2)])
@pytest.mark.parametrize("sigma", [0.0, 0.6, 1.7, 4.0])
def test_gaussian_smooth_matches_ndimage(shape, sigma):
    image = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    smoothed = gaussian_smooth(image, sigma)
    assert smoothed.dtype == np.float32 and smoothed.shape == shape
    expected = ndimage.gaussian_filter(image, sigma) if sigma > 0 else image
    np.testing.assert_allclose(smoothed, expected, atol=2e-6)


@pytest.mark.parametrize("shape", [(211, 64), (9, 700), (4, 4)])
@pytest.mark.parametrize("size", [1, 3, 4, 7])
def test_local_maxima_match_maximum_filter(shape, size):
    rng = np.random.default_rng(1)
    image = np.round(rng.normal(size=shape), 1).astype(np.float32)  # ties included
    floor = float(np.median(image))
    rows, cols = local_maxima(image, size, floor)
    maxima = (image == ndimage.maximum_filter(image, size, mode="nearest")) & (image > floor)
    expected_rows, expected_cols = np.nonzero(maxima)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(cols, expected_cols)


@pytest.mark.parametrize("shape", [(400, 700), (97, 130), (30, 26), (5, 40)])
@pytest.mark.parametrize("size", [1, 2, 3, 8, 25])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
def test_square_extreme_is_ndimage_bit_for_bit(shape, size, dtype):
    # (400, 700): three blocks of rows; (30, 26) and (5, 40) with size 25: ndimage's own
    rng = np.random.default_rng(size)
    image = rng.integers(0, 4, size=shape).astype(dtype)  # plateaus and ties
    if image.dtype.kind == "f":
        image += np.round(rng.normal(0, 0.5, shape), 1).astype(dtype)
    for extreme, expected in (
        (np.maximum, ndimage.maximum_filter),
        (np.minimum, ndimage.minimum_filter),
    ):
        got = square_extreme(image, size, extreme)
        assert got.dtype == image.dtype
        np.testing.assert_array_equal(got, expected(image, size))


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((5, 300, 1000), np.float32), ((1100, 1000), np.float32), ((3, 800, 900), np.int16)],
)
def test_maximum_filter3_of_a_large_array_in_slabs_is_ndimage(shape, dtype):
    # larger than CACHED_BYTES: filtered in slabs of rows, the slabs' edges inside the array
    rng = np.random.default_rng(shape[-1])
    array = rng.integers(-4, 5, shape).astype(dtype)  # ties and plateaus
    assert array.nbytes > _filters.CACHED_BYTES
    np.testing.assert_array_equal(maximum_filter3(array), ndimage.maximum_filter(array, size=3))


def test_square_extreme_leaves_nan_to_ndimage():
    image = np.random.default_rng(2).normal(size=(60, 70)).astype(np.float32)
    image[10, 20] = np.nan
    np.testing.assert_array_equal(square_extreme(image, 5), ndimage.maximum_filter(image, 5))


@pytest.mark.parametrize("seed", range(4))
def test_flat_mask_is_the_ndimage_definition(seed):
    rng = np.random.default_rng(seed)
    frame = rng.normal(size=(300, 420)).astype(np.float32)
    frame[:40, :] = 0.0  # padding
    frame[100:160, 200:] = 3.5  # a blank area
    frame[250:262, 50:70] = 1.0  # flat, but smaller than the window
    size = 25
    constant = ndimage.maximum_filter(frame, size) == ndimage.minimum_filter(frame, size)
    expected = ndimage.maximum_filter(constant.view(np.uint8), size).view(bool)
    np.testing.assert_array_equal(flat_mask(frame, size), expected)


def test_gaussian_smooth_is_the_same_in_any_blocking(monkeypatch):
    # the widest Gaussian applied tap by tap on a wide frame: blocks of at least 4 x the
    # halo; any blocking gives the same float32 numbers (each pixel's sums in the same order)
    sigma = (_filters.FFT_RADIUS - 0.5) / 4.0
    image = np.random.default_rng(3).normal(size=(300, 1100)).astype(np.float32)
    blocked = gaussian_smooth(image, sigma)
    monkeypatch.setattr(_filters, "_block_rows", lambda width: 1 << 20)
    np.testing.assert_array_equal(blocked, gaussian_smooth(image, sigma))


@pytest.mark.parametrize(
    "shape, sigma",
    [((300, 1100), 18.5), ((700, 600), 60.0), ((40, 33), 300.0), ((3, 500), 9.0)],
)
def test_a_wide_gaussian_is_ndimages_reflected_sums_to_float32_rounding(shape, sigma):
    # a wide kernel is applied by FFT over the mirrored period (repeated reflections where
    # the kernel is longer than the frame, as ndimage's "reflect"): within a few float32
    # roundings of the exact sums; 1441 float32 taps a pixel were 30 roundings off
    rng = np.random.default_rng(4)
    image = (100.0 + 10.0 * rng.normal(size=shape) + np.linspace(0.0, 50.0, shape[1])).astype(
        np.float32
    )
    smoothed = gaussian_smooth(image, sigma)
    assert smoothed.dtype == np.float32 and smoothed.shape == shape
    exact = ndimage.gaussian_filter(image.astype(np.float64), sigma)
    np.testing.assert_allclose(smoothed, exact, rtol=2 * np.finfo(np.float32).eps, atol=0)


def test_gather_offsets_clamps_at_edges():
    image = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    anchors = np.array([[10, 10], [0, 0], [19, 29], [-3, 5]])
    offsets = _disc_offsets(2.5).astype(int)
    values = gather_offsets(image, anchors, offsets)
    points = np.clip(anchors[:, None] + offsets[None], 0, [19, 29])
    np.testing.assert_array_equal(values, image[points[..., 0], points[..., 1]])


def _reference_com(image, start, radius, iterations):
    """Per-atom loop: bilinear disc samples, plane through 24 ring samples (the definition)."""
    offsets = _disc_offsets(radius)
    angles = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
    ring = 1.6 * radius * np.column_stack([np.sin(angles), np.cos(angles)])
    design = np.column_stack([np.ones(24), ring])
    out = []
    for point in start:
        plane = np.linalg.lstsq(design, _sample(image, point + ring), rcond=None)[0]
        current = point.copy()
        for _ in range(iterations):
            window = _sample(image, current + offsets)
            floor = plane[0] + (current - point + offsets) @ plane[1:]
            weights = np.maximum(window - np.maximum(floor, window.min()), 0)
            current = current + weights @ offsets / weights.sum()
        out.append(current if np.hypot(*(current - point)) <= radius else point)
    return np.array(out)


@pytest.mark.parametrize("integer_start", [True, False])
def test_vectorised_centre_of_mass_equals_per_atom_definition(integer_start):
    rng = np.random.default_rng(2)
    rows, cols = np.indices((60, 70), dtype=float)
    centres = rng.uniform([-2, -2], [62, 72], size=(25, 2))
    image = 0.05 * rows / 60 + sum(
        np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 4.5) for r, c in centres
    )
    image = (image + rng.normal(0, 0.02, image.shape)).astype(np.float32)
    start = np.round(centres) if integer_start else centres + rng.uniform(-0.7, 0.7, (25, 2))
    refined, _ = refine_centre_of_mass(image, start, 3.3, iterations=3)
    expected = _reference_com(image.astype(np.float64), start, 3.3, 3)
    np.testing.assert_allclose(refined, expected, atol=1e-3)


def test_refiners_give_the_same_result_in_any_chunking(monkeypatch):
    import napari_ivae.core.detection.refine as refine

    rng = np.random.default_rng(3)
    rows, cols = np.indices((50, 50), dtype=float)
    grid = np.stack(np.meshgrid([8.0, 20.0, 32.0], [7.0, 19.0, 31.0, 43.0]), -1).reshape(-1, 2)
    centres = grid + rng.uniform(-0.5, 0.5, size=(12, 2))
    image = sum(np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 5.0) for r, c in centres)
    image = image.astype(np.float32)
    levels = np.linspace(0.0, 0.1, 12)
    whole = [
        refine.refine_centre_of_mass(image, np.round(centres), 3.0, background=bg)[0]
        for bg in ("plane", None, levels)
    ]
    whole_fit = refine.refine_gaussian(image, centres, 4.0, sigma_guess=1.5)
    monkeypatch.setattr(refine, "_CHUNK", 5)  # 12 atoms -> chunks of 5, 5, 2
    chunked = [
        refine.refine_centre_of_mass(image, np.round(centres), 3.0, background=bg)[0]
        for bg in ("plane", None, levels)
    ]
    chunked_fit = refine.refine_gaussian(image, centres, 4.0, sigma_guess=1.5)
    for a, b in zip(whole + list(whole_fit), chunked + list(chunked_fit)):
        np.testing.assert_allclose(a, b, atol=1e-6)  # BLAS rounding may differ per chunk
    assert np.hypot(*(whole[0] - centres).T).max() < 0.3  # and the answer is right
