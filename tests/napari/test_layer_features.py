"""``_layers.set_features``: results land in their own columns, the user's columns and their
types stay, in one table napari receives at once."""

import numpy as np
import pandas as pd
import pytest
from napari.layers import Points

from napari_ivae import _layers


def _layer(n: int = 6) -> Points:
    features = pd.DataFrame(
        {
            "user": np.arange(n, dtype=float),
            "kind": pd.Categorical(["a", "b"] * (n // 2)),
            "ivae_old": np.ones(n),
            "ivae_angle": np.zeros(n, dtype=np.float32),
        }
    )
    return Points(np.zeros((n, 2)), features=features)


def test_columns_replaced_in_place_added_and_dropped():
    layer = _layer()
    events = []
    layer.events.features.connect(lambda event: events.append(event))
    angle = np.linspace(0, 50, 6).astype(np.float32)
    _layers.set_features(
        layer, {"ivae_angle": angle, "ivae_z1": np.arange(6.0)}, drop=("ivae_old",)
    )
    features = layer.features
    assert list(features.columns) == ["user", "kind", "ivae_angle", "ivae_z1"]  # new ones last
    np.testing.assert_array_equal(features["ivae_angle"], angle)
    np.testing.assert_array_equal(features["user"], np.arange(6.0))
    assert isinstance(features["kind"].dtype, pd.CategoricalDtype)
    assert list(features["kind"]) == ["a", "b"] * 3
    assert features["ivae_angle"].dtype == np.float32
    assert list(features.index) == list(range(6))
    assert events  # napari was told


def test_a_data_frame_of_new_columns_is_taken_by_position():
    layer = Points(np.zeros((4, 2)))
    new = pd.DataFrame({"ivae_dx": [1.0, 2.0, 3.0, 4.0]}, index=[10, 11, 12, 13])
    _layers.set_features(layer, new)
    assert list(layer.features.columns) == ["ivae_dx"]
    np.testing.assert_array_equal(layer.features["ivae_dx"], [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("n", [0, 3])
def test_no_new_columns_keeps_the_table(n):
    layer = _layer(2 * n) if n else Points(np.zeros((0, 2)))
    before = layer.features.copy()
    _layers.set_features(layer, {})
    pd.testing.assert_frame_equal(layer.features, before.reset_index(drop=True))


def test_point_table_fills_points_without_a_patch():
    from types import SimpleNamespace

    from napari_ivae._widgets._writer import point_feature_table

    patches = SimpleNamespace(indices=np.array([3, 0, 1]))
    columns = {"angle": np.array([30.0, 10.0, 20.0]), "class": np.array([2, 0, 1])}
    table = point_feature_table(5, patches, columns)
    assert list(table.columns) == ["ivae_angle", "ivae_class"]
    np.testing.assert_array_equal(table["ivae_angle"], [10.0, 20.0, np.nan, 30.0, np.nan])
    assert table["ivae_angle"].dtype == np.float32
    np.testing.assert_array_equal(table["ivae_class"], [0, 1, -1, 2, -1])


def test_a_table_made_for_another_number_of_points_is_made_again():
    """A worker's table is for the points the layer had when the job started: when points
    were added since, the columns are laid out again for the points the layer has now."""
    from types import SimpleNamespace

    from napari_ivae._widgets._writer import point_feature_table, write_point_features

    layer = _layer(6)
    patches = SimpleNamespace(indices=np.array([0, 5]))
    columns = {"z1": np.array([1.0, 2.0])}
    stale = point_feature_table(4, patches, {"z1": np.array([7.0, 8.0])})
    write_point_features(layer, patches, columns, replace_all=True, table=stale)
    np.testing.assert_array_equal(
        layer.features["ivae_z1"], [1.0, np.nan, np.nan, np.nan, np.nan, 2.0]
    )
    # replace_all drops the plugin's earlier columns, never the user's
    assert {"user", "kind"} <= set(layer.features.columns)
    assert "ivae_old" not in layer.features.columns and "ivae_angle" not in layer.features
    fresh = point_feature_table(6, patches, {"z1": np.array([7.0, 8.0])})
    write_point_features(layer, patches, columns, table=fresh)
    assert layer.features["ivae_z1"].iloc[0] == 7.0  # the worker's table, when it fits
