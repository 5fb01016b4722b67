"""Latent explorer dock: a scatter of the codes linked both ways to the image's points."""

from __future__ import annotations

import numpy as np
from napari_helpers import open_widget
from qtpy.QtCore import QPoint, Qt
from test_train_results import trained

from napari_ivae._widgets._session import get_session
from napari_ivae._widgets.explorer import box_selection, categorical_colours, continuous_colours


def _hover(widget, pos):
    """A mouse move with no button held, delivered to ``widget`` (QTest's mouseMove does not
    reach a widget under Xvfb without a window manager)."""
    from qtpy.QtCore import QEvent, QPointF
    from qtpy.QtGui import QMouseEvent
    from qtpy.QtWidgets import QApplication

    local = QPointF(pos)
    event = QMouseEvent(
        QEvent.Type.MouseMove,
        local,
        QPointF(widget.mapToGlobal(pos)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def _screen(scatter, i):
    sx, sy = scatter.to_screen(scatter.x[i : i + 1], scatter.y[i : i + 1])
    return QPoint(int(round(sx[0])), int(round(sy[0])))


def test_explorer_links_plot_and_points_both_ways(viewer, lattice_layer, ready_patches, qtbot):
    explorer = open_widget(viewer, "Latent explorer")
    assert len(explorer.scatter.x) == 0 and "no results yet" in explorer.summary.value
    trained(viewer, qtbot)
    session = get_session(viewer)
    points = viewer.layers["lat atoms [ivae]"]
    n = len(session.patchset.patches)
    scatter = explorer.scatter
    assert len(scatter.x) == n
    assert {"z1", "z2", "angle_deg", "dx", "dy"} <= set(explorer.x_axis.choices)
    assert explorer.x_axis.value != explorer.y_axis.value
    np.testing.assert_allclose(scatter.x, session.columns[explorer.x_axis.value])
    assert explorer.histogram.counts.sum() == n

    # a box dragged with the mouse over the left half of the plot selects those patches' points
    scatter.resize(300, 300)
    rect = scatter._plot_rect()
    start = QPoint(int(rect.left()) + 1, int(rect.top()) + 1)
    end = QPoint(int(rect.center().x()), int(rect.bottom()) - 1)
    qtbot.mousePress(scatter, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(scatter, end)
    qtbot.mouseRelease(scatter, Qt.MouseButton.LeftButton, pos=end)
    (xa, ya), (xb, yb) = scatter.to_data(start), scatter.to_data(end)
    expected = box_selection(scatter.x, scatter.y, (xa, xb), (ya, yb))
    assert 0 < len(expected) < n
    indices = np.asarray(session.patchset.indices)
    assert points.selected_data == set(indices[expected].tolist())
    assert explorer.histogram.selected_counts.sum() == len(expected)
    assert f"{len(expected)} selected" in explorer.summary.value

    # selecting points in the image marks them in the plot
    chosen = set(indices[:5].tolist())
    points.selected_data = chosen
    np.testing.assert_array_equal(np.flatnonzero(scatter.selected), np.arange(5))

    # hovering a dot shows that patch and the model's decoding of it
    _hover(scatter, _screen(scatter, 7))
    qtbot.waitUntil(lambda: "patch 7" in explorer.preview.caption.text(), timeout=5000)
    assert all(not label.pixmap().isNull() for label in explorer.preview.images)


def test_explorer_colour_helpers():
    rgb = continuous_colours(np.array([0.0, 1.0, 2.0, np.nan]))
    assert rgb.shape == (4, 3) and rgb.dtype == np.uint8
    assert not np.array_equal(rgb[0], rgb[2])
    wheel = continuous_colours(np.array([-180.0, 180.0, 0.0]), cyclic=True)
    np.testing.assert_array_equal(wheel[0], wheel[1])  # an angle colour wraps around
    labels = categorical_colours(np.array([0, 1, -1]))
    assert not np.array_equal(labels[0], labels[1]) and (labels[2] == 110).all()
    assert list(
        box_selection(np.array([0, 1, 2.0]), np.array([0, 1, 2.0]), (2, 0.5), (0.5, 1.5))
    ) == [1]
