"""Velox and Berkeley EMD files (.emd, HDF5): images and frame stacks read back exactly, their
pixel size in nm, one detector's image chosen among several; spectra, damaged, truncated and
foreign files refused in one line; the CLI detects on them as on the same array in .npy."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
from _calibrated_checks import detect_as_on_npy, fuzzed_outcomes, one_line_error
from _emd_files import write_berkeley, write_velox

from napari_ivae.core.errors import InputError
from napari_ivae.core.io import read_calibrated, read_emd, read_image, read_pixel_size
from napari_ivae.core.io.emd import emd_contents
from napari_ivae.core.synthetic.lattice import make_lattice


def _pixels(dtype, shape, seed=0):
    values = np.random.default_rng(seed).integers(0, 120, shape)
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", ["u1", "u2", "i4", "f4", "f8", ">u2"])
@pytest.mark.parametrize("frames", [1, 4])
def test_velox_round_trip(tmp_path, dtype, frames):
    shape = (frames, 30, 40) if frames > 1 else (30, 40)
    pixels = _pixels(dtype, shape)
    path = tmp_path / "scan.emd"
    write_velox(path, [(pixels, {"pixel": (1.25e-10, 1.25e-10)})])
    image = read_calibrated(path, mmap=True)
    assert image.data.shape == shape and image.data.dtype.isnative
    np.testing.assert_array_equal(image.data, pixels)
    lead = (1.0,) if frames > 1 else ()
    assert image.scale == lead + (0.125, 0.125) and image.units[-2:] == ("nm", "nm")
    assert image.kind == "Velox EMD" and image.meta["images"] == ["HAADF"]
    assert read_pixel_size(path) == (0.125, "nm")
    np.testing.assert_array_equal(read_image(path), pixels)


def test_a_one_frame_velox_stack_is_a_2d_image(tmp_path):
    pixels = _pixels("u2", (1, 12, 10))  # stored (12, 10, 1)
    write_velox(tmp_path / "one.emd", [(pixels, {})])
    np.testing.assert_array_equal(read_image(tmp_path / "one.emd"), pixels[0])


def test_several_detectors_haadf_first_then_dark_field(tmp_path):
    bf, haadf, df = (_pixels("u2", (16, 20), seed) for seed in (1, 2, 3))
    path = tmp_path / "multi.emd"
    df4 = (df, {"detector": "DF4-A", "pixel": (2e-10, 2e-10)})
    write_velox(path, [(bf, {"detector": "BF"}), df4, (haadf, {"detector": "HAADF"})])
    image = read_emd(path)
    assert image.meta["image"] == "HAADF" and image.meta["images"] == ["BF", "DF4-A", "HAADF"]
    np.testing.assert_array_equal(image.data, haadf)
    picked = read_emd(path, detector="df4-a")  # case ignored
    np.testing.assert_array_equal(picked.data, df)
    assert picked.pixel_size == (0.2, "nm")
    with pytest.raises(InputError, match="holds no image 'ABF'.*BF"):
        read_emd(path, detector="ABF")
    write_velox(path, [(bf, {"detector": "BF"}), (df, {"detector": "DF2"})])
    np.testing.assert_array_equal(read_image(path), df)  # no HAADF: the dark field
    write_velox(path, [(bf, {"detector": "BF"}), (haadf, {"detector": "BF"})])
    assert read_emd(path).meta["images"] == ["BF", "BF 2"]  # same detector: numbered
    write_velox(path, [(haadf, {"detector": "BF"}), (df, {"detector": "iDPC"})])
    np.testing.assert_array_equal(read_image(path), haadf)  # neither: the first


def test_a_velox_dpc_files_complex_image_is_passed_over_and_refused_in_one_line(tmp_path):
    # a real Velox DPC file: nine DF4 images, one of them complex (realFloat, imagFloat pairs)
    dpc = _pixels("f4", (16, 20), 1) + 1j * _pixels("f4", (16, 20), 2)
    idpc = _pixels("f4", (16, 20), 3)
    path = tmp_path / "dpc.emd"
    write_velox(path, [(dpc, {"detector": "DF4"}), (idpc, {"detector": "DF4"})])
    image = read_emd(path)
    assert image.meta["image"] == "DF4 2" and image.meta["images"] == ["DF4", "DF4 2"]
    np.testing.assert_array_equal(image.data, idpc)
    with pytest.raises(InputError, match="pixels are complex \\(an FFT or a DPC image\\)"):
        read_emd(path, detector="DF4")
    write_velox(path, [(dpc, {"detector": "HAADF"})])  # a half FFT alone
    assert "pixels are complex" in one_line_error(path)


def test_velox_images_are_named_by_their_display_and_a_displayed_one_is_read(tmp_path):
    # as the real DPC file: every image's detector is DF4; Velox displayed (and labelled) some
    # of them; a derived image (a difference of two segments) has no display
    difference, dpc, idpc, segment = (_pixels("f4", (16, 20), seed) for seed in (1, 2, 3, 4))
    dpc = dpc + 1j * difference
    path = tmp_path / "dpc.emd"
    images = [
        (difference, {"detector": "DF4"}),
        (dpc, {"detector": "DF4", "label": "DPC"}),
        (idpc, {"detector": "DF4", "label": "iDPC"}),
        (segment, {"detector": "DF4", "label": "DF4-A"}),
        (segment, {"detector": "DF4"}),
    ]
    write_velox(path, images)
    image = read_emd(path)
    assert image.meta["images"] == ["DF4", "DPC", "iDPC", "DF4-A", "DF4 2"]
    assert image.meta["image"] == "DF4-A"  # displayed and dark field, not the difference
    np.testing.assert_array_equal(read_emd(path, detector="idpc").data, idpc)
    write_velox(path, [(difference, {"detector": "DF4"}), (idpc, {"label": "iDPC"})])
    assert read_emd(path).meta["image"] == "iDPC"  # the displayed one before a DF name


@pytest.mark.parametrize(
    ("pixel", "unit"),
    [(None, "m"), ((1.5e7, 1.5e7), "1/m"), ((1.0, 1.0), "pixel"), ((0.0, 0.0), "m"), ((1.0, 1.0), "m"),
     (("n/a", "n/a"), "m")],
)  # fmt: skip
def test_velox_without_a_real_space_size_is_in_pixels(tmp_path, pixel, unit):
    # None: no PixelSize; 1/m: a diffraction pattern (stays in pixels)
    pixels = _pixels("f4", (8, 9))
    write_velox(tmp_path / "d.emd", [(pixels, {"pixel": pixel, "unit": unit})])
    image = read_emd(tmp_path / "d.emd")
    assert image.scale == (1.0, 1.0) and image.units == ("", "")
    assert read_pixel_size(tmp_path / "d.emd") is None
    np.testing.assert_array_equal(image.data, pixels)


def test_velox_non_square_and_micrometre_pixels(tmp_path):
    write_velox(tmp_path / "r.emd", [(_pixels("u2", (8, 9)), {"pixel": (1e-10, 2e-10)})])
    image = read_emd(tmp_path / "r.emd")  # (width, height) -> scale (y, x)
    assert image.scale == (0.2, 0.1) and image.pixel_size is None
    write_velox(tmp_path / "u.emd", [(_pixels("u2", (8, 9)), {"pixel": (2.5e-6, 2.5e-6)})])
    assert read_pixel_size(tmp_path / "u.emd") == (2.5, "µm")


def test_berkeley_image_and_stack(tmp_path):
    pixels = _pixels("f4", (24, 32))
    y, x = (np.arange(n) * 0.05 - 0.5 for n in (24, 32))  # the zero at pixel 10
    path = tmp_path / "b.emd"
    write_berkeley(path, {"HAADF": (pixels, [(y, "y", "[n_m]"), (x, "x", "[n_m]")])})
    image = read_calibrated(path)
    np.testing.assert_array_equal(image.data, pixels)
    assert image.kind == "Berkeley EMD" and image.pixel_size == (0.05, "nm")
    np.testing.assert_allclose(image.origin, (10.0, 10.0))
    stack = _pixels("u2", (3, 24, 32))
    dims = [(np.arange(3), "time", "s"), (y * 1e-9, "y", "m"), (x * 1e-9, "x", "m")]
    write_berkeley(path, {"series": (stack, dims)})
    image = read_calibrated(path)
    np.testing.assert_array_equal(image.data, stack)
    assert image.scale == (1.0, 0.05, 0.05) and image.units == ("", "nm", "nm")
    write_berkeley(path, {"a": (pixels, [None, None]), "b": (stack, dims)})  # no dim vectors
    assert read_pixel_size(path) is None and read_emd(path).meta["images"] == ["a", "b"]
    np.testing.assert_array_equal(read_emd(path, detector="b").data, stack)
    write_berkeley(path, {"k": (pixels, [(y, "qy", "1/n_m"), (x, "qx", "1/n_m")])})
    assert read_pixel_size(path) is None  # reciprocal space stays in pixels
    write_berkeley(path, {"c": (pixels.astype("c8"), [None, None])})
    assert "pixels are complex" in one_line_error(path)


def test_berkeley_groups_outside_data_as_hyperspy_and_prismatic_write_them(tmp_path):
    # real files: HyperSpy writes /signals/<name>; Prismatic /4DSTEM_simulation/data/
    # realslices/<name>/realslice, shape (R_x, R_y, detector bins), the bins in mrad
    pixels = _pixels("i4", (24, 32))
    y, x = (np.arange(n) * 0.25 for n in (24, 32))
    path = tmp_path / "hs.emd"
    write_berkeley(path, {"__unnamed__": (pixels, [(y, "", "n_m"), (x, "", "n_m")])}, top="signals")
    image = read_calibrated(path)
    np.testing.assert_array_equal(image.data, pixels)
    assert image.pixel_size == (0.25, "nm") and image.meta["image"] == "__unnamed__"
    cube = _pixels("f4", (24, 32, 5))
    dims = [(y, "R_x", "[n_m]"), (x, "R_y", "[n_m]"), (np.arange(5.0), "bin_outer_angle", "[mrad]")]
    slices = {"annular_depth0000": (cube[..., 0], dims[:2]), "virtual_depth0000": (cube, dims)}
    top = "4DSTEM_simulation/data/realslices"
    write_berkeley(path, slices, top=top, data_name="realslice")
    image = read_emd(path, detector="virtual_depth0000")
    np.testing.assert_array_equal(image.data, np.moveaxis(cube, 2, 0))  # (bins, R_x, R_y)
    assert image.units == ("", "nm", "nm") and image.pixel_size == (0.25, "nm")
    assert emd_contents(path, detector="virtual_depth0000").meta["shape"] == (5, 24, 32)
    np.testing.assert_array_equal(read_calibrated(path).data, cube[..., 0])
    assert read_emd(path).meta["images"] == ["annular_depth0000", "virtual_depth0000"]


def test_spectra_foreign_and_damaged_files_are_refused_in_one_line(tmp_path):
    path = tmp_path / "bad.emd"
    with h5py.File(path, "w") as f:  # an EDS acquisition: spectra only
        f.create_group("Data/SpectrumStream/abc").create_dataset("Data", data=np.zeros(9, "u1"))
        f.create_group("Data/Image")
    assert "holds spectra (SpectrumStream), no image" in one_line_error(path)
    with h5py.File(path, "w") as f:  # HDF5, but neither layout
        f.create_dataset("entry/data", data=np.zeros((4, 4)))
    assert "holds no Velox image (/Data/Image) or Berkeley EMD group" in one_line_error(path)
    with h5py.File(path, "w") as f:
        f.create_group("Data/Image/abc").create_dataset("Metadata", data=np.zeros((4, 1), "u1"))
    assert "lacks the dataset 'Data'" in one_line_error(path)
    with h5py.File(path, "w") as f:
        f.create_dataset("Data/Image/abc/Data", data=np.zeros((4,), "u1"))
    assert "shape (4,), not (y, x, frames)" in one_line_error(path)
    path.write_bytes(b"")
    assert "empty" in one_line_error(path)
    path.write_bytes(b"PK\x03\x04 a zip named .emd")
    assert "not an HDF5 (EMD) file" in one_line_error(path)
    write_velox(path, [(_pixels("u2", (64, 64)), {})])
    raw = path.read_bytes()
    for cut in (8, 100, 1000, len(raw) // 2, len(raw) - 100):
        path.write_bytes(raw[:cut])
        assert "Could not read EMD file" in one_line_error(path), cut


def test_fuzzed_files_are_read_or_refused_in_one_line(tmp_path):
    rng = np.random.default_rng(7)
    source = tmp_path / "src.emd"
    write_velox(source, [(_pixels("i2", (3, 20, 24)), {"pixel": (1e-10, 1e-10)})])
    raw = source.read_bytes()
    outcomes = fuzzed_outcomes(tmp_path / "fuzz.emd", raw, rng, trials=200, keep=8, changed=4)
    assert outcomes == {"read", "refused"}


def test_cli_detect_on_emd_equals_npy(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=3).image.astype("f4")
    bf = (np.zeros_like(lattice), {"detector": "BF"})
    write_velox(
        tmp_path / "lat.emd", [bf, (lattice, {"detector": "HAADF", "pixel": (2e-11, 2e-11)})]
    )
    err = detect_as_on_npy(tmp_path, capsys, tmp_path / "lat.emd", lattice)
    assert "pixel size 0.02 nm" in err and "atom spacing" in err
    assert "holds 2 images (" in err and "HAADF was read" in err and "detector='BF'" in err


def test_the_cli_does_not_import_h5py_to_start():
    code = "import sys, napari_ivae.cli as c, napari_ivae.core.io.imageio; print('h5py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
