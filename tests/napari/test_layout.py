"""The dock widgets fit a 1366x768 screen: each body scrolls, advanced options are folded away
(issue 11 item 4)."""

from __future__ import annotations

import pytest
from napari_helpers import open_widget

WIDGETS = ["Detect", "Patches and labels", "Train", "Results"]
FOLDED = {
    "Detect": ["advanced"],
    "Patches and labels": ["advanced"],
    "Train": ["advanced"],
    "Results": ["model file", "apply to another image"],
}
SCREEN_HEIGHT = 768
CHROME = 80  # menu bar, status bar and the dock's title bar
DOCK_WIDTH = 420  # what a right-hand dock can take on 1366 px next to the layer list and canvas


def test_all_four_docked_widgets_fit_a_768_px_screen(viewer, qtbot):
    widgets = [open_widget(viewer, name) for name in WIDGETS]
    docks = [widget.native.parent() for widget in widgets]
    # stacked in one column (not tabbed): their minimum heights together fit
    total = sum(dock.minimumSizeHint().height() for dock in docks)
    assert total <= SCREEN_HEIGHT - CHROME, [d.minimumSizeHint().height() for d in docks]
    for name, dock in zip(WIDGETS, docks):
        assert dock.minimumSizeHint().width() <= DOCK_WIDTH, (name, dock.minimumSizeHint())


@pytest.mark.parametrize("name", WIDGETS)
def test_advanced_options_are_folded_and_the_body_scrolls(viewer, qtbot, name):
    widget = open_widget(viewer, name)
    for title in FOLDED[name]:
        assert not widget.sections[title].isExpanded(), title
    window = viewer.window._qt_window
    window.showNormal()
    window.resize(1366, SCREEN_HEIGHT)
    for box in widget.sections.values():  # everything open: longer than the screen
        box.expand(animate=False)
    qtbot.waitUntil(lambda: widget.scroll_area.viewport().height() > 0, timeout=5000)
    inner = widget.scroll_area.widget()
    qtbot.wait(50)
    assert inner.minimumSizeHint().width() <= widget.scroll_area.viewport().width() + 1
    if inner.minimumSizeHint().height() > widget.scroll_area.viewport().height():
        assert widget.scroll_area.verticalScrollBar().maximum() > 0  # reachable by scrolling


def test_layer_pickers_inside_groups_follow_the_layer_list(viewer, lattice_layer):
    results = open_widget(viewer, "Results")
    other = viewer.add_image(lattice_layer.data, name="other")
    assert other in results.apply_image.choices  # napari's reset_choices reaches the sections


@pytest.mark.parametrize(
    "readout",
    [
        "epoch 1234/10000  loss -1.234e+05  β 0.0001  ETA 12 h 59 min",
        "run 12/12: β 0→4 over 10 epochs, smoothness 0.1 on z1: edge length 1234, Fourier 0.56",
    ],
)
def test_a_long_training_readout_wraps_instead_of_widening_the_dock(viewer, qtbot, readout):
    """The line under the progress bar (epoch, loss, β, ETA; a search's run) changes at every
    step: it wraps, so the dock keeps fitting a 1366 px screen and nothing is cut off."""
    train = open_widget(viewer, "Train")
    dock = train.native.parent()
    viewer.window._qt_window.showNormal()  # a shown window lays its docks out
    train.eta.value = readout
    qtbot.wait(100)
    assert dock.minimumSizeHint().width() <= DOCK_WIDTH, dock.minimumSizeHint()
