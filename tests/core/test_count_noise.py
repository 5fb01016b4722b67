"""Counting noise measured from the frame, and the transform that makes it symmetric."""

import numpy as np
import pytest

from napari_ivae.core.detection.count_noise import (
    count_noise_line,
    opposite_levels,
    response_skews,
    symmetrised,
    symmetrised_skew,
)


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


def _summed(events, width, seed):
    # events summed over width x width pixels and kept at every pixel (an element map's
    # export): each pixel is Poisson, but it shares its events with its neighbours
    from scipy import ndimage

    raw = np.random.default_rng(seed).poisson(events).astype(np.float64)
    return np.round(ndimage.uniform_filter(raw, width, mode="nearest") * width**2)


@pytest.mark.parametrize(("events", "width"), [(0.3, 3), (0.3, 1), (1.0, 3), (1.0, 1)])
def test_the_skew_of_counts_in_scale_space_is_read_from_the_frame(events, width):
    # a 3 x 3 sum of 0.3 events a pixel reads 2.7 counts a pixel at the pixel, but its blobs
    # are as skewed as those of 0.3 counts: the skew of -sigma^2 LoG within 25 % of the
    # measured one at sigma 1.5 to 3 (0.2-0.6 here)
    from napari_ivae.core.detection.particle_scale_space import scale_space

    ramp = events * np.linspace(0.6, 1.4, 512)[None, :] * np.ones((512, 1))
    frame = _summed(ramp, width, seed=8)
    use = np.ones(frame.shape, dtype=bool)
    scales = np.asarray([1.5, 2.0, 3.0])
    response = scale_space(frame, scales)[:, 16:-16, 16:-16]
    measured = np.asarray([_skew(layer.ravel().astype(np.float64)) for layer in response])
    predicted = response_skews(frame, use, scales)
    assert predicted is not None
    np.testing.assert_allclose(predicted, measured, rtol=0.25)


def test_noise_that_is_no_counting_noise_has_no_skew_read():
    ramp = np.linspace(100.0, 200.0, 384)[None, :] * np.ones((256, 1))
    frame = ramp + 5.0 * np.random.default_rng(9).normal(size=ramp.shape)
    assert response_skews(frame, np.ones(frame.shape, dtype=bool), [2.0]) is None


@pytest.mark.parametrize(
    ("events", "width", "lowest"),
    [(0.3, 3, 0.3), (0.3, 1, 0.5), (1.0, 3, None), (1.0, 1, None), (3.0, 3, None), (10.0, 1, None)],
)
def test_the_skew_left_after_the_power_two_thirds_is_read_from_the_frame(events, width, lowest):
    # the power 2/3 evens each pixel's counts, not the sums a filter takes of pixels that share
    # their events (an element map's 3 x 3 sum) nor those of well under a count a pixel: the
    # skew left in a Gaussian of 1.5 px less one of 12 px of the symmetrised frame, read from
    # the frame's counting noise drawn again, is within 0.03 of the measured one from a count
    # a pixel up; under it, it reads less (the line's slope is measured low there), never more
    from napari_ivae.core.detection._filters import gaussian_smooth

    ramp = events * np.linspace(0.8, 1.2, 512)[None, :] * np.ones((512, 1))
    frame = _summed(ramp, width, seed=8)
    use = np.ones(frame.shape, dtype=bool)
    line = count_noise_line(frame, use)
    values = symmetrised(frame, line)
    response = gaussian_smooth(values, 1.5) - gaussian_smooth(values, 12.0)
    response = response[40:-40, 40:-40].astype(np.float64).ravel()
    measured = _skew(response)
    read = symmetrised_skew(frame, use, line, (1.5, 12.0), float(np.std(response)))
    if lowest is None:
        assert abs(read - measured) < 0.03
    else:
        assert lowest * measured < read <= measured


def test_the_opposite_level_is_the_skewed_level_carried_back():
    # opposite_levels undoes particle_far_background.skewed_levels (the same gamma, the other
    # way): a level on the short side carried to the long one and back is itself
    from napari_ivae.core.detection.particle_far_background import skewed_levels

    levels = np.asarray([0.5, 1.0, 2.0, 3.0])
    spread, skew = 1.0, 0.3
    carried = np.asarray(
        [_carried(level, skew, spread, skewed_levels) for level in levels], dtype=np.float64
    )
    assert np.all(carried[2:] > levels[2:])  # the long side reaches further in the tail
    read = 1.4826 * spread  # skewed_levels' spread: the response's MAD (here all +-spread)
    np.testing.assert_allclose(opposite_levels(carried, skew, read), levels, rtol=1e-9)
    np.testing.assert_array_equal(opposite_levels(levels, 0.0, spread), levels)


def _carried(level, skew, spread, skewed_levels):
    # skewed_levels reads the skew from a frame's counts; this hands it the skew directly
    from napari_ivae.core.detection import count_noise

    original = count_noise.response_skews
    count_noise.response_skews = lambda *args, **kwargs: np.asarray([skew])
    try:
        background = np.ones((8, 8), dtype=bool)
        response = spread * np.asarray([[[-1.0, 1.0] * 4] * 8])  # a spread of ``spread``
        return float(skewed_levels([level], response, [1.0], np.zeros((8, 8)), background)[0])
    finally:
        count_noise.response_skews = original
