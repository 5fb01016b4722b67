"""One-sided pixel noise's tails read from moderate quantiles (no noise line)."""

import numpy as np

from napari_ivae.core.detection.noise_tails import fitted_tail_levels


def test_fitted_tail_levels_leave_symmetric_noise_as_it_is():
    rng = np.random.default_rng(2)
    scales = np.array([1.0, 1.5, 2.0])
    levels = np.array([1.0, 0.8, 0.6])
    background = np.ones((256, 256), dtype=bool)
    symmetric = rng.normal(size=background.shape)
    same = fitted_tail_levels(levels, scales, symmetric, background)
    assert np.all(same >= levels) and np.all(same <= 1.1 * levels)
    one_sided = rng.exponential(size=background.shape)
    raised = fitted_tail_levels(levels, scales, one_sided, background)
    assert np.all(raised > 1.3 * levels)
    # blurred noise is no set of independent pixels: its order says something
    blurred = fitted_tail_levels(levels, scales, ndimage_blur(one_sided), background)
    assert np.array_equal(blurred, levels)


def ndimage_blur(frame):
    from scipy import ndimage

    return ndimage.gaussian_filter(frame, 1.0)


def test_fitted_tail_levels_are_not_lengthened_by_faint_particles_in_the_background():
    # faint particles missed in the background (a dense fluorescence frame's) are few: they
    # barely reach the pixels' moderate quantiles, but read from the pixels themselves (drawn
    # at random) their light lengthened the spots' side's tail by half (1.42-1.59 at 1 px)
    from scipy import ndimage

    scales = np.array([1.0, 1.5, 2.0])
    levels = np.array([1.0, 0.8, 0.6])
    background = np.ones((256, 256), dtype=bool)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        light = np.zeros(background.shape)
        spots = rng.integers(0, 256, (120, 2))
        np.add.at(light, tuple(spots.T), 5.0 * 2.0 * np.pi)  # peaks 5 x the noise
        frame = rng.normal(size=background.shape) + ndimage.gaussian_filter(light, 1.0)
        held = fitted_tail_levels(levels, scales, frame, background)
        assert np.all(held <= 1.05 * levels)
