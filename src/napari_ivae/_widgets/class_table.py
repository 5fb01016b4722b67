"""A small Qt table of annotation classes: name (editable), colour (click to change), counts."""

from __future__ import annotations

from psygnal import Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_ivae._widgets._session import CLASS_COLOURS, ClassTable

#: The labeled classes' colours: far from the found clusters' (``_writer.CLUSTER_COLOURS``,
#: Okabe-Ito) and from the detections' yellow, so a labeled class is never taken for a found
#: cluster (CIEDE2000 >= 21 to every one of them; the former blue and orange were 9 and 4 from
#: clusters 1 and 2). Violet, spring green, crimson, cyan, olive, lavender, dark grey, pale pink.
PALETTE = CLASS_COLOURS


class ClassTableWidget(QWidget):
    """Edit a :class:`ClassTable`; the selected row is the class given to new shapes.

    Signals
    -------
    edited : emitted after a class is added, removed, renamed or recoloured
    removed(int) : the index of a removed class (later classes move down by one)
    current_changed(int) : the selected class index
    """

    edited = Signal()
    removed = Signal(int)  # index of a removed class (emitted before ``edited``)
    current_changed = Signal(int)

    def __init__(self, classes: ClassTable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes = classes
        self.counts: dict[int, int] = {}
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["class", "colour", "patches"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(110)
        self.add_button = QPushButton("Add class")
        self.remove_button = QPushButton("Remove class")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self.add_class())
        self.remove_button.clicked.connect(self.remove_current)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellDoubleClicked.connect(self._on_double_click)
        self.table.itemSelectionChanged.connect(
            lambda: self.current_changed.emit(self.current_class)
        )
        self.refresh()

    @property
    def current_class(self) -> int:
        """Index of the selected class (0 when nothing is selected)."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else 0

    def set_current(self, index: int) -> None:
        """Select class ``index``."""
        self.table.selectRow(int(index))

    def add_class(self, name: str | None = None, colour: str | None = None) -> int:
        """Append a class; returns its index."""
        index = len(self.classes.names)
        self.classes.names.append(name or f"class {index + 1}")
        self.classes.colours.append(colour or PALETTE[index % len(PALETTE)])
        self.refresh()
        self.set_current(index)
        self.edited.emit()
        return index

    def remove_current(self) -> None:
        """Remove the selected class (the last remaining one is kept)."""
        if len(self.classes.names) <= 1:
            return
        index = self.current_class
        del self.classes.names[index]
        del self.classes.colours[index]
        self.refresh()
        self.removed.emit(index)
        self.edited.emit()

    def rename(self, index: int, name: str) -> None:
        """Rename class ``index``."""
        self.classes.names[index] = name
        self.refresh()
        self.edited.emit()

    def recolour(self, index: int, colour: str) -> None:
        """Change the colour of class ``index``."""
        self.classes.colours[index] = colour
        self.refresh()
        self.edited.emit()

    def set_counts(self, counts: dict[int, int]) -> None:
        """Show how many patches each class gets."""
        self.counts = dict(counts)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the table from :attr:`classes`."""
        current = self.current_class
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.classes.names))
        for row, (name, colour) in enumerate(zip(self.classes.names, self.classes.colours)):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            swatch = QTableWidgetItem(colour)
            swatch.setData(_decoration_role(), QColor(colour))
            swatch.setFlags(swatch.flags() & ~_editable())
            swatch.setToolTip("double-click to change the colour")
            self.table.setItem(row, 1, swatch)
            count = QTableWidgetItem(str(self.counts.get(row, 0)))
            count.setFlags(count.flags() & ~_editable())
            self.table.setItem(row, 2, count)
        self.table.blockSignals(False)
        if self.classes.names:
            self.table.selectRow(min(current, len(self.classes.names) - 1))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0 and item.text().strip():
            self.classes.names[item.row()] = item.text().strip()
            self.edited.emit()

    def _on_double_click(self, row: int, column: int) -> None:
        if column != 1:
            return
        colour = QColorDialog.getColor(QColor(self.classes.colours[row]), self, "Class colour")
        if colour.isValid():
            self.recolour(row, colour.name())


def _decoration_role():
    from qtpy.QtCore import Qt

    return Qt.ItemDataRole.DecorationRole


def _editable():
    from qtpy.QtCore import Qt

    return Qt.ItemFlag.ItemIsEditable
