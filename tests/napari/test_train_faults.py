"""Train widget faults from issue 12: Start twice, the source layer deleted or another layer
selected while training. Each ends idle with a message and no user layer changed."""

from __future__ import annotations

import numpy as np
from napari_helpers import assert_untouched, is_error, open_widget, snapshot

from napari_ivae._widgets._session import get_session


def _long_run(train):
    train.kind.value = "vae"
    train.epochs.value, train.min_steps.value, train.batch_size.value = 10000, 0, 64


def test_start_twice_runs_one_job(viewer, lattice_layer, ready_patches, qtbot):
    user = snapshot(lattice_layer)
    train = open_widget(viewer, "Train")
    _long_run(train)
    job = train.start()
    assert job is not None and train.start() is None and train.job is job
    assert not train.start_button.enabled
    job.worker.yielded.connect(lambda event: train.abort())
    qtbot.waitUntil(lambda: not train.busy, timeout=60000)
    assert "discarded" in train.status.value and train.start_button.enabled
    assert_untouched(viewer, user)


def test_source_layer_deleted_while_training(viewer, lattice_layer, ready_patches, qtbot):
    other = viewer.add_image(np.random.default_rng(0).random((32, 32)), name="other")
    user = snapshot(other)
    train = open_widget(viewer, "Train")
    _long_run(train)
    job = train.start()
    qtbot.waitUntil(lambda: train.progress.value > 0, timeout=30000)
    viewer.layers.remove(lattice_layer)
    train.stop()
    qtbot.waitUntil(lambda: not train.busy, timeout=60000)
    assert not job.is_running and train.start_button.enabled
    assert "no longer in the viewer" in train.status.value  # why no maps were written
    assert get_session(viewer).bundle is not None  # the trained model is not lost
    assert_untouched(viewer, user)
    assert all(layer.name in ("other",) or "[ivae]" in layer.name for layer in viewer.layers)


def test_switching_layers_mid_run_keeps_results_on_the_source(
    viewer, lattice_layer, ready_patches, qtbot
):
    other = viewer.add_image(np.random.default_rng(0).random((48, 48)), name="other")
    user, source = snapshot(other), snapshot(lattice_layer)
    train = open_widget(viewer, "Train")
    _long_run(train)
    train.start()
    qtbot.waitUntil(lambda: train.progress.value > 0, timeout=30000)
    viewer.layers.selection.active = other
    train.stop()
    qtbot.waitUntil(lambda: not train.busy, timeout=60000)
    assert not is_error(train.status), train.status.value
    maps = [
        layer
        for layer in viewer.layers
        if layer.name.startswith("lat ")
        and layer.name.endswith("[ivae]")
        and layer._type_string == "image"
    ]
    assert maps and all(m.data.shape == lattice_layer.data.shape for m in maps)
    assert not any(layer.name.startswith("other ") for layer in viewer.layers)
    assert_untouched(viewer, user)
    assert_untouched(viewer, source)


def test_patches_cannot_change_under_a_training_model(viewer, lattice_layer, ready_patches, qtbot):
    _, patches = ready_patches
    before = get_session(viewer).patchset
    train = open_widget(viewer, "Train")
    _long_run(train)
    train.start()
    assert not patches.extract_button.enabled
    assert patches.extract() is None and "training" in patches.status.value
    assert get_session(viewer).patchset is before
    train.abort()
    qtbot.waitUntil(lambda: not train.busy, timeout=60000)
    assert patches.extract_button.enabled and patches.extract() is not None
