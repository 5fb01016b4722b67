"""The faint pass's null tail (step 10): a Gaussian field's where the background is one,
the exponential where its tail is heavier, and the faint particles that tail lets through."""

import numpy as np
from _particle_data import dense_layer
from scipy import ndimage

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection import particle_faint_null
from napari_ivae.core.detection._filters import local_maxima
from napari_ivae.core.detection.particles import detect_particles


def _field(seed, shape=(768, 768)):
    field = ndimage.gaussian_filter(np.random.default_rng(seed).normal(size=shape), 2.0)
    return field / field.std()


def _maxima(field):
    rows, cols = local_maxima(field, 5, 0.0)
    return np.sort(field[rows, cols])


def test_a_gaussian_fields_tail_foresees_its_strongest_maxima():
    # the tail (the strongest 20 maxima) and the pixels' spread of one field, asked about an
    # independent field of the same size: the count above its strongest maxima as the field
    # has them, where an exponential tail from the same 20 expects several times as many
    first, second = _field(1), _field(2)
    tail = _maxima(first)[-20:]
    spread = float(np.std(first))
    levels = _maxima(second)[[-10, -3, -1]]
    expected = particle_faint_null.null_tail(levels, tail, spread)
    assert expected is not None
    assert 3.0 <= expected[0] <= 30.0
    assert 0.5 <= expected[1] <= 10.0
    assert expected[2] <= 4.0
    decay = np.mean(tail - tail[0]) * (1.0 + particle_faint_null.FAINT_DECAY_ERRORS / np.sqrt(20))
    exponential = 20 * np.exp(-(levels[-1] - tail[0]) / decay)
    assert exponential >= 3.0 * expected[2]


def test_a_tail_heavier_than_the_pixels_spread_allows_is_no_gaussian_fields():
    # the same field with a sparse one-sided structure (strands, a support's bright spots):
    # its strongest maxima reach further than a Gaussian of the pixels' spread, and the tail
    # falls back to the exponential
    field = _field(3)
    rng = np.random.default_rng(4)
    rows, cols = rng.integers(20, 748, size=(2, 40))
    spots = np.zeros_like(field)
    spots[rows, cols] = rng.exponential(100.0, size=40)  # a kernel's peak: 1 / (8 pi)
    tail = _maxima(field + ndimage.gaussian_filter(spots, 2.0))[-20:]
    assert particle_faint_null.null_tail(tail[-1:], _maxima(field)[-20:], 1.0) is not None
    assert particle_faint_null.null_tail(tail[-1:], tail, 1.0) is None


def test_faint_particles_in_a_dense_low_dose_layer_are_found_against_a_gaussian_tail():
    # the robustness benchmark's "dark n400 r7 low dose" seed +4000: the null's 20 strongest
    # maxima (of 89) extended exponentially expected a background maximum or more above
    # each faint candidate, and nothing was added (recall 0.812); the pixels' spread shows
    # the background a Gaussian field, whose maxima stop well below them
    truth = dense_layer(4407, low_dose=True)
    detections = detect_particles(truth.image)
    resolved = detections.params["resolved"]
    assert resolved["faint_null_tail"] == "gaussian"
    assert resolved["faint"] >= 10
    inside = ((truth.centres >= 3.0) & (truth.centres < 381.0)).all(axis=1)
    match = match_points(detections.coords[:, 1:], truth.centres[inside], 7.0)
    assert match.precision >= 0.98
    assert match.recall >= 0.84
