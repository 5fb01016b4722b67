"""Helpers shared by the napari tests (imported by name; not fixtures)."""

from __future__ import annotations

import numpy as np

PLUGIN = "napari-ivae"


def open_widget(viewer, name):
    """Open a plugin dock widget through the manifest, as a user would."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget


def snapshot(layer):
    """What must not change in a user's layer."""
    return (id(layer), layer.name, np.array(layer.data, copy=True))


def assert_untouched(viewer, snap):
    layer_id, name, data = snap
    layer = viewer.layers[name]
    assert id(layer) == layer_id
    np.testing.assert_array_equal(np.asarray(layer.data), data)


def is_warning(status) -> bool:
    """The status line shows a result that needs a look (amber)."""
    return "#ffb347" in status.native.styleSheet()


def is_error(status) -> bool:
    """The status line shows a problem (red; amber is a warning, not an error)."""
    return "#ff6b6b" in status.native.styleSheet()
