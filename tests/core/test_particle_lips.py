"""The blobs along the lip of a step between two levels are no particles (issue 9)."""

import numpy as np

from napari_ivae.core.detection.particle_lips import on_lips

ROW = np.array([[40, 97], [50, 97], [60, 97], [70, 97], [80, 97]])  # along the lip


def _frame():
    """Signal (particles positive): a film (0) left of a vacuum (-1) with a lip (+0.4) along
    the step, a round particle and a rod on the film."""
    r, c = np.mgrid[0:160, 0:160].astype(float)
    signal = np.where(c < 100, 0.0, -1.0)
    signal += 0.4 * np.exp(-((c - 97) ** 2) / 8)  # the lip
    signal += np.exp(-((r - 40) ** 2 + (c - 40) ** 2) / 18)  # a round particle
    signal += np.exp(-((c - 60) ** 2) / 8) * ((r > 90) & (r < 140))  # a rod along the rows
    return signal


def _radius(points):
    return np.full(len(points), 4.0)


def test_a_row_of_blobs_along_a_lip_is_marked_not_particles_or_rods():
    points = np.concatenate([ROW, [[40, 40], [110, 60], [120, 60]]])
    lips = on_lips(_frame(), points, _radius(points), 0.01)
    assert lips.tolist() == [True] * len(ROW) + [False, False, False]


def test_one_blob_on_a_step_is_no_lip():
    """A ridge-like particle in a cluster on a step between a darker and a brighter area passes
    the test alone (real PtCo1): a lip is a row of them."""
    for point in ROW:
        assert on_lips(_frame(), point[None], _radius([point]), 0.01).tolist() == [False]


def test_no_points():
    assert on_lips(np.zeros((10, 10)), np.empty((0, 2), int), np.empty(0), 0.01).shape == (0,)


def test_the_row_beside_a_particle_resting_on_the_lip_goes_the_particle_stays():
    signal = _frame()
    r, c = np.mgrid[0:160, 0:160].astype(float)
    signal += 3.0 * np.exp(-((r - 108) ** 2 + (c - 97) ** 2) / 18)  # a particle on the lip
    points = np.concatenate([ROW, [[93, 97], [108, 97]]])  # the ridge climbs to it at 93
    lips = on_lips(signal, points, _radius(points), 0.01)
    assert lips.tolist() == [True] * len(ROW) + [True, False]


def test_a_scan_line_between_two_line_offsets_is_no_lip():
    offsets = 2.0 * np.random.default_rng(0).standard_normal(160)
    offsets[42:50], offsets[50], offsets[51:59] = 1.0, 6.0, -1.0  # a bright line on a "step"
    signal = offsets[:, None] + 0.3 * np.random.default_rng(1).standard_normal((160, 160))
    points = np.array([[50, c] for c in range(40, 130, 6)])
    assert not on_lips(signal, points, np.full(len(points), 2.0), 0.3).any()


def test_a_step_within_the_noise_is_no_lip():
    signal = 0.1 * _frame()  # the vacuum 0.1 below the film
    assert on_lips(signal, ROW, _radius(ROW), 0.01).all()
    assert not on_lips(signal, ROW, _radius(ROW), 0.3).any()


def test_the_ridge_directions_of_blobs_read_together_are_each_blobs_own():
    # blobs of one scale read as one stack, and blobs the frame's edge cuts, give the Hessian
    # of the frame smoothed alone around each: gaussian_at on that blob's own window (the same
    # numbers), within rounding of scipy's filter of it
    from scipy import ndimage

    from napari_ivae.core.detection.gaussian_points import gaussian_at
    from napari_ivae.core.detection.particle_lips import _directions

    rng = np.random.default_rng(3)
    frame = ndimage.gaussian_filter(rng.standard_normal((90, 120)), 2.0).cumsum(axis=0)
    points = np.array([[45, 60], [30, 80], [60, 30], [2, 5], [88, 119], [45, 61]])
    radius = np.array([4.0, 4.0, 4.0, 4.0, 6.0, 1.0])
    found = _directions(frame, points, radius)
    for (row, col), blob_radius, (across, along) in zip(points, radius, found):
        sigma = max(blob_radius / np.sqrt(2.0), 1.0)
        reach = int(4.0 * sigma + 0.5)
        low = np.maximum([row - reach, col - reach], 0)
        near = frame[low[0] : row + reach + 1, low[1] : col + reach + 1]
        at = (row - low[0], col - low[1])
        orders = ((2, 0), (1, 1), (0, 2))
        hessian = [float(gaussian_at(near, sigma, order, [at[0]], [at[1]])[0]) for order in orders]
        filtered = [ndimage.gaussian_filter(near, sigma, order=order)[at] for order in orders]
        assert np.allclose(hessian, filtered, rtol=1e-12, atol=1e-12)
        _, vectors = np.linalg.eigh(np.array([hessian[:2], hessian[1:]]))
        assert np.array_equal(across, vectors[:, 0]) and np.array_equal(along, vectors[:, 1])
