"""Per-patch values -> maps aligned with the source image."""

import numpy as np
import pandas as pd
import pytest

from napari_ivae.core.analysis.maps import (
    angle_map,
    class_map,
    grid_layer_transform,
    grid_map,
    patch_map,
    point_map,
    wrap_angle,
)
from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.cutting import extract_patches, grid_patches


@pytest.fixture
def grid():
    # 40 x 50 image, 8 px patches every 5 px: grid 7 x 9, first centre (5, 5)
    return grid_patches(np.zeros((40, 50), dtype=np.float32), 8, 5)


def test_grid_map_cells_are_centred_on_patch_centres(grid):
    values = np.arange(len(grid), dtype=float)
    m = grid_map(values, grid)
    assert m.shape == (40, 50) and m.dtype == np.float32
    for k in (0, 10, 62):
        r, c = grid.centres[k].astype(int)
        assert m[r, c] == k
        # the whole 5 x 5 cell centred on the centre (rows r-2..r+2) has the value
        assert np.all(m[r - 2 : r + 3, c - 2 : c + 3] == k)
    # rows 0..2 lie before the first cell ([2.5, 7.5)), the last cell ends at row 37
    assert np.isnan(m[:3]).all() and np.isnan(m[38:]).all() and not np.isnan(m[3:38, 3:48]).any()


def test_grid_map_extend_to_patches_fills_patch_covered_border(grid):
    m = grid_map(np.arange(len(grid), dtype=float), grid, extend_to_patches=True)
    # first patch covers rows/cols 1..8, last covers rows 31..38 and cols 41..48
    assert m[1, 1] == 0 and np.isnan(m[0, 0]) and np.isnan(m[39, 49])
    assert m[38, 48] == len(grid) - 1


def test_grid_map_without_upsampling_and_its_napari_transform(grid):
    values = np.arange(len(grid), dtype=float)
    small = grid_map(values, grid, upsample=False)
    assert small.shape == (7, 9)
    np.testing.assert_array_equal(small.ravel(), values)
    transform = grid_layer_transform(grid)
    assert transform == {"scale": (5.0, 5.0), "translate": (5.0, 5.0)}


def test_grid_map_multichannel_and_stack():
    ps = grid_patches(np.zeros((2, 20, 20)), 4, 4)
    values = np.column_stack([np.arange(len(ps)), -np.arange(len(ps))]).astype(float)
    m = grid_map(values, ps)
    assert m.shape == (2, 20, 20, 2) and ps.grid_shape == (5, 5)
    r, c = ps.centres[25 + 3].astype(int)
    np.testing.assert_array_equal(m[1, r, c], [28, -28])
    np.testing.assert_array_equal(m[0, r, c], [3, -3])


def test_point_map_voronoi_places_values_at_points():
    centres = np.array([[10.0, 10.0], [10.0, 30.0], [30.0, 20.0]])
    m = point_map([1.0, 2.0, 3.0], centres, (40, 40), max_distance=12)
    assert m.shape == (40, 40)
    assert m[10, 10] == 1 and m[10, 30] == 2 and m[30, 20] == 3
    assert m[10, 19] == 1 and m[10, 21] == 2  # nearest point wins
    assert np.isnan(m[0, 39]) and np.isnan(m[39, 0])  # beyond max_distance


def test_point_map_default_mask_is_relative_to_spacing():
    rr, cc = np.mgrid[10:31:5, 10:31:5]
    centres = np.column_stack([rr.ravel(), cc.ravel()]).astype(float)
    m = point_map(np.ones(len(centres)), centres, (60, 60))
    # spacing 5 -> max distance 7.5
    assert m[20, 20] == 1 and m[30, 37] == 1 and np.isnan(m[30, 38]) and np.isnan(m[50, 50])


def test_gaussian_is_smooth_and_normalised_voronoi_is_piecewise():
    rng = np.random.default_rng(5)
    centres = rng.uniform(5, 55, (150, 2))
    constant = point_map(np.full(150, 2.5), centres, (60, 60), method="gaussian")
    finite = np.isfinite(constant)
    np.testing.assert_allclose(constant[finite], 2.5, rtol=1e-5)  # normalised splatting
    values = centres[:, 1] / 10.0  # a ramp along columns
    gauss = point_map(values, centres, (60, 60), method="gaussian", sigma=3.0)
    voronoi = point_map(values, centres, (60, 60))
    target = np.arange(60)[None, :] / 10.0
    both = np.isfinite(gauss) & np.isfinite(voronoi)
    gauss_err = np.abs(np.diff(gauss, axis=1))[both[:, 1:] & both[:, :-1]]
    voronoi_err = np.abs(np.diff(voronoi, axis=1))[both[:, 1:] & both[:, :-1]]
    assert gauss_err.max() < voronoi_err.max()  # no jumps at Voronoi cell edges
    assert np.nanmean(np.abs(gauss - target)) < 0.5


def test_point_map_stack_and_multichannel():
    centres = np.array([[0, 5.0, 5.0], [1, 15.0, 15.0]])
    m = point_map(np.array([[1.0, 10.0], [2.0, 20.0]]), centres, (2, 20, 20), max_distance=30)
    assert m.shape == (2, 20, 20, 2)
    np.testing.assert_array_equal(m[0, 15, 15], [1, 10])  # frame 0 only knows point 0
    np.testing.assert_array_equal(m[1, 5, 5], [2, 20])


def test_patch_map_dispatches_on_patchset():
    image = np.zeros((30, 30), dtype=np.float32)
    ps = extract_patches(image, [[10, 10], [20, 20], [15, 15]], 5)
    m = patch_map([1.0, 2.0, 3.0], ps)
    assert m.shape == image.shape and m[20, 20] == 2
    g = grid_patches(image, 6, 6)
    assert patch_map(np.arange(len(g), dtype=float), g).shape == image.shape


def test_angle_map_is_cyclic():
    centres = np.array([[10.0, 10.0], [10.0, 14.0]])
    angles = np.array([np.pi - 0.05, -np.pi + 0.05])
    wrapped = angle_map(angles + 4 * np.pi, centres=centres, image_shape=(20, 24), max_distance=20)
    assert wrapped[10, 10] == pytest.approx(np.pi - 0.05, abs=1e-5)
    assert -np.pi <= np.nanmin(wrapped) and np.nanmax(wrapped) < np.pi
    # Gaussian averaging of two angles either side of +-pi gives ~pi, not 0
    averaged = angle_map(
        angles, centres=centres, image_shape=(20, 24), method="gaussian", sigma=3, max_distance=20
    )
    assert abs(abs(averaged[10, 12]) - np.pi) < 0.02
    vectors = angle_map(
        [0.0, np.pi / 2], centres=centres, image_shape=(20, 24), form="cos_sin", max_distance=20
    )
    np.testing.assert_allclose(vectors[10, 14], [0, 1], atol=1e-6)
    np.testing.assert_allclose(
        wrap_angle([np.pi, -np.pi, 3 * np.pi / 2]), [-np.pi, -np.pi, -np.pi / 2]
    )


def test_class_map_labels(grid):
    classes = np.arange(len(grid)) % 3 - 1  # -1, 0, 1, ...
    labels = class_map(classes, grid)
    assert labels.dtype == np.int32 and labels.shape == (40, 50)
    r, c = grid.centres[1].astype(int)
    assert labels[r, c] == 1  # class 0 -> 1
    r, c = grid.centres[0].astype(int)
    assert labels[r, c] == 0  # unlabelled -> background
    assert labels[0, 0] == 0  # uncovered -> background
    probs = np.eye(3)[[2, 0]]
    points = class_map(
        probs, centres=np.array([[5.0, 5.0], [5.0, 15.0]]), image_shape=(10, 20), method="gaussian"
    )
    assert points[5, 5] == 3 and points[5, 15] == 1


def test_bad_map_inputs(grid):
    with pytest.raises(InputError, match="one per patch"):
        grid_map(np.zeros(3), grid)
    with pytest.raises(InputError, match="NaN"):
        grid_map(np.full(len(grid), np.nan), grid)
    with pytest.raises(InputError, match="method"):
        point_map([1.0], [[1.0, 1.0]], (5, 5), method="kriging")
    with pytest.raises(InputError, match="frame, row, col"):
        point_map([1.0], [[1.0, 1.0]], (2, 5, 5))
    with pytest.raises(InputError, match="grid patches"):
        grid_map([1.0], extract_patches(np.zeros((9, 9)), [[4, 4]], 3))
    with pytest.raises(InputError, match="PatchSet or both"):
        class_map([0, 1])


def _painted_by_frame(maps_by_frame, values, patchset) -> np.ndarray:
    painted: list = []
    maps_by_frame({"z": values}, patchset, lambda name, frame, a: painted.append(np.array(a)))
    return painted[0]


def test_particle_maps_reach_no_farther_than_the_particles(tmp_path):
    """QA: on a TEM image of 17.5 px particles 45 px apart the z, angle and class maps
    reached 1.5 x the neighbour distance (67 px) and coloured the carbon film (84 % of the
    image for 3 % of particles). Particles with a measured size now reach 1.5 x their median
    radius, in memory, stored tile by tile and frame by frame alike; atoms are unchanged."""
    from napari_ivae.core.analysis.stored_maps import store_maps
    from napari_ivae.core.patches.cutting import load_patches, patchset_to_arrays
    from napari_ivae.core.patches.source import maps_by_frame

    image = np.zeros((120, 120), dtype=np.float32)
    points = np.array([[30.0, 30.0], [30.0, 70.0], [70.0, 30.0], [70.0, 70.0]])  # 40 px apart
    atoms = extract_patches(image, points, 16)
    particles = extract_patches(image, points, 16)
    particles.particle_diameter = 10.0  # reach 7.5 px (atoms: 60 px)
    values = np.arange(1.0, 5.0)
    near, far = (30, 37), (30, 39)  # 7 and 9 px from the first centre
    for ps, reached in ((atoms, (True, True)), (particles, (True, False))):
        z, labels = patch_map(values, ps), class_map(np.arange(4), ps)
        assert (np.isfinite(z[near]), np.isfinite(z[far])) == reached
        assert (labels[near] > 0, labels[far] > 0) == reached
        stored = store_maps({"z": values, "class": np.arange(4)}, ps, tmp_path / str(id(ps)))
        np.testing.assert_array_equal(np.asarray(stored["z"][0]), z)
        np.testing.assert_array_equal(np.asarray(stored["class"][0]), labels)
        np.testing.assert_array_equal(_painted_by_frame(maps_by_frame, values, ps), z)
    assert np.isfinite(patch_map(values, particles)).mean() < 0.1  # four discs of 7.5 px
    np.savez(tmp_path / "p.npz", **patchset_to_arrays(particles))
    assert load_patches(tmp_path / "p.npz").particle_diameter == 10.0
    np.savez(tmp_path / "a.npz", **patchset_to_arrays(atoms))
    assert load_patches(tmp_path / "a.npz").particle_diameter is None


def test_each_particles_map_reaches_its_own_radius(tmp_path):
    """With one diameter per particle, each particle's maps reach 1.5 x its own radius: a
    particle twice the median size is coloured to its rim (the median's reach stopped short
    of it) and a small one not beyond it; in memory, Gaussian, stored and frame by frame
    alike, and kept per patch in the patches file."""
    from napari_ivae.core.analysis.stored_maps import store_maps
    from napari_ivae.core.patches.cutting import load_patches, patchset_to_arrays
    from napari_ivae.core.patches.sizing import patch_diameters
    from napari_ivae.core.patches.source import maps_by_frame

    image = np.zeros((160, 160), dtype=np.float32)
    points = np.array([[40.0, 40.0], [40.0, 110.0], [110.0, 40.0], [110.0, 110.0]])
    table = pd.DataFrame({"equivalent_diameter": [24.0, 10.0, 10.0, np.nan]})  # NaN: median
    particles = extract_patches(image, points, 16)
    particles.particle_diameter = patch_diameters(table, particles.indices)
    np.testing.assert_allclose(particles.particle_diameter, [24.0, 10.0, 10.0, 10.0])
    values = np.arange(1.0, 5.0)
    big_rim, small_out = (40, 40 + 17), (40, 110 + 9)  # 17 px < 18 (own); 9 px > 7.5 (own)
    z = patch_map(values, particles)
    assert np.isfinite(z[big_rim]) and not np.isfinite(z[small_out])
    median = extract_patches(image, points, 16)
    median.particle_diameter = 10.0  # the median's reach (7.5 px) leaves the big rim out
    assert not np.isfinite(patch_map(values, median)[big_rim])
    smooth = patch_map(values, particles, method="gaussian")
    np.testing.assert_array_equal(np.isfinite(smooth), np.isfinite(z))
    stored = store_maps({"z": values}, particles, tmp_path / "s")
    np.testing.assert_array_equal(np.asarray(stored["z"][0]), z)
    np.testing.assert_array_equal(_painted_by_frame(maps_by_frame, values, particles), z)
    np.savez(tmp_path / "p.npz", **patchset_to_arrays(particles))
    np.testing.assert_array_equal(
        load_patches(tmp_path / "p.npz").particle_diameter, particles.particle_diameter
    )
