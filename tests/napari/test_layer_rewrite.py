"""Re-writing a result layer (``_layers.write_layer`` on a layer that exists) assigns only what
changed, hides a map before its new data arrive, and applying a model writes the detected
points' features in one assignment: the same layers as before, less work on the GUI thread."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from napari.components import ViewerModel
from napari.layers import Points

from napari_ivae import _layers


def _map(viewer, data, **kwargs):
    return _layers.write_layer(
        viewer, "image", data, role="z1_map", source="img", what="z1", colormap="viridis", **kwargs
    )


def test_a_colormap_is_the_same_as_its_name():
    viewer = ViewerModel()
    layer = _map(viewer, np.zeros((8, 8), np.float32))
    assert _layers._same_value(layer.colormap, "viridis")
    assert not _layers._same_value(layer.colormap, "PiYG")
    changes = []
    layer.events.colormap.connect(changes.append)
    _map(viewer, np.ones((8, 8), np.float32))
    assert changes == []  # the same colormap is not assigned again
    _layers.write_layer(
        viewer, "image", np.ones((8, 8)), role="z1_map", source="img", what="z1", colormap="PiYG"
    )
    assert len(changes) == 1 and layer.colormap.name == "PiYG"


def test_a_map_hidden_on_rewrite_is_hidden_before_its_data_arrive():
    viewer = ViewerModel()
    layer = _map(viewer, np.zeros((8, 8), np.float32), visible=True)
    slices = []
    original = layer.set_view_slice
    layer.set_view_slice = lambda *a, **k: (slices.append(layer.visible), original(*a, **k))[1]
    new = np.full((8, 8), 2.0, np.float32)
    assert _map(viewer, new, visible=False) is layer
    assert not layer.visible and slices == []  # napari never sliced the hidden map's data
    np.testing.assert_array_equal(layer.data, new)
    _map(viewer, new + 1, visible=True)
    assert layer.visible and slices and all(slices)
    np.testing.assert_array_equal(layer.data, new + 1)


def test_applied_points_features_are_the_two_writes_in_one():
    from napari_ivae._widgets._apply import joined_features
    from napari_ivae._widgets._writer import point_feature_table, write_point_features

    n = 6
    properties = pd.DataFrame(
        {"intensity": np.arange(n, dtype=float), "fit_ok": [True, False] * 3},
        index=np.arange(10, 10 + n),
    )
    patches = SimpleNamespace(indices=np.array([0, 2, 5]))
    columns = {"z1": np.array([1.0, 2.0, 3.0]), "class": np.array([1, 0, 1])}
    table = point_feature_table(n, patches, columns)
    # what apply wrote before: the detection's columns, then the results into them
    before = Points(np.zeros((n, 2)), features=properties.reset_index(drop=True))
    write_point_features(before, patches, columns, replace_all=True, table=table)
    joined = joined_features(properties, table)
    after = Points(np.zeros((n, 2)), features=joined)
    pd.testing.assert_frame_equal(after.features, before.features)
    assert list(after.features.columns) == ["intensity", "fit_ok", "ivae_z1", "ivae_class"]
    assert joined_features(properties, table.iloc[:4]) is None  # not one row per point
