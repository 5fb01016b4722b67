"""The skew counting noise leaves in a filter's response, read from the frame."""

import numpy as np
import pytest

from napari_ivae.core.detection.count_noise import count_noise_line, symmetrised
from napari_ivae.core.detection.count_skew import (
    opposite_levels,
    response_skews,
    symmetrised_skew,
)


def _counts(mean, gain=1.0, offset=0.0, seed=0):
    # a detector's counts, scaled and offset as a camera or an 8-bit export would
    return gain * np.random.default_rng(seed).poisson(mean).astype(np.float64) + offset


def _skew(values):
    values = values - values.mean()
    return float((values**3).mean() / (values**2).mean() ** 1.5)


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
    from napari_ivae.core.detection import count_skew

    original = count_skew.response_skews
    count_skew.response_skews = lambda *args, **kwargs: np.asarray([skew])
    try:
        background = np.ones((8, 8), dtype=bool)
        response = spread * np.asarray([[[-1.0, 1.0] * 4] * 8])  # a spread of ``spread``
        return float(skewed_levels([level], response, [1.0], np.zeros((8, 8)), background)[0])
    finally:
        count_skew.response_skews = original


def test_the_full_convolution_is_fftconvolves_to_the_bit():
    # symmetrised_skew's filter through the blur, without importing scipy.signal
    from scipy.signal import fftconvolve

    from napari_ivae.core.detection.count_noise import gaussian_kernel
    from napari_ivae.core.detection.count_skew import full_convolution

    rng = np.random.default_rng(3)
    pairs = [
        (gaussian_kernel(width) - gaussian_kernel(2 * width)[:1, :1], gaussian_kernel(blur))
        for width in (0.7, 1.3, 2.5, 4.0)
        for blur in (0.0, 0.4, 1.0, 2.2)
    ]
    pairs += [(rng.normal(size=rng.integers(1, 30, 2)), rng.normal(size=rng.integers(1, 30, 2)))]
    pairs += [(rng.normal(size=(1, 9)), rng.normal(size=(5, 1)))]  # axes of length 1
    for first, second in pairs:
        expected, got = fftconvolve(first, second), full_convolution(first, second)
        assert got.shape == expected.shape and got.tobytes() == expected.tobytes()
