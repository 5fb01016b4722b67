"""Input checks shared by the models: clear InputErrors for bad patches and labels."""

import numpy as np
import pytest

from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import as_label_array, as_patch_array


def test_patches_become_float32_contiguous():
    x = np.arange(2 * 10 * 12, dtype=np.int16).reshape(2, 10, 12)[:, :, ::-1]
    out = as_patch_array(x)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (2, 10, 12)
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize(
    "array, fragment",
    [
        (np.zeros((4, 16, 16, 3)), "colour"),
        (np.zeros((16, 16)), "single 2D"),
        (np.zeros((2, 3, 16, 16)), "(N, H, W)"),
        (np.zeros((0, 16, 16)), "empty"),
        (np.zeros((3, 4, 16)), "too small"),
        (np.array([[[np.nan] * 8] * 8]), "NaN"),
        (np.full((1, 8, 8), np.inf), "NaN or infinite"),
        (np.array([[["a"] * 8] * 8]), "numeric"),
    ],
)
def test_bad_patches_raise_clear_errors(array, fragment):
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        as_patch_array(array)


def test_patch_shape_mismatch_names_both_shapes():
    with pytest.raises(InputError, match="16x16.*24x24"):
        as_patch_array(np.zeros((2, 16, 16)), patch_shape=(24, 24))


def test_labels_valid():
    out = as_label_array([0, -1, 1, 2.0], 4, 3)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [0, -1, 1, 2])


@pytest.mark.parametrize(
    "labels, fragment",
    [
        ([0, 1, 3], "out of range"),
        ([0, -2, 1], "out of range"),
        ([-1, -1, -1], "no labeled patch"),
        ([1, 1, -1], "only class 1"),
        ([0, 1], "one value per patch"),
        ([0.5, 1, -1], "whole numbers"),
    ],
)
def test_bad_labels_raise_clear_errors(labels, fragment):
    with pytest.raises(InputError, match=fragment):
        as_label_array(labels, 3, 3)


def test_unlabeled_allowed_when_not_required():
    np.testing.assert_array_equal(as_label_array([-1, -1], 2, 2, require_labeled=False), [-1, -1])
