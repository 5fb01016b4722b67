"""Train widget's β(t) search: background runs, heat map and maps as layers, the chosen model
kept; Abort kills the running trainings and keeps nothing."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from napari_helpers import assert_untouched, is_error, open_widget, snapshot

from napari_ivae._widgets._session import get_session


@pytest.fixture
def grid_ready(viewer, qtbot):
    from napari_ivae.core.synthetic.lattice import make_lattice

    image = make_lattice((72, 72), spacing=8.0, domains=2, seed=1).image
    layer = viewer.add_image(image, name="lat", scale=(0.5, 0.5), translate=(3.0, 4.0))
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = layer
    patches.source.value = "grid"
    patches.size.value = 16
    patches.stride.value = 8
    assert patches.extract() is not None, patches.status.value
    train = open_widget(viewer, "Train")
    train.kind.value = "shift-vae"
    train.latent_dim.value = 2
    train.batch_size.value = 32
    train.min_steps.value = 0
    train.seed.value = 2
    return layer, train


def test_search_trains_the_grid_shows_heat_map_and_maps_and_keeps_the_chosen_model(
    viewer, grid_ready, qtbot
):
    layer, train = grid_ready
    user = snapshot(layer)
    train.epochs.value = 2
    search = train.search
    search.beta_starts.value = "1"
    search.beta_ends.value = "1, 2"  # two runs: beta 1 fixed, beta 1 -> 2
    # one process runs both (a process costs its imports, seconds of CPU); two processes at
    # once are started and killed by the abort test, and compared with one in core's tests
    search.workers.value = 1
    train.smoothness_form.value = "gmrf"  # the term's settings come from the Train widget
    train.smoothness_latents.value = 0
    job = search.start()
    assert job is not None and train.busy
    assert not train.start_button.enabled and not search.button.enabled
    assert train.stop_button.enabled and train.abort_button.enabled
    qtbot.waitUntil(lambda: not train.busy, timeout=240000)
    assert not is_error(train.status), train.status.value
    result = search.result
    assert result is not None and len(result.runs) == 2 and result.best is not None
    assert "chosen:" in train.status.value and "session's model" in train.status.value
    assert train.progress.value == train.progress.max == 2
    # the chosen run's model is the session's model, with the search table in its metadata
    bundle = get_session(viewer).bundle
    assert bundle is not None and bundle.model is result.model
    assert bundle.config.kind == "shift-vae" and len(bundle.metadata["search"]) == 2
    chosen = result.runs[result.best]
    assert (bundle.train_config.beta_start, bundle.train_config.beta_end) == (
        chosen.beta_start,
        chosen.beta_end,
    )
    assert (bundle.train_config.smoothness_form, bundle.train_config.smoothness_latents) == (
        "gmrf",
        0,
    )
    # heat map (RGB) and the best runs' maps, aligned with the image, the chosen one shown
    heat = viewer.layers["lat β(t) search heat map [ivae]"]
    assert heat.rgb and heat.data.shape == (48, 2 * 48, 3)
    best = next(
        lay
        for lay in viewer.layers
        if lay.metadata.get("napari_ivae", {}).get("role") == "search_run1_map"
    )
    assert best.name.startswith(f"lat search #1 z{chosen.map_index + 1} ({chosen.label()})")
    assert best.data.shape == layer.data.shape and best.visible
    np.testing.assert_allclose(best.scale, layer.scale)
    np.testing.assert_allclose(best.translate, layer.translate)
    assert viewer.layers.index(best) > viewer.layers.index(layer)
    painted = np.asarray(best.data)[np.isfinite(best.data)]
    z = np.asarray(result.maps[result.best])[chosen.map_index]
    np.testing.assert_allclose(np.unique(painted), np.unique(z), rtol=1e-5)
    # the chosen model's own maps were written as after a training
    assert "lat z1 [ivae]" in viewer.layers
    assert_untouched(viewer, user)


def test_search_abort_kills_the_runs_and_keeps_nothing(viewer, grid_ready, qtbot):
    _, train = grid_ready
    train.epochs.value = 100000  # would run for hours
    search = train.search
    search.beta_starts.value = "1"
    search.beta_ends.value = "1, 2"
    search.workers.value = 2
    job = search.start()
    assert job is not None
    # both runs' processes started (still starting or already training: both must go)
    qtbot.waitUntil(lambda: len(multiprocessing.active_children()) == 2, timeout=60000)
    train.abort()
    qtbot.waitUntil(lambda: not train.busy, timeout=60000)
    assert "aborted" in train.status.value
    assert get_session(viewer).bundle is None and search.result is None
    assert not any("search" in layer.name for layer in viewer.layers)
    assert multiprocessing.active_children() == []
    assert train.start_button.enabled and search.button.enabled


def test_search_stop_keeps_the_best_of_the_runs_so_far(viewer, grid_ready, qtbot):
    _, train = grid_ready
    train.epochs.value = 2
    train.write_maps.value = False
    search = train.search
    search.beta_starts.value = "1"
    search.beta_ends.value = "1, 2, 4"
    search.workers.value = 1  # one run at a time: the third has not started at the stop
    job = search.start()
    job.worker.yielded.connect(lambda event: train.stop() if event is not None else None)
    qtbot.waitUntil(lambda: not train.busy, timeout=240000)
    assert not is_error(train.status), train.status.value
    result = search.result
    assert result.stopped and 1 <= len(result.runs) < 3
    assert "stopped early" in train.status.value
    assert get_session(viewer).bundle.model is result.model
    # the bar and the readout say the search stopped (the bar stood at its fraction)
    assert train.eta.value == (
        f"stopped at run {len(result.runs)} of 3: the best run so far is kept."
    ), train.eta.value
    assert train.progress.native.text().startswith("stopped at "), train.progress.native.text()


def test_search_needs_grid_patches(viewer, qtbot):
    from napari_ivae.core.synthetic.lattice import make_lattice

    layer = viewer.add_image(make_lattice((64, 64), spacing=8.0, seed=1).image, name="lat")
    train = open_widget(viewer, "Train")
    train.kind.value = "shift-vae"
    assert train.search.start() is None
    assert is_error(train.status) and "grid patches" in train.status.value
    assert layer.name == "lat"
