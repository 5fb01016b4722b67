"""Fixtures for the napari plugin tests (run under Xvfb by pytest-xvfb)."""

from __future__ import annotations

import pytest
from napari_helpers import is_error, open_widget


@pytest.fixture(scope="session", autouse=True)
def _lighter_viewers():
    """What a test viewer costs beyond the viewer itself, paid once per worker.

    - napari's settings live in memory only: tests neither read the user's settings file nor
      write it (napari saves it on every dock change otherwise).
    - npe2 discovers the installed plugins once: ``make_napari_viewer`` clears napari's
      once-per-process plugin start-up, so every viewer re-parsed every plugin's YAML manifest
      only to find each one registered already (npe2 keeps registered manifests as they are).
    - The objects alive after the imports are left out of garbage collection (``gc.freeze``):
      napari runs a full collection at every layer removal and viewer close, which otherwise
      walks torch's, Qt's and napari's module objects each time; everything a test creates is
      still collected (and ``make_napari_viewer`` still checks that no viewer leaks).
    """
    import gc

    # imported here so that their module objects are frozen too
    import napari._qt.qt_main_window  # noqa: F401
    import napari.settings
    import npe2
    import torch  # noqa: F401

    import napari_ivae._widgets.explorer  # noqa: F401
    import napari_ivae._widgets.results  # noqa: F401
    import napari_ivae._widgets.search  # noqa: F401
    import napari_ivae._widgets.train  # noqa: F401

    napari.settings._SETTINGS = napari.settings.NapariSettings(config_path=None)
    manager = npe2.PluginManager.instance()
    manager.discover(include_npe1=True)
    discover = npe2.PluginManager.discover

    def discover_new_only(self, paths=(), clear=False, include_npe1=False):
        if self is manager and not paths and not clear:
            return 0  # the environment's plugins are registered already
        return discover(self, paths, clear, include_npe1)

    npe2.PluginManager.discover = discover_new_only
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    npe2.PluginManager.discover = discover


@pytest.fixture(autouse=True)
def _collect_then_freeze():
    """After each test (its viewers closed), collect its garbage and freeze what is left.

    napari runs a full garbage collection at every viewer close and layer removal, and each
    viewer leaves objects behind for good (app-model menu items, actions, event emitters: some
    4 000 per viewer), so unfrozen, every collection would walk all the earlier tests' objects
    too and get slower test after test. Frozen, a collection walks one test's objects; what
    this test made is collected here before the freeze, so none of it is kept.
    """
    import gc

    yield
    gc.collect()
    gc.freeze()


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
