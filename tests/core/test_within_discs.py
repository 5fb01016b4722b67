"""within_discs: the pixels within each centre's radius, as tested pixel by pixel."""

import numpy as np

from napari_ivae.core.detection.particle_discs import within_discs


def _pixel_by_pixel(shape, centres, radii):
    rows, cols = np.indices(shape)
    near = np.zeros(shape, dtype=bool)
    for (row, col), radius in zip(centres, radii):
        near |= (rows - row) ** 2 + (cols - col) ** 2 <= radius**2
    return near


def test_within_discs_equals_the_pixel_by_pixel_test_inside_on_and_beyond_the_edge():
    rng = np.random.default_rng(3)
    for case in range(120):
        shape = tuple(int(n) for n in rng.integers(1, 60, 2))
        count = int(rng.integers(0, 25))
        centres = np.stack(
            [rng.integers(-4, shape[0] + 4, count), rng.integers(-4, shape[1] + 4, count)], axis=1
        )
        if case % 2:  # a few radii shared by many centres (the blobs' scales)
            radii = rng.choice([0.0, 1.0, 2.5, 4.0, 9.3], count)
        else:
            radii = rng.uniform(0.0, 12.0, count)
        np.testing.assert_array_equal(
            within_discs(shape, centres, radii), _pixel_by_pixel(shape, centres, radii)
        )


def test_within_discs_of_a_large_frame_marks_whole_discs():
    centres = np.array([[100, 100], [100, 112], [0, 0], [399, 250]])
    near = within_discs((400, 300), centres, np.array([5.0, 5.0, 3.0, 7.5]))
    np.testing.assert_array_equal(near, _pixel_by_pixel((400, 300), centres, [5.0, 5.0, 3.0, 7.5]))
    assert near[100, 95] and not near[100, 94] and near[2, 2] and not near[3, 3]
