"""Small helpers shared by the dock widgets: layer pickers, status line, error reporting, the
scrolling dock layout with collapsible sections."""

from __future__ import annotations

from typing import Any

from magicgui.widgets import ComboBox, Container, Label, create_widget
from qtpy.QtCore import QEvent, QSize
from qtpy.QtWidgets import QScrollArea

from napari_ivae.core.errors import IvaeError


def layer_picker(layer_type: Any, label: str, *, nullable: bool = False) -> ComboBox:
    """A combo box listing the viewer's layers of ``layer_type`` (filled by napari)."""
    return create_widget(annotation=layer_type, label=label, options={"nullable": nullable})


def pick_active(viewer: Any, picker: ComboBox, layer_type: type) -> None:
    """Select the viewer's active layer in ``picker`` if it has the right type."""
    picker.reset_choices()
    active = viewer.layers.selection.active
    if isinstance(active, layer_type) and active in picker.choices:
        picker.value = active


class StatusLine(Label):
    """A word-wrapped status label under a widget."""

    def __init__(self) -> None:
        super().__init__(value="")
        from qtpy.QtWidgets import QSizePolicy

        self.native.setWordWrap(True)
        self.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def ok(self, text: str) -> None:
        """Show a normal message."""
        self.native.setStyleSheet("")
        self.value = text

    def error(self, text: str) -> None:
        """Show a problem in red."""
        self.native.setStyleSheet("color: #ff6b6b;")
        self.value = text

    def warn(self, text: str) -> None:
        """Show a result that needs a look, in amber."""
        self.native.setStyleSheet("color: #ffb347;")
        self.value = text


def report(status: StatusLine, err: BaseException, *, warn: bool = False) -> None:
    """Show ``err`` in the viewer (notification) and in the widget's status line.

    Expected problems (``IvaeError``) show their message as it is; anything else is a bug and
    shows its type too.
    """
    from napari.utils.notifications import show_error, show_warning

    text = str(err) if isinstance(err, IvaeError) else f"{type(err).__name__}: {err}"
    status.error(text)
    (show_warning if warn else show_error)(text)


def while_alive(widget: Any, slot: Any) -> Any:
    """Wrap ``slot`` so it does nothing once ``widget``'s Qt object is deleted (the viewer was
    closed while a worker still delivers queued signals)."""

    def guarded(*args: Any) -> Any:
        try:
            widget.native.objectName()
        except RuntimeError:  # wrapped C/C++ object has been deleted
            return None
        return slot(*args)

    return guarded


class Section:
    """A titled, collapsible group of widgets in a :class:`DockBody` (``folded``: collapsed at
    start, for advanced options)."""

    def __init__(self, title: str, widgets: list, *, folded: bool = False) -> None:
        self.title, self.widgets, self.folded = title, list(widgets), folded


class DockBody(Container):
    """A dock widget whose body scrolls: it fits any screen height, however many options.

    Subclasses build their widgets, then call :meth:`lay_out` once.
    """

    def __init__(self) -> None:
        super().__init__(labels=False)
        self.margins = (0, 0, 0, 0)
        self._groups: list[Container] = []
        self.sections: dict[str, Any] = {}  # title -> QCollapsible

    def lay_out(self, parts: list) -> None:
        """Stack ``parts`` in a vertical scroll area.

        Each part is a list of magicgui widgets (a labelled group), a :class:`Section` (the
        same in a collapsible box), or a single magicgui / Qt widget (added as it is).
        """
        from qtpy.QtCore import Qt
        from qtpy.QtWidgets import QFrame, QVBoxLayout, QWidget
        from superqt import QCollapsible

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(4, 4, 4, 4)
        for part in parts:
            if isinstance(part, (list, Section)):
                group = Container(
                    labels=True, widgets=part.widgets if isinstance(part, Section) else part
                )
                group.margins = (0, 0, 0, 0)
                self._groups.append(group)
                if isinstance(part, Section):
                    box = QCollapsible(part.title)
                    box.setDuration(0)
                    box.addWidget(group.native)
                    if part.folded:
                        box.collapse(animate=False)
                    else:
                        box.expand(animate=False)
                    self.sections[part.title] = box
                    column.addWidget(box)
                else:
                    column.addWidget(group.native)
            else:
                column.addWidget(getattr(part, "native", part))
        column.addStretch(1)
        scroll = _VerticalScroll()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        self.scroll_area = scroll
        self.native.layout().addWidget(scroll)

    def reset_choices(self, *args: Any) -> None:
        """Refresh the layer pickers of every group (napari calls this on layer changes; while
        an action inserts several layers, once when it has inserted them all)."""
        from napari_ivae import _layers

        if _layers.refresh_later(id(self), lambda: self.reset_choices(*args)):
            return
        super().reset_choices(*args)
        for group in self._groups:
            group.reset_choices(*args)


class _VerticalScroll(QScrollArea):
    """Scrolls vertically only: as wide as its content needs (nothing clipped), as short as
    the screen allows."""

    def _width(self) -> int:
        inner = self.widget()
        content = inner.minimumSizeHint().width() if inner is not None else 0
        return content + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self._width(), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        inner = self.widget()
        return QSize(self._width(), inner.sizeHint().height() if inner is not None else 0)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # a section opened or closed: the hints changed
        return super().eventFilter(watched, event)
