"""Every heavy action runs in a worker thread when started from its button (issue 11 item 3):
the computation happens off the GUI thread, the button is disabled meanwhile, and an error
reaches the status line with the action's name and gives the button back."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from napari_helpers import is_error, open_widget

from napari_ivae._widgets import _apply, _writer, detect, detect_run, patches, results
from napari_ivae._widgets._session import get_session


def record_thread(monkeypatch, module, name, threads, fail=False):
    """Replace ``module.name`` by a wrapper that notes its thread (and fails if asked)."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        if fail:
            raise RuntimeError("boom")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def untrained_model(viewer):
    """An rVAE bundle for the session's patches (the results actions only need a model)."""
    from napari_ivae._widgets.train import trained_bundle
    from napari_ivae.core.models import build_model
    from napari_ivae.core.models.training import TrainResult

    session = get_session(viewer)
    train = open_widget(viewer, "Train")
    config, train_config = train.configs(session.patchset.patches.shape[1:])
    result = TrainResult(model=build_model(config), seed=0)
    session.update(
        bundle=trained_bundle(
            result, config, train_config, {"patch_params": dict(session.patch_params)}
        ),
        train_result=result,
    )


def click_and_wait(qtbot, widget, button):
    button.clicked.emit()  # as from the GUI
    assert not button.enabled and widget.busy  # busy while the worker runs
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert button.enabled


def test_detect_and_estimate_run_in_workers(viewer, lattice_layer, qtbot, monkeypatch):
    threads = []
    record_thread(monkeypatch, detect_run, "run_detection", threads)  # the worker's call
    record_thread(monkeypatch, detect, "estimate", threads)
    widget = open_widget(viewer, "Detect")
    click_and_wait(qtbot, widget, widget.estimate_button)
    assert "estimated spacing" in widget.status.value
    click_and_wait(qtbot, widget, widget.run_button)
    assert "lat atoms [ivae]" in viewer.layers
    assert threads == [False, False]


def test_extract_runs_in_a_worker_and_counts_labels_there(viewer, qtbot, monkeypatch):
    viewer.open_sample("napari-ivae", "cards")
    threads, label_threads = [], []
    record_thread(monkeypatch, patches, "_cut", threads)
    record_thread(monkeypatch, patches, "labels_of_snapshot", label_threads)
    widget = open_widget(viewer, "Patches and labels")
    click_and_wait(qtbot, widget, widget.extract_button)
    assert threads == [False] and label_threads == [False]
    labels = get_session(viewer).labels
    assert [int(np.sum(labels == k)) for k in range(4)] == [6, 6, 6, 6]
    assert widget.class_table.table.item(0, 2).text() == "6"


def test_label_recount_is_debounced_and_off_the_gui_thread(viewer, qtbot, monkeypatch):
    viewer.open_sample("napari-ivae", "cards")
    widget = open_widget(viewer, "Patches and labels")
    patchset = widget.extract()
    threads = []
    record_thread(monkeypatch, patches, "labels_of_snapshot", threads)
    shapes = viewer.layers["card labels"]
    unlabeled = np.flatnonzero(get_session(viewer).labels < 0)[:3]
    widget.class_table.set_current(2)
    for index in unlabeled:  # a burst of edits
        r, c = patchset.centres[index]
        shapes.selected_data = set()
        shapes.add_rectangles(np.array([[r - 20, c - 20], [r + 20, c + 20]]))
    assert widget.busy
    qtbot.waitUntil(lambda: not widget.busy, timeout=10000)
    assert threads == [False]  # one count, in a worker
    assert int(np.sum(get_session(viewer).labels == 2)) == 6 + len(unlabeled)
    assert widget.class_table.table.item(2, 2).text() == str(6 + len(unlabeled))


def test_a_failing_action_says_which_and_gives_the_button_back(
    viewer, lattice_layer, qtbot, monkeypatch
):
    widget = open_widget(viewer, "Patches and labels")
    widget.source.value = "grid"
    widget.size.value = 16
    record_thread(monkeypatch, patches, "_cut", [], fail=True)
    click_and_wait(qtbot, widget, widget.extract_button)
    assert is_error(widget.status)
    assert "extracting patches failed: RuntimeError: boom" in widget.status.value
    assert get_session(viewer).patchset is None


@pytest.mark.parametrize("action", ["maps", "segment", "cluster", "apply", "manifold"])
def test_results_actions_run_in_workers(
    viewer, lattice_layer, ready_patches, qtbot, monkeypatch, action
):
    untrained_model(viewer)
    widget = open_widget(viewer, "Results")
    threads = []
    if action != "maps":
        click_and_wait(qtbot, widget, widget.write_button)
        assert not is_error(widget.status), widget.status.value
    module, name, button = {
        "maps": (_writer, "compute_results", widget.write_button),
        "segment": (results, "_segment", widget.segment_button),
        "cluster": (_writer, "compute_clusters", widget.cluster_button),
        "apply": (_apply, "compute_apply", widget.apply_button),
        "manifold": (_writer, "compute_manifold", widget.manifold_button),
    }[action]
    record_thread(monkeypatch, module, name, threads)
    if action == "segment":
        widget.segment_map.reset_choices()
        widget.segment_map.value = viewer.layers["lat z1 [ivae]"]
    if action == "apply":
        widget.apply_image.reset_choices()
        widget.apply_image.value = lattice_layer
    click_and_wait(qtbot, widget, button)
    assert not is_error(widget.status), widget.status.value
    assert threads == [False]
    role = {
        "maps": "z1_map",
        "segment": "segmentation_z1_map",
        "cluster": "cluster_map",
        "apply": "z1_map",
        "manifold": "manifold",
    }[action]
    assert any(layer.metadata.get("napari_ivae", {}).get("role") == role for layer in viewer.layers)
