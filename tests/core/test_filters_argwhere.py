"""_filters.argwhere: np.argwhere's array from the mask's flat indices."""

import numpy as np

from napari_ivae.core.detection._filters import argwhere


def test_argwhere_is_numpys_array_for_every_shape_and_fill():
    rng = np.random.default_rng(2)
    for shape in [(0,), (7,), (5, 9), (3, 40, 50), (2, 3, 4, 5), (4, 0, 6)]:
        for share in (0.0, 0.03, 0.5, 1.0):
            mask = rng.random(shape) < share
            expected, found = np.argwhere(mask), argwhere(mask)
            np.testing.assert_array_equal(found, expected)
            assert found.shape == expected.shape and found.dtype == expected.dtype
            assert found.strides == expected.strides or found.size == 0


def test_argwhere_of_a_scale_space_maxima_mask_in_row_major_order():
    values = np.random.default_rng(4).standard_normal((6, 120, 90)).astype(np.float32)
    found = argwhere(values > 2.5)
    assert (values[tuple(found.T)] > 2.5).all() and len(found) == int((values > 2.5).sum())
    flat = np.ravel_multi_index(tuple(found.T), values.shape)
    assert (np.diff(flat) > 0).all()
