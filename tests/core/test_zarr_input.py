"""Zarr / OME-Zarr and dask arrays as inputs: opened lazily, cut window by window, and the
command line reads ``.zarr`` folders with the results of the same pixels as ``.npy``."""

import numpy as np
import pandas as pd
import pytest
from _counting import Counting

from napari_ivae.cli import main
from napari_ivae.core.errors import InputError
from napari_ivae.core.io.imageio import is_lazy, read_image
from napari_ivae.core.patches.cutting import extract_patches, grid_patches
from napari_ivae.core.synthetic.lattice import make_lattice

zarr = pytest.importorskip("zarr")
da = pytest.importorskip("dask.array")


def _stack(frames=5, side=96):
    return np.stack(
        [
            make_lattice((side, side), spacing=10.0, noise=0.08, rotation=9.0 * i, seed=i).image
            for i in range(frames)
        ]
    ).astype(np.float32)


def _write_zarr(path, array, chunks):
    stored = zarr.create_array(str(path), shape=array.shape, chunks=chunks, dtype=array.dtype)
    stored[:] = array
    return path


def test_a_zarr_array_opens_lazily_in_its_chunks(tmp_path):
    stack = _stack()
    image = read_image(_write_zarr(tmp_path / "s.zarr", stack, (1, 48, 48)))
    assert is_lazy(image) and not isinstance(image, np.ndarray)
    assert image.shape == stack.shape and image.chunks[1] == (48, 48)
    np.testing.assert_array_equal(np.asarray(image[1]), stack[1])


def test_ome_zarr_reads_its_full_resolution_level_as_a_plane(tmp_path):
    plane = _stack(1)[0]
    group = zarr.open_group(str(tmp_path / "img.ome.zarr"), mode="w")
    group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [{"datasets": [{"path": "0"}, {"path": "1"}]}],
    }
    full = group.create_array(
        "0", shape=(1, 1, 1) + plane.shape, chunks=(1, 1, 1, 48, 48), dtype="float32"
    )
    full[:] = plane[None, None, None]
    group.create_array("1", shape=(1, 1, 1, 48, 48), dtype="float32")
    image = read_image(tmp_path / "img.ome.zarr")
    assert image.shape == plane.shape  # t, c, z of one plane dropped
    np.testing.assert_array_equal(np.asarray(image), plane)


def test_a_group_of_several_arrays_or_no_zarr_is_one_clear_error(tmp_path):
    group = zarr.open_group(str(tmp_path / "two.zarr"), mode="w")
    group.create_array("a", shape=(8, 8), dtype="float32")
    group.create_array("b", shape=(8, 8), dtype="float32")
    with pytest.raises(InputError, match="2 arrays"):
        read_image(tmp_path / "two.zarr")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(InputError, match="as zarr"):
        read_image(tmp_path / "empty.zarr")
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "missing.zarr")


def test_patches_from_a_dask_image_equal_the_in_memory_ones_without_reading_it_whole(tmp_path):
    stack = _stack()
    stored = zarr.open_array(str(_write_zarr(tmp_path / "s.zarr", stack, (1, 32, 32))), mode="r")
    counting = Counting(stored)
    lazy = da.from_array(counting, chunks=(1, 32, 32))
    rng = np.random.default_rng(0)
    coords = np.column_stack([rng.integers(0, 5, 40), rng.uniform(10, 86, (40, 2))])
    lazy_set = extract_patches(lazy, coords, 12, normalize="global")
    memory_set = extract_patches(stack, coords, 12, normalize="global")
    np.testing.assert_array_equal(lazy_set.patches, memory_set.patches)
    np.testing.assert_array_equal(lazy_set.centres, memory_set.centres)
    assert lazy_set.normalization == memory_set.normalization
    assert 0 < counting.largest < stack.size  # read block by block
    grid_lazy, grid_memory = grid_patches(lazy, 16, 8), grid_patches(stack, 16, 8)
    np.testing.assert_array_equal(grid_lazy.patches, grid_memory.patches)
    assert grid_lazy.grid_shape == grid_memory.grid_shape


def test_detect_patches_and_batch_read_a_zarr_folder_as_the_npy(tmp_path, capsys):
    stack = _stack()
    np.save(tmp_path / "s.npy", stack)
    _write_zarr(tmp_path / "s.zarr", stack, (1, 48, 48))
    tables = {}
    for suffix in ("npy", "zarr"):
        out = tmp_path / f"{suffix}.csv"
        assert main(["detect", str(tmp_path / f"s.{suffix}"), "--out", str(out)]) == 0
        tables[suffix] = pd.read_csv(out)
    assert len(tables["npy"]) > 100
    np.testing.assert_allclose(
        tables["zarr"][["frame", "row", "col"]].to_numpy(),
        tables["npy"][["frame", "row", "col"]].to_numpy(),
        atol=1e-6,
    )
    for suffix in ("npy", "zarr"):
        assert (
            main(
                [
                    "patches",
                    str(tmp_path / f"s.{suffix}"),
                    "--points",
                    str(tmp_path / "npy.csv"),
                    "--size",
                    "16",
                    "--normalize",
                    "global",
                    "--out",
                    str(tmp_path / f"p_{suffix}.npz"),
                ]
            )
            == 0
        )
    with np.load(tmp_path / "p_npy.npz") as a, np.load(tmp_path / "p_zarr.npz") as b:
        np.testing.assert_array_equal(a["patches"], b["patches"])
    model = tmp_path / "m.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "rvae",
                "--patches",
                str(tmp_path / "p_npy.npz"),
                "--out",
                str(model),
                "--epochs",
                "1",
                "--hidden",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    folder = tmp_path / "images"
    folder.mkdir()
    _write_zarr(folder / "s.zarr", stack, (1, 48, 48))
    np.save(folder / "t.npy", stack)
    assert main(["batch", str(model), str(folder), "--out", str(tmp_path / "res")]) == 0
    from_zarr = pd.read_csv(tmp_path / "res" / "s" / "s.csv")
    from_npy = pd.read_csv(tmp_path / "res" / "t" / "t.csv")
    np.testing.assert_allclose(
        from_zarr.to_numpy(np.float64), from_npy.to_numpy(np.float64), atol=1e-4
    )
    # done images are recognised by their content: a second run skips the zarr too
    assert main(["batch", str(model), str(folder), "--out", str(tmp_path / "res")]) == 0
    assert "skipped" in capsys.readouterr().err.lower()


def test_windows_of_one_tiff_page_decode_it_once(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    from napari_ivae.core.io.imageio import TiffStack

    stack = _stack(5, 64)
    tifffile.imwrite(tmp_path / "s.tif", stack, compression="zlib", photometric="minisblack")
    lazy = read_image(tmp_path / "s.tif", mmap=True)
    assert isinstance(lazy, TiffStack)
    decoded = []

    class Counting:
        def __init__(self, page, index):
            self.page, self.index = page, index

        def asarray(self):
            decoded.append(self.index)
            return self.page.asarray()

    lazy._pages = [Counting(page, i) for i, page in enumerate(lazy._pages)]
    first, second = lazy[2, 0:20, 0:30], lazy[2, 30:64, 10:40]
    np.testing.assert_array_equal(first, stack[2, 0:20, 0:30])
    np.testing.assert_array_equal(second, stack[2, 30:64, 10:40])
    first[:] = -1  # a copy: the kept page is unchanged
    np.testing.assert_array_equal(lazy[2], stack[2])
    np.testing.assert_array_equal(lazy[3, 5:9], stack[3, 5:9])
    assert decoded == [2, 3]


@pytest.mark.parametrize("chunks", [(1, 96, 96), (2, 48, 48)])
def test_patches_of_a_zarr_with_nan_pixels_fill_them_as_the_npy(tmp_path, capsys, chunks):
    """NaN pixels of a lazy zarr are filled with the median of their frame, with the in-memory
    path's warning, as they are read: the patches equal those of the same pixels as .npy
    (an error naming the patches with NaN before)."""
    stack = _stack()
    stack[1, 10:30, 10:30] = np.nan
    stack[3, 60:64, 60:64] = np.inf
    np.save(tmp_path / "s.npy", stack)
    _write_zarr(tmp_path / "s.zarr", stack, chunks)
    pd.DataFrame(
        {"frame": np.repeat(np.arange(5), 4), "row": 25.0, "col": np.tile([20.0, 40, 60, 70], 5)}
    ).to_csv(tmp_path / "p.csv", index=False)
    results, warnings = {}, {}
    for suffix in ("npy", "zarr"):
        code = main(
            ["patches", str(tmp_path / f"s.{suffix}"), "--points", str(tmp_path / "p.csv")]
            + ["--size", "16", "--out", str(tmp_path / f"{suffix}.npz")]
        )
        err = capsys.readouterr().err
        assert code == 0, err
        warnings[suffix] = [line for line in err.splitlines() if "NaN" in line]
        results[suffix] = np.load(tmp_path / f"{suffix}.npz")["patches"]
    assert warnings["zarr"] == warnings["npy"] and len(warnings["zarr"]) == 1
    assert "416 NaN/inf pixels were replaced by the median of their frame" in warnings["zarr"][0]
    np.testing.assert_array_equal(results["zarr"], results["npy"])
    # batch reads the zarr the same way (it failed on the patches with NaN)
    model = tmp_path / "m.ivae.pt"
    train = ["train", "--model", "rvae", "--patches", str(tmp_path / "npy.npz"), "--out"]
    assert main([*train, str(model), "--epochs", "1", "--hidden", "16", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["batch", str(model), str(tmp_path / "s.zarr"), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if "NaN" in line]) == 1, err
