"""Gwyddion .gwy files: the lowest-numbered channel (or one picked by title or number) read back
top row first with its pixel size in nm from the field's size; other components of the container
stepped over; damaged, truncated and foreign files refused in one line; the CLI detects on one as
on the same array in .npy."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from _calibrated_checks import detect_as_on_npy, fuzzed_outcomes, one_line_error
from _gwy_files import Char, Obj, data_field, gwy_bytes, serialize, unit, write_gwy

from napari_ivae.core.errors import InputError
from napari_ivae.core.io import read_calibrated, read_gwy, read_image, read_pixel_size
from napari_ivae.core.io.gwyddion import images_note
from napari_ivae.core.synthetic.lattice import make_lattice


def _channels(shape=(12, 20), seed=0, numbers=(0, 1, 4)):
    rng = np.random.default_rng(seed)
    titles = ("Height", "Amplitude", "Phase")
    return {n: (t, rng.normal(size=shape)) for n, t in zip(numbers, titles)}


def test_channel_0_is_read_top_row_first(tmp_path):
    channels = _channels()
    path = tmp_path / "afm.gwy"
    write_gwy(path, channels)
    for mmap in (False, True):
        np.testing.assert_array_equal(read_image(path, mmap=mmap), channels[0][1])
    read = read_image(path)
    assert read.dtype == np.float64 and read.dtype.isnative and read.flags.c_contiguous
    image = read_calibrated(path)
    assert image.kind == "Gwyddion GWY" and image.meta["channel"] == "Height"
    assert image.meta["channels"] == ["Height", "Amplitude", "Phase"]
    assert image.meta["numbers"] == [0, 1, 4] and image.meta["number"] == 0
    assert image.meta["unit"] == "m" and image.meta["unit_xy"] == "m"
    assert image.meta["real"] == (2e-8, 1.5e-8) and image.meta["offset"] == (1.5e-9, -2e-9)


def test_a_channel_picked_by_title_or_number(tmp_path):
    channels = _channels(seed=1)
    path = tmp_path / "afm.gwy"
    write_gwy(path, channels)
    for number, (title, want) in channels.items():
        for pick in (title.upper(), number, np.int64(number)):
            for mmap in (False, True):
                got = read_gwy(path, channel=pick, mmap=mmap)
                np.testing.assert_array_equal(got.data, want)
                assert got.meta["channel"] == title and got.meta["number"] == number
    for pick, want in (("Topography", "no channel 'Topography'"), (2, "no channel 2"),
                       (True, "no channel True")):  # fmt: skip
        with pytest.raises(InputError) as caught:
            read_gwy(path, channel=pick)
        message = str(caught.value)
        assert want in message and "(it holds 0 Height, 1 Amplitude, 4 Phase)" in message
        assert "\n" not in message and path.name in message


def test_lowest_number_by_default_and_untitled_channels(tmp_path):
    channels = _channels(seed=2, numbers=(7, 3, 12))
    channels[12] = (None, channels[12][1])
    write_gwy(tmp_path / "a.gwy", channels)
    image = read_calibrated(tmp_path / "a.gwy")
    assert image.meta["numbers"] == [3, 7, 12] and image.meta["channel"] == "Amplitude"
    assert image.meta["channels"] == ["Amplitude", "Height", "channel 12"]
    np.testing.assert_array_equal(image.data, channels[3][1])
    np.testing.assert_array_equal(read_gwy(tmp_path / "a.gwy", channel=12).data, channels[12][1])


def test_pixel_size_from_the_field_s_size(tmp_path):
    path = tmp_path / "cal.gwy"
    image = _channels(numbers=(0,))
    write_gwy(path, image)  # 20 px x 12 rows over 20 x 15 nm
    got = read_calibrated(path)
    assert got.scale == (1.25, 1.0) and got.units == ("nm", "nm")
    assert got.pixel_size is None and read_pixel_size(path) is None  # not square
    write_gwy(path, image, real=(2e-8, 1.2e-8))
    assert read_pixel_size(path) == (1.0, "nm")
    write_gwy(path, image, real=(4e-5, 2.4e-5))  # an AFM's 40 µm: 2 µm a pixel
    assert read_pixel_size(path) == (2.0, "µm")
    write_gwy(path, image, real=(2e-8, 1.2e-8), unit_xy=None)  # no lateral unit: metres
    assert read_pixel_size(path) == (1.0, "nm")
    write_gwy(path, image, real=(20.0, 12.0), unit_xy="nm")
    assert read_pixel_size(path) == (1.0, "nm")
    for real, unit_xy in (((20.0, 12.0), "V"), ((20.0, 12.0), ""), ((0.0, 1e-8), "m"),
                          ((-2e-8, 1.2e-8), "m"), ((float("nan"), 1e-8), "m"),
                          ((2e3, 1.2e3), "m")):  # fmt: skip
        write_gwy(path, image, real=real, unit_xy=unit_xy)
        got = read_calibrated(path)
        assert got.units == ("", "") and got.scale == (1.0, 1.0), (real, unit_xy)
    field = data_field(image[0][1])
    field.components = [c for c in field.components if c[0] != "xreal"]
    path.write_bytes(b"GWYP" + serialize(Obj("GwyContainer", [("/0/data", field)])))
    assert read_calibrated(path).units == ("", "")


def test_other_components_are_stepped_over(tmp_path):
    channels = _channels(seed=3, numbers=(0, 2))
    selection = Obj("GwySelectionRectangle", [("max", 1), ("data", np.arange(4.0))])
    graph = Obj(
        "GwyGraphModel",
        [
            (
                "curves",
                [
                    Obj(
                        "GwyGraphCurveModel",
                        [("xdata", np.arange(3.0)), ("description", "profile")],
                    )
                ],
            ),
            ("x_unit", unit("m")),
        ],
    )
    extra = [
        ("/filename", "C:\\data\\afm_001.gwy"),
        ("/0/base/palette", "Gold"),
        ("/0/meta", Obj("GwyContainer", [("Date", "2026-12-06"), ("Bias", "1 V")])),
        ("/0/select/rectangle", selection),
        ("/0/graph/graph/1", graph),
        ("/0/data/visible", True),
        ("/0/mask/red", 1.0),
        ("/code", Char(b"x")),
        ("/counts", np.arange(6, dtype="i4")),
        ("/stamps", np.arange(3, dtype="i8") * 2**40),
        ("/bytes", np.arange(5, dtype="u1")),
        ("/names", ["a", "", "ccc"]),
        ("/units", [unit("V"), unit("A")]),
        ("/big", 2**40),
        ("/2/data/title", 7),  # replaced by the channel's title below
        ("/5/data/title", "a title without its field"),
        ("/3/data", unit("m")),  # not a data field
        ("/1/data", "text"),
    ]
    fields = {n: (t, img) for n, (t, img) in channels.items()}
    write_gwy(tmp_path / "busy.gwy", fields, extra=extra,
              extra_field=[("/ignored", ["x"]), ("si_unit_z", unit("V"))])  # fmt: skip
    image = read_calibrated(tmp_path / "busy.gwy")
    assert image.meta["numbers"] == [0, 2] and image.meta["unit"] == "V"
    np.testing.assert_array_equal(image.data, channels[0][1])
    np.testing.assert_array_equal(read_gwy(tmp_path / "busy.gwy", channel=2).data, channels[2][1])
    assert image.scale == (1.25, 1.0)


def test_damaged_files_are_refused_in_one_line(tmp_path):
    channels = _channels(shape=(8, 10), numbers=(0,))
    raw = gwy_bytes(channels)
    path = tmp_path / "bad.gwy"
    data_at = raw.index(b"data\0D") + 6
    for cut in (0, 3, 4, 10, 17, data_at, len(raw) - 1):
        path.write_bytes(raw[:cut])
        want = "empty" if cut == 0 else "not a Gwyddion (.gwy) file" if cut < 4 else "truncated"
        assert want in one_line_error(path), (cut, one_line_error(path))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + raw[8:])
    assert "not a Gwyddion (.gwy) file" in one_line_error(path)
    with pytest.raises(InputError, match="does not start with GWYP"):
        read_gwy(path)  # its own check, past read_image's
    path.write_bytes(b"GWYO" + raw[4:])
    assert "Gwyddion 1 file (GWYO)" in one_line_error(path)
    path.write_bytes(b"GWYP" + serialize(Obj("GwyDataField", [])))
    assert "'GwyDataField', not a GwyContainer" in one_line_error(path)
    extra = [("/0/meta", "no channel here")]
    path.write_bytes(b"GWYP" + serialize(Obj("GwyContainer", extra)))
    assert "no data field" in one_line_error(path)
    for name, value, want in (
        ("xres", 11, "holds 80 values, not 11 x 8"),
        ("yres", 0, "yres is 0, not a positive integer"),
        ("xres", 10.0, "xres is 10.0"),
        ("data", np.arange(80, dtype="i4"), "no data (an array of doubles)"),
    ):
        field = data_field(channels[0][1])
        field.components = [(k, value if k == name else v) for k, v in field.components]
        path.write_bytes(b"GWYP" + serialize(Obj("GwyContainer", [("/0/data", field)])))
        assert want in one_line_error(path), name
    huge = bytearray(raw)  # the data array's count 2^31: no allocation of 16 GiB
    struct.pack_into("<I", huge, data_at, 2**31)
    path.write_bytes(bytes(huge))
    assert "claims 2147483648 items" in one_line_error(path)
    huge = bytearray(raw)  # the top object's size
    struct.pack_into("<I", huge, raw.index(b"\0") + 1, 2**32 - 1)
    path.write_bytes(bytes(huge))
    assert "claims 4294967295 bytes" in one_line_error(path)
    path.write_bytes(raw.replace(b"xreal\0d", b"xreal\0z"))
    assert "'xreal' has an unknown type 'z'" in one_line_error(path)


def test_fuzzed_files_are_read_or_refused_in_one_line(tmp_path):
    rng = np.random.default_rng(7)
    extra = [("/0/meta", Obj("GwyContainer", [("Date", "today")])), ("/names", ["a", "b"]),
             ("/units", [unit("V")]), ("/0/base/palette", "Gold")]  # fmt: skip
    raw = gwy_bytes(_channels(shape=(10, 8), numbers=(0, 1)), extra=extra)
    assert fuzzed_outcomes(tmp_path / "fuzz.gwy", raw, rng) == {"read", "refused"}


def test_cli_detect_on_gwy_equals_npy(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=3).image.astype("f8") * 1e-10
    channels = {0: ("Height", lattice), 1: ("Phase", lattice[:, ::-1])}
    write_gwy(tmp_path / "lat.gwy", channels, real=(2.56e-9, 2.56e-9))
    err = detect_as_on_npy(tmp_path, capsys, tmp_path / "lat.gwy", lattice)
    assert "pixel size 0.02 nm" in err and "atom spacing" in err
    assert (
        "the file holds 2 channels (Height, Phase); Height was read "
        "(in Python read_gwy(path, channel='Phase'))" in err
    )
    write_gwy(tmp_path / "one.gwy", {0: ("Z", lattice)})
    assert images_note(tmp_path / "one.gwy") == ""
    write_gwy(tmp_path / "two.gwy", {0: ("Z", lattice), 5: ("Z", lattice)})
    assert images_note(tmp_path / "two.gwy").endswith("(in Python read_gwy(path, channel=5))")


def test_batch_reads_a_folder_s_gwy(tmp_path):
    from napari_ivae.cli._batch_inputs import collect_inputs

    write_gwy(tmp_path / "afm_001.gwy", _channels())
    assert [p.name for p in collect_inputs([str(tmp_path)])] == ["afm_001.gwy"]
