"""Re-writing a result layer redraws it once: napari re-slices and re-draws a layer at each
assignment (its data, its dimensions, a points layer's sizes and symbols as it grows, its size
again, its visibility), and the Detect dock's live tuning re-writes 7 000 points at each step.
The layer ends as it did when each assignment redrew it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from napari.components import ViewerModel

from napari_ivae import _layers
from napari_ivae._widgets.detect_layers import write_detections


def _points(viewer, count: int, size: float):
    coords = np.column_stack([np.arange(count, dtype=float), np.arange(count, dtype=float)])
    return _layers.write_layer(
        viewer,
        "points",
        coords,
        role="detections_atoms",
        source="img",
        what="atoms",
        features=pd.DataFrame({"contrast": np.linspace(0.0, 1.0, count)}),
        size=size,
        face_color="#ffd400",
    )


def test_a_rewritten_points_layer_is_redrawn_once_and_holds_the_new_points():
    viewer = ViewerModel()
    layer = _points(viewer, 50, 4.0)
    redraws = []
    layer.events.set_data.connect(redraws.append)
    again = _points(viewer, 80, 5.0)  # more points, another size: napari redrew twice
    assert again is layer and len(redraws) == 1
    fresh = _points(ViewerModel(), 80, 5.0)
    np.testing.assert_array_equal(layer.data, fresh.data)
    np.testing.assert_array_equal(layer.size, fresh.size)
    np.testing.assert_array_equal(layer.symbol, fresh.symbol)
    np.testing.assert_array_equal(layer.face_color, fresh.face_color)
    assert layer.features.equals(fresh.features)
    _points(viewer, 30, 5.0)  # fewer points, the same size
    assert len(redraws) == 2 and len(layer.data) == 30 and len(layer.features) == 30


def test_a_detection_written_over_its_visible_layer_does_not_set_it_visible_again():
    viewer = ViewerModel()
    image = viewer.add_image(np.zeros((64, 64), np.float32), name="img")
    coords = np.column_stack([np.zeros(20), np.arange(20.0), np.arange(20.0)])
    det = SimpleNamespace(
        coords=coords,
        params={"spacing": 8.0},
        properties=pd.DataFrame({"contrast": np.ones(20)}),
        quality={},
        labels=None,
    )
    params = {"mode": "atoms", "spacing": 8.0}
    write_detections(viewer, det, image, params, {})
    points = viewer.layers["img atoms [ivae]"]
    shown = []
    points.events.visible.connect(shown.append)
    write_detections(viewer, det, image, params, {})  # napari redraws at each visible = True
    assert shown == [] and points.visible
    points.visible = False  # hidden (as by a particle run): shown again
    write_detections(viewer, det, image, params, {})
    assert points.visible
