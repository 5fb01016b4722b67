"""MRC files (.mrc, .mrcs, .map, .st): pixels, stacks and pixel size read back exactly; damaged
files refused in one line; the CLI detects on them as on the same array in .npy."""

from __future__ import annotations

import numpy as np
import pytest
from _calibrated_checks import detect_as_on_npy, one_line_error
from _mrc_files import mrc_bytes, write_mrc

from napari_ivae.core.io import read_calibrated, read_image, read_pixel_size
from napari_ivae.core.synthetic.lattice import make_lattice


@pytest.mark.parametrize("dtype", ["i1", "i2", "f4", "u2", "f2"])
@pytest.mark.parametrize("shape", [(30, 41), (4, 30, 41)])
@pytest.mark.parametrize("order", ["<", ">"])
def test_round_trip_pixels(tmp_path, dtype, shape, order):
    rng = np.random.default_rng(len(shape))
    pixels = (rng.random(shape) * 100 - (50 if dtype[0] in "if" else 0)).astype(dtype)
    path = tmp_path / "img.mrc"
    write_mrc(path, pixels, order=order, extended=b"\x07" * 96, pixel_size=1.05)
    for mmap in (False, True):
        read = read_image(path, mmap=mmap)
        # a memory map keeps the file's byte order
        assert read.shape == shape and read.dtype.newbyteorder("=") == np.dtype(dtype)
        np.testing.assert_array_equal(read, pixels)
    assert read_image(path).dtype.isnative
    assert read_pixel_size(path) == (1.05, "Å")
    image = read_calibrated(path)
    assert image.units == ("",) * (len(shape) - 2) + ("Å", "Å")  # the frames stay frames
    assert image.kind == "MRC" and image.meta["extended_header_bytes"] == 96


def test_byte_order_without_a_machine_stamp_and_other_suffixes(tmp_path):
    pixels = np.arange(12 * 9, dtype="i2").reshape(12, 9)
    for order in ("<", ">"):
        for suffix in (".mrcs", ".map", ".st", ".MRC"):
            path = tmp_path / f"old{suffix}"
            write_mrc(path, pixels, order=order, stamp=False)
            np.testing.assert_array_equal(read_image(path), pixels)
            assert read_pixel_size(path) is None  # no cell: not calibrated


def test_imod_unsigned_bytes(tmp_path):
    pixels = np.array([[0, 128, 255]], dtype="u1")
    write_mrc(tmp_path / "u8.mrc", pixels, imod_unsigned=True)
    read = read_image(tmp_path / "u8.mrc")
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, pixels)


def test_damaged_files_are_refused_in_one_line(tmp_path):
    pixels = np.arange(20 * 16, dtype="f4").reshape(20, 16)
    raw = mrc_bytes(pixels)
    path = tmp_path / "bad.mrc"
    for cut in (0, 100, 1023, len(raw) - 1):
        path.write_bytes(raw[:cut])
        message = one_line_error(path)
        assert ("empty" if cut == 0 else "truncated") in message, (cut, message)
    path.write_bytes(mrc_bytes(pixels, mode=3))
    assert "mode 3 (complex 16-bit integers)" in one_line_error(path)
    path.write_bytes(mrc_bytes(pixels, mode=7))
    assert "mode 7" in one_line_error(path)
    path.write_bytes(b"\xff" * 2048)  # sizes negative in both byte orders
    assert "not an MRC file" in one_line_error(path)
    zero = bytearray(raw)
    zero[4:8] = (0).to_bytes(4, "little")  # NY = 0
    path.write_bytes(bytes(zero))
    assert "zero or negative size" in one_line_error(path)
    huge = bytearray(raw)
    huge[92:96] = (2**30).to_bytes(4, "little")  # an extended header past the end
    path.write_bytes(bytes(huge))
    assert "truncated" in one_line_error(path)


def test_cli_detect_on_mrc_equals_npy(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=2).image.astype("f4")
    write_mrc(tmp_path / "lat.mrc", lattice, pixel_size=0.5, order=">")  # mapped big-endian
    err = detect_as_on_npy(tmp_path, capsys, tmp_path / "lat.mrc", lattice)
    assert "pixel size 0.5 Å" in err
