"""packed_phase at another magnification: the layer test at the period it was set on (h74)."""

import numpy as np
import pytest
from test_packed_curvature import _film

from napari_ivae.core.detection import packed, packed_period


def _binned(frame, factor=2):
    rows, cols = (n // factor for n in frame.shape)
    return frame[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor).mean((1, 3))


@pytest.mark.parametrize("polarity", ["dark", "bright"])
def test_a_film_at_half_the_magnification_is_a_layer(polarity):
    # a film of radius 8 px, gaps of 1 px, taken at half the magnification: radius 4 px,
    # gaps of half a pixel, which the test's 1 px smoothing closed
    full, spacing = _film(0, polarity, shape=384, radius=8.0, gap=1.0)
    frame = _binned(full)
    rows = spacing / 2 * np.sqrt(3) / 2
    found_spacing, prominence = packed_period.ring_spacing(frame)
    assert abs(found_spacing / rows - 1) < 0.05 and prominence >= packed_period.RING_PROMINENT
    assert packed.packed_phase(frame, rescale=False) is None  # before: no layer
    found = packed.packed_phase(frame)
    assert found is not None and found[0] == polarity
    # its sigmas in the frame's own pixels: half the full-size film's
    at_full = packed.packed_phase(full)
    assert 0.4 < found[2] / at_full[2] < 0.6


def test_white_noise_has_no_prominent_ring():
    noise = np.random.default_rng(0).normal(1.0, 0.2, (256, 256)).astype(np.float32)
    assert packed_period.ring_spacing(noise)[1] < packed_period.RING_PROMINENT
    assert packed_period.rescaled_layer(noise, np.ones(noise.shape, dtype=bool)) is None


def test_a_ring_within_the_spacings_the_test_was_set_on_is_not_resampled(monkeypatch):
    frame, _ = _film(0, "dark", shape=256, radius=8.0, gap=1.0)
    monkeypatch.setattr(packed, "packed_phase", lambda *a, **k: pytest.fail("resampled"))
    assert packed_period.rescaled_layer(frame, np.ones(frame.shape, dtype=bool)) is None
