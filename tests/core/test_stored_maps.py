"""Maps stored tile by tile (core.analysis.stored_maps): the in-memory maps' pixels, and no
array of the map's size is ever allocated."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from napari_ivae.core.analysis import maps
from napari_ivae.core.analysis.stored_maps import as_dask, map_levels, store_maps
from napari_ivae.core.patches.cutting import PatchSet, grid_patches


def _point_geometry(side, spacing, frames=1, seed=0):
    rng = np.random.default_rng(seed)
    sites = np.arange(spacing, side - spacing, spacing, dtype=np.float64)
    rows, cols = np.meshgrid(sites, sites, indexing="ij")
    centres = np.column_stack([rows.ravel(), cols.ravel()])
    centres = np.vstack([centres + rng.normal(0, 1.5, centres.shape) for _ in range(frames)])
    per = len(centres) // frames
    return PatchSet(
        patches=np.broadcast_to(np.zeros((1, 8, 8), np.float32), (len(centres), 8, 8)),
        centres=centres,
        frames=np.repeat(np.arange(frames), per),
        indices=np.arange(len(centres)),
        image_shape=(side, side + 37),
        normalization={},
        n_frames=frames,
        is_stack=frames > 1,
    )


def _columns(n, seed=1):
    rng = np.random.default_rng(seed)
    return {
        "z1": rng.normal(size=n),
        "angle": rng.uniform(-7.0, 7.0, n),
        "class": rng.integers(-1, 3, n),
    }


def _in_memory(name, values, patchset):
    if name == "angle":
        return np.degrees(maps.angle_map(values, patchset)).astype(np.float32)
    if name == "class" or name == "cluster":
        return maps.class_map(values, patchset)
    return maps.patch_map(values, patchset)


@pytest.mark.parametrize("frames", [1, 2])
def test_stored_point_maps_equal_the_in_memory_maps_at_every_level(tmp_path, frames):
    geometry = _point_geometry(300, 14.0, frames)
    columns = _columns(len(geometry))
    stored = store_maps(columns, geometry, tmp_path, degrees=True, levels=3, tile=64, chunk=48)
    for name, values in columns.items():
        expected = _in_memory(name, values, geometry)
        levels = stored[name]
        assert len(levels) == 3 and levels[0].dtype == expected.dtype
        np.testing.assert_array_equal(levels[0][:], expected)
        np.testing.assert_array_equal(levels[2][:], expected[..., ::4, ::4])
        assert np.asarray(as_dask(levels)[1]).shape == expected[..., ::2, ::2].shape


def test_stored_grid_maps_equal_the_in_memory_maps(tmp_path):
    image = np.random.default_rng(0).normal(size=(2, 150, 170)).astype(np.float32)
    geometry = grid_patches(image, 12, 7)
    columns = _columns(len(geometry), seed=2)
    columns["cluster"] = columns.pop("class")
    stored = store_maps(columns, geometry, tmp_path, degrees=True, tile=40, chunk=32)
    for name, values in columns.items():
        np.testing.assert_array_equal(stored[name][0][:], _in_memory(name, values, geometry))


def test_storing_maps_never_allocates_a_map(tmp_path, monkeypatch):
    from napari_ivae.core.analysis import _point_maps

    side = 1200
    geometry = _point_geometry(side, 12.0)
    columns = _columns(len(geometry))
    one_map = side * (side + 37) * 4  # bytes of one float32 map
    # pixels searched at once (a fixed transient, 48 bytes a pixel): small, as the map is
    monkeypatch.setattr(_point_maps, "QUERY_CHUNK", 1 << 12)
    store_maps(columns, geometry, tmp_path / "warm", levels=2, tile=128, chunk=128)
    tracemalloc.start()
    try:
        store_maps(columns, geometry, tmp_path / "a", levels=2, tile=128, chunk=128)
        _, stored_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        maps.patch_map(columns["z1"], geometry)
        _, memory_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert memory_peak > one_map  # the in-memory map (the check can see a whole map)
    assert stored_peak < one_map / 3, (stored_peak, one_map)


def test_map_levels_halve_until_the_side_is_small():
    assert map_levels((2048, 2048)) == 1
    assert map_levels((4400, 300)) == 3
    assert map_levels((3, 16384, 16384)) == 4
