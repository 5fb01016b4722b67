"""The Detect dock's preview while the spacing is dragged: drawn and marked before the exact
detection ends, replaced by it; a preview never replaces a later run's points."""

from __future__ import annotations

import threading

import numpy as np
from napari_helpers import open_widget

from napari_ivae import _layers
from napari_ivae._widgets import detect_run
from napari_ivae.core.detection.atoms import detect_atoms


def _wait(detect, qtbot) -> None:
    qtbot.waitUntil(lambda: not detect.busy, timeout=300000)


def test_a_spacing_change_is_previewed_then_replaced_by_the_exact_detection(
    viewer, lattice_layer, qtbot, monkeypatch
):
    detect = open_widget(viewer, "Detect")
    detect.detect()
    _wait(detect, qtbot)
    points = viewer.layers["lat atoms [ivae]"]
    real, release = detect_run.run_detection, threading.Event()

    def held(image, **params):  # the exact run waits until the preview was seen
        release.wait(120)
        return real(image, **params)

    monkeypatch.setattr(detect_run, "run_detection", held)
    detect.spacing.value = 9.0
    meta = lambda: points.metadata["napari_ivae"]  # noqa: E731
    try:
        qtbot.waitUntil(lambda: meta().get("preview") is True, timeout=120000)
        qtbot.waitUntil(lambda: detect._worker is not None, timeout=120000)  # the exact run
        assert meta()["spacing"] == 9.0 and "preview" in detect.status.value
        assert detect.busy and len(points.data) > 0
    finally:
        release.set()
    _wait(detect, qtbot)
    assert "preview" not in meta() and "preview" not in detect.status.value
    fresh = detect_atoms(_layers.prepared_image(lattice_layer), spacing=9.0)
    np.testing.assert_array_equal(points.data, fresh.coords[:, 1:])
    assert points.features.reset_index(drop=True).equals(fresh.properties)


def test_a_late_preview_never_replaces_a_later_result(viewer, lattice_layer, qtbot):
    detect = open_widget(viewer, "Detect")
    detect.detect()
    _wait(detect, qtbot)
    detect.spacing.value = 9.0
    _wait(detect, qtbot)
    points = viewer.layers["lat atoms [ivae]"]
    shown = points.data.copy()
    params = {**points.metadata["napari_ivae"]["widget_settings"], "spacing": 8.0}
    late = np.array([[10.0, 10.0], [20.0, 20.0]])
    detect._preview._draw(late, lattice_layer, params, detect._shown_run)  # arrives late
    np.testing.assert_array_equal(points.data, shown)
    assert points.metadata["napari_ivae"]["spacing"] == 9.0


def test_no_preview_for_a_change_it_does_not_follow_or_settings_detected_before(
    viewer, lattice_layer, qtbot
):
    detect = open_widget(viewer, "Detect")
    detect.detect()
    _wait(detect, qtbot)
    drawn = []
    detect._preview._draw = lambda *args: drawn.append(args)
    detect.refine.value = "gaussian"  # not the spacing: the exact detection only
    _wait(detect, qtbot)
    assert len(drawn) == 0
    assert viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]["refine"] == "gaussian"
    detect.spacing.value = 9.0  # from the gaussian-refined result: previewed
    _wait(detect, qtbot)
    assert len(drawn) == 1
    detect.spacing.value = 9.5
    _wait(detect, qtbot)
    assert len(drawn) == 2
    detect.spacing.value = 9.0  # detected before: the memo's result at once, no preview
    _wait(detect, qtbot)
    assert len(drawn) == 2
    assert viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]["spacing"] == 9.0


def test_no_preview_of_an_image_read_by_chunks(viewer, qtbot):
    import dask.array as da

    from napari_ivae.core.synthetic.lattice import make_lattice

    lattice = make_lattice((96, 96), spacing=8.0, domains=2, seed=1).image
    layer = viewer.add_image(da.from_array(lattice, chunks=48), name="lazy")
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.detect()
    _wait(detect, qtbot)
    drawn = []
    detect._preview._draw = lambda *args: drawn.append(args)
    detect.spacing.value = 9.0  # a preview would read the whole image
    _wait(detect, qtbot)
    assert len(drawn) == 0
    assert viewer.layers["lazy atoms [ivae]"].metadata["napari_ivae"]["spacing"] == 9.0


def test_after_a_failed_detection_nothing_is_previewed_from_the_older_result(
    viewer, lattice_layer, qtbot, monkeypatch
):
    from napari_ivae.core.errors import InputError

    detect = open_widget(viewer, "Detect")
    detect.detect()
    _wait(detect, qtbot)
    real = detect_run.run_detection

    def failing(image, **params):
        if params["spacing"] == 9.0:
            raise InputError("refused for the test")
        return real(image, **params)

    monkeypatch.setattr(detect_run, "run_detection", failing)
    detect.spacing.value = 9.0  # previewed, then the detection fails
    _wait(detect, qtbot)
    assert "refused for the test" in detect.status.value
    assert "lat atoms [ivae] (stale)" in viewer.layers
    drawn = []
    detect._preview._draw = lambda *args: drawn.append(args)
    detect.spacing.value = 9.5  # the layer is stale: no preview from the result before it
    _wait(detect, qtbot)
    assert len(drawn) == 0 and "preview" not in detect.status.value
    assert viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]["spacing"] == 9.5


def test_a_preview_shows_no_bar_in_the_activity_dock_and_the_detection_does(
    viewer, lattice_layer, qtbot
):
    from napari.utils import progress

    detect = open_widget(viewer, "Detect")
    detect.detect()
    _wait(detect, qtbot)
    bars: list = []

    def added(event):
        bars.extend(bar.desc for bar in event.added)

    drawn, draw = [], detect._preview._draw
    detect._preview._draw = lambda *args: (drawn.append(args), draw(*args))
    progress._all_instances.events.changed.connect(added)
    try:
        detect.spacing.value = 9.0  # previewed, then detected
        _wait(detect, qtbot)
    finally:
        progress._all_instances.events.changed.disconnect(added)
    assert viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]["spacing"] == 9.0
    assert len(drawn) == 1
    assert "detecting atoms" in bars and "previewing atoms" not in bars
