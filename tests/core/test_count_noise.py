"""Counting noise measured from the frame, and the transform that makes it symmetric."""

import numpy as np
import pytest

from napari_ivae.core.detection.count_noise import count_noise_line, symmetrised


def _counts(mean, gain=1.0, offset=0.0, seed=0):
    # a detector's counts, scaled and offset as a camera or an 8-bit export would
    return gain * np.random.default_rng(seed).poisson(mean).astype(np.float64) + offset


def _skew(values):
    values = values - values.mean()
    return float((values**3).mean() / (values**2).mean() ** 1.5)


def test_the_line_of_scaled_counts_is_their_gain_and_offset():
    # 4 to 40 counts across the frame, 3 grey levels a count, 40 added: variance = 3 (x - 40)
    ramp = np.linspace(4.0, 40.0, 384)[None, :] * np.ones((256, 1))
    a, b = count_noise_line(_counts(ramp, gain=3.0, offset=40.0))
    assert b == pytest.approx(3.0, rel=0.15)
    assert -a / b == pytest.approx(40.0, abs=6.0)


def test_symmetrised_counts_have_no_skew():
    # 4 to 40 counts, 3 grey levels a count, 40 added; at 4-6 counts Poisson's skew is
    # 1 / sqrt(counts), the Anscombe transform's (which evens the variance) about -0.2
    ramp = np.linspace(4.0, 40.0, 384)[None, :] * np.ones((512, 1))
    frame = _counts(ramp, gain=3.0, offset=40.0, seed=1)
    values = symmetrised(frame, count_noise_line(frame))
    for part in (frame[:, :48], values[:, :48], values[:, -48:]):
        part -= part.mean(axis=0)
    assert _skew(frame[:, :48]) > 0.35
    assert abs(_skew(values[:, :48])) < 0.05
    assert abs(_skew(values[:, -48:])) < 0.05


def test_a_flat_frame_shows_no_line():
    # at one mean the noise's dependence on the mean cannot be seen (with the residual's
    # own pixels in the local mean, Poisson's skew would draw a line through it)
    flat = [_counts(np.full((256, 256), 6.0), seed=seed) for seed in range(4)]
    assert sum(count_noise_line(frame) is not None for frame in flat) <= 1


def test_a_frame_whose_sign_was_turned_stays_in_order():
    # dark particles are searched on the negated frame: the line's slope turns with it
    ramp = np.linspace(4.0, 40.0, 384)[None, :] * np.ones((256, 1))
    frame = _counts(ramp, seed=3)
    a, b = count_noise_line(-frame)
    assert b < 0
    values = symmetrised(-frame, (a, b))
    order = np.argsort(-frame.ravel())
    assert np.all(np.diff(values.ravel()[order]) >= 0)


def test_constant_noise_shows_no_line():
    frame = 100.0 + np.random.default_rng(4).normal(0.0, 2.0, (256, 256))
    frame += np.linspace(0.0, 50.0, 256)[None, :]
    assert count_noise_line(frame) is None


def test_noise_that_would_vanish_inside_the_values_is_not_counting_noise():
    # noiseless below 60, noise growing above it (a clipped or compressed frame): the line
    # through the bins reaches zero variance inside the frame's values
    ramp = np.linspace(0.0, 120.0, 384)[None, :] * np.ones((256, 1))
    spread = np.sqrt(np.clip(ramp - 60.0, 0.0, None))
    frame = ramp + spread * np.random.default_rng(5).normal(size=ramp.shape)
    assert count_noise_line(frame) is None
    assert count_noise_line(frame[:20, :20]) is None  # too few pixels to measure
