"""Particles beside zero-filled corners: the step into the padding is no background."""

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from napari_ivae.core.detection import particle_blobs
from napari_ivae.core.detection.particle_threshold import background_strengths, measured_pixels
from napari_ivae.core.detection.particles import detect_particles


def _rotated_film(seed):
    """Dark particles of graded depth on a carbon film's grain, 80 counts of shot noise, the
    frame rotated by 17 degrees for display with zero-filled corners (a model of its own, not
    the benchmarks' generators). Returns the frame and the particles' centres in it."""
    rng = np.random.default_rng(seed)
    size = 400
    grain = ndimage.gaussian_filter(rng.standard_normal((size, size)), 1.5)
    frame = 1.0 + 0.06 * grain / grain.std()
    rows, cols = np.mgrid[:size, :size]
    centres = np.array(
        [
            (row + rng.uniform(-6, 6), col + rng.uniform(-6, 6))
            for row in range(40, size - 30, 45)
            for col in range(40, size - 30, 45)
        ]
    )
    depth = rng.permutation(np.linspace(0.25, 0.6, len(centres)))
    for (row, col), d in zip(centres, depth):
        frame *= 1 - d * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 4.0**2))
    counts = rng.poisson(frame * 80).astype(np.float32)
    angle = np.deg2rad(17.0)
    rotated = ndimage.rotate(counts, 17.0, reshape=True, order=1, cval=0.0)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre_in, centre_out = (np.array(counts.shape) - 1) / 2, (np.array(rotated.shape) - 1) / 2
    return rotated, (centres - centre_in) @ turn.T + centre_out


def test_particles_beside_zero_filled_corners_are_found():
    # before: the step into the corners set what the background reaches at every scale
    # (5 x the particles' strength), and not one of the 64 particles was kept
    for seed in (0, 1):
        frame, truth = _rotated_film(seed)
        found = detect_particles(frame).coords[:, 1:]
        assert len(found)
        hit = cKDTree(found).query(truth)[0] <= 4.0
        false = cKDTree(truth).query(found)[0] > 4.0
        assert hit.mean() >= 0.9, (seed, hit.sum())
        assert false.sum() <= 2, (seed, false.sum())


def test_background_bound_beside_padding_is_the_texture_s():
    rng = np.random.default_rng(5)
    film = 60.0 + ndimage.gaussian_filter(rng.standard_normal((256, 256)), 1.5) * 4.0
    padded = film.copy()
    rows, cols = np.mgrid[:256, :256]
    corner = rows + cols < 90  # a zero-filled corner, as a rotated frame's
    padded[corner] = 0.0
    scales = np.array([2.0, 3.0, 4.0])
    plain = background_strengths(particle_blobs.scale_space(film, scales), scales, "dark")
    beside = background_strengths(
        particle_blobs.scale_space(padded, scales), scales, "dark", corner
    )
    # before: 11-14 x the film's own bound (the step's bright side)
    np.testing.assert_allclose(beside, plain, rtol=0.15)


def test_measured_pixels_leave_out_the_filter_s_reach_of_skipped_ones():
    skip = np.zeros((64, 64), dtype=bool)
    skip[:, :10] = True
    uses = measured_pixels(skip.shape, skip, [1.0, 2.0])
    assert not uses[0][:, :14].any() and uses[0][:, 14:].all()
    assert not uses[1][:, :18].any() and uses[1][:, 18:].all()
    # nothing skipped: every pixel; everything within reach: the unskipped ones
    assert all(use.all() for use in measured_pixels(skip.shape, None, [1.0]))
    assert (measured_pixels(skip.shape, skip, [40.0])[0] == ~skip).all()
