"""Long background work shows in napari's activity dock: a bar per job, counting where the
work reports counts (frames or chunks detected, steps trained, patches encoded)."""

from __future__ import annotations

import threading

import numpy as np
from napari_helpers import is_error, open_widget


def _recorded():
    """Every napari progress object created from now on (they outlive their bar)."""
    from napari.utils import progress

    seen: list = []

    def added(event):
        seen.extend(event.added)

    progress._all_instances.events.changed.connect(added)
    return seen, lambda: progress._all_instances.events.changed.disconnect(added)


def test_a_background_job_shows_its_counts_in_the_activity_dock(viewer, qtbot):
    from napari._qt.widgets.qt_progress_bar import QtLabeledProgressBar

    from napari_ivae._workers import background, report_progress

    release = threading.Event()

    def compute():
        report_progress(3, 10)
        release.wait(60)
        return 1

    report_progress(1, 2)  # outside a job: nothing happens
    dock = viewer.window._qt_window._activity_dialog
    worker = background(None, compute, what="testing progress")

    def bar():
        for found in dock.findChildren(QtLabeledProgressBar):
            if found.description_label.text().startswith("testing progress"):
                return found
        return None

    try:
        qtbot.waitUntil(
            lambda: bar() is not None and bar().qt_progress_bar.value() == 3, timeout=20000
        )
        assert bar().qt_progress_bar.maximum() == 10
    finally:
        release.set()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=20000)
    qtbot.waitUntil(lambda: bar() is None, timeout=20000)  # the bar goes with the job


def test_detect_patches_train_and_encode_on_a_lazy_stack_count_in_the_dock(viewer, qtbot):
    import dask.array as da

    from napari_ivae.core.synthetic.lazy import lazy_lattice

    stack = da.stack([lazy_lattice(192, spacing=16.0, chunk=96, seed=s) for s in range(3)])
    layer = viewer.add_image(stack, name="movie")
    seen, stop = _recorded()
    try:
        detect = open_widget(viewer, "Detect")
        detect.image.value = layer
        detect.spacing.value = 16.0
        detect.detect()
        qtbot.waitUntil(lambda: not detect.busy, timeout=120000)
        assert not is_error(detect.status), detect.status.value
        patches = open_widget(viewer, "Patches and labels")
        patches.image.value = layer
        patches.points.value = viewer.layers["movie atoms [ivae]"]
        patches.size.value = 16
        patches.extract_in_background()
        qtbot.waitUntil(lambda: not patches.busy, timeout=60000)
        train = open_widget(viewer, "Train")
        open_widget(viewer, "Results")
        train.kind.value, train.epochs.value, train.batch_size.value = "rvae", 1, 64
        train.latent_dim.value, train.min_steps.value = 2, 10
        train.start()
        qtbot.waitUntil(lambda: not train.busy, timeout=120000)
        assert not is_error(train.status), train.status.value
    finally:
        stop()
    by_name = {p.desc: p for p in seen}
    assert by_name["detecting atoms"].total == 3 and by_name["detecting atoms"].n == 3
    assert "extracting patches" in by_name  # indeterminate
    n_patches = len(viewer.layers["movie atoms [ivae]"].data)
    training = next(p for p in seen if p.desc.startswith("training"))
    assert training.total >= 10 and training.n == training.total
    assert (
        by_name["writing maps"].total <= n_patches
        and by_name["writing maps"].n == by_name["writing maps"].total > 0
    )
    assert np.isfinite(viewer.layers["movie atoms [ivae]"].features["ivae_z1"]).any()
