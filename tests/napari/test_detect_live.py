"""The Detect dock's live tuning: the result of a fresh detection, to the bit; the latest
values win (a stale run stops, an older result never replaces a newer one)."""

from __future__ import annotations

import threading

import numpy as np
from napari_helpers import open_widget

from napari_ivae import _layers
from napari_ivae._widgets import detect as detect_module
from napari_ivae._widgets import detect_run
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.detection_memo import Superseded


def _wait(detect, qtbot) -> None:
    qtbot.waitUntil(lambda: not detect.busy, timeout=300000)


def test_live_tuning_gives_a_fresh_detection_s_points_to_the_bit(viewer, lattice_layer, qtbot):
    detect = open_widget(viewer, "Detect")
    detect.detect()
    _wait(detect, qtbot)
    for value in (9.0, 9.5, 10.0, 9.5):  # a drag, and back: the memo answers steps of 9.5
        detect.spacing.value = value
        _wait(detect, qtbot)
    points = viewer.layers["lat atoms [ivae]"]
    assert points.metadata["napari_ivae"]["spacing"] == 9.5 and detect._memo.hits > 0
    fresh = detect_atoms(_layers.prepared_image(lattice_layer), spacing=9.5)
    np.testing.assert_array_equal(points.data, fresh.coords[:, 1:])
    assert points.features.reset_index(drop=True).equals(fresh.properties)


def test_a_stale_run_stops_and_the_latest_values_show(viewer, lattice_layer, qtbot, monkeypatch):
    detect = open_widget(viewer, "Detect")
    detect.detect()
    _wait(detect, qtbot)
    monkeypatch.setattr(detect_module, "LIVE_SHOW_EVERY_S", 600.0)  # stale runs always stop
    real, entered, release, ended = (
        detect_run.run_detection,
        threading.Event(),
        threading.Event(),
        {},
    )

    def held(image, **params):  # the first run waits until the spacing changed again
        if params["spacing"] == 9.0:
            entered.set()
            release.wait(60)
        try:
            result = real(image, **params)
        except Superseded:
            ended[params["spacing"]] = "stopped"
            raise
        ended[params["spacing"]] = "detected"
        return result

    monkeypatch.setattr(detect_run, "run_detection", held)
    detect.spacing.value = 9.0
    qtbot.waitUntil(entered.is_set, timeout=60000)
    detect.spacing.value = 10.0  # while the 9.0 run is held
    release.set()
    _wait(detect, qtbot)
    assert ended == {9.0: "stopped", 10.0: "detected"}
    assert viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]["spacing"] == 10.0
    assert "atoms found" in detect.status.value


def test_an_older_run_never_replaces_a_newer_one_s_points(viewer, lattice_layer, qtbot):
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    detect.spacing.value = 10.0
    detect.detect()
    _wait(detect, qtbot)
    points = viewer.layers["lat atoms [ivae]"]
    shown = points.data.copy()
    older = detect_atoms(_layers.prepared_image(lattice_layer), spacing=8.0)
    assert len(older.coords) != len(shown)
    params = dict(
        mode="atoms",
        spacing=8.0,
        sigma=None,
        refine="com",
        method="auto",
        polarity="auto",
        crystal_only=True,
    )
    detect._show(older, lattice_layer, params, {}, detect._shown_run - 1)  # arrives late
    np.testing.assert_array_equal(points.data, shown)
    assert points.metadata["napari_ivae"]["spacing"] == 10.0
