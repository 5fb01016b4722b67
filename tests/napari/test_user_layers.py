"""User layers are read-only to the plugin: results go into ``ivae_`` columns of a user's
Points layer, new maps lie below the user's annotations, the selection stays put, and maps of
a failed run are marked stale."""

from __future__ import annotations

import numpy as np
import pandas as pd
from napari_helpers import PLUGIN, is_error, open_widget

USER_COLUMNS = ("class", "angle", "z1", "dx", "cluster", "p_clubs", "angle_deg", "suit")


def user_table(points) -> pd.DataFrame:
    return points.features[list(USER_COLUMNS)].copy()


def digest(table: pd.DataFrame) -> int:
    return int(pd.util.hash_pandas_object(table, index=True).sum())


def cards_with_user_columns(viewer):
    """The cards sample; its points layer gets user columns named like the plugin's results."""
    viewer.open_sample(PLUGIN, "cards")
    points = viewer.layers["card centres"]
    rng = np.random.default_rng(7)
    n = len(points.data)
    points.features = points.features.assign(
        **{
            "class": rng.integers(0, 9, n),
            "angle": rng.random(n),
            "z1": rng.random(n),
            "dx": rng.random(n),
            "cluster": rng.integers(0, 5, n),
            "p_clubs": rng.random(n),
        }
    )
    return points


def train_tiny(viewer, qtbot, kind="ss-rvae"):
    patches = open_widget(viewer, "Patches and labels")
    assert patches.extract() is not None, patches.status.value
    train = open_widget(viewer, "Train")
    results = open_widget(viewer, "Results")
    train.kind.value = kind
    train.epochs.value, train.min_steps.value, train.batch_size.value = 2, 0, 64
    train.latent_dim.value, train.seed.value = 2, 3
    assert train.start() is not None, train.status.value
    qtbot.waitUntil(lambda: not train.busy and train._results_worker is None, timeout=120000)
    assert not is_error(train.status), train.status.value
    return patches, train, results


def test_results_never_overwrite_user_columns(viewer, qtbot):
    points = cards_with_user_columns(viewer)
    before, before_hash = user_table(points), digest(user_table(points))
    _, _, results = train_tiny(viewer, qtbot)
    assert digest(user_table(points)) == before_hash
    pd.testing.assert_frame_equal(user_table(points), before)
    columns = set(points.features.columns)
    assert {
        "ivae_class",
        "ivae_p_clubs",
        "ivae_p_hearts",
        "ivae_angle",
        "ivae_angle_deg",
        "ivae_z1",
        "ivae_z2",
    } <= columns
    predicted = points.features["ivae_class"].to_numpy()
    assert set(predicted) <= {0, 1, 2, 3}
    # unsupervised classes: an ivae_cluster column, the user's 'cluster' untouched
    results.n_clusters.value = 3
    results.cluster_button.clicked.emit()
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=60000)
    assert not is_error(results.status), results.status.value
    assert set(points.features["ivae_cluster"]) <= {-1, 0, 1, 2}
    # re-writing updates only the ivae_ columns
    results.write_button.clicked.emit()
    qtbot.waitUntil(lambda: results.write_button.enabled, timeout=60000)
    assert not is_error(results.status), results.status.value
    pd.testing.assert_frame_equal(user_table(points), before)
    assert digest(user_table(points)) == before_hash
    # colouring by a user's own column uses its values, not the model's classes
    results.colour_by.reset_choices()
    assert {"class", "ivae_class"} <= set(results.colour_by.choices)
    results.colour_by.value = "angle_deg"
    assert points.face_colormap.name.startswith("twilight")


def test_maps_go_below_annotations_and_selection_stays(viewer, qtbot):
    viewer.open_sample(PLUGIN, "cards")
    labels = viewer.layers["card labels"]
    viewer.layers.selection.active = labels  # the user is labeling
    _, train, results = train_tiny(viewer, qtbot)
    names = [layer.name for layer in viewer.layers]
    maps = [name for name in names if name.endswith("[ivae]")]
    assert "cards class [ivae]" in maps and "cards z1 [ivae]" in maps
    lowest_annotation = min(names.index("card centres"), names.index("card labels"))
    for name in maps:
        assert names.index("cards") < names.index(name) < lowest_annotation, names
    assert viewer.layers.selection.active is labels
    assert set(viewer.layers.selection) == {labels}
    # a later map (segmentation, manifold) too
    results.segment_map.reset_choices()
    results.segment_map.value = viewer.layers["cards z1 [ivae]"]
    assert results.segment() is not None
    assert results.show_manifold() is not None
    names = [layer.name for layer in viewer.layers]
    assert max(names.index(n) for n in names if n.endswith("[ivae]")) < names.index("card centres")
    assert viewer.layers.selection.active is labels


def test_failed_results_mark_the_old_maps_stale(viewer, qtbot):
    viewer.open_sample(PLUGIN, "cards")
    patches, _, results = train_tiny(viewer, qtbot, kind="vae")
    patches.size.value = 32  # the model reads 48 px patches
    patches.extract()
    assert results.write() == [] and is_error(results.status)
    stale = [layer.name for layer in viewer.layers if layer.name.endswith("(stale)")]
    assert "cards z1 [ivae] (stale)" in stale
    patches.size.value = 0
    patches.extract()
    assert results.write() != [] and not is_error(results.status)
    assert not any(layer.name.endswith("(stale)") for layer in viewer.layers)
    assert "cards z1 [ivae]" in viewer.layers
