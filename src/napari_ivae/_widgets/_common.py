"""Small helpers shared by the dock widgets: layer pickers, status line, error reporting."""

from __future__ import annotations

from typing import Any

from magicgui.widgets import ComboBox, Label, create_widget

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
