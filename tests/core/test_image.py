"""prepare_image: shapes, colour, stacks, dtype and value checks, invert, flatten."""

import numpy as np
import pytest

from napari_ivae.core.errors import InputError
from napari_ivae.core.io.image import prepare_image


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_2d_integer_image_becomes_float32(rng):
    image = rng.integers(0, 255, size=(20, 30), dtype=np.uint8)
    out = prepare_image(image)
    assert out.dtype == np.float32 and out.shape == (20, 30) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, image.astype(np.float32))


def test_rgb_to_luminance_and_channel(rng):
    rgb = np.zeros((16, 16, 3))
    rgb[..., 1] = rng.random((16, 16))
    lum = prepare_image(rgb)
    np.testing.assert_allclose(lum, 0.7154 * rgb[..., 1], rtol=1e-5)
    np.testing.assert_allclose(prepare_image(rgb, channel=1), rgb[..., 1], rtol=1e-6)
    rgba = np.concatenate([rgb, np.ones((16, 16, 1))], axis=2)
    np.testing.assert_allclose(prepare_image(rgba), lum, rtol=1e-5)  # alpha ignored


def test_stack_keeps_frames_and_frame_axis_moves(rng):
    stack = rng.random((5, 12, 14))
    assert prepare_image(stack).shape == (5, 12, 14)
    moved = prepare_image(np.moveaxis(stack, 0, 2), frame_axis=2)
    np.testing.assert_allclose(moved, stack.astype(np.float32))
    rgb_stack = rng.random((2, 12, 14, 3))
    assert prepare_image(rgb_stack, frame_axis=0).shape == (2, 12, 14)


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((0, 10)), "empty"),
        (np.full((20, 20), 3.0), "constant"),
        (np.ones((5, 40)) * np.arange(40), "too small"),
        (np.zeros((20, 20), dtype=bool), "boolean"),
        (np.ones((20, 20), dtype=complex), "complex"),
        (np.random.default_rng(1).random((2, 3, 20, 20)), "frame_axis"),
        (np.random.default_rng(1).random((3, 20, 20)), "Ambiguous"),
        (np.array(["a", "b"]), "dtype"),
    ],
)
def test_bad_inputs_raise_clear_input_errors(bad, words):
    with pytest.raises(InputError, match=words):
        prepare_image(bad)


def test_nan_filled_with_median_and_reported(rng):
    image = rng.random((20, 20))
    image[3, 4] = np.nan
    image[5, 5] = np.inf
    report = {}
    with pytest.warns(UserWarning, match="2 NaN/inf"):
        out = prepare_image(image, report=report)
    assert np.isfinite(out).all() and report["nan_filled"] == 2
    assert out[3, 4] == pytest.approx(np.median(image[np.isfinite(image)]), rel=1e-5)
    with pytest.raises(InputError, match="NaN"):
        prepare_image(image, nan="error")


def test_invert_flips_range(rng):
    image = rng.random((10, 10))
    out = prepare_image(image, invert=True)
    np.testing.assert_allclose(out, image.max() + image.min() - image, rtol=1e-5)


@pytest.mark.parametrize("mode", ["plane", "poly2"])
def test_flatten_removes_polynomial_background(rng, mode):
    rows, cols = np.indices((40, 50), dtype=float)
    background = 3.0 + 0.2 * rows - 0.1 * cols + (0.01 * rows * cols if mode == "poly2" else 0)
    texture = 0.01 * rng.standard_normal((40, 50))
    out = prepare_image(background + texture, flatten=mode)
    assert np.std(out) < 0.02  # only the texture is left


def test_gaussian_flatten_removes_slow_illumination(rng):
    rows, cols = np.indices((64, 64), dtype=float)
    illumination = np.exp(-((rows - 32) ** 2 + (cols - 32) ** 2) / (2 * 30.0**2))
    texture = 0.05 * np.sin(cols)
    out = prepare_image(illumination + texture, flatten="gaussian", flatten_sigma=6)
    left = out - texture
    assert np.ptp(left[8:56, 8:56]) < 0.2 * np.ptp(illumination[8:56, 8:56])
