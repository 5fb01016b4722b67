"""A grey micrograph saved in colour with a coloured overlay drawn in (io/image.py)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ivae.core.detection.overlays import annotation_mask
from napari_ivae.core.io.image import prepare_image

WEIGHTS = np.array([0.2125, 0.7154, 0.0721])


def _grey_rgb(seed=0):
    rng = np.random.default_rng(seed)
    grey = np.clip(rng.normal(120, 25, (200, 300)), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def test_a_yellow_scale_bar_becomes_the_brightest_value_and_is_masked():
    """Fails before (the bar's luminance, 237 of 255, is no extreme: no bar was found and
    stranger_probe's 'RGB, yellow scale bar' gave 18-21 atoms on it)."""
    rgb = _grey_rgb()
    rgb[180:186, 200:290] = (255, 255, 0)
    with pytest.warns(UserWarning, match="pixels of one colour"):
        frame = prepare_image(rgb)
    frame = frame if frame.ndim == 2 else frame[0]
    assert np.all(frame[180:186, 200:290] == frame.max())
    assert annotation_mask(frame)[180:186, 200:290].all()


def test_grey_and_colour_images_keep_their_luminance():
    grey = _grey_rgb(1)
    colour = np.random.default_rng(2).integers(0, 256, (200, 300, 3)).astype(np.uint8)
    for rgb in (grey, colour):
        frame = prepare_image(rgb)
        frame = frame if frame.ndim == 2 else frame[0]
        assert np.allclose(frame, rgb.astype(np.float64) @ WEIGHTS, atol=1e-3)


def test_green_spots_on_black_keep_their_brightness():
    """Sparse fluorescence saved in the green channel: coloured, under 5 % of the pixels, on
    a grey (black) background, but imaged (their brightness varies): no overlay."""
    rng = np.random.default_rng(3)
    rgb = np.zeros((200, 300, 3), dtype=np.uint8)
    rows, cols = np.indices((200, 300))
    for r, c, peak in zip(
        rng.uniform(10, 190, 20), rng.uniform(10, 290, 20), rng.uniform(80, 255, 20)
    ):
        spot = peak * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 2.0**2))
        rgb[..., 1] = np.maximum(rgb[..., 1], spot.astype(np.uint8))
    frame = prepare_image(rgb)
    frame = frame if frame.ndim == 2 else frame[0]
    assert np.allclose(frame, rgb.astype(np.float64) @ WEIGHTS, atol=1e-3)
