"""The auto method's size floor through the detection memo: a change of min size alone redoes
the floor (the blobs before it remembered), with the result of a fresh detection to the bit."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection import particle_auto
from napari_ivae.core.detection.detection_memo import DetectionMemo, using_memo
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.io.image import prepare_image
from napari_ivae.core.synthetic.particles import make_particles


def test_a_size_floor_change_reuses_the_auto_methods_blobs_with_a_fresh_result(monkeypatch):
    image = prepare_image(make_particles((256, 256), count=20, radius_spread=0.5, seed=5).image)
    memo = DetectionMemo()
    with using_memo(memo):
        earlier = detect_particles(image)
    floor = int(np.median(earlier.properties["area"]))
    fresh = detect_particles(image, min_size=floor)
    calls = []
    real = particle_auto._unfloored_blobs
    monkeypatch.setattr(
        particle_auto, "_unfloored_blobs", lambda *a: (calls.append(1), real(*a))[1]
    )
    with using_memo(memo):
        tuned = detect_particles(image, min_size=floor)
    assert calls == [] and 0 < len(tuned.coords) < len(earlier.coords)
    np.testing.assert_array_equal(tuned.coords, fresh.coords)
    np.testing.assert_array_equal(tuned.labels, fresh.labels)
    assert tuned.properties.equals(fresh.properties) and repr(tuned.params) == repr(fresh.params)
    assert repr(tuned.quality) == repr(fresh.quality)
