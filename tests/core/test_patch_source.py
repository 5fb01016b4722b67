"""Patches cut on demand from a lazy image equal the in-memory patches, read only windows,
and encode to the same latents."""

import os

import numpy as np
import pytest
from _counting import Counting

from napari_ivae.core.errors import InputError
from napari_ivae.core.models.inference import encode
from napari_ivae.core.patches import source as lazy
from napari_ivae.core.patches.cutting import extract_patches, grid_patches
from napari_ivae.core.patches.source import PatchSource, encode_source


def _image(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 200 + 50).astype(np.float32)


def _points(n, shape, frames=None, seed=1):
    rng = np.random.default_rng(seed)
    rows = rng.uniform(-3, shape[-2] + 3, n)
    cols = rng.uniform(-3, shape[-1] + 3, n)
    rows[:5] = np.round(rows[:5])  # some integer centres (exact crops)
    if frames is None:
        return np.column_stack([rows, cols])
    return np.column_stack([rng.integers(0, frames, n), rows, cols])


@pytest.mark.parametrize(
    "normalize, border, order",
    [("global", "drop", 1), ("patch", "flag", 1), ("none", "flag", 3), ("global", "drop", 3)],
)
def test_lazy_patches_equal_the_in_memory_ones_on_a_memory_map(
    tmp_path, monkeypatch, normalize, border, order
):
    image = _image((3, 120, 90))
    np.save(tmp_path / "stack.npy", image)
    mapped = np.load(tmp_path / "stack.npy", mmap_mode="r")
    coords = _points(300, image.shape, frames=3)
    monkeypatch.setattr(lazy, "CHUNK_PIXELS", 40 * 15 * 15)  # many chunks per frame
    source = PatchSource(mapped, coords, 15, normalize=normalize, border=border, order=order)
    expected = extract_patches(image, coords, 15, normalize=normalize, border=border, order=order)
    assert len(list(source.chunks())) >= 5  # several per frame
    got = np.empty_like(expected.patches)
    for positions, patches in source:
        got[positions] = patches
    np.testing.assert_array_equal(got, expected.patches)
    np.testing.assert_array_equal(source.indices, expected.indices)
    geometry = source.geometry()
    np.testing.assert_array_equal(geometry.coords, expected.coords)
    assert geometry.normalization == expected.normalization
    if normalize == "patch":
        np.testing.assert_array_equal(geometry.patch_min, expected.patch_min)
    if border == "flag":
        np.testing.assert_array_equal(source.valid, expected.valid)
    picked = np.array([7, 3, 150, 3])  # random access, any order
    np.testing.assert_array_equal(source.read(picked), expected.patches[picked])


def test_a_large_image_is_read_in_windows_not_whole():
    image = _image((600, 500))
    recording = Counting(image)
    coords = _points(2000, image.shape, seed=4)
    lazy_source = PatchSource(recording, coords, 12, normalize="none")
    lazy.CHUNK_PIXELS, saved = 200 * 144, lazy.CHUNK_PIXELS
    try:
        got = np.empty((len(lazy_source), 12, 12), np.float32)
        for positions, patches in lazy_source:
            got[positions] = patches
    finally:
        lazy.CHUNK_PIXELS = saved
    np.testing.assert_array_equal(got, extract_patches(image, coords, 12).patches)
    assert len(recording.reads) >= 9 and max(recording.reads) < image.size / 4


@pytest.mark.parametrize("lattice", [False, True])
def test_grid_source_equals_grid_patches(lattice):
    from napari_ivae.core.synthetic.lattice import make_lattice

    image = _image((2, 70, 64), seed=3)
    if lattice:  # registered on the lattice (grid_patches' default when it finds one)
        image = np.stack(
            [
                make_lattice((90, 84), spacing=9.0, noise=0.05, rotation=10.0 * i, seed=i).image
                for i in range(2)
            ]
        ).astype(np.float32)
    source = PatchSource.grid(image, 16, 6, normalize="global")
    expected = grid_patches(image, 16, 6, normalize="global")
    assert (expected.shifts is not None) == lattice
    np.testing.assert_array_equal(source.read(np.arange(len(source))), expected.patches)
    geometry = source.geometry()
    assert geometry.grid_shape == expected.grid_shape and geometry.stride == 6
    assert geometry.grid_origin == expected.grid_origin
    np.testing.assert_array_equal(geometry.coords, expected.coords)
    if lattice:
        np.testing.assert_array_equal(geometry.shifts, expected.shifts)
        assert geometry.message == expected.message


def test_dask_array_source():
    da = pytest.importorskip("dask.array")
    image = _image((2, 100, 80), seed=5)
    coords = _points(150, image.shape, frames=2, seed=6)
    source = PatchSource(da.from_array(image, chunks=(1, 40, 40)), coords, 16, normalize="global")
    expected = extract_patches(image, coords, 16, normalize="global")
    np.testing.assert_array_equal(source.read(np.arange(len(source))), expected.patches)


def test_encoding_chunk_by_chunk_gives_the_in_memory_latents(monkeypatch):
    import torch

    from napari_ivae.core.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig("rvae", (16, 16), hidden=(32,)))
    image = _image((2, 90, 90), seed=7)
    coords = _points(400, image.shape, frames=2, seed=8)
    monkeypatch.setattr(lazy, "CHUNK_PIXELS", 50 * 256)
    source = PatchSource(image, coords, 16, normalize="global")
    done = []
    got = encode_source(model, source, batch_size=32, progress=lambda i, n: done.append(i))
    expected = encode(
        model, extract_patches(image, coords, 16, normalize="global").patches, batch_size=32
    )
    assert len(done) > 4 and done[-1] == len(source)
    for key, values in expected.as_dict().items():
        np.testing.assert_allclose(getattr(got, key), values, rtol=1e-5, atol=1e-5)


def test_encoding_into_memory_maps_gives_the_same_latents(tmp_path):
    import torch

    from napari_ivae.core.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig("rvae", (16, 16), hidden=(32,)))
    image = _image((2, 90, 90), seed=7)
    source = PatchSource(image, _points(300, image.shape, frames=2, seed=8), 16)
    held = encode_source(model, source, batch_size=32)
    stored = encode_source(model, source, batch_size=32, out=tmp_path / "latents")
    for key, values in held.as_dict().items():
        array = getattr(stored, key)
        assert isinstance(array, np.memmap)
        np.testing.assert_array_equal(array, values)
        np.testing.assert_array_equal(np.load(tmp_path / "latents" / f"{key}.npy"), values)


def test_source_refuses_what_extract_patches_refuses():
    with pytest.raises(InputError, match="cross the border"):
        PatchSource(_image((40, 40)), [[1.0, 1.0]], 16)
    with pytest.raises(InputError, match="frame, row, col"):
        PatchSource(_image((2, 40, 40)), [[20.0, 20.0]], 16)
    with pytest.raises(InputError, match="colour"):
        PatchSource(np.zeros((40, 40, 3)), [[20.0, 20.0]], 16)
    model_shape = PatchSource(_image((40, 40)), [[20.0, 20.0]], 12)

    class Model:
        class config:
            patch_shape = (16, 16)

    with pytest.raises(InputError, match="16x16"):
        encode_source(Model(), model_shape)


@pytest.mark.parametrize("grid", [False, True])
def test_maps_frame_by_frame_equal_the_whole_stack_maps(grid):
    from napari_ivae.core.analysis import maps
    from napari_ivae.core.patches.source import maps_by_frame

    image = _image((3, 80, 70), seed=9)
    if grid:
        source = PatchSource.grid(image, 12, 5)
    else:
        coords = _points(90, image.shape, frames=3, seed=10)
        coords = coords[coords[:, 0] != 1]  # a frame without points
        source = PatchSource(image, coords, 12)
    geometry = source.geometry()
    rng = np.random.default_rng(0)
    columns = {
        "z_mean_1": rng.normal(size=len(source)),
        "angle": rng.uniform(-np.pi, np.pi, len(source)),
        "class": rng.integers(0, 3, len(source)),
    }
    got = {
        name: np.zeros(image.shape, np.float32 if name != "class" else np.int32) for name in columns
    }

    def write(name, frame, array):
        got[name][frame] = array

    maps_by_frame(columns, geometry, write)
    np.testing.assert_array_equal(
        got["z_mean_1"], maps.patch_map(columns["z_mean_1"].astype(np.float32), geometry)
    )
    np.testing.assert_allclose(
        got["angle"], maps.angle_map(columns["angle"], geometry), atol=1e-6, equal_nan=True
    )
    np.testing.assert_array_equal(got["class"], maps.class_map(columns["class"], geometry))
    assert grid or np.isnan(got["z_mean_1"][1]).all()


def _resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux memory accounting")
def test_released_pages_stop_counting_and_nothing_is_lost(tmp_path):
    from napari_ivae.core.patches.source import release_pages

    written = np.lib.format.open_memmap(
        tmp_path / "w.npy", mode="w+", dtype=np.float32, shape=(16, 1024, 1024)
    )
    before = _resident_mb()
    for frame in range(16):
        written[frame] = frame
    assert _resident_mb() - before > 40
    release_pages(written[3])  # a view of the map: the whole map is released
    assert _resident_mb() - before < 20
    assert float(written[5, 7, 9]) == 5.0  # read back from the file
    del written
    mapped = np.load(tmp_path / "w.npy", mmap_mode="r")
    assert float(np.asarray(mapped[15]).mean()) == 15.0
    release_pages(mapped)
    release_pages(np.zeros(3))  # not a memory map: nothing happens
