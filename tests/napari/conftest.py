"""Fixtures for the napari plugin tests (run under Xvfb by pytest-xvfb)."""

from __future__ import annotations

import pytest
from napari_helpers import is_error, open_widget


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Keep the tiny training runs frugal on shared CI cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def viewer(make_napari_viewer):
    """A napari viewer (shown under Xvfb so image layers can draw)."""
    return make_napari_viewer()


@pytest.fixture
def lattice_layer(viewer):
    """A small synthetic lattice with a non-trivial scale/translate, as a user's layer."""
    from napari_ivae.core.synthetic.lattice import make_lattice

    lattice = make_lattice((96, 96), spacing=8.0, domains=2, seed=1)
    return viewer.add_image(lattice.image, name="lat", scale=(0.5, 0.5), translate=(3.0, 4.0))


@pytest.fixture
def ready_patches(viewer, lattice_layer, qtbot):
    """Detect + Patches widgets already run on the lattice: returns the widgets."""
    detect = open_widget(viewer, "Detect")
    detect.image.value = lattice_layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert not is_error(detect.status), detect.status.value
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = lattice_layer
    patches.points.reset_choices()
    patches.points.value = viewer.layers["lat atoms [ivae]"]
    patches.size.value = 12
    assert patches.extract() is not None, patches.status.value
    return detect, patches
