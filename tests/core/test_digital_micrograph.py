"""Gatan DigitalMicrograph .dm3/.dm4 files: pixels, stacks and calibration read back exactly;
damaged files refused in one line; the CLI detects on them as on the same array in .npy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _calibrated_checks import detect_as_on_npy, fuzzed_outcomes, one_line_error
from _dm_files import dm_tree, encode, write_dm

from napari_ivae.cli import main
from napari_ivae.core.io import read_dm, read_image, read_pixel_size
from napari_ivae.core.synthetic.lattice import make_lattice

DTYPES = ["u1", "i2", "u2", "f4", "f8", "i1", "i4", "u4"]


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(30, 47), (3, 20, 31)])
def test_round_trip_pixels(tmp_path, version, dtype, shape):
    rng = np.random.default_rng(sum(shape) + version)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    low, high = (info.min, info.max) if info else (-1e3, 1e3)
    pixels = rng.uniform(low, high, shape).astype(dtype)
    path = tmp_path / f"img.dm{version}"
    write_dm(path, pixels, version=version)
    for mmap in (False, True):
        read = read_image(path, mmap=mmap)
        assert read.shape == shape and read.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(read, pixels)
    assert read_pixel_size(path) is None  # no calibration: scale 1, no unit


def test_big_endian_data_and_large_image_mapped_from_disk(tmp_path):
    pixels = np.arange(100 * 90, dtype="f4").reshape(100, 90)  # larger than the tags' arrays
    path = tmp_path / "big.dm4"
    write_dm(path, pixels, version=4, order=">")
    mapped = read_image(path, mmap=True)
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(mapped, pixels)
    read = read_image(path)
    assert read.dtype.isnative and not isinstance(read, np.memmap)
    np.testing.assert_array_equal(read, pixels)


@pytest.mark.parametrize("version", [3, 4])
def test_calibration_per_axis(tmp_path, version):
    pixels = np.zeros((4, 12, 16), "u2")
    path = tmp_path / f"cal.dm{version}"
    # file order is x, y, frames
    write_dm(
        path, pixels, version=version,
        scale=[0.0195, 0.0195, 2.5], origin=[10.0, -4.0, 0.0], units=["nm", "nm", "s"],
    )  # fmt: skip
    image = read_dm(path)
    assert image.units == ("s", "nm", "nm")
    assert image.scale == (2.5, 0.0195, 0.0195)  # float32 tags, read as their decimal
    assert image.origin == (0.0, -4.0, 10.0)
    assert image.pixel_size == (0.0195, "nm") == read_pixel_size(path)
    write_dm(path, pixels[0], version=version, scale=[0.1, 0.2], units=["nm", "nm"])
    assert read_dm(path).pixel_size is None  # not square: no single pixel size
    write_dm(path, pixels[0], version=version, scale=[0.1, 0.1], units=["µm", "µm"])
    assert read_pixel_size(path) == (0.1, "µm")


def test_largest_image_is_read_not_the_thumbnail(tmp_path):
    pixels = np.arange(6 * 5, dtype="u1").reshape(6, 5)  # smaller than the 8 x 8 thumbnail
    write_dm(tmp_path / "small.dm3", pixels, version=3)
    np.testing.assert_array_equal(read_image(tmp_path / "small.dm3"), pixels)
    write_dm(tmp_path / "alone.dm3", pixels, version=3, thumbnail=False)
    np.testing.assert_array_equal(read_image(tmp_path / "alone.dm3"), pixels)


@pytest.mark.parametrize("version", [3, 4])
def test_damaged_files_are_refused_in_one_line(tmp_path, version):
    pixels = np.arange(40 * 30, dtype="i2").reshape(40, 30)
    raw = write_dm(tmp_path / "ok.dm4", pixels, version=version)
    path = tmp_path / f"bad.dm{version}"
    image_end = raw.rfind(pixels.tobytes()) + pixels.nbytes
    path.write_bytes(raw[:3])
    assert "not a DigitalMicrograph" in one_line_error(path)
    for cut in (10, 40, len(raw) // 2, image_end - 1):
        path.write_bytes(raw[:cut])
        message = one_line_error(path)
        assert "truncated" in message or "impossible length" in message, (cut, message)
    path.write_bytes(b"\x00\x00\x00\x05" + raw[4:])
    assert "not a DigitalMicrograph" in one_line_error(path)
    path.write_bytes(b"")
    assert "empty" in one_line_error(path)
    flag = 8 if version == 3 else 12  # after the version and the file length
    path.write_bytes(raw[:flag] + b"\x00\x00\x00\x07" + raw[flag + 4 :])
    assert "byte-order flag" in one_line_error(path)
    path.write_bytes(encode(dm_tree(np.zeros((0, 5), "u1")), version))
    assert "zero" in one_line_error(path)
    path.write_bytes(raw.replace(b"%%%%", b"%%%!", 3))
    assert "'%%%%' mark" in one_line_error(path)


def test_huge_length_fields_do_not_hang(tmp_path):
    raw = bytearray(write_dm(tmp_path / "ok.dm4", np.ones((9, 9), "u1"), version=4))
    raw[18:26] = (2**62).to_bytes(8, "big")  # the root group's tag count
    path = tmp_path / "huge.dm4"
    path.write_bytes(bytes(raw))
    assert "impossible length" in one_line_error(path)


def test_unsupported_pixel_types_are_named(tmp_path):
    from _dm_files import DATA_TYPE

    path = tmp_path / "rgb.dm4"
    DATA_TYPE["u4"], saved = 23, DATA_TYPE["u4"]  # an RGB image: 4 bytes a pixel
    try:
        write_dm(path, np.zeros((9, 9), "u4"), thumbnail=False)
    finally:
        DATA_TYPE["u4"] = saved
    assert "RGB" in one_line_error(path)


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize(("dtype", "order"), [("c8", "<"), ("c16", ">")])
@pytest.mark.parametrize("shape", [(2, 2), (70, 90)])  # with the tags; left in the file
def test_complex_pixels_as_digitalmicrograph_stores_them_read_then_refused_as_complex(
    tmp_path, capsys, version, dtype, order, shape
):
    # real DM files of DataType 3 and 13 store (real, imaginary) structs: they read as
    # "its image data are not an array"
    rng = np.random.default_rng(3)
    pixels = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    path = tmp_path / f"fft.dm{version}"
    write_dm(path, pixels, version=version, order=order)
    for mmap in (False, True):
        read = read_dm(path, mmap=mmap).data
        assert read.dtype.kind == "c" and read.dtype.itemsize == np.dtype(dtype).itemsize
        np.testing.assert_array_equal(read, pixels)
    assert main(["detect", str(path), "--out", str(tmp_path / "o.csv")]) == 2
    message = capsys.readouterr().err.strip()
    assert "complex-valued" in message and "\n" not in message


def test_cli_detect_on_dm4_equals_npy(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=0).image.astype("f4")
    write_dm(tmp_path / "lat.dm4", lattice, scale=[0.02, 0.02], units=["nm", "nm"])
    from_dm4 = detect_as_on_npy(tmp_path, capsys, tmp_path / "lat.dm4", lattice)
    assert "pixel size 0.02 nm" in from_dm4 and "atom spacing" in from_dm4
    spacing = float(from_dm4.split("atom spacing ")[1].split(" px")[0])
    assert 11 < spacing < 13


def test_cli_on_a_short_dm_stack_takes_its_planes_as_frames(tmp_path, capsys):
    # a 3-frame DigitalMicrograph stack was refused as "Ambiguous 3D image ... frames or
    # colour channels?": a DM file never holds colour planes
    lattice = make_lattice((128, 128), spacing=12.0, seed=0).image.astype("f4")
    stack = np.stack([lattice, lattice[::-1], lattice[:, ::-1]])
    write_dm(tmp_path / "stack.dm4", stack)
    np.save(tmp_path / "stack.npy", stack)
    npy_args = ["detect", str(tmp_path / "stack.npy"), "--out", str(tmp_path / "npy.csv")]
    assert main([*npy_args, "--frame-axis", "0"]) == 0
    assert main(["detect", str(tmp_path / "stack.dm4"), "--out", str(tmp_path / "dm.csv")]) == 0
    npy, dm = pd.read_csv(tmp_path / "npy.csv"), pd.read_csv(tmp_path / "dm.csv")
    pd.testing.assert_frame_equal(npy, dm)
    assert sorted(dm["frame"].unique()) == [0, 1, 2]
    assert main(npy_args) == 2  # a .npy of 3 planes stays ambiguous (colour or frames)
    assert "Ambiguous 3D image" in capsys.readouterr().err
    # patches (and train --image, batch: the same reading) take the planes as frames too
    grid = ["--grid", "32", "--size", "16"]
    assert (
        main(["patches", str(tmp_path / "stack.dm4"), *grid, "--out", str(tmp_path / "p.npz")]) == 0
    )
    with np.load(tmp_path / "p.npz") as patches:
        assert set(patches["frames"].tolist()) == {0, 1, 2}


def test_unknown_tag_type_is_stepped_over_in_dm4_only(tmp_path):
    from _dm_files import Data

    pixels = np.arange(12 * 10, dtype="u2").reshape(12, 10)
    tree = dm_tree(pixels)
    tree.insert(0, ("Odd", Data([25, 3], b"\x01\x02\x03")))  # a type code DM files never use
    (tmp_path / "odd.dm4").write_bytes(encode(tree, 4))
    np.testing.assert_array_equal(read_image(tmp_path / "odd.dm4"), pixels)
    (tmp_path / "odd.dm3").write_bytes(encode(tree, 3))  # no tag sizes: cannot step over it
    assert "unsupported type" in one_line_error(tmp_path / "odd.dm3")


@pytest.mark.parametrize("suffix", [".dm3", ".dm4", ".mrc"])
def test_corrupted_bytes_give_an_image_or_one_line_never_a_traceback(tmp_path, suffix):
    from _mrc_files import mrc_bytes

    rng = np.random.default_rng(7)
    pixels = (rng.random((3, 20, 24)) * 100).astype("f4")
    calibration = dict(scale=[0.1, 0.1, 1.0], units=["nm", "nm", ""])
    raw = (
        mrc_bytes(pixels, pixel_size=1.0)
        if suffix == ".mrc"
        else write_dm(tmp_path / f"ok{suffix}", pixels, version=int(suffix[-1]), **calibration)
    )
    assert fuzzed_outcomes(tmp_path / f"fuzz{suffix}", raw, rng) == {"read", "refused"}
