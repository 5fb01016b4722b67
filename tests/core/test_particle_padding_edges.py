"""Particles beside zero-filled corners: the step into the padding is no background."""

import numpy as np
import pytest
from _particle_data import sparse_low_dose
from scipy import ndimage
from scipy.spatial import cKDTree

from napari_ivae.core.detection import particle_scale_space
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
    plain = background_strengths(particle_scale_space.scale_space(film, scales), scales, "dark")
    beside = background_strengths(
        particle_scale_space.scale_space(padded, scales), scales, "dark", corner
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


@pytest.mark.parametrize(
    ("polarity", "width", "value"),
    [("bright", 10, 0.0), ("bright", 20, "max"), ("dark", 20, "max")],
)
def test_the_step_into_a_constant_frame_is_no_ridge_of_particles(polarity, width, value):
    # before: the step from the data to a frame of zeros (bright particles) or of the data's
    # maximum (dark ones) read as a ridge of blobs along the data's edge: bright in zeros
    # P 0.824 (90 of 227 found within 8 px of the edge), dark in white P 0.898; bright in
    # white flipped the polarity to the ridge's (P 0)
    truth = sparse_low_dose(polarity, 0)
    image = truth.image.astype(np.float32)
    fill = float(image.max()) if value == "max" else value
    found = detect_particles(np.pad(image, width, constant_values=fill)).coords[:, 1:] - width
    inside = ((truth.centres >= 3.0) & (truth.centres < 381.0)).all(axis=1)
    kept = ((found >= 3.0) & (found < 381.0)).all(axis=1)
    hit = cKDTree(found).query(truth.centres[inside])[0] <= 6.0
    false = cKDTree(truth.centres).query(found[kept])[0] > 6.0
    assert hit.mean() >= 0.85, hit.mean()
    assert false.mean() <= 0.03, false.mean()


def test_padding_is_filled_with_the_data_mirrored_at_its_edge():
    from napari_ivae.core.detection.particle_padding import mirrored, padding_and_edges

    rng = np.random.default_rng(0)
    data = rng.random((200, 250)).astype(np.float32)
    frame = np.pad(data, ((0, 0), (6, 0)))  # 6 columns of zeros on the left
    flat = frame == 0
    flat[100:120, 125:145] = True  # an interior region: not padding
    padding, nearest = padding_and_edges(flat, np.zeros_like(flat))
    assert padding[:, :6].all() and not padding[:, 6:].any()
    out = mirrored(frame.copy(), padding, nearest)
    # a patch of zeros covering a few pixels of the edge (zero counts in a dark vacuum) is none
    patch = np.zeros_like(flat)
    patch[:12, 100:112] = True
    assert not padding_and_edges(patch, np.zeros_like(flat))[0].any()
    # column 6 - k takes column 6 + k (the edge's own column is the mirror)
    np.testing.assert_array_equal(out[:, :6], frame[:, 12:6:-1])
    np.testing.assert_array_equal(out[:, 6:], frame[:, 6:])


def test_the_constant_background_of_a_noise_free_render_is_no_padding():
    from napari_ivae.core.detection.particle_padding import padding_and_edges

    # binary discs on exact zeros: the zeros reach the frame's edge, but the discs are
    # islands no wider than a particle, not data ended by padding (mirrored into, the
    # zeros took the discs' value and 3 of 20 discs were found)
    rows, cols = np.mgrid[:300, :300]
    centres = np.random.default_rng(0).uniform(30, 270, (20, 2))
    frame = np.zeros((300, 300), dtype=np.float32)
    for row, col in centres:
        frame[(rows - row) ** 2 + (cols - col) ** 2 <= 36] = 1.0
    padding, _ = padding_and_edges(frame == 0, np.zeros(frame.shape, dtype=bool))
    assert not padding.any()
    found = detect_particles(frame).coords[:, 1:]
    assert len(found) >= 18
