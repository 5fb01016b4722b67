"""A .dm3/.dm4, MRC, TIA .ser, .emd micrograph, Nanonis .sxm scan or Gwyddion .gwy file opens in
napari with its calibration, and Detect's atoms lie on it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from napari_helpers import PLUGIN, is_error, open_widget

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from _dm_files import write_dm  # noqa: E402
from _emd_files import write_berkeley, write_velox  # noqa: E402
from _gwy_files import write_gwy  # noqa: E402
from _mrc_files import write_mrc  # noqa: E402
from _ser_files import write_ser  # noqa: E402
from _sxm_files import write_sxm  # noqa: E402

from napari_ivae._reader import get_reader  # noqa: E402
from napari_ivae.core.synthetic.lattice import make_lattice  # noqa: E402


def test_reader_claims_only_dm_files(tmp_path):
    assert get_reader(str(tmp_path / "a.dm4")) is not None
    assert get_reader([str(tmp_path / "a.DM3"), str(tmp_path / "b.dm4")]) is not None
    assert get_reader(str(tmp_path / "a.mrcs")) is not None
    assert get_reader(str(tmp_path / "a.SER")) is not None
    assert get_reader(str(tmp_path / "a.emd")) is not None
    assert get_reader(str(tmp_path / "a.SXM")) is not None
    assert get_reader(str(tmp_path / "a.GWY")) is not None
    assert get_reader(str(tmp_path / "a.hspy")) is None
    assert get_reader(str(tmp_path / "a.tif")) is None  # napari's own reader opens TIFFs
    assert get_reader([str(tmp_path / "a.dm4"), str(tmp_path / "a.tif")]) is None


def test_calibrated_dm4_opens_scaled_and_detect_lands_on_the_atoms(viewer, tmp_path, qtbot):
    lattice = make_lattice((96, 96), spacing=8.0, seed=1)
    path = tmp_path / "grain.dm4"
    # x then y; DigitalMicrograph's origin is in pixels: the world starts at -origin * scale
    write_dm(path, lattice.image.astype("f4"), scale=[0.05, 0.05], origin=[0.0, 20.0],
             units=["nm", "nm"])  # fmt: skip
    viewer.open(str(path), plugin=PLUGIN)
    image = viewer.layers["grain"]
    np.testing.assert_allclose(image.scale, (0.05, 0.05))
    np.testing.assert_allclose(image.translate, (-1.0, 0.0))
    assert [str(u) for u in image.units] == ["nanometer", "nanometer"]
    assert image.metadata["pixel_size"] == 0.05 and image.metadata["pixel_unit"] == "nm"
    np.testing.assert_array_equal(np.asarray(image.data), lattice.image.astype("f4"))
    detect = open_widget(viewer, "Detect")
    detect.image.value = image
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert "atoms found" in detect.status.value and not is_error(detect.status)
    # the dock says the pixel size and the spacing in the file's unit (8 px = 0.4 nm)
    assert re.search(r"; 1 px = 0\.05 nm, spacing 0\.(39\d*|4|40\d*) nm", detect.status.value)
    points = viewer.layers["grain atoms [ivae]"]
    assert [str(u) for u in points.units] == ["nanometer", "nanometer"]
    world = points.data * points.scale + points.translate  # napari's data-to-world, no rotation
    truth = lattice.positions * 0.05 + (-1.0, 0.0)
    gaps = np.linalg.norm(world[:, None, :] - truth[None, :, :], axis=-1).min(axis=1)
    assert len(world) > 60 and np.median(gaps) < 0.05 * 0.5  # within half a pixel, in nm


def test_uncalibrated_dm3_stack_opens_in_pixels(viewer, tmp_path):
    stack = np.arange(3 * 20 * 24, dtype="u2").reshape(3, 20, 24)
    path = tmp_path / "series.dm3"
    write_dm(path, stack, version=3)
    viewer.open(str(path), plugin=PLUGIN)
    layer = viewer.layers["series"]
    assert layer.data.shape == (3, 20, 24)
    np.testing.assert_allclose(layer.scale, (1.0, 1.0, 1.0))
    assert "pixel_size" not in layer.metadata
    np.testing.assert_array_equal(np.asarray(layer.data), stack)


def test_mrc_stack_opens_with_its_pixel_size_in_angstrom(viewer, tmp_path):
    stack = np.arange(2 * 10 * 12, dtype="f4").reshape(2, 10, 12)
    path = tmp_path / "tilt.mrc"
    write_mrc(path, stack, pixel_size=1.05)
    viewer.open(str(path), plugin=PLUGIN)
    layer = viewer.layers["tilt"]
    np.testing.assert_allclose(layer.scale, (1.0, 1.05, 1.05))
    assert [str(u) for u in layer.units] == ["pixel", "angstrom", "angstrom"]
    assert layer.metadata["pixel_size"] == 1.05 and layer.metadata["file_format"] == "MRC"
    np.testing.assert_array_equal(np.asarray(layer.data), stack)


def test_ser_series_opens_top_row_first_with_its_pixel_size_in_nm(viewer, tmp_path):
    frames = [np.arange(10 * 12, dtype="i2").reshape(10, 12) * (n + 1) for n in range(3)]
    path = tmp_path / "series_1.ser"
    # x: zero at pixel 4 (offset -1 nm, 0.25 nm a pixel); y: zero at the stored first row (the
    # bottom one), row 9 from the top
    write_ser(path, frames, delta=(2.5e-10, 2.5e-10), offset=(-1e-9, 0.0))
    viewer.open(str(path), plugin=PLUGIN)
    layer = viewer.layers["series_1"]
    np.testing.assert_allclose(layer.scale, (1.0, 0.25, 0.25))
    np.testing.assert_allclose(layer.translate, (0.0, -9 * 0.25, -4 * 0.25))
    assert [str(u) for u in layer.units] == ["pixel", "nanometer", "nanometer"]
    assert layer.metadata["pixel_size"] == 0.25 and layer.metadata["file_format"] == "TIA SER"
    np.testing.assert_array_equal(np.asarray(layer.data), np.stack(frames))


def test_sxm_scan_opens_its_topograph_top_line_first_in_nm(viewer, tmp_path):
    rng = np.random.default_rng(4)
    z, current = (rng.normal(size=(12, 16)).astype("f4") for _ in range(2))
    path = tmp_path / "stm_001.sxm"
    write_sxm(path, {"Current": ("A", current, None), "Z": ("m", z * 1e-10, z)}, scan_dir="up",
              scan_range=(8e-9, 6e-9))  # fmt: skip
    viewer.open(str(path), plugin=PLUGIN)
    layer = viewer.layers["stm_001"]
    np.testing.assert_allclose(layer.scale, (0.5, 0.5))
    np.testing.assert_allclose(layer.translate, (0.0, 0.0))
    assert [str(u) for u in layer.units] == ["nanometer", "nanometer"]
    assert layer.metadata["pixel_size"] == 0.5 and layer.metadata["file_format"] == "Nanonis SXM"
    np.testing.assert_array_equal(np.asarray(layer.data), z * 1e-10)  # Z forward, top line first


def test_gwy_file_opens_its_first_channel_in_nm(viewer, tmp_path):
    rng = np.random.default_rng(5)
    height, phase = (rng.normal(size=(12, 16)) for _ in range(2))
    path = tmp_path / "afm_001.gwy"
    write_gwy(path, {2: ("Phase", phase), 1: ("Height", height * 1e-9)}, real=(8e-9, 6e-9))
    viewer.open(str(path), plugin=PLUGIN)
    layer = viewer.layers["afm_001"]
    np.testing.assert_allclose(layer.scale, (0.5, 0.5))
    np.testing.assert_allclose(layer.translate, (0.0, 0.0))
    assert [str(u) for u in layer.units] == ["nanometer", "nanometer"]
    assert layer.metadata["pixel_size"] == 0.5 and layer.metadata["file_format"] == "Gwyddion GWY"
    np.testing.assert_array_equal(np.asarray(layer.data), height * 1e-9)  # the lowest number


def test_velox_detectors_open_as_layers_in_nm_haadf_on_top(viewer, tmp_path):
    haadf = np.arange(3 * 16 * 20, dtype="u2").reshape(3, 16, 20)
    bf = np.full((16, 20), 7, "f4")
    path = tmp_path / "stem.emd"
    write_velox(
        path,
        [(bf, {"detector": "BF"}), (haadf, {"detector": "HAADF", "pixel": (1.5e-10, 1.5e-10)})],
    )
    viewer.open(str(path), plugin=PLUGIN)
    assert [layer.name for layer in viewer.layers] == ["stem BF", "stem HAADF"]  # HAADF on top
    layer = viewer.layers["stem HAADF"]
    np.testing.assert_allclose(layer.scale, (1.0, 0.15, 0.15))
    assert [str(u) for u in layer.units] == ["pixel", "nanometer", "nanometer"]
    assert layer.metadata["pixel_size"] == 0.15 and layer.metadata["file_format"] == "Velox EMD"
    np.testing.assert_array_equal(np.asarray(layer.data), haadf)
    np.testing.assert_array_equal(np.asarray(viewer.layers["stem BF"].data), bf)


def test_a_velox_dpc_file_opens_its_real_images_and_passes_over_its_complex_one(viewer, tmp_path):
    # a real Velox DPC file holds a complex image among real ones: it refused the whole file
    dpc = np.ones((16, 20), "c8")
    idpc = np.arange(16 * 20, dtype="f4").reshape(16, 20)
    path = tmp_path / "dpc.emd"
    write_velox(path, [(dpc, {"detector": "DF4"}), (idpc, {"detector": "DF4"})])
    viewer.open(str(path), plugin=PLUGIN)
    assert [layer.name for layer in viewer.layers] == ["dpc DF4 2"]
    np.testing.assert_array_equal(np.asarray(viewer.layers["dpc DF4 2"].data), idpc)


def test_berkeley_emd_opens_as_one_layer_in_nm(viewer, tmp_path):
    pixels = np.arange(12 * 14, dtype="f4").reshape(12, 14)
    y, x = np.arange(12) * 0.2, np.arange(14) * 0.2
    write_berkeley(tmp_path / "ncem.emd", {"img": (pixels, [(y, "y", "n_m"), (x, "x", "n_m")])})
    viewer.open(str(tmp_path / "ncem.emd"), plugin=PLUGIN)
    layer = viewer.layers["ncem"]
    np.testing.assert_allclose(layer.scale, (0.2, 0.2))
    assert [str(u) for u in layer.units] == ["nanometer", "nanometer"]


def test_points_and_shapes_drawn_in_nm_over_a_calibrated_image_cut_and_label_its_pixels(
    viewer, tmp_path
):
    """napari gives a Points or Shapes layer made with nothing selected a scale of 1: over a
    micrograph opened in nm its data are in nm. The patches were cut at those numbers read as
    pixels (a 0.05 nm pixel: every point near the corner, most dropped) and the shapes labelled
    other patches. Both now go through world coordinates into the image's pixels."""
    lattice = make_lattice((128, 128), spacing=10.0, seed=2)
    path = tmp_path / "grain.dm4"
    write_dm(path, lattice.image.astype("f4"), scale=[0.05, 0.05], origin=[0.0, 20.0],
             units=["nm", "nm"])  # fmt: skip
    viewer.open(str(path), plugin=PLUGIN)
    image = viewer.layers["grain"]
    inside = lattice.positions[((lattice.positions > 20) & (lattice.positions < 108)).all(axis=1)]
    world = inside * 0.05 + (-1.0, 0.0)  # pixels -> nm (translate -origin * scale)
    viewer.layers.selection.clear()
    points = viewer.add_points(world, name="clicked atoms", units=image.units)
    assert tuple(points.scale) == (1.0, 1.0)
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = image
    patches.points.value = points
    patches.size.value = 12
    patchset = patches.extract()
    assert patchset is not None and len(patchset.centres) == len(inside)
    np.testing.assert_allclose(patchset.centres, inside, atol=1e-6)
    # a rectangle drawn in nm around the left half of the atoms: class 1
    left = inside[:, 1] < 64
    top_left, bottom_right = (-1.0, 0.0), (128 * 0.05 - 1.0, 64 * 0.05)
    shapes = viewer.add_shapes(
        np.array([top_left, bottom_right]), shape_type="rectangle", name="drawn", units=image.units
    )
    shapes.features = {"class": np.array([1])}
    patches.shapes.value = shapes
    from napari_ivae._widgets.shape_labelling import shapes_labels

    labels = shapes_labels(shapes, patchset, 2, image).labels
    np.testing.assert_array_equal(labels, np.where(left, 1, -1))
