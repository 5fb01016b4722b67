"""Patch extraction: exact crops, sub-pixel sampling, border policy, grids, stacks, memory."""

import tracemalloc

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.cutting import (
    extract_patches,
    grid_patches,
    load_patches,
    patchset_from_arrays,
    patchset_to_arrays,
)

SEED = 7


@pytest.fixture
def image():
    return np.random.default_rng(SEED).random((40, 50)).astype(np.float32)


@pytest.mark.parametrize("size", [7, 8])
def test_integer_centres_give_exact_crops(image, size):
    coords = np.array([[20, 25], [10, 12], [30, 40]])
    ps = extract_patches(image, coords, size)
    half = size // 2
    for patch, (r, c) in zip(ps.patches, coords):
        np.testing.assert_array_equal(
            patch, image[r - half : r - half + size, c - half : c - half + size]
        )
    assert ps.patches.dtype == np.float32 and ps.patches.flags.c_contiguous
    np.testing.assert_array_equal(ps.indices, [0, 1, 2])
    np.testing.assert_array_equal(ps.frames, [0, 0, 0])
    np.testing.assert_array_equal(ps.centres, coords)
    assert ps.patch_shape == (size, size) and ps.valid is None and not ps.is_grid


@pytest.mark.parametrize("order", [1, 3])
def test_subpixel_centres_match_map_coordinates(image, order):
    centre = np.array([20.5, 25.25])
    ps = extract_patches(image, [centre], 8, order=order)
    rows = centre[0] - 4 + np.arange(8)
    cols = centre[1] - 4 + np.arange(8)
    expected = ndimage.map_coordinates(
        image.astype(np.float64), np.meshgrid(rows, cols, indexing="ij"), order=order, mode="mirror"
    )
    np.testing.assert_allclose(ps.patches[0], expected, atol=1e-5)


def test_half_pixel_shift_is_the_mean_of_neighbours(image):
    ps = extract_patches(image, [[20.5, 25]], 6)
    crop = image[17:24, 22:28].astype(np.float64)  # rows 17.5..22.5 need rows 17..23
    np.testing.assert_allclose(ps.patches[0], 0.5 * (crop[:-1] + crop[1:]), atol=1e-6)


def test_patch_touching_last_row_with_integer_fraction_stays_exact(image):
    # top = 40 - 8 = 32, last row 39: inside exactly; the column is fractional
    ps = extract_patches(image, [[36, 20.5]], 8)
    expected = 0.5 * (image[32:40, 16:24] + image[32:40, 17:25])
    np.testing.assert_allclose(ps.patches[0], expected, atol=1e-6)


def test_subpixel_false_rounds_centres(image):
    ps = extract_patches(image, [[20.4, 25.6]], 5, subpixel=False)
    np.testing.assert_array_equal(ps.centres, [[20, 26]])
    np.testing.assert_array_equal(ps.patches[0], image[18:23, 24:29])


def test_border_drop_records_kept_points(image):
    coords = [[2, 2], [20, 25], [39, 49], [20.5, 3.9], [-5, 10]]
    ps = extract_patches(image, coords, 8, border="drop")
    np.testing.assert_array_equal(ps.indices, [1])
    assert "dropped" in ps.message and "outside" in ps.message


def test_border_flag_keeps_and_marks_reflected_patches(image):
    coords = [[2, 2], [20, 25], [-5, 10]]
    ps = extract_patches(image, coords, 8, border="flag")
    np.testing.assert_array_equal(ps.indices, [0, 1])  # the centre outside the image is dropped
    np.testing.assert_array_equal(ps.valid, [False, True])
    padded = np.pad(image, 8, mode="reflect")
    np.testing.assert_array_equal(ps.patches[0], padded[8 - 2 : 8 + 6, 8 - 2 : 8 + 6])


def test_all_points_on_border_is_a_clear_error(image):
    with pytest.raises(InputError, match="smaller patch"):
        extract_patches(image, [[1, 1], [39, 49]], 8)


@pytest.mark.parametrize(
    ("coords", "size", "match"),
    [
        ([[20, 25]], 64, "larger than"),
        (np.zeros((0, 2)), 8, "No points"),
        ([[np.nan, 3]], 8, "NaN"),
        ([[0, 1, 2, 3]], 8, r"\(N, 2\)"),
        ([[20, 25]], 0, "positive"),
    ],
)
def test_bad_inputs_raise_input_error(image, coords, size, match):
    with pytest.raises(InputError, match=match):
        extract_patches(image, coords, size)


def test_bad_options_and_images_raise():
    good = np.zeros((20, 20))
    with pytest.raises(InputError, match="border"):
        extract_patches(good, [[10, 10]], 4, border="pad")
    with pytest.raises(InputError, match="normalize"):
        extract_patches(good, [[10, 10]], 4, normalize="zscore")
    with pytest.raises(InputError, match="colour"):
        extract_patches(np.zeros((20, 20, 3)), [[10, 10]], 4)
    with pytest.raises(InputError, match="NaN"):
        extract_patches(np.full((20, 20), np.nan), [[10, 10]], 4)


def test_stack_uses_frame_coordinate():
    stack = np.stack([np.full((20, 20), f, dtype=np.float32) for f in range(3)])
    stack[2, 10, 10] = 99
    ps = extract_patches(stack, [[2, 10, 10], [0, 5, 5], [1, 10, 12]], 5)
    np.testing.assert_array_equal(ps.frames, [2, 0, 1])
    assert ps.patches[0, 2, 2] == 99 and ps.patches[0, 0, 0] == 2
    assert np.all(ps.patches[1] == 0) and np.all(ps.patches[2] == 1)
    assert ps.is_stack and ps.n_frames == 3 and ps.image_shape == (20, 20)
    np.testing.assert_array_equal(ps.coords[0], [2, 10, 10])
    with pytest.raises(InputError, match="frame, row, col"):
        extract_patches(stack, [[10, 10]], 5)
    with pytest.raises(InputError, match="frames outside"):
        extract_patches(stack, [[3, 10, 10]], 5)


def test_grid_covers_image_as_documented(image):
    ps = grid_patches(image, 8, 5)
    # rows: (40 - 8) // 5 + 1 = 7, leftover 32 - 30 = 2 -> top 1; cols: (50 - 8) // 5 + 1 = 9, left 1
    assert ps.grid_shape == (7, 9) and ps.stride == 5 and len(ps) == 63
    assert ps.grid_origin == (1 + 4, 1 + 4)
    np.testing.assert_array_equal(ps.centres[0], [5, 5])
    np.testing.assert_array_equal(ps.centres[1], [5, 10])  # row-major
    np.testing.assert_array_equal(ps.centres[9], [10, 5])
    np.testing.assert_array_equal(ps.patches[10], image[6:14, 6:14])
    assert np.all(ps.indices == -1)


def test_grid_on_stack_is_frame_major():
    stack = np.random.default_rng(SEED).random((2, 16, 16))
    ps = grid_patches(stack, 4, 4)
    assert ps.grid_shape == (4, 4) and len(ps) == 32
    np.testing.assert_array_equal(ps.frames, np.repeat([0, 1], 16))
    np.testing.assert_allclose(ps.patches[16 + 5], stack[1, 4:8, 4:8], rtol=1e-6)


def test_grid_errors(image):
    with pytest.raises(InputError, match="stride"):
        grid_patches(image, 8, 0)
    with pytest.raises(InputError, match="larger than"):
        grid_patches(image, 41, 4)


def test_global_normalization_recorded_and_applied(image):
    scaled = image * 10 + 3
    ps = extract_patches(scaled, [[20, 25]], 6, normalize="global")
    norm = ps.normalization
    assert norm["mode"] == "global"
    assert norm["min"] == pytest.approx(scaled.min()) and norm["max"] == pytest.approx(scaled.max())
    raw = ps.patches[0] * (norm["max"] - norm["min"]) + norm["min"]
    np.testing.assert_allclose(raw, scaled[17:23, 22:28], rtol=1e-5)


def test_patch_normalization_scales_each_patch(image):
    ps = extract_patches(image * 5, [[20, 25], [10, 10]], 6, normalize="patch")
    assert ps.normalization["mode"] == "patch"
    np.testing.assert_allclose(ps.patches.reshape(2, -1).min(axis=1), 0)
    np.testing.assert_allclose(ps.patches.reshape(2, -1).max(axis=1), 1)
    raw = ps.patches[1] * (ps.patch_max[1] - ps.patch_min[1]) + ps.patch_min[1]
    np.testing.assert_allclose(raw, image[7:13, 7:13] * 5, rtol=1e-5)
    assert extract_patches(image, [[20, 25]], 6).normalization == {"mode": "none"}


def test_memory_stays_near_output_size():
    rng = np.random.default_rng(SEED)
    image = rng.random((256, 256)).astype(np.float32)
    coords = rng.uniform(10, 245, (12_000, 2))
    tracemalloc.start()
    try:
        ps = extract_patches(image, coords, 16, normalize="patch")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(ps) == 12_000
    assert peak < 1.6 * ps.patches.nbytes


def test_npz_round_trip(tmp_path, image):
    ps = grid_patches(image, 8, 4, normalize="patch")
    path = tmp_path / "p.npz"
    np.savez(path, **patchset_to_arrays(ps))
    back = load_patches(path)
    np.testing.assert_array_equal(back.patches, ps.patches)
    assert (
        back.grid_shape == ps.grid_shape and back.stride == 4 and back.grid_origin == ps.grid_origin
    )
    assert back.normalization == ps.normalization
    np.testing.assert_array_equal(back.patch_min, ps.patch_min)
    with pytest.raises(InputError, match="missing"):
        patchset_from_arrays({"patches": ps.patches})


def test_atoms_at_subpixel_positions_sit_at_the_patch_centre():
    from napari_ivae.core.synthetic.lattice import make_lattice

    lattice = make_lattice((96, 96), spacing=12.0, noise=0.0, rotation=17.0, seed=SEED)
    ps = extract_patches(lattice.image, lattice.positions, 9)
    assert len(ps) > 20
    mean_patch = ps.patches.mean(axis=0)
    assert np.unravel_index(np.argmax(mean_patch), mean_patch.shape) == (4, 4)
    # symmetric about the centre: sub-pixel sampling introduced no half-pixel shift
    np.testing.assert_allclose(mean_patch, mean_patch[::-1, ::-1], atol=0.02 * mean_patch.max())


SHARED_AU = "../shared/data/atoms/stem_au_nanoparticle_temul"


@pytest.mark.shared_data
def test_real_au_columns_are_centred(request):
    from pathlib import Path

    folder = Path(request.config.rootpath) / SHARED_AU
    if not folder.exists():
        pytest.skip("../shared data not available")
    image = np.load(folder / "au_np_crop.npy")
    xy = np.load(folder / "au_np_crop_positions_xy.npy")
    ps = extract_patches(image, xy[:, ::-1], 15, normalize="patch")
    assert len(ps) > 100
    mean_patch = ps.patches.mean(axis=0)
    peak = np.unravel_index(np.argmax(mean_patch), mean_patch.shape)
    assert abs(peak[0] - 7) <= 1 and abs(peak[1] - 7) <= 1


def test_given_value_range_reproduces_a_recorded_normalization(image):
    first = grid_patches(image, 8, 8, normalize="global")
    norm = first.normalization
    brighter = image * 0.5  # a new image with another range is scaled like the first
    again = grid_patches(brighter, 8, 8, normalize="global", value_range=(norm["min"], norm["max"]))
    lo, hi = norm["min"], norm["max"]
    raw = first.patches * (hi - lo) + lo
    np.testing.assert_allclose(
        again.patches, np.clip((raw * 0.5 - lo) / (hi - lo), 0, 1), atol=1e-5
    )
    assert again.normalization["min"] == norm["min"]
    with pytest.raises(InputError, match="max > min"):
        extract_patches(image, [[20, 20]], 8, normalize="global", value_range=(1, 1))
    with pytest.raises(InputError, match="only used"):
        extract_patches(image, [[20, 20]], 8, value_range=(0, 1))


def test_registered_grid_patches_start_on_the_lattice():
    from scipy.spatial import cKDTree

    from napari_ivae.core.synthetic.lattice import make_lattice

    lattice = make_lattice((96, 96), spacing=12.0, noise=0.05, domains=2, seed=0)
    plain = grid_patches(lattice.image, 24, 6, register=False)
    registered = grid_patches(lattice.image, 24, 6)  # default: registered, the image is a lattice
    assert plain.shifts is None and registered.shifts is not None
    np.testing.assert_array_equal(registered.centres, plain.centres)  # the grid is unchanged
    assert "registered" in registered.message
    tree = cKDTree(lattice.positions)
    on_atom = lambda centres: np.mean(tree.query(centres)[0] <= 1.5)  # noqa: E731
    assert on_atom(registered.centres + registered.shifts) > 0.9 > 0.3 > on_atom(plain.centres)
    n = 17
    r, c = (registered.centres[n] + registered.shifts[n]).astype(int)
    np.testing.assert_array_equal(
        registered.patches[n], lattice.image[r - 12 : r + 12, c - 12 : c + 12]
    )
    assert np.all(np.abs(registered.shifts) <= 12.0)
    again = patchset_from_arrays(patchset_to_arrays(registered))
    np.testing.assert_array_equal(again.shifts, registered.shifts)
    with pytest.raises(InputError, match="spacing"):
        grid_patches(np.random.default_rng(0).random((64, 64)), 16, 4, register=True)
