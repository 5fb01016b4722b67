"""Nanonis .sxm scans: the Z forward topograph (or a picked channel and direction) read back top
line first and left pixel first, whatever the scan direction; the pixel size in nm from the scan
range; unfinished lines kept as NaN; damaged, truncated and foreign files refused in one line;
the CLI detects on one as on the same array in .npy."""

from __future__ import annotations

import numpy as np
import pytest
from _calibrated_checks import detect_as_on_npy, fuzzed_outcomes, one_line_error
from _sxm_files import sxm_bytes, write_sxm

from napari_ivae.core.errors import InputError
from napari_ivae.core.io import read_calibrated, read_image, read_pixel_size, read_sxm
from napari_ivae.core.io.nanonis_sxm import images_note
from napari_ivae.core.synthetic.lattice import make_lattice


def _scan(shape=(12, 20), seed=0):
    """Three channels as seen (top line first, left first): Z and Current both ways, a phase
    forward only."""
    rng = np.random.default_rng(seed)
    image = lambda: rng.normal(size=shape).astype("f4")  # noqa: E731
    return {
        "Current": ("A", image(), image()),
        "Z": ("m", image() * 1e-10, image() * 1e-10),
        "Phase": ("deg", image(), None),
    }


@pytest.mark.parametrize("scan_dir", ["up", "down"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_z_forward_is_read_top_line_first(tmp_path, scan_dir, newline):
    channels = _scan()
    path = tmp_path / "scan.sxm"
    write_sxm(path, channels, scan_dir=scan_dir, newline=newline)
    want = channels["Z"][1]
    for mmap in (False, True):
        np.testing.assert_array_equal(read_image(path, mmap=mmap), want)
    read = read_image(path)
    assert read.dtype == np.float32 and read.dtype.isnative and read.flags.c_contiguous
    image = read_calibrated(path)
    assert image.kind == "Nanonis SXM" and image.meta["image"] == "Z forward"
    assert image.meta["channels"] == ["Current", "Z", "Phase"]
    assert image.meta["images"] == [
        "Current forward", "Current backward", "Z forward", "Z backward", "Phase forward"
    ]  # fmt: skip
    assert image.meta["scan_dir"] == scan_dir and image.meta["unit"] == "m"


@pytest.mark.parametrize("scan_dir", ["up", "down"])
def test_a_picked_channel_and_the_backward_scan(tmp_path, scan_dir):
    channels = _scan(seed=1)
    path = tmp_path / "scan.sxm"
    write_sxm(path, channels, scan_dir=scan_dir)
    for name, (unit, forward, backward) in channels.items():
        for mmap in (False, True):
            got = read_sxm(path, channel=name.upper(), mmap=mmap)
            np.testing.assert_array_equal(got.data, forward)
            assert got.meta["unit"] == unit
            if backward is not None:  # stored right to left: read back left first
                back = read_sxm(path, channel=name, direction="Backward", mmap=mmap)
                np.testing.assert_array_equal(back.data, backward)
                assert back.meta["image"] == f"{name} backward"


def test_the_flips_are_of_the_stored_order(tmp_path):
    # one ramp: what each scan direction stores first is the bottom (up) or top (down) line
    ramp = np.arange(4 * 5, dtype="f4").reshape(4, 5)
    for scan_dir, first_stored in (("down", ramp[0]), ("up", ramp[-1])):
        raw = sxm_bytes({"Z": ("m", ramp, ramp)}, scan_dir=scan_dir)
        data = raw[raw.index(b"\x1a\x04") + 2 :]
        stored = np.frombuffer(data, ">f4").reshape(2, 4, 5)
        np.testing.assert_array_equal(stored[0, 0], first_stored)
        np.testing.assert_array_equal(stored[1, 0], first_stored[::-1])  # backward: right first
        (tmp_path / "r.sxm").write_bytes(raw)
        np.testing.assert_array_equal(read_sxm(tmp_path / "r.sxm").data, ramp)
        back = read_sxm(tmp_path / "r.sxm", direction="backward").data
        np.testing.assert_array_equal(back, ramp)


def test_first_channel_when_there_is_no_z(tmp_path):
    channels = _scan(seed=2)
    del channels["Z"]
    write_sxm(tmp_path / "afm.sxm", channels)
    image = read_calibrated(tmp_path / "afm.sxm")
    assert image.meta["image"] == "Current forward"
    np.testing.assert_array_equal(image.data, channels["Current"][1])


def test_a_constant_height_scan_reads_the_channel_that_holds_the_image(tmp_path):
    # real constant-height files hold a constant Z (the feedback off): the image is the
    # current (STM) or the frequency shift (nc-AFM)
    channels = _scan(seed=3)
    flat = np.full((12, 20), -2.7e-8, "f4")
    channels["Z"] = ("m", flat, flat)
    write_sxm(tmp_path / "stm.sxm", channels)
    image = read_calibrated(tmp_path / "stm.sxm")
    assert image.meta["image"] == "Current forward"
    np.testing.assert_array_equal(image.data, channels["Current"][1])
    back = read_sxm(tmp_path / "stm.sxm", direction="backward")
    np.testing.assert_array_equal(back.data, channels["Current"][2])
    channels["Frequency_Shift"] = ("Hz", channels["Phase"][1] * 3, None)
    write_sxm(tmp_path / "afm.sxm", channels)
    assert read_sxm(tmp_path / "afm.sxm").meta["image"] == "Frequency_Shift forward"
    assert read_sxm(tmp_path / "afm.sxm", channel="z").meta["image"] == "Z forward"  # asked
    still = {"Z": ("m", flat, flat), "Current": ("A", flat, flat)}
    write_sxm(tmp_path / "flat.sxm", still)
    assert read_sxm(tmp_path / "flat.sxm").meta["image"] == "Z forward"  # nothing varies


def test_pixel_size_from_the_scan_range_and_the_angle_in_meta(tmp_path):
    path = tmp_path / "cal.sxm"
    write_sxm(path, _scan(), scan_range=(2e-8, 1.5e-8), angle=30.0)  # 20 px x 12 lines
    image = read_calibrated(path)
    assert image.scale == (1.25, 1.0) and image.units == ("nm", "nm")
    assert image.pixel_size is None and read_pixel_size(path) is None  # not square
    assert image.meta["scan_angle"] == 30.0 and image.meta["scan_range_m"] == (2e-8, 1.5e-8)
    np.testing.assert_allclose(image.meta["scan_offset_m"], (1.5e-9, -2e-9))
    write_sxm(path, _scan(), scan_range=(2e-8, 1.2e-8))
    assert read_pixel_size(path) == (1.0, "nm")
    write_sxm(path, _scan(), scan_range=(4e-5, 2.4e-5))  # an AFM's 40 µm: 2 µm a pixel
    assert read_pixel_size(path) == (2.0, "µm")
    for nonsense in ((0.0, 1e-8), (-2e-8, 1.2e-8), (float("nan"), 1e-8), (2e3, 1.2e3)):
        write_sxm(path, _scan(), scan_range=nonsense)
        image = read_calibrated(path)
        assert image.units == ("", "") and image.scale == (1.0, 1.0)


def test_unfinished_scan_keeps_its_nan_lines_and_detect_fills_them(tmp_path, capsys):
    lattice = make_lattice((96, 96), spacing=8.0, seed=2).image.astype("f4") * 1e-10
    unfinished = lattice.copy()
    unfinished[:30] = np.nan  # an up scan stopped 30 lines before its top
    path = tmp_path / "stopped.sxm"
    write_sxm(path, {"Z": ("m", unfinished, unfinished)}, scan_dir="up")
    read = read_image(path)
    assert np.isnan(read[:30]).all() and np.array_equal(read[30:], lattice[30:])
    from napari_ivae.cli import main

    assert main(["detect", str(path), "--out", str(tmp_path / "a.csv")]) == 0
    err = capsys.readouterr().err
    assert "2880 NaN/inf pixels were replaced" in err and "atoms found" in err


def test_damaged_files_are_refused_in_one_line(tmp_path):
    channels = _scan(shape=(8, 10))
    raw = sxm_bytes(channels)
    path = tmp_path / "bad.sxm"
    data_at = raw.index(b"\x1a\x04") + 2
    end_at = raw.index(b":SCANIT_END:")
    for cut in (0, 5, 300, end_at + 3, data_at + 1, len(raw) - 1):
        path.write_bytes(raw[:cut])
        message = one_line_error(path)
        want = (
            "empty" if cut == 0
            else "not a Nanonis scan" if cut < 8
            else "no :SCANIT_END:" if cut < end_at + 12
            else "truncated"
        )  # fmt: skip
        assert want in message, (cut, message)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + raw[8:])
    assert "not a Nanonis scan (.sxm) file" in one_line_error(path)
    path.write_bytes(raw.replace(b":SCANIT_END:", b":SCANIT_EN_:"))
    assert "no :SCANIT_END:" in one_line_error(path)
    path.write_bytes(raw.replace(b"\x1a\x04", b"\x1a\x05", 1))
    assert "data mark" in one_line_error(path)
    for key, values, want in (
        ("SCAN_PIXELS", ["      ten      8"], ":SCAN_PIXELS: 'ten 8' is not 2 numbers"),
        ("SCAN_PIXELS", ["       10"], "is not 2 numbers"),
        ("SCAN_PIXELS", ["        0        8"], "zero or negative size"),
        ("SCAN_RANGE", ["  2.0E-8  x"], ":SCAN_RANGE:"),
        ("SCAN_ANGLE", ["  tilted"], ":SCAN_ANGLE:"),
        ("SCAN_DIR", ["sideways"], "'sideways' is not 'up' or 'down'"),
        ("SCANIT_TYPE", ["   INT   MSBFIRST"], "data type 'INT MSBFIRST'"),
        ("DATA_INFO", ["\tChannel\tName\tUnit\tDirection", "\t14\tZ\tm\tsideways"], "damaged"),
        ("DATA_INFO", ["\tChannel\tName\tUnit\tDirection\tCalibration\tOffset"], "no channel"),
        ("DATA_INFO", ["\t14\tZ\tm\tboth"], "table of channels"),
    ):
        path.write_bytes(sxm_bytes(channels, extra={key: values}))
        assert want in one_line_error(path), key
    for key in ("SCAN_PIXELS", "SCAN_RANGE", "SCAN_DIR"):
        path.write_bytes(sxm_bytes(channels, drop=(key,)))
        assert f"lacks :{key}:" in one_line_error(path)
    path.write_bytes(sxm_bytes(channels, drop=("DATA_INFO",)))
    assert "lacks the table of channels" in one_line_error(path)
    path.write_bytes(sxm_bytes(channels, extra={"SCAN_RANGE": [""]}))
    assert ":SCAN_RANGE: has no value" in one_line_error(path)
    path.write_bytes(sxm_bytes(channels, extra={"SCAN_PIXELS": [f"{2**31} {2**31}"]}))
    assert "truncated" in one_line_error(path)  # no allocation of 2^62 pixels


def test_unknown_channel_or_direction_is_one_line(tmp_path):
    path = tmp_path / "scan.sxm"
    write_sxm(path, _scan())
    for options, want in (
        (
            {"channel": "Frequency shift"},
            "no channel 'Frequency shift' (it holds Current, Z, Phase)",
        ),
        ({"channel": "Phase", "direction": "backward"}, "'Phase' was recorded forward only"),
        ({"direction": "sideways"}, "direction 'sideways' is not 'forward' or 'backward'"),
    ):
        with pytest.raises(InputError) as caught:
            read_sxm(path, **options)
        message = str(caught.value)
        assert want in message and "\n" not in message and path.name in message


def test_fuzzed_files_are_read_or_refused_in_one_line(tmp_path):
    rng = np.random.default_rng(7)
    raw = sxm_bytes(_scan(shape=(16, 12)), scan_dir="up")
    assert fuzzed_outcomes(tmp_path / "fuzz.sxm", raw, rng) == {"read", "refused"}
    header = raw.index(b"\x1a\x04")  # damage in the header only: its parsing, not the pixels
    damaged = fuzzed_outcomes(tmp_path / "fuzz.sxm", raw[: header + 2], rng, changed=6)
    assert damaged == {"refused"}


def test_cli_detect_on_sxm_equals_npy(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=3).image.astype("f4") * 1e-10
    channels = {"Z": ("m", lattice, lattice[:, ::-1]), "Current": ("A", lattice, None)}
    write_sxm(tmp_path / "lat.sxm", channels, scan_dir="up", scan_range=(2.56e-9, 2.56e-9))
    err = detect_as_on_npy(tmp_path, capsys, tmp_path / "lat.sxm", lattice)
    assert "pixel size 0.02 nm" in err and "atom spacing" in err
    assert (
        "the file holds 3 images (Z forward, Z backward, Current forward); Z forward was read "
        "(in Python read_sxm(path, channel='Current'))" in err
    )
    write_sxm(tmp_path / "one.sxm", {"Z": ("m", lattice, None)})
    assert images_note(tmp_path / "one.sxm") == ""
    write_sxm(tmp_path / "two.sxm", {"Z": ("m", lattice, lattice)})
    assert images_note(tmp_path / "two.sxm").endswith(
        "(in Python read_sxm(path, direction='backward'))"
    )


def test_batch_reads_a_folder_s_sxm_and_still_leaves_out_stm_dat(tmp_path):
    from napari_ivae.cli._batch_inputs import collect_inputs, left_out

    write_sxm(tmp_path / "scan_001.sxm", _scan())
    (tmp_path / "spectrum_001.dat").write_bytes(b"Experiment\tbias spectroscopy\n")
    assert [p.name for p in collect_inputs([str(tmp_path)])] == ["scan_001.sxm"]
    assert [p.name for p in left_out([str(tmp_path)])] == ["spectrum_001.dat"]
