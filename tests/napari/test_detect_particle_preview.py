"""The Detect dock's preview in particle mode: a switch of the threshold method (to Otsu, Li,
local) or of the polarity is drawn and marked before the exact detection ends, then replaced by
it (a fresh detection's result to the bit); no preview for what it does not follow, nor for
settings detected before; a preview never replaces a later run's points."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from napari_helpers import open_widget

from napari_ivae import _layers
from napari_ivae._widgets import detect_run
from napari_ivae.core.detection.particles import detect_particles


@pytest.fixture
def particles_layer(viewer):
    from napari_ivae.core.synthetic.particles import make_particles

    scene = make_particles((160, 160), count=24, radius=5.0, seed=3)
    return viewer.add_image(scene.image, name="np")


def _wait(detect, qtbot) -> None:
    qtbot.waitUntil(lambda: not detect.busy, timeout=300000)


def _detected(viewer, particles_layer, qtbot, method="otsu"):
    detect = open_widget(viewer, "Detect")
    detect.image.value = particles_layer
    detect.mode.value = "particles"
    detect.method.value = method
    detect.detect()
    _wait(detect, qtbot)
    return detect, viewer.layers["np particles [ivae]"]


def test_a_method_switch_is_previewed_then_replaced_by_the_exact_detection(
    viewer, particles_layer, qtbot, monkeypatch
):
    detect, points = _detected(viewer, particles_layer, qtbot)
    real, release = detect_run.run_detection, threading.Event()

    def held(image, **params):  # the exact run waits until the preview was seen
        release.wait(120)
        return real(image, **params)

    monkeypatch.setattr(detect_run, "run_detection", held)
    detect.method.value = "li"
    meta = lambda: points.metadata["napari_ivae"]  # noqa: E731
    try:
        qtbot.waitUntil(lambda: meta().get("preview") is True, timeout=120000)
        qtbot.waitUntil(lambda: detect._worker is not None, timeout=120000)  # the exact run
        assert meta()["widget_settings"]["method"] == "li"
        assert "preview" in detect.status.value and "'li'" in detect.status.value
        assert detect.busy and len(points.data) > 0
    finally:
        release.set()
    _wait(detect, qtbot)
    assert "preview" not in meta() and "preview" not in detect.status.value
    fresh = detect_particles(_layers.prepared_image(particles_layer), method="li")
    np.testing.assert_array_equal(points.data, fresh.coords[:, 1:])
    assert points.features.reset_index(drop=True).equals(fresh.properties)
    labels = viewer.layers["np particle labels [ivae]"]
    np.testing.assert_array_equal(labels.data, fresh.labels)


def test_a_polarity_switch_is_previewed_from_the_auto_method_only_to_a_threshold(
    viewer, particles_layer, qtbot
):
    detect, points = _detected(viewer, particles_layer, qtbot, method="auto")
    drawn, draw = [], detect._preview._draw
    detect._preview._draw = lambda *args: (drawn.append(args), draw(*args))
    detect.polarity.value = "bright"  # the auto method: no preview, the exact run only
    _wait(detect, qtbot)
    assert len(drawn) == 0
    detect.method.value = "otsu"  # from the auto result: previewed
    _wait(detect, qtbot)
    assert len(drawn) == 1 and drawn[0][2]["polarity"] == "bright" and len(drawn[0][0])
    detect.polarity.value = "auto"  # as the basis resolved it
    _wait(detect, qtbot)
    assert len(drawn) == 2 and len(drawn[1][0])
    assert points.metadata["napari_ivae"]["widget_settings"]["polarity"] == "auto"
    fresh = detect_particles(_layers.prepared_image(particles_layer), method="otsu")
    np.testing.assert_array_equal(points.data, fresh.coords[:, 1:])


def test_no_particle_preview_for_a_change_it_does_not_follow_or_detected_before(
    viewer, particles_layer, qtbot
):
    detect, points = _detected(viewer, particles_layer, qtbot)
    drawn = []
    detect._preview._draw = lambda *args: drawn.append(args)
    detect.method.value = "log"  # a blob search: no cheap preview
    _wait(detect, qtbot)
    detect.method.value = "auto"
    _wait(detect, qtbot)
    detect.invert.value = True  # another preparation of the image
    _wait(detect, qtbot)
    assert len(drawn) == 0
    detect.invert.value = False  # detected before: the memo's result at once, no preview
    _wait(detect, qtbot)
    detect.method.value = "otsu"
    _wait(detect, qtbot)
    assert len(drawn) == 0
    detect.method.value = "local"  # new: previewed
    _wait(detect, qtbot)
    assert len(drawn) == 1
    assert points.metadata["napari_ivae"]["widget_settings"]["method"] == "local"


def test_a_late_particle_preview_never_replaces_a_later_result(viewer, particles_layer, qtbot):
    detect, points = _detected(viewer, particles_layer, qtbot)
    detect.method.value = "li"
    _wait(detect, qtbot)
    shown = points.data.copy()
    params = {**points.metadata["napari_ivae"]["widget_settings"], "method": "otsu"}
    late = np.array([[10.0, 10.0], [20.0, 20.0]])
    detect._preview._draw(late, particles_layer, params, detect._shown_run)  # arrives late
    np.testing.assert_array_equal(points.data, shown)
    assert points.metadata["napari_ivae"]["widget_settings"]["method"] == "li"


def test_a_size_floor_drag_is_previewed_then_detected_exactly(
    viewer, particles_layer, qtbot, monkeypatch
):
    detect, points = _detected(viewer, particles_layer, qtbot, method="auto")
    assert not detect.min_size.native.isHidden() and detect.spacing.native.isHidden()
    areas = points.features["area"].to_numpy()
    floor = int(np.median(areas))
    real, release = detect_run.run_detection, threading.Event()

    def held(image, **params):  # the exact run waits until the preview was seen
        release.wait(120)
        return real(image, **params)

    monkeypatch.setattr(detect_run, "run_detection", held)
    detect.min_size.value = floor  # the auto method: the particles on screen this large
    meta = lambda: points.metadata["napari_ivae"]  # noqa: E731
    try:
        qtbot.waitUntil(lambda: meta().get("preview") is True, timeout=120000)
        assert len(points.data) == int((areas >= floor).sum())
        assert f"min size {floor} px" in detect.status.value
    finally:
        release.set()
    _wait(detect, qtbot)
    image = _layers.prepared_image(particles_layer)
    fresh = detect_particles(image, min_size=floor)
    assert "preview" not in meta() and meta()["widget_settings"]["min_size"] == floor
    np.testing.assert_array_equal(points.data, fresh.coords[:, 1:])
    assert points.features.reset_index(drop=True).equals(fresh.properties)
    np.testing.assert_array_equal(viewer.layers["np particle labels [ivae]"].data, fresh.labels)
    drawn, draw = [], detect._preview._draw
    detect._preview._draw = lambda *args: (drawn.append(args), draw(*args))
    detect.method.value = "otsu"  # a threshold method at that floor: previewed, then exact
    _wait(detect, qtbot)
    assert len(drawn) == 1
    fresh = detect_particles(image, method="otsu", min_size=floor)
    np.testing.assert_array_equal(points.data, fresh.coords[:, 1:])


def test_the_core_messages_name_the_docks_size_floor():
    from napari_ivae._widgets.detect_text import widget_spelling

    assert "'min size (px)'" in widget_spelling("look at the labels, or set --min-size")
    blank = widget_spelling("check the polarity, lower min_size, or try another method.")
    assert "lower 'min size (px)'" in blank and "min_size" not in blank


def test_back_to_the_first_detections_settings_comes_from_the_memo(
    viewer, particles_layer, qtbot, monkeypatch
):
    from napari_ivae.core.detection import particle_contrast

    detect, points = _detected(viewer, particles_layer, qtbot, method="auto")
    first = points.data.copy()
    quality = repr(points.metadata["napari_ivae"]["quality"])
    detect.method.value = "otsu"
    _wait(detect, qtbot)
    calls = []
    real, warning = detect_run.run_detection, particle_contrast.noise_warning
    monkeypatch.setattr(
        detect_run, "run_detection", lambda image, **p: (calls.append(p), real(image, **p))[1]
    )
    monkeypatch.setattr(  # the self-check's scale space: remembered too
        particle_contrast,
        "noise_warning",
        lambda *args: (calls.append("self-check"), warning(*args))[1],
    )
    detect.method.value = "auto"  # Detect's own settings: its result, no detection
    _wait(detect, qtbot)
    assert calls == []
    np.testing.assert_array_equal(points.data, first)
    assert repr(points.metadata["napari_ivae"]["quality"]) == quality


def test_the_first_preview_after_detect_finds_its_frame_prepared(
    viewer, particles_layer, qtbot, monkeypatch
):
    detect, points = _detected(viewer, particles_layer, qtbot)
    prepared = []
    real = detect_run._preview_frame
    monkeypatch.setattr(
        detect_run, "_preview_frame", lambda *a, **k: (prepared.append(a[1]), real(*a, **k))[1]
    )
    drawn, draw = [], detect._preview._draw
    detect._preview._draw = lambda *args: (drawn.append(args), draw(*args))
    detect.method.value = "li"  # the frame prepared after Detect: the preview's own work only
    _wait(detect, qtbot)
    assert len(drawn) == 1 and prepared == []
    detect.polarity.value = "dark"  # another frame: prepared by the preview
    _wait(detect, qtbot)
    assert len(prepared) >= 1 and prepared[0]["polarity"] == "dark"
