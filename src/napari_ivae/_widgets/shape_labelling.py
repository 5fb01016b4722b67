"""Labels drawn as shapes in the Patches dock: the annotation layer, the class of the shapes
drawn next (class table, keys 1-9), moving shapes between classes, and the label counts shown
(the recount itself runs in the dock, :mod:`napari_ivae._widgets.patches`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae import _layers
from napari_ivae._widgets._common import (
    while_alive,
)
from napari_ivae._widgets._session import ClassTable
from napari_ivae.core.patches.annotations import OVERLAP_RULE

CLASS_META = "napari_ivae_classes"


def shapes_labels(layer: Any, patchset: Any, n_classes: int, image: Any = None) -> Any:
    """Class of each patch from an annotation Shapes layer (``-1`` outside every shape)."""
    return labels_of_snapshot(shapes_snapshot(layer, n_classes, image), patchset)


def shapes_snapshot(layer: Any, n_classes: int, image: Any = None) -> tuple:
    """The labelled shapes of ``layer`` (vertices in ``image``'s pixels when given, types,
    classes, ndim), copied in the GUI thread for :func:`labels_of_snapshot`."""
    classes = shape_classes(layer)
    keep = [i for i, k in enumerate(classes) if 0 <= k < n_classes]
    return (
        [_layers.in_image_pixels(np.array(layer.data[i]), layer, image) for i in keep],
        [layer.shape_type[i] for i in keep],
        [int(classes[i]) for i in keep],
        layer.ndim,
    )


def labels_of_snapshot(snapshot: tuple, patchset: Any) -> Any:
    """``LabelAssignment`` of the patches from a :func:`shapes_snapshot` (any thread)."""
    from napari_ivae.core.patches.annotations import labels_from_shapes

    data, types, classes, ndim = snapshot
    return labels_from_shapes(
        patchset.centres, patchset.frames, data, types, classes, ndim_image=ndim
    )


def shape_classes(layer: Any) -> np.ndarray:
    """``features['class']`` of each shape as int (``-1`` where missing)."""
    if "class" not in layer.features or len(layer.features) != len(layer.data):
        return np.full(len(layer.data), -1, dtype=np.int64)
    import pandas as pd  # here: opening the dock does not wait for pandas

    return (
        pd.to_numeric(layer.features["class"], errors="coerce")
        .fillna(-1)
        .to_numpy(np.int64, copy=True)
    )


def _bind_class_keys(layer: Any, choose: Any) -> None:
    """Bind keys 1-9 of ``layer`` to ``choose(index)`` (None unbinds them).

    They replace, on this layer only, napari's digit shortcuts for the Shapes modes (1 vertex
    remove, 3 delete selected shapes...); the letter shortcuts (R, E, P, S, D, Z...) remain.
    """
    for key in range(1, 10):
        if choose is None:
            layer.bind_key(str(key), None)
            continue

        def on_key(_layer: Any, index: int = key - 1) -> None:
            choose(index)

        layer.bind_key(str(key), on_key, overwrite=True)


class ShapeLabelling:
    """The labelling part of :class:`~napari_ivae._widgets.patches.PatchesWidget` (a mixin)."""

    # ---- annotations --------------------------------------------------------------------
    def new_annotation_layer(self) -> Any:
        """Add an empty Shapes layer for drawing labels and select it."""
        image = self.image.value
        ndim = 2 if image is None else image.ndim
        name = f"{image.name if image is not None else 'image'} labels"
        kwargs = _layers.spatial_transform(image, ndim) if image is not None else {}
        import pandas as pd

        layer = self._viewer.add_shapes(
            ndim=ndim,
            name=name,
            features=pd.DataFrame({"class": np.zeros(0, dtype=np.int64)}),
            edge_width=2,
            metadata={CLASS_META: {"names": self.classes.names, "colours": self.classes.colours}},
            **kwargs,
        )
        layer.mode = "add_rectangle"
        self.shapes.reset_choices()
        self.shapes.value = layer
        return layer

    @property
    def classes(self) -> ClassTable:
        return self._session.classes

    def _watch_shapes(self, layer: Any) -> None:
        old = self._annotation_layer
        if old is not None:
            for event in (old.events.data, old.events.features):
                event.disconnect(self._on_shapes_edited)
            _bind_class_keys(old, None)
            old.bind_key("Control-Z", None)
        self._annotation_layer = layer
        if layer is None:
            self.schedule_recount()
            return
        stored = layer.metadata.get(CLASS_META)
        if stored:
            self.classes.names[:] = list(stored["names"])
            self.classes.colours[:] = list(stored["colours"])
        if "class" not in layer.features:  # a user's own layer: its shapes start unlabeled
            self._set_classes(layer, np.full(len(layer.data), -1, dtype=np.int64))
        n_needed = int(shape_classes(layer).max(initial=-1)) + 1
        while len(self.classes.names) < n_needed:
            self.class_table.add_class()
        self.class_table.refresh()
        layer.events.data.connect(self._on_shapes_edited)
        layer.events.features.connect(self._on_shapes_edited)
        _bind_class_keys(layer, while_alive(self, self._on_class_key))
        undo = while_alive(self, self.undo_move)
        layer.bind_key("Control-Z", lambda _layer: undo(), overwrite=True)
        self._on_current_class(self.class_table.current_class)
        self.schedule_recount()

    def _on_shapes_edited(self, event: Any = None) -> None:
        layer = self._annotation_layer
        if layer is not None and "class" not in layer.features:
            # a user's own layer: its existing shapes stay unlabeled until moved to a class
            self._set_classes(layer, np.full(len(layer.data), -1, dtype=np.int64))
        if layer is not None and getattr(event, "action", None) == "added":
            self.recolour_shapes()  # a new shape shows its class's colour, whatever was clicked
        if layer is not None and getattr(event, "type", "features") == "features":
            self._on_current_class(self.class_table.current_class)  # napari reset the defaults
        self.schedule_recount()

    def _on_current_class(self, index: int) -> None:
        """The class of the shapes drawn next; existing shapes (selected or not) keep theirs."""
        layer = self._annotation_layer
        if layer is None or index >= len(self.classes.colours):
            return
        colour = self.classes.colours[index]
        with layer.block_update_properties():  # napari would recolour the selected shapes
            layer.feature_defaults = {"class": index}
            layer.current_edge_color = colour
            layer.current_face_color = colour + "40"

    def _on_class_key(self, index: int) -> None:
        """Keys 1-9 on the annotation layer choose class 1-9 (for the next shapes)."""
        if index < len(self.classes.names):
            self.class_table.set_current(index)
            self.status.ok(f"new shapes: {self.classes.names[index]!r}")
        else:
            self.status.ok(f"no class {index + 1}: the table has {len(self.classes.names)}.")

    def move_selected_to_current(self) -> int:
        """Give the selected shapes the class selected in the table; returns how many moved."""
        layer, index = self._annotation_layer, self.class_table.current_class
        selected = sorted(layer.selected_data) if layer is not None else []
        if not selected:
            self.status.ok("select shapes in the annotation layer first (select mode, S).")
            return 0
        classes = shape_classes(layer)
        self._last_move = (layer, len(layer.data), classes.copy())
        classes[selected] = index
        self._set_classes(layer, classes)
        self.recolour_shapes()
        self._status_note = (
            f"moved {len(selected)} shapes to {self.classes.names[index]!r} "
            "(Ctrl+Z on the layer undoes); "
        )
        self.status.ok(self._status_note + (self.status.value or ""))
        return len(selected)

    def undo_move(self) -> bool:
        """Give the shapes back the classes they had before the last move (as long as no shape
        was added or removed since); returns whether it did."""
        last, self._last_move = self._last_move, None
        layer = self._annotation_layer
        if last is None or last[0] is not layer or len(layer.data) != last[1]:
            self.status.ok("nothing to undo: no move since the shapes last changed.")
            return False
        self._set_classes(layer, last[2])
        self.recolour_shapes()
        self._status_note = "move undone; "
        self.status.ok(self._status_note + (self.status.value or ""))
        return True

    def _set_classes(self, layer: Any, classes: np.ndarray) -> None:
        """Write ``features['class']`` (other columns kept) and keep the next shapes' class."""
        import pandas as pd

        features = (
            layer.features.copy()
            if len(layer.features) == len(layer.data)
            else (pd.DataFrame(index=range(len(layer.data))))
        )
        features["class"] = np.asarray(classes, dtype=np.int64)
        layer.features = features.reset_index(drop=True)  # resets napari's feature defaults
        self._on_current_class(self.class_table.current_class)

    def _on_class_removed(self, index: int) -> None:
        """Shapes of a removed class label nothing (-1); later classes move down by one."""
        layer = self._annotation_layer
        if layer is None or len(layer.data) == 0:
            return
        classes = shape_classes(layer)
        renumbered = np.where(classes == index, -1, np.where(classes > index, classes - 1, classes))
        self._set_classes(layer, renumbered)

    def _on_classes_edited(self) -> None:
        layer = self._annotation_layer
        if layer is not None:
            layer.metadata = {
                **layer.metadata,
                CLASS_META: {
                    "names": list(self.classes.names),
                    "colours": list(self.classes.colours),
                },
            }
            self.recolour_shapes()
        self.schedule_recount()

    def recolour_shapes(self) -> None:
        """Colour every shape by its class."""
        layer = self._annotation_layer
        if layer is None or len(layer.data) == 0:
            return
        colours = [
            self.classes.colours[k] if 0 <= k < len(self.classes.colours) else "#ffffff"
            for k in shape_classes(layer)
        ]
        layer.edge_color = colours
        layer.face_color = [c + "40" for c in colours]

    def _show_labels(self, layer: Any, patchset: Any, assignment: Any) -> Any:
        """Counts, session labels and the status line for a label assignment (GUI thread)."""
        n = len(patchset.patches)
        note, self._status_note = self._status_note, ""
        fresh = self._patches_note[0] is patchset
        origin, about, amber = self._patches_note[1:] if fresh else ("", "", False)
        show = self.status.warn if amber else self.status.ok
        if assignment is None:
            self._session.labels = None
            self.class_table.set_counts({})
            show(
                note + f"{n} patches of {patchset.patches.shape[1]}×"
                f"{patchset.patches.shape[2]} px{origin}; no labels drawn." + about
            )
            return None
        labels = np.asarray(assignment.labels)
        counts = {int(k): int(np.sum(labels == k)) for k in range(len(self.classes.names))}
        self.class_table.set_counts(counts)
        self._session.labels = labels
        n_labeled = int(np.sum(labels >= 0))
        text = f"{n} patches, {n_labeled} labeled, {n - n_labeled} unlabeled"
        if getattr(assignment, "n_conflicts", 0):
            text += (
                f"; {assignment.n_conflicts} in overlapping shapes of different classes "
                f"({OVERLAP_RULE})"
            )
        n_unclassed = int(np.sum(shape_classes(layer) < 0))
        if n_unclassed:
            text += (
                f"; {n_unclassed} shapes have no class (select them, then 'Move selected "
                "shapes to this class')"
            )
        if n_labeled == 0:
            text += ". No patch centre lies inside a shape: draw shapes around whole patches"
        size = f" Patch size {patchset.patches.shape[1]} px{origin}." if origin else ""
        show(note + text + "." + size + about)
        return labels
