"""The Detect dock says and refuses what ``napari-ivae detect`` says and refuses."""

from __future__ import annotations

import numpy as np
from napari_helpers import is_error, open_widget

from napari_ivae.core.synthetic.lattice import make_lattice


def _atoms_detected(viewer, qtbot, image, name):
    """The image as a layer, atoms detected in it by the Detect dock: (layer, dock)."""
    layer = viewer.add_image(image, name=name)
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.mode.value = "atoms"
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    return layer, detect


def test_detect_says_that_missing_pixels_were_filled(viewer, qtbot):
    """A lattice whose top 40 rows are NaN: the command line warns '10240 NaN/inf pixels were
    replaced by the median of their frame'; the dock said nothing (a plain green line). Now
    its amber line says so, and no atom lies in the missing rows."""
    image = make_lattice((256, 256), spacing=10.0, noise=0.1, seed=6).image.astype(np.float32)
    image[:40] = np.nan
    layer, detect = _atoms_detected(viewer, qtbot, image, "nans")
    status = detect.status.value
    assert not is_error(detect.status), status
    assert "10240 NaN/inf pixels (missing data) were replaced by the median" in status, status
    assert "#ffb347" in detect.status.native.styleSheet()
    points = viewer.layers["nans atoms [ivae]"].data
    assert len(points) > 300 and points[:, -2].min() > 40
    # a complete image: no such line
    layer.data = np.nan_to_num(image, nan=float(np.nanmedian(image)))
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    assert "NaN" not in detect.status.value


def test_detect_says_that_hot_pixels_were_replaced(viewer, qtbot):
    """A lattice in detector counts with one saturated pixel: the command line warns that it
    was replaced; the dock found the lattice but said nothing of it. Now its amber line says
    so."""
    lattice = make_lattice((256, 256), spacing=10.0, noise=0.1, seed=6).image
    image = (50 + 250 * lattice / lattice.max()).astype(np.float32)
    image[100, 37] = 65535.0
    _, detect = _atoms_detected(viewer, qtbot, image, "hot")
    status = detect.status.value
    assert not is_error(detect.status), status
    assert "1 isolated extreme pixel (hot pixels or X-ray hits) was replaced" in status, status
    assert len(viewer.layers["hot atoms [ivae]"].data) > 300


def test_a_spacing_that_does_not_fit_four_atoms_is_refused_as_on_the_command_line(viewer, qtbot):
    """A 64 px crop with 'spacing (px)' 20: the command line refuses it (at most a quarter of
    the smaller side, 16 px); the dock found 30 'atoms', none on the lattice. Now the same
    error in the dock's words; 1 px (below 2) too; 9.9 px works."""
    image = make_lattice((64, 64), spacing=10.0, noise=0.1, seed=6).image.astype(np.float32)
    layer = viewer.add_image(image, name="tiny")
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    detect.image.value = layer
    detect.mode.value = "atoms"
    for spacing in (20.0, 1.0):
        detect.spacing.value = spacing
        detect.detect()
        qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
        status = detect.status.value
        assert is_error(detect.status), status
        assert f"'spacing (px)' {spacing:g} px does not fit the 64x64 px image" in status
        assert "between 2 and 16 px" in status and "set it to 0 (auto)" in status
        assert "tiny atoms [ivae]" not in viewer.layers
    detect.spacing.value = 9.9
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    assert not is_error(detect.status), detect.status.value
    assert len(viewer.layers["tiny atoms [ivae]"].data) > 20
