"""FEI TIA series files (.ser): images and stacks read back exactly (top row first), their pixel
size in nm; spectra, damaged and truncated files refused in one line; the CLI detects on them as
on the same array in .npy."""

from __future__ import annotations

import numpy as np
import pytest
from _calibrated_checks import detect_as_on_npy, fuzzed_outcomes, one_line_error
from _ser_files import ser_bytes, write_ser

from napari_ivae.core.io import read_calibrated, read_image, read_pixel_size
from napari_ivae.core.synthetic.lattice import make_lattice


@pytest.mark.parametrize("dtype", ["u1", "u2", "u4", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("version", [0x0210, 0x0220])
def test_round_trip_pixels(tmp_path, dtype, count, version):
    rng = np.random.default_rng(count)
    frames = [(rng.random((30, 41)) * 100).astype(dtype) for _ in range(count)]
    path = tmp_path / "img.ser"
    write_ser(path, frames, version=version, delta=(2.5e-10, 2.5e-10))
    want = frames[0] if count == 1 else np.stack(frames)
    for mmap in (False, True):
        read = read_image(path, mmap=mmap)
        assert read.shape == want.shape and read.dtype.newbyteorder("=") == np.dtype(dtype)
        np.testing.assert_array_equal(read, want)
    assert read_image(path).dtype.isnative and read_image(path).flags.c_contiguous
    assert read_pixel_size(path) == (0.25, "nm")
    image = read_calibrated(path)
    assert image.units == ("",) * (count > 1) + ("nm", "nm")  # the frames stay frames
    assert image.kind == "TIA SER" and image.meta["elements"] == count


def test_unevenly_spaced_and_partly_valid_series(tmp_path):
    frames = [np.full((6, 5), n, dtype="i2") + np.arange(5, dtype="i2") for n in range(4)]
    frames[1][0, 0] = -7  # the top row: TIA stores it last
    path = tmp_path / "uneven.ser"
    write_ser(path, frames, gaps=[3, 0, 11, 2], total=9)  # 9 elements reserved, 4 written
    for mmap in (False, True):
        np.testing.assert_array_equal(read_image(path, mmap=mmap), np.stack(frames))
    assert read_calibrated(path).meta["total_elements"] == 9


def test_calibration_origin_and_units(tmp_path):
    pixels = np.arange(12 * 9, dtype="u2").reshape(12, 9)
    path = tmp_path / "cal.ser"
    # x: 0 at stored column 2 + 5 = 7; y: 0 at stored row 3 + 2/0.4 = 8, i.e. row 11 - 8 = 3
    write_ser(path, [pixels], delta=(2e-10, 4e-10), offset=(-1e-9, -2e-9), element=(2, 3))
    image = read_calibrated(path)
    assert image.scale == (0.4, 0.2) and image.units == ("nm", "nm")
    np.testing.assert_allclose(image.origin, (3.0, 7.0))
    assert image.pixel_size is None and read_pixel_size(path) is None  # not square
    write_ser(path, [pixels], delta=(3e-6, 3e-6))
    assert read_pixel_size(path) == (3.0, "µm")


@pytest.mark.parametrize("delta", [1.0, 1.5e7, 0.0, -2e-10, float("nan")])
def test_no_real_space_step_is_no_pixel_size(tmp_path, delta):
    # 1: TIA's uncalibrated axis; 1.5e7: a diffraction pattern's 1/m; the rest: nonsense
    pixels = np.arange(8 * 8, dtype="f4").reshape(8, 8)
    write_ser(tmp_path / "d.ser", [pixels], delta=(delta, delta))
    image = read_calibrated(tmp_path / "d.ser")
    assert image.units == ("", "") and image.scale == (1.0, 1.0)
    assert read_pixel_size(tmp_path / "d.ser") is None
    np.testing.assert_array_equal(read_image(tmp_path / "d.ser"), pixels)


def test_damaged_files_are_refused_in_one_line(tmp_path):
    frames = [np.arange(20 * 16, dtype="f4").reshape(20, 16)] * 2
    raw = ser_bytes(frames)
    path = tmp_path / "bad.ser"
    for cut in (0, 3, 20, 33, 60, 120, len(raw) // 2, len(raw) - 13):
        path.write_bytes(raw[:cut])
        message = one_line_error(path)
        want = "empty" if cut == 0 else "not a TIA series" if cut < 4 else "truncated"
        assert want in message, (cut, message)
    path.write_bytes(b"II\x97\x02" + raw[4:])  # another series id
    assert "not a TIA series (.ser) file" in one_line_error(path)
    path.write_bytes(raw[:4] + b"\x30\x03" + raw[6:])
    assert "version 0x0330" in one_line_error(path)
    path.write_bytes(ser_bytes([np.arange(50, dtype="f4")], spectra=True))
    assert "1D spectra, not images" in one_line_error(path)
    path.write_bytes(ser_bytes(frames, type_code=9))  # complex: not read
    assert "data type 9" in one_line_error(path)
    path.write_bytes(ser_bytes([frames[0], frames[0][:10]]))
    assert "differ in size" in one_line_error(path)
    path.write_bytes(ser_bytes(frames, total=1))  # more valid than total
    assert "header is damaged" in one_line_error(path)
    zero = bytearray(raw)
    zero[18:22] = (0).to_bytes(4, "little")  # ValidNumberElements = 0
    path.write_bytes(bytes(zero))
    assert "no image" in one_line_error(path)
    far = bytearray(raw)
    far[22:30] = (2**40).to_bytes(8, "little")  # the offset array past the end
    path.write_bytes(bytes(far))
    assert "truncated" in one_line_error(path)
    huge = bytearray(raw)
    huge[14:22] = (2**31 - 1).to_bytes(4, "little") * 2  # 2^31 elements: no hang, no allocation
    path.write_bytes(bytes(huge))
    assert "truncated" in one_line_error(path)


def test_fuzzed_files_are_read_or_refused_in_one_line(tmp_path):
    rng = np.random.default_rng(5)
    raw = ser_bytes([np.arange(24 * 20, dtype="i2").reshape(24, 20)] * 3, delta=(1e-10, 1e-10))
    assert fuzzed_outcomes(tmp_path / "fuzz.ser", raw, rng) == {"read", "refused"}


def test_cli_detect_on_ser_equals_npy(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=3).image.astype("f4")
    write_ser(tmp_path / "lat.ser", [lattice], delta=(2e-11, 2e-11))
    err = detect_as_on_npy(tmp_path, capsys, tmp_path / "lat.ser", lattice)
    assert "pixel size 0.02 nm" in err and "atom spacing" in err
