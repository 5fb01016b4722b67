"""Particles cut by the frame's edge: centres from the outline left inside the frame."""

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection import particle_edges


def _cut_discs(seed, shape=(200, 240)):
    """Dark spheres (r 8-14) on a flat background, 60 counts of shot noise, each cut by one of
    the four edges with its centre 2-7 px inside (a model of its own, not the benchmarks'
    generators). Returns the polarity-positive frame, the true centres and radii."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape)
    thickness = np.zeros(shape)
    centres, radii = [], []
    for side, along in ((0, 60), (1, 150), (2, 90), (3, 40), (0, 170), (2, 190)):
        radius, depth = rng.uniform(8, 14), rng.uniform(2, 7)
        centre = {
            0: (depth, along),
            1: (along, shape[1] - 1 - depth),
            2: (shape[0] - 1 - depth, along),
            3: (along, depth),
        }[side]
        thickness += 2 * np.sqrt(
            np.clip(radius**2 - (rows - centre[0]) ** 2 - (cols - centre[1]) ** 2, 0, None)
        )
        centres.append(centre)
        radii.append(radius)
    ideal = ndimage.gaussian_filter(60 * np.exp(-thickness / 30.0), 0.8)
    frame = rng.poisson(ideal).astype(np.float32)
    return -frame, np.array(centres), np.array(radii)


def _on_edge(centres, shape):
    """The maxima a mirrored scale space gives such particles: on the nearest edge."""
    points = np.round(centres).astype(int)
    for point in points:
        far = np.array(shape) - 1 - point
        axis = int(np.argmin(np.minimum(point, far)))
        point[axis] = 0 if point[axis] < far[axis] else shape[axis] - 1
    return points


def test_cut_particles_get_their_centres_inside_the_frame():
    for seed in (0, 1, 2):
        signal, truth, radii = _cut_discs(seed)
        points = _on_edge(truth, signal.shape)
        assert particle_edges.on_edge(points, signal.shape).all()
        placed = particle_edges.cut_centres(signal, points, 1.2 * radii)
        error = np.hypot(*(placed - truth).T)
        assert error.max() <= 1.5, (seed, error.round(1))
        assert particle_edges.inside_frame(placed, signal.shape).all(), seed


def test_blobs_off_the_edge_keep_their_maxima():
    signal, truth, radii = _cut_discs(0)
    points = np.array([[50, 50], [100, 120], [1, 30]])
    placed = particle_edges.cut_centres(signal, points, np.full(3, 10.0))
    assert np.array_equal(placed, points.astype(float))


def test_background_bump_inside_is_no_cut_particle():
    # a smooth bump 20 px inside: its level lines do not reach the edge, so the blob the
    # mirror made on the edge is not moved inside (where it would count as a particle)
    rng = np.random.default_rng(3)
    rows, cols = np.indices((160, 160))
    signal = 8.0 * np.exp(-((rows - 20.0) ** 2 + (cols - 80.0) ** 2) / (2 * 8.0**2))
    signal = (signal + rng.normal(0, 0.5, signal.shape)).astype(np.float32)
    placed = particle_edges.cut_centres(signal, np.array([[0, 80]]), np.array([20.0]))
    assert not particle_edges.inside_frame(placed, signal.shape).any(), placed


def test_noise_on_the_edge_stays_there():
    # white noise mirrored at the edge makes blobs there; the level lines around them do not
    # reach the edge where a fitted circle says (no particle cut by it)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        signal = ndimage.gaussian_filter(rng.standard_normal((120, 120)), 1.0).astype(np.float32)
        column = int(np.argmax(signal[0, 20:100])) + 20
        for radius in (5.0, 7.0):
            placed = particle_edges.cut_centres(signal, np.array([[0, column]]), np.array([radius]))
            assert not particle_edges.inside_frame(placed, signal.shape).any(), (seed, placed)


def test_ragged_level_lines_are_no_outline():
    # coarser noise whose level lines do reach the edge beside the blob: they are no circle
    for seed, radius in ((4, 7.0), (10, 7.0), (10, 11.0)):
        rng = np.random.default_rng(seed)
        signal = ndimage.gaussian_filter(rng.standard_normal((120, 120)), 2.0).astype(np.float32)
        column = int(np.argmax(signal[0, 20:100])) + 20
        placed = particle_edges.cut_centres(signal, np.array([[0, column]]), np.array([radius]))
        assert not particle_edges.inside_frame(placed, signal.shape).any(), (seed, placed)


def test_faint_undulation_at_the_edge_is_no_particle():
    # a slow bump of half a pixel's noise whose round level lines do cross the edge: at the
    # blob's scale it is the background's undulation, not a particle (blank frames had them)
    for sigma, radius, height in ((20.0, 30.0, 0.5), (15.0, 24.0, 0.6)):
        rng = np.random.default_rng(1)
        rows, cols = np.indices((200, 200))
        bump = height * np.exp(-((rows - 5.0) ** 2 + (cols - 100.0) ** 2) / (2 * sigma**2))
        signal = (bump + rng.standard_normal(bump.shape)).astype(np.float32)
        placed = particle_edges.cut_centres(signal, np.array([[0, 100]]), np.array([radius]))
        assert not particle_edges.inside_frame(placed, signal.shape).any(), (sigma, placed)


def test_edge_rule_reads_fitted_centres_on_the_edge_only():
    # a blob off the edge keeps the half-radius rule; one on it is kept by its fitted centre
    points = np.array([[4, 50], [0, 50], [0, 80], [50, 50]])
    centres = np.array([[4.0, 50.0], [5.0, 50.0], [0.4, 80.0], [50.0, 50.0]])
    radius = np.array([12.0, 12.0, 12.0, 12.0])
    clear = particle_edges.clear_of_edge(points, centres, radius, (100, 100))
    assert clear.tolist() == [False, True, False, True]


def test_inside_frame_needs_a_pixel():
    centres = np.array([[0.5, 50.0], [1.0, 50.0], [50.0, 98.5], [50.0, 98.0], [-3.0, 4.0]])
    assert particle_edges.inside_frame(centres, (100, 100)).tolist() == [
        False,
        True,
        False,
        True,
        False,
    ]
