"""Labeling in the Patches and labels widget, driven as a user would: real Qt mouse events on
the canvas for drawing, real clicks on the class table rows, real key presses for 1-9."""

from __future__ import annotations

import numpy as np
import pytest
from napari_helpers import PLUGIN, open_widget
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QApplication

N_CLASSES = 4


def canvas_point(viewer, world_rc) -> QPoint:
    """The canvas widget pixel showing world coordinate ``(row, col)``."""
    canvas = viewer.window._qt_viewer.canvas
    transform = canvas.view.transform * canvas.view.scene.transform
    x, y = transform.map([float(world_rc[1]), float(world_rc[0])])[:2]
    return QPoint(int(round(x)), int(round(y)))


def drag_rectangle(qtbot, viewer, top_left, bottom_right, steps=6):
    """Press, move and release the left button on the canvas (real Qt mouse events)."""
    native = viewer.window._qt_viewer.canvas.native
    start, end = canvas_point(viewer, top_left), canvas_point(viewer, bottom_right)
    qtbot.mouseMove(native, start)
    qtbot.mousePress(native, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for t in np.linspace(0, 1, steps)[1:]:
        point = QPoint(
            int(start.x() + t * (end.x() - start.x())), int(start.y() + t * (end.y() - start.y()))
        )
        qtbot.mouseMove(native, point)  # napari sees a drag: the button is held
        QApplication.processEvents()
    qtbot.mouseRelease(native, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    QApplication.processEvents()


def click_class_row(qtbot, patches, row):
    """Click the name cell of a class table row, as a user picks a class."""
    table = patches.class_table.table
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )
    QApplication.processEvents()


def grid_world_boxes(n=8, size=40.0, gap=20.0):
    """``n`` non-overlapping squares (world row/col), left to right then down."""
    boxes = []
    for i in range(n):
        r, c = divmod(i, 4)
        top = 20.0 + r * (size + gap)
        left = 20.0 + c * (size + gap)
        boxes.append(((top, left), (top + size, left + size)))
    return boxes


@pytest.fixture
def drawing(viewer, qtbot):
    """An image, the Patches widget with 4 classes and a new annotation layer in
    add-rectangle mode; the viewer shown so the canvas receives real mouse events."""
    viewer.window._qt_window.resize(1200, 800)
    viewer.window.show()
    viewer.add_image(np.zeros((260, 280), dtype=np.float32), name="blank")
    patches = open_widget(viewer, "Patches and labels")
    while len(patches.classes.names) < N_CLASSES:
        patches.class_table.add_class()
    layer = patches.new_annotation_layer()
    assert layer.mode == "add_rectangle"
    viewer.reset_view()
    qtbot.waitExposed(viewer.window._qt_viewer.canvas.native)
    QApplication.processEvents()
    return patches, layer


def test_drawing_in_tutorial_order_gives_the_intended_classes(viewer, qtbot, drawing):
    """Pick a class row, draw two rectangles, pick the next row, ... (tutorial step 2): every
    shape keeps the class chosen when it was drawn (the last drawn one stays selected)."""
    patches, layer = drawing
    boxes = grid_world_boxes(2 * N_CLASSES)
    intended = []
    for k in range(N_CLASSES):
        click_class_row(qtbot, patches, k)
        assert patches.class_table.current_class == k
        for j in range(2):
            drag_rectangle(qtbot, viewer, *boxes[2 * k + j])
            intended.append(k)
    assert len(layer.data) == 2 * N_CLASSES  # drawn by the mouse, one per drag
    assert layer.selected_data  # napari keeps the last drawn shape selected
    np.testing.assert_array_equal(layer.features["class"].to_numpy(), intended)
    # each shape lies where it was dragged and shows its class's colour
    for shape, (top_left, bottom_right) in zip(layer.data, boxes):
        np.testing.assert_allclose(shape.min(axis=0), top_left, atol=3)
        np.testing.assert_allclose(shape.max(axis=0), bottom_right, atol=3)
    from napari.utils.colormaps.standardize_color import transform_color

    expected = transform_color([patches.classes.colours[k] for k in intended])
    np.testing.assert_allclose(layer.edge_color[:, :3], expected[:, :3], atol=0.01)


def test_keys_1_to_9_choose_the_class_of_new_shapes(viewer, qtbot, drawing):
    patches, layer = drawing
    viewer.layers.selection.active = layer
    native = viewer.window._qt_viewer.canvas.native
    boxes = grid_world_boxes(3)
    for key, box in zip((Qt.Key.Key_3, Qt.Key.Key_1, Qt.Key.Key_4), boxes):
        native.setFocus()
        qtbot.keyClick(native, key)
        drag_rectangle(qtbot, viewer, *box)
    np.testing.assert_array_equal(layer.features["class"].to_numpy(), [2, 0, 3])
    assert patches.class_table.current_class == 3
    # '3' is napari's 'delete selected shapes' on Shapes layers; here it only picks class 3
    native.setFocus()
    qtbot.keyClick(native, Qt.Key.Key_3)
    assert len(layer.data) == 3 and patches.class_table.current_class == 2
    qtbot.keyClick(native, Qt.Key.Key_9)  # no class 9: nothing changes
    assert patches.class_table.current_class == 2 and "no class 9" in patches.status.value


def test_moving_selected_shapes_is_explicit(viewer, qtbot, drawing):
    patches, layer = drawing
    click_class_row(qtbot, patches, 0)
    for box in grid_world_boxes(3):
        drag_rectangle(qtbot, viewer, *box)
    layer.selected_data = {0, 2}
    click_class_row(qtbot, patches, 1)  # choosing a class alone moves nothing
    np.testing.assert_array_equal(layer.features["class"].to_numpy(), [0, 0, 0])
    qtbot.mouseClick(patches.move_button.native, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(layer.features["class"].to_numpy(), [1, 0, 1])
    assert "moved 2 shapes" in patches.status.value
    from napari.utils.colormaps.standardize_color import transform_color

    np.testing.assert_allclose(
        layer.edge_color[[0, 2], :3],
        transform_color([patches.classes.colours[1]] * 2)[:, :3],
        atol=0.01,
    )
    # Ctrl+Z on the layer undoes the move (napari 0.9 keeps no undo history for Shapes)
    native = viewer.window._qt_viewer.canvas.native
    viewer.layers.selection.active = layer
    native.setFocus()
    qtbot.keyClick(native, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(layer.features["class"].to_numpy(), [0, 0, 0])
    assert "move undone" in patches.status.value
    # the next shape still gets the chosen class
    layer.selected_data = set()
    drag_rectangle(qtbot, viewer, *grid_world_boxes(4)[3])
    assert int(layer.features["class"].iloc[-1]) == 1
    np.testing.assert_array_equal(layer.features["class"].to_numpy(), [0, 0, 0, 1])


def test_a_users_shapes_without_classes_stay_unlabeled_until_moved(viewer, qtbot):
    viewer.open_sample(PLUGIN, "cards")
    cards = viewer.layers["cards"]
    mine = viewer.add_shapes(
        [np.array([[0.0, 0.0], [47.0, 47.0]])], shape_type="rectangle", name="my shapes"
    )  # a user's layer, no 'class' column
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = cards
    patches.shapes.value = mine
    patches.extract()
    assert list(mine.features["class"]) == [-1]
    assert "1 shapes have no class" in patches.status.value
    assert not np.any(patches._session.labels >= 0)
    patches.class_table.set_current(1)
    mine.selected_data = {0}
    assert patches.move_selected_to_current() == 1
    assert list(mine.features["class"]) == [1]
    qtbot.waitUntil(lambda: not patches.busy, timeout=10000)
    assert int(np.sum(patches._session.labels == 1)) == 1


def test_counts_stay_live_and_overlaps_follow_the_core_rule(viewer, qtbot):
    """Counts follow drawing, moving and deleting; overlapping shapes: the last drawn wins,
    and the status says the same rule as core."""
    from napari_ivae.core.patches.annotations import OVERLAP_RULE

    viewer.open_sample(PLUGIN, "cards")
    patches = open_widget(viewer, "Patches and labels")
    patchset = patches.extract()
    shapes = viewer.layers["card labels"]
    labels = patches._session.labels
    first = int(np.flatnonzero(labels == 0)[0])
    r, c = patchset.centres[first]
    patches.class_table.set_current(1)
    shapes.add_rectangles(np.array([[r - 10, c - 10], [r + 10, c + 10]]))  # over a clubs card
    assert int(shapes.features["class"].iloc[-1]) == 1
    qtbot.waitUntil(lambda: not patches.busy, timeout=10000)
    counts = [int(patches.class_table.table.item(k, 2).text()) for k in range(4)]
    assert counts == [5, 7, 6, 6]  # the later shape wins: nothing is lost
    assert OVERLAP_RULE in patches.status.value and "unlabeled)" not in patches.status.value
    shapes.selected_data = {len(shapes.data) - 1}
    shapes.remove_selected()
    qtbot.waitUntil(lambda: not patches.busy, timeout=10000)
    counts = [int(patches.class_table.table.item(k, 2).text()) for k in range(4)]
    assert counts == [6, 6, 6, 6]
