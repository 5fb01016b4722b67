"""Particle-mode tuning through the detection memo: switching the threshold method reuses the
frame's polarity step (a scale space, most of a classic method's time), with the result of a
fresh detection to the bit."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.detection_memo import DetectionMemo, using_memo
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.io.image import prepare_image
from napari_ivae.core.synthetic.particles import make_particles


def test_a_method_switch_reuses_the_polarity_step_with_a_fresh_result():
    image = prepare_image(make_particles((256, 256), count=16, seed=4).image)
    memo = DetectionMemo()
    with using_memo(memo):
        detect_particles(image, method="otsu")
    hits = memo.hits
    with using_memo(memo):
        tuned = detect_particles(image, method="li")
    fresh = detect_particles(image, method="li")
    assert memo.hits > hits  # the polarity step came from the memo
    np.testing.assert_array_equal(tuned.coords, fresh.coords)
    np.testing.assert_array_equal(tuned.labels, fresh.labels)
    assert tuned.properties.equals(fresh.properties) and tuned.params == fresh.params
