"""The demo's window for people and screenshots: the main map on top, the dock tab to read,
the whole window saved as a picture, napari's animations stilled for runs nobody watches."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

DOCK_WIDTH = 460  # px of the right-hand dock in screenshots


def screenshot(viewer: Any, path: Path, *, size: tuple[int, int] = (1920, 1080)) -> Path:
    """Save a picture of the whole window (canvas + docked widgets)."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication, QDockWidget

    window = viewer.window._qt_window
    window.resize(*size)
    _close_notifications(window)
    docks = [
        dock
        for dock in window.findChildren(QDockWidget)
        if window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
    ]
    if docks:  # the widgets' own width, not the width of their tab titles
        window.resizeDocks(docks, [DOCK_WIDTH] * len(docks), Qt.Orientation.Horizontal)
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.02)
    viewer.reset_view()  # fit the data to the canvas at its final size
    for _ in range(10):
        QApplication.processEvents()
        time.sleep(0.02)
    viewer.screenshot(str(path), canvas_only=False, flash=False)
    return path


def still_activity_indicator(viewer: Any) -> None:
    """Keep napari's animated "in progress" indicator still (for runs nobody watches).

    napari shows an animated GIF in the status bar while a progress bar runs. Under Xvfb each
    of its frames makes Qt compose the whole window with the OpenGL canvas in software, so the
    GUI thread spent about as much CPU as the training itself: the lattice demo's one epoch took
    25 CPU s with it, 7.7 without (load average 9-10).
    """
    try:
        label = viewer.window._qt_window._activity_dialog._toggleButton._inProgressIndicator
    except AttributeError:  # private napari attributes moved: keep the animation
        return
    from qtpy.QtGui import QMovie

    label.setMovie(QMovie(label))  # napari starts the label's movie: an empty one never draws


def _close_notifications(window: Any) -> None:
    try:
        from napari._qt.dialogs.qt_notification import NapariQtNotification
    except ImportError:  # private napari module moved: keep the toasts
        return
    for toast in window.findChildren(NapariQtNotification):
        toast.close()


def show_tab(viewer: Any, name: str) -> None:
    """Bring the plugin dock widget whose title starts with ``name`` to the front."""
    from qtpy.QtWidgets import QDockWidget

    for dock in viewer.window._qt_window.findChildren(QDockWidget):
        if dock.windowTitle().startswith(name):
            dock.show()
            dock.raise_()
