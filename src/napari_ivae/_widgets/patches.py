"""Patches and labels dock widget: cut patches at points (or on a grid) and label them by
drawing shapes whose ``features['class']`` is the class of the patches they contain.

Labeling rules: choosing a class (a row of the class table, or keys 1-9 while the annotation
layer is active) sets the class of the shapes drawn *next* only; an existing shape changes class
only through *Move selected shapes to this class*."""

from __future__ import annotations

from typing import Any

import napari
import numpy as np
import pandas as pd
from magicgui.widgets import ComboBox, Container, PushButton, SpinBox
from napari.layers import Image, Points, Shapes

from napari_ivae import _layers
from napari_ivae._widgets._common import (
    StatusLine,
    layer_picker,
    pick_active,
    report,
    while_alive,
)
from napari_ivae._widgets._session import ClassTable, get_session
from napari_ivae._widgets.class_table import ClassTableWidget
from napari_ivae.core.annotations import OVERLAP_RULE
from napari_ivae.core.errors import InputError

CLASS_META = "napari_ivae_classes"


def auto_patch_size(spacing: float | None) -> int:
    """Patch side for a lattice spacing: two spacings (one shell of neighbours), even, >= 8."""
    if not spacing:
        return 32
    return int(max(8, 2 * round(spacing)))


def median_nn_distance(coords: np.ndarray) -> float | None:
    """Median nearest-neighbour distance of ``(N, 2)`` points (None for < 2 points)."""
    if len(coords) < 2:
        return None
    from scipy.spatial import cKDTree

    distances, _ = cKDTree(coords).query(coords, k=2)
    return float(np.median(distances[:, 1]))


def shapes_labels(layer: Any, patchset: Any, n_classes: int) -> Any:
    """Class of each patch from an annotation Shapes layer (``-1`` outside every shape)."""
    from napari_ivae.core.annotations import labels_from_shapes

    classes = shape_classes(layer)
    keep = [i for i, k in enumerate(classes) if 0 <= k < n_classes]
    return labels_from_shapes(
        patchset.centres, patchset.frames, [np.asarray(layer.data[i]) for i in keep],
        [layer.shape_type[i] for i in keep], [int(classes[i]) for i in keep],
        ndim_image=layer.ndim)


def shape_classes(layer: Any) -> np.ndarray:
    """``features['class']`` of each shape as int (``-1`` where missing)."""
    if "class" not in layer.features or len(layer.features) != len(layer.data):
        return np.full(len(layer.data), -1, dtype=np.int64)
    return pd.to_numeric(layer.features["class"], errors="coerce").fillna(-1).to_numpy(
        np.int64, copy=True)


class PatchesWidget(Container):
    """Cut patches from an image at detected points (or on a grid) and label them by shapes."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)
        self._viewer = viewer
        self._session = get_session(viewer)
        self._annotation_layer: Any = None
        self._last_move: tuple | None = None  # (layer, n shapes, classes before the move)
        self.image = layer_picker(Image, "image")
        self.source = ComboBox(choices=["points", "grid"], value="points", label="patches at")
        self.points = layer_picker(Points, "points", nullable=True)
        self.size = SpinBox(value=0, min=0, max=1024, label="patch size (0 = auto)",
                            tooltip="Side of the square patches; 0 = two lattice spacings.")
        self.stride = SpinBox(value=0, min=0, max=1024, label="grid stride (0 = auto)",
                              visible=False,
                              tooltip="Step of the grid; 0 = a quarter of the patch size.")
        self.normalize = ComboBox(choices=["global", "patch", "none"], value="global",
                                  label="normalise")
        self.extract_button = PushButton(text="Extract patches")
        self.shapes = layer_picker(Shapes, "labels (shapes)", nullable=True)
        self.new_shapes_button = PushButton(text="New annotation layer")
        self.class_table = ClassTableWidget(self._session.classes)
        self.move_button = PushButton(
            text="Move selected shapes to this class",
            tooltip="Give the shapes selected in the annotation layer the class selected in "
                    "the table (choosing a class alone only sets the class of new shapes).")
        self.status = StatusLine()
        self.extend([self.image, self.source, self.points, self.size, self.stride,
                     self.normalize, self.extract_button, self.shapes, self.new_shapes_button])
        self.native.layout().addWidget(self.class_table)
        self.native.layout().addWidget(self.move_button.native)
        self.native.layout().addWidget(self.status.native)
        self.source.changed.connect(self._on_source)
        self.extract_button.clicked.connect(self.extract)
        self._session.changed.connect(self._on_session)
        self.new_shapes_button.clicked.connect(self.new_annotation_layer)
        self.move_button.clicked.connect(self.move_selected_to_current)
        self.shapes.changed.connect(self._watch_shapes)
        self.class_table.removed.connect(self._on_class_removed)
        self.class_table.edited.connect(self._on_classes_edited)
        self.class_table.current_changed.connect(self._on_current_class)
        pick_active(viewer, self.image, Image)
        self._pick_defaults()

    # ---- set-up -------------------------------------------------------------------------
    def _pick_defaults(self) -> None:
        self.points.reset_choices()
        self.shapes.reset_choices()
        image = self.image.value
        if image is not None:
            for layer in reversed(self._viewer.layers):
                if isinstance(layer, Points) and self.points.value is None:
                    self.points.value = layer
                if isinstance(layer, Shapes) and self.shapes.value is None:
                    self.shapes.value = layer

    def reset_choices(self, *args: Any) -> None:  # called by napari on layer list changes
        super().reset_choices(*args)
        if self.points.value is None or self.shapes.value is None:
            self._pick_defaults()

    def _on_source(self, source: str) -> None:
        self.points.visible = source == "points"
        self.stride.visible = source == "grid"

    # ---- patches ------------------------------------------------------------------------
    def patch_size(self, image_layer: Any) -> int:
        """The chosen patch size, or the automatic one (sample hint, spacing, point spacing)."""
        if self.size.value:
            return int(self.size.value)
        hint = image_layer.metadata.get("patch_size") or image_layer.metadata.get("card_size")
        if hint:
            return int(hint)
        spacing = self._session.spacing
        if spacing is None and self.source.value == "points" and self.points.value is not None:
            spacing = median_nn_distance(np.asarray(self.points.value.data)[:, -2:])
        return auto_patch_size(spacing)

    def _on_session(self, what: str) -> None:
        if what == "training":
            self.extract_button.enabled = not self._session.training

    def extract(self) -> Any:
        """Cut the patches and store them in the session; returns the PatchSet (or None)."""
        try:
            if self._session.training:
                raise InputError("a model is training on the current patches: wait for it "
                                 "or stop it before extracting new ones.")
            patchset, params = self._extract()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        points = self.points.value if params["source"] == "points" else None
        self._session.set("patches", patchset=patchset, patch_params=params,
                          image_layer=self.image.value, points_layer=points)
        labels = self.update_labels()
        shapes = self._annotation_layer
        if shapes is not None and len(shapes.data) and labels is not None and not np.any(
                labels >= 0):
            from napari.utils.notifications import show_warning

            show_warning(f"no patch centre lies inside the shapes of {shapes.name!r}: draw the "
                         "shapes around whole objects (the patches' centres).")
        return patchset

    def _extract(self) -> tuple[Any, dict]:
        from napari_ivae.core.patches import extract_patches, grid_patches

        layer = self.image.value
        image = _layers.prepared_image(layer)
        size = self.patch_size(layer)
        params = {"source": self.source.value, "size": size, "normalize": self.normalize.value,
                  "image": layer.name}
        if self.source.value == "grid":
            stride = int(self.stride.value or max(1, size // 4))
            params["stride"] = stride
            return grid_patches(image, size, stride, normalize=self.normalize.value), params
        if self.points.value is None:
            raise InputError("no points layer: run Detect first, pick a Points layer, or choose "
                             "'grid' patches.")
        coords = _layers.points_coords(self.points.value)
        params["points"] = self.points.value.name
        coords = coords if image.ndim == 3 else coords[:, 1:]
        return extract_patches(image, coords, size, normalize=self.normalize.value), params

    # ---- annotations --------------------------------------------------------------------
    def new_annotation_layer(self) -> Any:
        """Add an empty Shapes layer for drawing labels and select it."""
        image = self.image.value
        ndim = 2 if image is None else image.ndim
        name = f"{image.name if image is not None else 'image'} labels"
        kwargs = _layers.spatial_transform(image, ndim) if image is not None else {}
        layer = self._viewer.add_shapes(
            ndim=ndim, name=name, features=pd.DataFrame({"class": np.zeros(0, dtype=np.int64)}),
            edge_width=2, metadata={CLASS_META: {"names": self.classes.names,
                                                 "colours": self.classes.colours}}, **kwargs)
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
            self.update_labels()
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
        self.update_labels()

    def _on_shapes_edited(self, event: Any = None) -> None:
        layer = self._annotation_layer
        if layer is not None and "class" not in layer.features:
            # a user's own layer: its existing shapes stay unlabeled until moved to a class
            self._set_classes(layer, np.full(len(layer.data), -1, dtype=np.int64))
        if layer is not None and getattr(event, "action", None) == "added":
            self.recolour_shapes()  # a new shape shows its class's colour, whatever was clicked
        if layer is not None and getattr(event, "type", "features") == "features":
            self._on_current_class(self.class_table.current_class)  # napari reset the defaults
        self.update_labels()

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
        self.status.ok(f"moved {len(selected)} shapes to {self.classes.names[index]!r} "
                       f"(Ctrl+Z on the layer undoes); " + (self.status.value or ""))
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
        self.status.ok("move undone; " + (self.status.value or ""))
        return True

    def _set_classes(self, layer: Any, classes: np.ndarray) -> None:
        """Write ``features['class']`` (other columns kept) and keep the next shapes' class."""
        features = layer.features.copy() if len(layer.features) == len(layer.data) else (
            pd.DataFrame(index=range(len(layer.data))))
        features["class"] = np.asarray(classes, dtype=np.int64)
        layer.features = features.reset_index(drop=True)  # resets napari's feature defaults
        self._on_current_class(self.class_table.current_class)

    def _on_class_removed(self, index: int) -> None:
        """Shapes of a removed class label nothing (-1); later classes move down by one."""
        layer = self._annotation_layer
        if layer is None or len(layer.data) == 0:
            return
        classes = shape_classes(layer)
        renumbered = np.where(classes == index, -1, np.where(classes > index, classes - 1,
                                                             classes))
        self._set_classes(layer, renumbered)

    def _on_classes_edited(self) -> None:
        layer = self._annotation_layer
        if layer is not None:
            layer.metadata = {**layer.metadata, CLASS_META: {
                "names": list(self.classes.names), "colours": list(self.classes.colours)}}
            self.recolour_shapes()
        self.update_labels()

    def recolour_shapes(self) -> None:
        """Colour every shape by its class."""
        layer = self._annotation_layer
        if layer is None or len(layer.data) == 0:
            return
        colours = [self.classes.colours[k] if 0 <= k < len(self.classes.colours) else "#ffffff"
                   for k in shape_classes(layer)]
        layer.edge_color = colours
        layer.face_color = [c + "40" for c in colours]

    def update_labels(self) -> Any:
        """Recompute the class of every patch from the shapes; update counts and session."""
        layer, patchset = self._annotation_layer, self._session.patchset
        if patchset is None:
            self.class_table.set_counts({})
            self.status.ok("Extract patches first; then draw shapes around examples of each "
                           "class (optional, for ss-rVAE).")
            return None
        n = len(patchset.patches)
        if layer is None or len(layer.data) == 0:
            self._session.set("labels", labels=None)
            self.class_table.set_counts({})
            self.status.ok(f"{n} patches of {patchset.patches.shape[1]}×"
                           f"{patchset.patches.shape[2]} px; no labels drawn.")
            return None
        try:
            assignment = shapes_labels(layer, patchset, len(self.classes.names))
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        labels = np.asarray(assignment.labels)
        counts = {int(k): int(np.sum(labels == k)) for k in range(len(self.classes.names))}
        self.class_table.set_counts(counts)
        self._session.set("labels", labels=labels)
        n_labeled = int(np.sum(labels >= 0))
        text = f"{n} patches, {n_labeled} labeled, {n - n_labeled} unlabeled"
        if getattr(assignment, "n_conflicts", 0):
            text += f"; {assignment.n_conflicts} in overlapping shapes of different classes " \
                    f"({OVERLAP_RULE})"
        n_unclassed = int(np.sum(shape_classes(layer) < 0))
        if n_unclassed:
            text += f"; {n_unclassed} shapes have no class (select them, then 'Move selected " \
                    "shapes to this class')"
        if n_labeled == 0:
            text += ". No patch centre lies inside a shape: draw shapes around whole patches."
        self.status.ok(text)
        return labels


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
