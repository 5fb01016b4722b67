"""The lower octave's particles over the first search's points:
core/detection/particle_range_overlaps.py."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_range_overlaps import uncentred


def _large_and_small(shape=(128, 128)):
    """A disc of radius 10 at (60, 50) and a Gaussian blob of sigma 2 at (60, 75)."""
    rows, cols = np.indices(shape)
    frame = ((rows - 60.0) ** 2 + (cols - 50.0) ** 2 <= 10.0**2).astype(np.float64)
    frame += 1.5 * np.exp(-((rows - 60.0) ** 2 + (cols - 75.0) ** 2) / (2 * 2.0**2))
    return frame


def test_a_point_between_two_particles_is_uncentred():
    """A point between the large particle and the small one (its response climbs to the large
    one) is uncentred; the large particle's own point and a point of its own away from both
    are not, even with a lower particle over them."""
    frame = _large_and_small()
    points = np.array([[60, 50], [60, 63], [105, 105]])
    radius = np.array([12.0, 8.8, 8.8])
    small = (np.array([[60, 75], [58, 45], [105, 107]]), np.array([3.5, 3.5, 3.5]))
    assert uncentred(frame, points, radius, small).tolist() == [False, True, False]


def test_nothing_over_a_point_leaves_it():
    """A point no lower particle overlaps is not measured (not uncentred)."""
    frame = _large_and_small()
    points = np.array([[60, 50], [60, 63]])
    radius = np.array([12.0, 8.8])
    far = (np.array([[10, 10]]), np.array([3.5]))
    assert not uncentred(frame, points, radius, far).any()


def test_covered_blobs_replaces_an_uncentred_first_point():
    """The lower search's small particle over a first point between it and a large particle
    replaces that point; a lower particle over the large particle's own point is not added."""
    from napari_ivae.core.detection.particle_scale_space import blob_scales
    from napari_ivae.core.detection.particle_size_range import covered_blobs

    grid = blob_scales((128, 128))
    floor = grid[8]

    def kept_blobs(filled, masked, skip, requested, below=None):
        if below is None:  # most at the floor: the distribution runs on below it
            points = np.array([[60, 50], [60, 64]])
            points = np.concatenate(
                [points, np.column_stack([np.full(20, 120), 5 * np.arange(20)])]
            )
            sigma = np.concatenate([[10.0 / np.sqrt(2.0), 6.2], np.full(20, floor)])
        else:
            points = np.array([[60, 75], [58, 44]])
            sigma = np.array([grid[4], grid[4]])
        used = {"search_sigmas": [float(floor), float(grid[12])], "polarity": "bright"}
        return points, np.sqrt(2.0) * sigma, np.ones(len(points), dtype=bool), False, used

    points, radius, keep, _, used = covered_blobs(
        kept_blobs, _large_and_small(), None, None, "auto"
    )
    assert used["range_replaced"] == 1 and used["range_added"] == 1
    assert points[keep][:1].tolist() == [[60, 50]]
    assert points[keep][-1].tolist() == [60, 75]
    assert [60, 64] not in points[keep].tolist()
