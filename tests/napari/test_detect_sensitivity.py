"""The Detect dock's sensitivity (auto particle method): a change re-detects live, in a
worker, and the points on screen are a fresh detection's at that value, to the bit."""

from __future__ import annotations

import numpy as np
from napari_helpers import open_widget

from napari_ivae import _layers
from napari_ivae.core.detection.particles import detect_particles


def _frame() -> np.ndarray:
    """15 clear particles and a faint one (at (140, 140)) the default cut leaves out."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:160, :160]
    image = rng.normal(0.0, 1.0, (160, 160))
    centres = [(r, c) for r in (25, 65, 105, 140) for c in (25, 65, 105, 140)]
    for (r, c), amplitude in zip(centres, [8.0] * 15 + [1.2]):
        image += amplitude * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 3.0**2))
    return image.astype(np.float32)


def test_a_sensitivity_change_re_detects_live(viewer, qtbot):
    layer = viewer.add_image(_frame(), name="faint")
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.mode.value = "particles"
    assert detect.sensitivity.value == 1.0
    assert not detect.sensitivity.native.isHidden()  # shown with the particles' controls
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=300000)
    points = viewer.layers["faint particles [ivae]"]
    before = len(points.data)
    detect.sensitivity.value = 1.5  # no Detect click: the live tuning runs it
    qtbot.waitUntil(lambda: detect._worker is not None or not detect.busy, timeout=60000)
    qtbot.waitUntil(lambda: not detect.busy, timeout=300000)
    assert points.metadata["napari_ivae"]["widget_settings"]["sensitivity"] == 1.5
    fresh = detect_particles(_layers.prepared_image(layer), sensitivity=1.5)
    np.testing.assert_array_equal(points.data, fresh.coords[:, 1:])
    assert len(points.data) > before
    detect.mode.value = "atoms"
    assert detect.sensitivity.native.isHidden()
