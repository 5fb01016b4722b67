"""The pixel size of a microscope's TIFF (ImageJ, FEI/Thermo Fisher, Zeiss SEM, OME, resolution
tags in cm), written by tifffile as those programs write it; a picture's dots per inch are no
pixel size; the pixels read as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_ivae.cli import main
from napari_ivae.core.errors import InputError
from napari_ivae.core.io import read_image, read_pixel_size
from napari_ivae.core.io.tiff_calibration import tiff_pixel_size
from napari_ivae.core.synthetic.lattice import make_lattice

_ZEISS_UM = "Image Pixel Size = 1.5 µm"  # written in cp1252, as Zeiss does
PIXELS = (np.arange(48 * 64) % 251).astype("u1").reshape(48, 64)


def _fei(width="2.5e-09", height="2.5e-09", section="Scan") -> str:
    # as FEI/Thermo Fisher SEMs and FIBs write tag 34682: an INI text, sizes in metres
    return (
        "[User]\r\nDate=03/14/2019\r\nUserText=\r\n[System]\r\nType=DualBeam\r\n"
        f"[{section}]\r\nInternalScan=true\r\nDwelltime=3e-006\r\nPixelWidth={width}\r\n"
        f"PixelHeight={height}\r\nHorFieldsize=1.6e-006\r\n[Stage]\r\nStageX=0.0012\r\n"
    )


def _gatan(unit_x="µm", unit_y="µm", scale_x=0.1687, scale_y=0.1687) -> list:
    # as DigitalMicrograph saves a TIFF: 72 dpi resolution tags, private tags 65003/65004
    # (units) and 65009/65010 (scales); a real one was read without a pixel size
    unit_x, unit_y = (u.encode("latin-1") for u in (unit_x, unit_y))  # as DM: µ one byte
    return [(65003, "s", 0, unit_x, True), (65004, "s", 0, unit_y, True),
            (65009, "d", 1, scale_x, True), (65010, "d", 1, scale_y, True),
            (65012, "s", 0, "micrometer", True)]  # fmt: skip


def _zeiss(key="AP_PIXEL_SIZE", line="Pixel Size = 2.116 nm") -> bytes:
    # as Zeiss SEMs write tag 34118: values, then NAME lines each followed by "Label = value unit"
    text = f"\r\n0\r\n1\r\n{key}\r\n{line}\r\nAP_WD\r\nWD = 5.1 mm\r\n"
    text += "DP_DETECTOR_TYPE\r\nDetector = InLens\r\n"
    return text.encode("cp1252")


@pytest.mark.parametrize(
    ("options", "want"),
    [
        ({"imagej": True, "resolution": (20, 20), "metadata": {"unit": "nm"}}, (0.05, "nm")),
        ({"imagej": True, "resolution": (4, 4), "metadata": {"unit": "micron"}}, (0.25, "µm")),
        # ImageJ escapes a non-ASCII unit in its description
        ({"imagej": True, "resolution": (4, 4), "metadata": {"unit": "\\u00B5m"}}, (0.25, "µm")),
        ({"imagej": True, "resolution": (2, 2), "metadata": {"unit": "\\u00C5"}}, (0.5, "Å")),
        ({"imagej": True, "resolution": (0.5, 0.5), "metadata": {"unit": "um"}}, (2.0, "µm")),
        ({"extratags": [(34682, "s", 0, _fei(), True)]}, (2.5, "nm")),
        ({"extratags": [(34680, "s", 0, _fei("1.2e-06", "1.2e-06"), True)]}, (1.2, "µm")),
        ({"extratags": [(34682, "s", 0, _fei("3.1e-10", "3.1e-10", "EScan"), True)]}, (0.31, "nm")),
        ({"extratags": [(34118, "s", 0, _zeiss(), True)]}, (2.116, "nm")),
        (
            {"extratags": [(34118, "s", 0, _zeiss("AP_IMAGE_PIXEL_SIZE", _ZEISS_UM), True)]},
            (1.5, "µm"),
        ),
        (
            {
                "metadata": {
                    "PhysicalSizeX": 0.5,
                    "PhysicalSizeXUnit": "nm",
                    "PhysicalSizeY": 0.5,
                    "PhysicalSizeYUnit": "nm",
                }
            },
            (0.5, "nm"),
        ),  # fmt: skip
        ({"metadata": {"PhysicalSizeX": 0.13, "PhysicalSizeY": 0.13}}, (0.13, "µm")),  # OME's µm
        (
            {"resolution": (72, 72), "resolutionunit": "INCH", "extratags": _gatan()},
            (0.1687, "µm"),
        ),
        ({"extratags": _gatan("nm", "nm", 2.5, 2.5)}, (2.5, "nm")),
        # a microscope's resolution tags: 100 000 pixels per cm
        ({"resolution": (1e5, 1e5), "resolutionunit": "CENTIMETER"}, (0.1, "µm")),
    ],
)
def test_a_microscope_tiff_states_its_pixel_size(tmp_path, options, want):
    path = tmp_path / ("img.ome.tif" if "PhysicalSizeX" in str(options) else "img.tif")
    tifffile.imwrite(path, PIXELS, **options)
    assert read_pixel_size(path) == want
    np.testing.assert_array_equal(read_image(path), PIXELS)  # the pixels as before
    np.testing.assert_array_equal(read_image(path, mmap=True), PIXELS)


@pytest.mark.parametrize(
    "options",
    [
        {},  # tifffile's own 1 x 1 per no unit
        {"resolution": (72, 72), "resolutionunit": "INCH"},  # a picture editor
        {"resolution": (300, 300), "resolutionunit": "INCH"},
        {"resolution": (9600, 9600), "resolutionunit": "INCH"},  # a scanner at its finest
        {"resolution": (118.11, 118.11), "resolutionunit": "CENTIMETER"},  # 300 dpi in cm
        {"resolution": (1e5, 1e5), "resolutionunit": "NONE"},
        # ImageJ opening a 72-dpi picture: its unit is inch
        {"imagej": True, "resolution": (72, 72), "metadata": {"unit": "inch"}},
        {"imagej": True, "resolution": (1, 1), "metadata": {"unit": "pixel"}},
        {"imagej": True, "resolution": (20, 10), "metadata": {"unit": "nm"}},  # not square
        {"extratags": [(34682, "s", 0, _fei("2.5e-09", "5e-09"), True)]},  # not square
        {"extratags": [(34682, "s", 0, _fei("n/a", "n/a"), True)]},  # damaged: no size
        {"extratags": [(34118, "s", 0, _zeiss(line="Pixel Size = 2.116 furlong"), True)]},
        {"extratags": _gatan(scale_y=1.687)},  # not square (a real DM-saved stack's)
        {"extratags": _gatan("µm", "s")},  # not two lengths
        {"extratags": _gatan()[:3]},  # no y scale: no DigitalMicrograph calibration
        {
            "metadata": {
                "PhysicalSizeX": 0.5,
                "PhysicalSizeXUnit": "nm",
                "PhysicalSizeY": 0.5,
                "PhysicalSizeYUnit": "µm",
            }
        },  # fmt: skip
    ],
)
def test_no_calibration_or_a_pictures_dpi_is_no_pixel_size(tmp_path, options):
    path = tmp_path / ("img.ome.tif" if "PhysicalSizeX" in str(options) else "img.tif")
    tifffile.imwrite(path, PIXELS, **options)
    assert tiff_pixel_size(path) is None
    np.testing.assert_array_equal(read_image(path), PIXELS)


def test_a_vendor_size_comes_before_the_resolution_tags(tmp_path):
    # an FEI file also carries resolution tags (here ones that would read 0.1 µm): the [Scan]
    # section is the calibration
    path = tmp_path / "fei.tif"
    tifffile.imwrite(path, PIXELS, resolution=(1e5, 1e5), resolutionunit="CENTIMETER",
                     extratags=[(34682, "s", 0, _fei("7.5e-10", "7.5e-10"), True)])  # fmt: skip
    assert read_pixel_size(path) == (0.75, "nm")


@pytest.mark.parametrize(
    ("size", "width", "want"),
    [
        # as a real Zeiss file (5.825 nm stated, 5.965 µm wide, 512 columns saved: 11.65 nm):
        # the stated size is of a 1024-pixel raster, the image has 64 columns
        ("Pixel Size = 2 nm", "Width = 2.048 µm", 32.0),
        ("Pixel Size = 2.116 nm", "Width = 135.4 nm", 2.116),  # 64 pixels wide: as stated
        ("Pixel Size = 2.116 nm", "Width = 5.1 furlong", 2.116),  # no length: as stated
    ],
)
def test_a_zeiss_size_is_of_its_scan_raster_not_of_fewer_saved_columns(tmp_path, size, width, want):
    zeiss = _zeiss(line=size) + f"AP_WIDTH\r\n{width}\r\n".encode("cp1252")
    path = tmp_path / "zeiss.tif"
    tifffile.imwrite(path, PIXELS, extratags=[(34118, "s", 0, zeiss, True)])
    found = read_pixel_size(path)
    assert found is not None and found[1] == "nm"
    assert found[0] == pytest.approx(want)


def test_a_stack_states_its_first_pages_calibration(tmp_path):
    stack = np.stack([PIXELS, PIXELS[::-1]])
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack, imagej=True, resolution=(10, 10), metadata={"unit": "nm"})
    assert read_pixel_size(path) == (0.1, "nm")
    np.testing.assert_array_equal(read_image(path), stack)


def test_a_file_that_is_no_tiff_is_refused_in_one_line(tmp_path):
    path = tmp_path / "fake.tif"
    path.write_bytes(b"GIF89a" + b"\xff" * 40)
    with pytest.raises(InputError) as caught:
        read_pixel_size(path)
    assert "\n" not in str(caught.value) and "fake.tif" in str(caught.value)
    path.write_bytes(b"II*\x00" + b"\xff" * 40)  # a TIFF header, its first page past the end
    assert read_pixel_size(path) is None  # no page: no calibration stated


def test_cli_detect_states_a_tiffs_pixel_size_only_where_a_microscope_gave_it(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=4).image.astype("f4")
    tifffile.imwrite(tmp_path / "fei.tif", lattice,
                     extratags=[(34682, "s", 0, _fei("2e-11", "2e-11"), True)])  # fmt: skip
    tifffile.imwrite(tmp_path / "dpi.tif", lattice, resolution=(72, 72), resolutionunit="INCH")
    assert main(["detect", str(tmp_path / "dpi.tif"), "--out", str(tmp_path / "dpi.csv")]) == 0
    from_dpi = capsys.readouterr().err
    assert main(["detect", str(tmp_path / "fei.tif"), "--out", str(tmp_path / "fei.csv")]) == 0
    from_fei = capsys.readouterr().err
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "dpi.csv"), pd.read_csv(tmp_path / "fei.csv")
    )
    assert "pixel size" not in from_dpi
    assert "pixel size 0.02 nm (the file's calibration" in from_fei and "atom spacing" in from_fei
