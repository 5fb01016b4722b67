"""Patches and labels dock widget: cut patches at points (or on a grid) and label them by
drawing shapes whose ``features['class']`` is the class of the patches they contain.

Labeling rules: choosing a class (a row of the class table, or keys 1-9 while the annotation
layer is active) sets the class of the shapes drawn *next* only; an existing shape changes class
only through *Move selected shapes to this class*."""

from __future__ import annotations

from typing import Any

import napari
import numpy as np
from magicgui.widgets import ComboBox, PushButton, SpinBox
from napari.layers import Image, Points, Shapes

from napari_ivae import _layers
from napari_ivae._widgets._common import (
    DockBody,
    Section,
    StatusLine,
    layer_picker,
    pick_active,
    report,
    while_alive,
)
from napari_ivae._widgets._session import ClassTable, get_session
from napari_ivae._widgets.class_table import ClassTableWidget
from napari_ivae._workers import background, is_busy
from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.annotations import OVERLAP_RULE
from napari_ivae.core.patches.sizing import (
    AutoSize,
    particle_diameter,
    point_diameters,
    points_spacing,
)

CLASS_META = "napari_ivae_classes"
RECOUNT_DELAY_MS = 150  # a burst of shape edits gives one label recount


def shapes_labels(layer: Any, patchset: Any, n_classes: int) -> Any:
    """Class of each patch from an annotation Shapes layer (``-1`` outside every shape)."""
    return labels_of_snapshot(shapes_snapshot(layer, n_classes), patchset)


def shapes_snapshot(layer: Any, n_classes: int) -> tuple:
    """The labelled shapes of ``layer`` (vertices, types, classes, ndim), copied in the GUI
    thread for :func:`labels_of_snapshot`."""
    classes = shape_classes(layer)
    keep = [i for i, k in enumerate(classes) if 0 <= k < n_classes]
    return (
        [np.array(layer.data[i]) for i in keep],
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


def detected_on(layer: Any) -> str | None:
    """The name of the image a plugin detection layer was made from (None for other layers,
    e.g. a user's own Points layer)."""
    meta = layer.metadata.get(_layers.META_KEY) if isinstance(layer.metadata, dict) else None
    if meta and str(meta.get("role", "")).startswith("detections_"):
        return str(meta.get("source"))
    return None


def _hidden_detection(layer: Any) -> bool:
    """A plugin detection layer hidden (by Detect, when it found the other kind since)."""
    return layer is not None and detected_on(layer) is not None and not layer.visible


def pairs_with(points: Any, image: Any) -> bool:
    """Whether patches may be cut from ``image`` at ``points``: a detection layer only pairs
    with the image it was detected on; any other Points layer with any image."""
    source = detected_on(points)
    return source is None or image is None or source == image.name


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


class PatchesWidget(DockBody):
    """Cut patches from an image at detected points (or on a grid) and label them by shapes."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._session = get_session(viewer)
        self._annotation_layer: Any = None
        self._last_move: tuple | None = None  # (layer, n shapes, classes before the move)
        self._seen_detections: set[int] = set()  # ids of the detection layers known so far
        self.image = layer_picker(Image, "image")
        self.source = ComboBox(choices=["points", "grid"], value="points", label="patches at")
        self.points = layer_picker(Points, "points", nullable=True)
        self.size = SpinBox(
            value=0,
            min=0,
            max=1024,
            label="patch size (0 = auto)",
            tooltip="Side of the square patches; 0 = two lattice spacings (particles: two "
            "of their diameters when that is smaller).",
        )
        self.stride = SpinBox(
            value=0,
            min=0,
            max=1024,
            label="grid stride (0 = auto)",
            visible=False,
            tooltip="Step of the grid; 0 = a quarter of the patch size.",
        )
        self.normalize = ComboBox(
            choices=["global", "patch", "none"], value="global", label="normalise"
        )
        self.extract_button = PushButton(text="Extract patches")
        self.shapes = layer_picker(Shapes, "labels (shapes)", nullable=True)
        self.new_shapes_button = PushButton(text="New annotation layer")
        self.class_table = ClassTableWidget(self._session.classes)
        self.move_button = PushButton(
            text="Move selected shapes to this class",
            tooltip="Give the shapes selected in the annotation layer the class selected in "
            "the table (choosing a class alone only sets the class of new shapes).",
        )
        self.status = StatusLine()
        self.lay_out(
            [
                [self.image, self.source, self.points, self.size, self.stride],
                Section("advanced", [self.normalize], folded=True),
                [self.extract_button],
                Section("labels", [self.shapes, self.new_shapes_button]),
                self.class_table,
                self.move_button,
                self.status,
            ]
        )
        self.source.changed.connect(self._on_source)
        self.image.changed.connect(self._on_image)
        self.extract_button.clicked.connect(self.extract_in_background)
        self._session.events.training.connect(self._on_training)
        self.new_shapes_button.clicked.connect(self.new_annotation_layer)
        self.move_button.clicked.connect(self.move_selected_to_current)
        self.shapes.changed.connect(self._watch_shapes)
        self.class_table.removed.connect(self._on_class_removed)
        self.class_table.edited.connect(self._on_classes_edited)
        self.class_table.current_changed.connect(self._on_current_class)
        # Detect hides one kind's detections when it finds the other: follow the shown ones
        viewer.layers.events.connect(while_alive(self, self._on_visibility))
        self._status_note = ""  # said before the next label counts (a move, an undo)
        # (patch set, what to say about it after the counts, whether in amber)
        self._patches_note: tuple[Any, str, str, bool] = (None, "", "", False)
        self._recount_again = False  # shapes changed while a recount ran
        self._label_generation = 0  # counts started before a later change are dropped
        from qtpy.QtCore import QTimer

        self._recount_timer = QTimer(self.native)
        self._recount_timer.setSingleShot(True)
        self._recount_timer.setInterval(RECOUNT_DELAY_MS)
        self._recount_timer.timeout.connect(self._start_recount)
        pick_active(viewer, self.image, Image)
        self._pick_defaults()
        self._follow_new_detection()

    # ---- set-up -------------------------------------------------------------------------
    def _pick_defaults(self) -> None:
        """Fill empty pickers: the points detected on the image first, then a user's Points
        layer (never another image's detections); the topmost Shapes layer."""
        self.points.reset_choices()
        self.shapes.reset_choices()
        image = self.image.value
        if image is None:
            return
        if self.points.value is not None and (
            not pairs_with(self.points.value, image) or _hidden_detection(self.points.value)
        ):
            self.points.value = None
        layers = list(reversed(self._viewer.layers))
        if self.points.value is None:
            points = [p for p in layers if isinstance(p, Points) and pairs_with(p, image)]
            # stable: the image's shown detections, then the user's layers, topmost first
            points.sort(key=lambda p: (detected_on(p) is None, _hidden_detection(p)))
            if points:
                self.points.value = points[0]
        if self.shapes.value is None:
            shapes = [layer for layer in layers if isinstance(layer, Shapes)]
            if shapes:
                self.shapes.value = shapes[0]

    def reset_choices(self, *args: Any) -> None:  # called by napari on layer list changes
        if _layers.refresh_later(id(self), lambda: self.reset_choices(*args)):
            return  # an action is inserting layers: once when it is done
        super().reset_choices(*args)
        self._follow_new_detection()
        if (
            self.points.value is None
            or self.shapes.value is None
            or not pairs_with(self.points.value, self.image.value)
            or _hidden_detection(self.points.value)  # Detect ran the other kind since
        ):
            self._pick_defaults()

    def _follow_new_detection(self) -> None:
        """A detection just made on the image replaces a user's Points layer in the picker:
        the user ran Detect to cut patches at its points (a stranger with a Points layer of
        notes got the patches cut at those few notes instead). A detection re-run updates its
        own layer, so a Points layer chosen after it stays chosen."""
        detections = [
            layer
            for layer in reversed(self._viewer.layers)
            if isinstance(layer, Points) and detected_on(layer) is not None
        ]
        new = [
            layer
            for layer in detections
            if id(layer) not in self._seen_detections
            and layer.visible
            and pairs_with(layer, self.image.value)
        ]
        self._seen_detections = {id(layer) for layer in detections}
        current = self.points.value
        if new and current is not None and detected_on(current) is None:
            self.points.value = new[0]

    def _on_visibility(self, event: Any = None) -> None:
        if getattr(event, "type", None) == "visible" and _hidden_detection(self.points.value):
            self._pick_defaults()

    def _on_image(self, image: Any) -> None:
        if self.points.value is not None and not pairs_with(self.points.value, image):
            self._pick_defaults()

    def _on_source(self, source: str) -> None:
        self.points.visible = source == "points"
        self.stride.visible = source == "grid"

    # ---- patches ------------------------------------------------------------------------
    def patch_size(self, image_layer: Any) -> int:
        """The chosen patch size, or the automatic one (sample hint, spacing, point spacing)."""
        return self._patch_size_and_origin(image_layer)[0]

    def _patch_size_and_origin(self, image_layer: Any) -> tuple[int, str]:
        """The patch size and, when automatic, where it comes from (in words).

        Patches at points take the spacing of the detection that made them (kept in the
        layer's provenance), else the points' median nearest-neighbour distance: never a
        spacing Detect measured on another image or for other points; particles whose
        features hold a size (Detect's ``equivalent_diameter``) take two of their median
        diameters when that is smaller (as ``napari-ivae patches`` does). Grid patches take
        the spacing Detect measured last, when it was on this image.
        """
        if self.size.value:
            return int(self.size.value), ""
        hint = image_layer.metadata.get("patch_size") or image_layer.metadata.get("card_size")
        if hint:
            return int(hint), "the sample's patch size"
        spacing, origin, measured = None, "", None
        points = self.points.value if self.source.value == "points" else None
        if points is not None:
            meta = points.metadata.get(_layers.META_KEY) if detected_on(points) else None
            if meta and meta.get("spacing"):
                spacing, origin = float(meta["spacing"]), "the detection's spacing"
            else:
                spacing = points_spacing(np.asarray(points.data))
                origin = "the points' median nearest-neighbour distance"
            measured = particle_diameter(points.features)
        elif self._session.spacing and self._session.spacing_image == image_layer.name:
            spacing, origin = self._session.spacing, "the lattice spacing measured on it"
        auto = AutoSize(spacing, measured[0] if measured else None)
        if auto.basis is None:
            return auto.size, NO_SPACING
        if auto.by_diameter:
            assert measured is not None
            return auto.size, f"{auto.reason()}, the points' median {measured[1]}"
        return auto.size, f"{auto.reason()}, {origin}"

    def _on_training(self, training: bool) -> None:
        self.extract_button.enabled = not training

    @property
    def busy(self) -> bool:
        """True while patches are cut or labels counted in the background (or about to be)."""
        return is_busy(self) or self._recount_timer.isActive()

    def extract(self) -> Any:
        """Cut the patches and store them in the session, in this thread; returns the PatchSet
        (or None). The button uses :meth:`extract_in_background`."""
        try:
            job = self._extract_job()
            patchset, params = _cut(job)
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self._store_patches(patchset, params, job)
        self._warn_if_unlabeled(self.update_labels())
        return patchset

    def extract_in_background(self) -> Any:
        """Cut the patches and count the labels in a worker thread; returns the worker."""
        if is_busy(self, "extracting patches"):
            return None
        try:
            job = self._extract_job()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        shapes = self._annotation_layer
        snapshot = shapes_snapshot(shapes, len(self.classes.names)) if shapes is not None else None
        self._recount_timer.stop()  # the labels are counted with the new patches
        generation = self._label_generation

        def compute(job: dict, snapshot: Any) -> tuple:
            patchset, params = _cut(job)
            labels = labels_of_snapshot(snapshot, patchset) if snapshot and snapshot[0] else None
            return patchset, params, labels

        def show(result: tuple) -> Any:
            patchset, params, assignment = result
            if self._session.training:
                raise InputError(
                    "a model started training on the previous patches while "
                    "these were cut: they were not kept."
                )
            self._store_patches(patchset, params, job)
            if (
                shapes is self._annotation_layer
                and generation == self._label_generation
                and assignment is not None
            ):
                self._label_generation += 1  # counts of the older patches are out of date
                self._warn_if_unlabeled(self._show_labels(shapes, patchset, assignment))
            elif shapes is None and self._annotation_layer is None:
                self.update_labels()  # no shapes: nothing to count
            else:  # the shapes changed while the patches were cut
                self.schedule_recount()
            return patchset

        return background(
            self,
            compute,
            (job, snapshot),
            what="extracting patches",
            show=show,
            status=self.status,
            buttons=(self.extract_button,),
        )

    def _extract_job(self) -> dict:
        """Everything cutting the patches needs, read from the widgets and layers (GUI thread)."""
        if self._session.training:
            raise InputError(
                "a model is training on the current patches: wait for it "
                "or stop it before extracting new ones."
            )
        layer = self.image.value
        snapshot = _layers.image_snapshot(layer)
        size, origin = self._patch_size_and_origin(layer)
        params = {
            "source": self.source.value,
            "size": size,
            "normalize": self.normalize.value,
            "image": layer.name,
        }
        job = {
            "image": snapshot,
            "params": params,
            "image_layer": layer,
            "points": None,
            "size_origin": origin,
        }
        if self.source.value == "grid":
            params["stride"] = int(self.stride.value or max(1, size // 4))
            # no spacing known here: measured on the image in the worker, as the CLI does
            job["measure_spacing"] = origin == NO_SPACING
            job["auto_stride"] = not self.stride.value
            return job
        if self.points.value is None:
            raise InputError(
                "no points layer: run Detect first, pick a Points layer, or choose 'grid' patches."
            )
        source = detected_on(self.points.value)
        if source is not None and source != layer.name:
            raise InputError(
                f"the points {self.points.value.name!r} were detected on {source!r}, not on "
                f"{layer.name!r}: run Detect on {layer.name!r} or pick its points."
            )
        params["points"] = self.points.value.name
        job["points"] = self.points.value
        job["coords"] = _layers.points_coords(self.points.value)
        # particles: their maps stay on each of them (one diameter per point)
        job["particle_diameter"] = point_diameters(self.points.value.features)
        return job

    def _warn_if_unlabeled(self, labels: Any) -> None:
        shapes = self._annotation_layer
        if (
            shapes is not None
            and len(shapes.data)
            and labels is not None
            and not np.any(labels >= 0)
        ):
            from napari.utils.notifications import show_warning

            show_warning(
                f"no patch centre lies inside the shapes of {shapes.name!r}: draw the "
                "shapes around whole objects (the patches' centres)."
            )

    def _store_patches(self, patchset: Any, params: dict, job: dict) -> None:
        self._patches_note = (patchset, *_patches_note(patchset, params, job))
        self._session.update(
            patchset=patchset,
            patch_params=params,
            image_layer=job["image_layer"],
            points_layer=job["points"],
        )

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

    def schedule_recount(self) -> None:
        """Count the labels again soon, in a worker (a burst of edits gives one count)."""
        self._label_generation += 1
        self._recount_timer.start()

    def _start_recount(self) -> None:
        if is_busy(self, "counting labels"):
            self._recount_again = True  # counted again with the latest shapes when it ends
            return
        layer, patchset = self._annotation_layer, self._session.patchset
        if patchset is None or layer is None or len(layer.data) == 0:
            self.update_labels()  # nothing to count
            return
        generation = self._label_generation
        snapshot = shapes_snapshot(layer, len(self.classes.names))

        def show(assignment: Any) -> Any:
            if (
                generation == self._label_generation
                and layer is self._annotation_layer
                and patchset is self._session.patchset
            ):
                return self._show_labels(layer, patchset, assignment)
            return None

        def idle(*_: Any) -> None:
            if self._recount_again:
                self._recount_again = False
                self._recount_timer.start()

        background(
            self,
            labels_of_snapshot,
            (snapshot, patchset),
            what="counting labels",
            show=show,
            on_error=lambda err: report(self.status, err),
            on_finished=idle,
        )

    def update_labels(self) -> Any:
        """Recompute the class of every patch from the shapes in this thread; update counts
        and session. Edits go through :meth:`schedule_recount` instead."""
        self._label_generation += 1
        layer, patchset = self._annotation_layer, self._session.patchset
        if patchset is None:
            self.class_table.set_counts({})
            self.status.ok(
                "Extract patches first; then draw shapes around examples of each "
                "class (optional, for ss-rVAE)."
            )
            return None
        if layer is None or len(layer.data) == 0:
            return self._show_labels(layer, patchset, None)
        try:
            assignment = shapes_labels(layer, patchset, len(self.classes.names))
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        return self._show_labels(layer, patchset, assignment)

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


NO_SPACING = "no spacing known"
DROPPED_WARNING = 0.25  # more points than this fraction left out: the status turns amber


def _patches_note(patchset: Any, params: dict, job: dict) -> tuple[str, str, bool]:
    """What the status says about freshly cut patches: where an automatic size came from
    (after the size), the points left out (after the counts; in amber when many were)."""
    origin = f" (auto: {job['size_origin']})" if job.get("size_origin") else ""
    parts = []
    if patchset.message:
        parts.append(
            patchset.message[0].upper()
            + patchset.message[1:]
            + (": a smaller patch size keeps them." if "dropped" in patchset.message else ".")
        )
    amber = False
    if params.get("source") == "points" and job.get("coords") is not None:
        n_points = len(job["coords"])
        amber = n_points > 0 and len(patchset.patches) < (1 - DROPPED_WARNING) * n_points
    return origin, (" " + " ".join(parts)) if parts else "", amber


_BORDER_HINT = 'Use a smaller patch size, or border="flag" to keep them with reflected edges.'


def _cut(job: dict) -> tuple[Any, dict]:
    """Cut the patches of an :meth:`PatchesWidget._extract_job` (any thread).

    From a lazy (dask, zarr, multiscale) layer no patch is cut here: the PatchSet's
    ``patches`` are a :class:`~napari_ivae.core.patches.source.SourcePatches`, cut from the
    image when training or encoding asks for them. The core's advice names its ``border``
    argument, which this dock has not: it names the dock's patch size."""
    try:
        return _cut_patches(job)
    except InputError as err:
        if _BORDER_HINT not in str(err):
            raise
        hint = "Use a smaller 'patch size (0 = auto)'."
        raise InputError(" ".join(str(err).replace(_BORDER_HINT, hint).split())) from err


def _measure_grid_size(image: Any, job: dict) -> None:
    """Grid patches of the automatic size with no spacing known (Detect not run on the
    image): two lattice spacings measured on the image (its first frame's central crop), as
    ``napari-ivae patches --grid`` sizes them; the stride, when automatic, a quarter of that.
    The job's size, stride and the status's origin are updated; nothing when no spacing can be
    measured (the default size stays)."""
    from napari_ivae.core.detection.spacing import frame_spacing
    from napari_ivae.core.patches.sizing import AutoSize

    try:
        spacing = frame_spacing(image)
    except InputError:
        return
    auto = AutoSize(spacing)
    if auto.basis is None:
        return
    params = job["params"]
    params["size"] = auto.size
    if job.get("auto_stride"):
        params["stride"] = max(1, auto.size // 4)
    job["size_origin"] = f"{auto.reason()}, the lattice spacing measured on the image"


def _cut_patches(job: dict) -> tuple[Any, dict]:
    from napari_ivae.core.io.imageio import is_lazy
    from napari_ivae.core.patches.cutting import extract_patches, grid_patches

    image = _layers.prepare_snapshot(job["image"])
    params = job["params"]
    if params["source"] == "grid" and job.get("measure_spacing"):
        _measure_grid_size(image, job)
    if is_lazy(image):
        from napari_ivae.core.patches.source import PatchSource

        if params["source"] == "grid":
            source = PatchSource.grid(
                image, params["size"], params["stride"], normalize=params["normalize"]
            )
        else:
            coords = job["coords"] if image.ndim == 3 else job["coords"][:, 1:]
            source = PatchSource(image, coords, params["size"], normalize=params["normalize"])
            source.particle_diameter = _kept(job.get("particle_diameter"), source.indices)
        return source.lazy_patchset(), params
    if params["source"] == "grid":
        return grid_patches(
            image, params["size"], params["stride"], normalize=params["normalize"]
        ), params
    coords = job["coords"] if image.ndim == 3 else job["coords"][:, 1:]
    patchset = extract_patches(image, coords, params["size"], normalize=params["normalize"])
    # particles: their maps stay on each of them
    patchset.particle_diameter = _kept(job.get("particle_diameter"), patchset.indices)
    return patchset, params


def _kept(diameters: Any, indices: Any) -> Any:
    """The points' particle diameters of the patches kept (None for points without a size)."""
    return None if diameters is None else np.asarray(diameters)[np.asarray(indices)]


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
