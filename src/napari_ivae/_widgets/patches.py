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
from napari_ivae._widgets._session import get_session
from napari_ivae._widgets.class_table import ClassTableWidget
from napari_ivae._widgets.patch_cutting import (  # noqa: F401 - importable from here
    _BORDER_HINT,
    DROPPED_WARNING,
    NO_SPACING,
    PatchJob,
    _cut,
    _cut_patches,
    _hidden_detection,
    _kept,
    _measure_grid_size,
    _patches_note,
    detected_on,
    pairs_with,
)
from napari_ivae._widgets.shape_labelling import (  # noqa: F401 - importable from here
    CLASS_META,
    ShapeLabelling,
    _bind_class_keys,
    labels_of_snapshot,
    shape_classes,
    shapes_labels,
    shapes_snapshot,
)
from napari_ivae._workers import background, is_busy
from napari_ivae.core.errors import InputError

RECOUNT_DELAY_MS = 150  # a burst of shape edits gives one label recount


class PatchesWidget(PatchJob, ShapeLabelling, DockBody):
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
        snapshot = (
            shapes_snapshot(shapes, len(self.classes.names), self.image.value)
            if shapes is not None
            else None
        )
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
        snapshot = shapes_snapshot(layer, len(self.classes.names), self.image.value)

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
            assignment = shapes_labels(layer, patchset, len(self.classes.names), self.image.value)
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        return self._show_labels(layer, patchset, assignment)
