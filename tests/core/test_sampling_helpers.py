"""The patch checks and scalings shared by extract_patches / grid_patches (in memory) and
PatchSource (cut on demand): one grid, one rule for kept points, one min-max scaling."""

import numpy as np
import pytest

from napari_ivae.core.errors import InputError
from napari_ivae.core.patches import _sampling as sampling
from napari_ivae.core.patches.cutting import extract_patches, grid_patches
from napari_ivae.core.patches.source import PatchSource


def test_the_grid_is_centred_with_the_odd_pixel_at_the_bottom_right():
    stride, grid_shape, (top, left), rows, cols, centres = sampling.grid_layout(
        (21, 20), (8, 8), np.int64(4), n_frames=2
    )
    assert stride == 4 and type(stride) is int and grid_shape == (4, 4)
    assert (top, left) == (0, 0)  # 13 = 3 * 4 + 1 rows left over: 0 above, 1 below
    np.testing.assert_array_equal(rows, [4, 8, 12, 16])
    np.testing.assert_array_equal(cols, [4, 8, 12, 16])
    assert centres.shape == (32, 2) and np.array_equal(centres[:16], centres[16:])
    np.testing.assert_array_equal(centres[1], [4, 8])  # row by row
    for bad in (0, 2.5, True):
        with pytest.raises(InputError, match="stride must be a positive integer"):
            sampling.grid_layout((21, 20), (8, 8), bad, 1)


def test_kept_points_drop_or_flag_the_border_and_say_so():
    coords = [[10.0, 10.0], [1.0, 10.0], [-3.0, 4.0]]  # inside, crossing, outside
    drop = sampling.kept_points(coords, 1, False, (6, 6), (20, 20), "drop", True)
    assert drop.indices.tolist() == [0] and drop.valid is None
    assert "1 of 3 points lie outside" in drop.message and "were dropped" in drop.message
    flag = sampling.kept_points(coords, 1, False, (6, 6), (20, 20), "flag", True)
    assert flag.indices.tolist() == [0, 1] and flag.valid.tolist() == [True, False]
    assert "reflected edges" in flag.message
    rounded = sampling.kept_points([[10.4, 9.6]], 1, False, (6, 6), (20, 20), "drop", False)
    np.testing.assert_array_equal(rounded.centres, [[10.0, 10.0]])
    with pytest.raises(InputError, match="All 1 patches of 6x6 px cross the border"):
        sampling.kept_points([[1.0, 1.0]], 1, False, (6, 6), (20, 20), "drop", True)


def test_min_max_scalings_give_the_unit_range():
    rng = np.random.default_rng(0)
    patches = rng.normal(3.0, 2.0, (5, 4, 4)).astype(np.float32)
    each = patches.copy()
    pmin, pmax = sampling.scale_each(each)
    np.testing.assert_array_equal(pmin, patches.reshape(5, -1).min(axis=1))
    assert each.reshape(5, -1).min(axis=1).tolist() == [0.0] * 5
    np.testing.assert_allclose(each.reshape(5, -1).max(axis=1), 1.0, rtol=1e-6)
    whole = patches.copy()
    sampling.scale_global(whole, 1.0, 5.0)
    np.testing.assert_allclose(whole, np.clip((patches - 1.0) / 4.0, 0, 1), rtol=1e-6)
    assert sampling.minmax_record("global", 1.0, 5.0)["min"] == 1.0
    assert "min" not in sampling.minmax_record("patch")


@pytest.mark.parametrize("normalize", ["none", "patch", "global"])
def test_memory_and_source_share_the_grid_and_the_scaling(normalize):
    image = np.random.default_rng(2).random((2, 50, 47)).astype(np.float32)
    held = grid_patches(image, 12, 5, normalize=normalize, register=False)
    cut = PatchSource.grid(image, 12, 5, normalize=normalize, register=False).patchset()
    np.testing.assert_array_equal(held.patches, cut.patches)
    np.testing.assert_array_equal(held.centres, cut.centres)
    assert held.grid_origin == cut.grid_origin and held.normalization == cut.normalization
    coords = np.column_stack(
        [np.repeat([0, 1], 20), np.tile(np.linspace(-2, 52, 20), 2), np.full(40, 20.5)]
    )
    held = extract_patches(image, coords, 9, normalize=normalize, border="flag")
    cut = PatchSource(image, coords, 9, normalize=normalize, border="flag").patchset()
    np.testing.assert_array_equal(held.patches, cut.patches)
    np.testing.assert_array_equal(held.valid, cut.valid)
    assert held.message == cut.message and held.normalization == cut.normalization
