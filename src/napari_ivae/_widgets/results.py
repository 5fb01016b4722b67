"""Results dock widget: write latent/angle/class maps and point features, segment a latent map,
find unsupervised classes (k-means on the latent codes), show the decoded manifold and the
confusion matrix, save / load models, apply a model to another image without retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import napari
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    FileEdit,
    Label,
    PushButton,
    SpinBox,
)
from napari.layers import Image

from napari_ivae import _layers
from napari_ivae._widgets import _writer
from napari_ivae._widgets._common import DockBody, Section, StatusLine, layer_picker, report
from napari_ivae._widgets._session import get_session
from napari_ivae._workers import background, is_busy
from napari_ivae.core.errors import InputError

#: What 'colour points by' starts on, the first the points have: the model's classes, the
#: classes found on the latents, the angle.
DEFAULT_COLOURING = tuple(
    _writer.COLUMN_PREFIX + name for name in ("class", "cluster", "angle_deg", "angle")
)
DETECTION_YELLOW = "#ffd400"  # the detected points' own colour (Detect, Apply)
NO_COLOUR = "<blank>"  # the user chose the blank entry: the points keep their own colour


class ResultsWidget(DockBody):
    """Look at, segment, save and re-use what a model learned."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._session = get_session(viewer)
        self.model_info = Label(value="no model yet", label="model")
        self.model_info.native.setWordWrap(True)
        self.write_button = PushButton(text="Write maps and point features")
        self.colour_by = ComboBox(choices=self._feature_choices, label="colour points by")
        self.segment_map = ComboBox(choices=self._map_choices, label="segment map")
        self.segment_method = ComboBox(
            choices=["otsu", "multiotsu", "chan_vese"], value="otsu", label="method"
        )
        self.n_regions = SpinBox(value=2, min=2, max=8, label="regions")
        self.segment_button = PushButton(text="Segment")
        self.n_clusters = SpinBox(value=4, min=2, max=16, label="unsupervised classes")
        self.cluster_angle = CheckBox(value=False, text="classes may differ by orientation")
        self.cluster_button = PushButton(text="Find classes (k-means on latents)")
        self.manifold_button = PushButton(text="Show decoded latent manifold")
        self.confusion = Label(value="")
        self.confusion.native.setStyleSheet("font-family: monospace;")
        self.heldout_button = PushButton(text="Check the classes on held-out labels")
        self.heldout_button.tooltip = (
            "k-fold cross-validation: a fresh classifier of the model's architecture learns the "
            "labels of k-1 folds and predicts the held-out fold (the VAE is not retrained)"
        )
        self.heldout_button.visible = False  # shown with a confusion matrix
        self.heldout = Label(value="")
        self.heldout.native.setStyleSheet("font-family: monospace;")
        self.model_file = FileEdit(
            mode="w", filter="*.ivae.pt", label="model file", value=Path.home() / "model.ivae.pt"
        )
        self.save_button = PushButton(text="Save model")
        self.load_button = PushButton(text="Load model")
        self.apply_image = layer_picker(Image, "apply to image")
        self.apply_button = PushButton(text="Apply model to image")
        self.status = StatusLine()
        self.lay_out(
            [
                [self.model_info, self.write_button, self.colour_by, self.manifold_button],
                self.confusion,
                self.heldout_button,
                self.heldout,
                Section(
                    "segment a map",
                    [self.segment_map, self.segment_method, self.n_regions, self.segment_button],
                ),
                Section(
                    "unsupervised classes",
                    [self.n_clusters, self.cluster_angle, self.cluster_button],
                ),
                Section(
                    "model file", [self.model_file, self.save_button, self.load_button], folded=True
                ),
                Section(
                    "apply to another image", [self.apply_image, self.apply_button], folded=True
                ),
                self.status,
            ]
        )
        self.write_button.clicked.connect(self.write_in_background)
        self._colour_chosen = ""  # the user's own choice of 'colour points by' (kept)
        self._choosing = False  # True while the widget itself sets or refreshes the choice
        self.colour_by.changed.connect(self._on_colour_chosen)
        self.colour_by.changed.connect(self.colour_points)
        self.segment_button.clicked.connect(self.segment_in_background)
        self.cluster_button.clicked.connect(self.find_classes)
        self.manifold_button.clicked.connect(self.manifold_in_background)
        self.heldout_button.clicked.connect(self.heldout_in_background)
        self.save_button.clicked.connect(self.save)
        self.load_button.clicked.connect(self.load)
        self.apply_button.clicked.connect(self.apply_in_background)
        self._session.events.bundle.connect(self._on_model)
        self._session.events.columns.connect(self._on_results)
        self._on_model()

    # ---- choices ------------------------------------------------------------------------
    def _feature_choices(self, *_: Any) -> list[str]:
        layer = self._session.points_layer
        if layer is None:
            return [""]
        from pandas.api.types import is_numeric_dtype

        return [""] + [c for c in layer.features.columns if is_numeric_dtype(layer.features[c])]

    def _map_choices(self, *_: Any) -> list:
        return [
            (layer.name, layer)
            for layer in self._viewer.layers
            if _layers.is_result_layer(layer)
            and isinstance(layer, Image)
            and layer.metadata["napari_ivae"].get("role", "").endswith("_map")
        ]

    def _on_model(self, *_: Any) -> None:
        bundle = self._session.bundle
        if bundle is not None:
            meta = bundle.metadata
            shape = "×".join(str(s) for s in bundle.config.patch_shape)
            self.model_info.value = (
                f"{bundle.config.kind}, {shape} px patches, "  # its label says "model"
                f"latent size {bundle.config.latent_dim}, "
                f"seed {meta.get('seed')}" + (" (stopped early)" if meta.get("stopped") else "")
            )
        self.reset_choices()

    def _on_results(self, *_: Any) -> None:
        self.reset_choices()
        self._update_confusion()
        if self.colour_by.value:  # new result columns: the points take their colours
            self.colour_points()

    def reset_choices(self, *args: Any) -> None:
        """Refresh the pickers, then the default of 'colour points by' (:meth:`_default_colour`)."""
        choosing, self._choosing = getattr(self, "_choosing", False), True
        try:
            super().reset_choices(*args)
        finally:
            self._choosing = choosing
        self._default_colour()

    def _on_colour_chosen(self, value: Any) -> None:
        if getattr(self, "_choosing", True):
            return
        self._colour_chosen = value or NO_COLOUR
        layer = self._session.points_layer
        if not value and layer is not None and len(layer.data):
            layer.face_color = DETECTION_YELLOW  # blank: the points as Detect drew them

    def _default_colour(self) -> None:
        """'colour points by' starts on the model's class, else the found classes, else the
        angle (the points stayed plain yellow over the maps until a column was picked); a
        choice of the user's, blank included, is kept while the points have that column."""
        if not hasattr(self, "_colour_chosen"):
            return  # still being built
        choices = list(self.colour_by.choices)
        chosen = self._colour_chosen
        if chosen and (chosen == NO_COLOUR or chosen in choices):
            return
        default = next((c for c in DEFAULT_COLOURING if c in choices), "")
        if default and default != self.colour_by.value:
            choosing, self._choosing = self._choosing, True
            try:
                self.colour_by.value = default  # colours the points (changed)
            finally:
                self._choosing = choosing

    # ---- actions ------------------------------------------------------------------------
    def write(self) -> list:
        """Encode the current patches with the current model and write all result layers."""
        try:
            written = _writer.write_results(self._viewer, self._session)
        except Exception as err:  # noqa: BLE001 - shown to the user
            _writer.mark_results_stale(self._viewer, self._session)
            report(self.status, err)
            return []
        self.reset_choices()
        self._update_confusion()
        self._report_written(written)
        return written

    def _report_written(self, written: list) -> None:
        """Name the layers written; the result notes (e.g. a latent within its noise) in amber."""
        text = f"wrote {len(written)} layers: " + ", ".join(layer.name for layer in written)
        notes = self._session.result_notes
        if notes:
            self.status.warn(text + ". Check: " + "; ".join(notes) + ".")
        else:
            self.status.ok(text)

    def write_in_background(self) -> None:
        """As :meth:`write`, with the encoding and maps computed in a worker thread."""

        def failed(err: Exception) -> None:
            _writer.mark_results_stale(self._viewer, self._session)
            report(self.status, err)

        try:
            _writer.results_job(
                self._viewer,
                self._session,
                self._report_written,
                failed,
                owner=self,
                buttons=(self.write_button,),
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            failed(err)
            return
        self.status.ok("encoding the patches and writing maps...")

    def _model_labels(self) -> np.ndarray | None:
        """The annotation labels in the current model's class numbering (``-1`` unlabeled),
        when the model has classes and they match the current patches."""
        labels, bundle = self._session.labels, self._session.bundle
        if labels is None or bundle is None or not bundle.config.class_names:
            return None
        names = list(bundle.config.class_names)
        train_names = list(self._session.classes.names)
        # labels use the annotation table's numbering; the model's classes are a subset
        remap = {train_names.index(n): k for k, n in enumerate(names) if n in train_names}
        return np.array([remap.get(int(v), -1) for v in np.asarray(labels)], dtype=np.int64)

    def _update_confusion(self) -> None:
        columns = self._session.columns or {}
        true = self._model_labels()
        self.heldout.value = ""
        if "class" not in columns or true is None or len(true) != len(columns["class"]):
            self.confusion.value = ""
            self.heldout_button.visible = False
            return
        names = list(self._session.bundle.config.class_names)
        self.confusion.value = _writer.confusion_text(true, columns["class"], names)
        self.heldout_button.visible = bool(self.confusion.value)

    def heldout_in_background(self) -> Any:
        """Cross-validate the model's classes over the labeled patches in a worker
        (:func:`napari_ivae.core.analysis.heldout.model_heldout_confusion`); returns the worker."""
        bundle, patchset, true = self._session.bundle, self._session.patchset, self._model_labels()
        if (
            bundle is None
            or patchset is None
            or true is None
            or len(true) != len(patchset.patches)
            or not np.any(true >= 0)
        ):
            report(
                self.status,
                InputError(
                    "no labeled patches for this model's classes: train "
                    "an ss-rvae on labeled patches first."
                ),
            )
            return None
        names = list(bundle.config.class_names)

        def show(held: Any) -> str:
            self.heldout.value = _writer.heldout_text(held, names)
            return self.heldout.value

        return background(
            self,
            _writer.compute_heldout,
            (bundle.model, patchset.patches, true),
            what="cross-validating the classes",
            show=show,
            on_done=lambda _: self.status.ok("held-out check done."),
            status=self.status,
            buttons=(self.heldout_button,),
        )

    def colour_points(self, feature: str | None = None) -> None:
        """Colour the points layer by a feature column: the model's class and unsupervised
        classes (``ivae_class``, ``ivae_cluster``) in their maps' colours, angles on a cyclic
        colormap, anything else (the user's own columns too) on viridis."""
        layer = self._session.points_layer
        feature = feature or self.colour_by.value
        if layer is None or not feature or feature not in layer.features:
            return
        values = layer.features[feature].to_numpy(dtype=float)
        result = _writer.result_name_of(feature)  # None for a user's column
        classes = self._cluster_layer() if result == "cluster" else None
        if classes is not None:  # the points take the class map's colours
            grey = np.array([0.5, 0.5, 0.5, 1.0])
            layer.face_color = np.array(
                [
                    np.asarray(classes.get_color(int(v) + 1), dtype=float).ravel()[:4]
                    if np.isfinite(v) and v >= 0
                    else grey
                    for v in values
                ]
            )
            return
        if result == "class" and self._class_colours():
            colours = self._class_colours()
            layer.face_color = [
                colours[int(v)] if np.isfinite(v) and 0 <= v < len(colours) else "#808080"
                for v in values
            ]
            return
        name = result or feature
        is_angle = name.startswith("angle")
        layer.face_colormap = "twilight_shifted" if is_angle else "viridis"
        layer.face_color = feature
        finite = values[np.isfinite(values)]
        if finite.size and is_angle:
            layer.face_contrast_limits = (
                (-180.0, 180.0) if name.endswith("_deg") else (-np.pi, np.pi)
            )
        elif finite.size:
            layer.face_contrast_limits = tuple(float(v) for v in np.percentile(finite, [1, 99]))
        layer.refresh_colors()

    def _cluster_layer(self) -> Any:
        image = self._session.image_layer
        if image is None:
            return None
        return _layers.find_result_layer(self._viewer, "cluster_map", image.name)

    def _class_colours(self) -> list[str]:
        """The annotation colour of each model class (empty when a name is unknown)."""
        bundle = self._session.bundle
        if bundle is None:
            return []
        table = dict(zip(self._session.classes.names, self._session.classes.colours))
        colours = [table.get(name) for name in bundle.config.class_names]
        return colours if colours and all(colours) else []

    @property
    def busy(self) -> bool:
        """True while a result action runs in the background."""
        return is_busy(self)

    def segment(self) -> Any:
        """Segment the chosen latent map into regions (a new Labels layer), in this thread."""
        try:
            job = self._segment_job()
            return self._show_segmentation(job[0], _segment(*job[1:]))
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None

    def segment_in_background(self) -> Any:
        """As :meth:`segment`, computing in a worker thread; returns the worker."""
        try:
            layer, *args = self._segment_job()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        return background(
            self,
            _segment,
            tuple(args),
            what=f"segmenting {layer.name!r}",
            show=lambda segmented: self._show_segmentation(layer, segmented),
            status=self.status,
            buttons=(self.segment_button,),
        )

    def _segment_job(self) -> tuple:
        layer = self.segment_map.value
        if layer is None:
            raise InputError("no map to segment: train a model or click 'Write maps' first.")
        return layer, np.asarray(layer.data), self.segment_method.value, self.n_regions.value

    def _show_segmentation(self, layer: Any, segmented: tuple) -> Any:
        labels, n_regions, edges = segmented
        if layer not in self._viewer.layers:
            raise InputError(
                f"the map {layer.name!r} was removed before its segmentation "
                "was ready; nothing was written."
            )
        meta = layer.metadata["napari_ivae"]
        layers = self._viewer.layers
        # a LayerList has no .get
        source = layers[meta["source"]] if meta["source"] in layers else layer  # noqa: SIM401
        out = _layers.write_layer(
            self._viewer,
            "labels",
            labels,
            role=f"segmentation_{meta['role']}",
            source=source,
            what=f"{meta['role'].removesuffix('_map')} segmentation",
            params={
                "map": layer.name,
                "method": self.segment_method.value,
                "n_classes": self.n_regions.value,
            },
            opacity=0.5,
        )
        self.status.ok(
            f"segmented {layer.name!r} into {n_regions} regions; boundary length "
            f"{edges[0]:.0f} px (the map's edge length {edges[1]:.0f} px; lower = "
            "cleaner)."
        )
        return out

    def find_classes(self) -> Any:
        """Group the patches into unsupervised classes (k-means on the model's latent codes,
        in a worker): a Labels map and an ``ivae_cluster`` column on the points. Returns the
        worker."""
        bundle = self._session.bundle
        seed = int(bundle.metadata.get("seed") or 0) if bundle is not None else 0

        def done(result: tuple) -> None:
            clustering, _ = result
            self.reset_choices()
            sizes = ", ".join(str(int(n)) for n in clustering.sizes)
            self.status.ok(
                f"{clustering.n_clusters} classes from the latent codes (sizes "
                f"{sizes}; k-means seed {clustering.seed})."
            )

        try:
            worker = _writer.clusters_job(
                self._viewer,
                self._session,
                self.n_clusters.value,
                seed,
                self.cluster_angle.value,
                done,
                lambda err: report(self.status, err),
                owner=self,
                buttons=(self.cluster_button,),
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self.status.ok("encoding the patches and finding classes...")
        return worker

    def show_manifold(self) -> Any:
        """Decode a grid of latent values into patches (what the latent axes mean)."""
        try:
            bundle, image = self._manifold_job()
            layer = _writer.show_manifold(
                self._viewer, image, bundle, _writer.compute_manifold(bundle, *self._data())
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self.status.ok(_writer.manifold_caption(layer))
        return layer

    def manifold_in_background(self) -> Any:
        """As :meth:`show_manifold`, decoding in a worker thread; returns the worker."""
        try:
            bundle, image = self._manifold_job()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None

        def done(layer: Any) -> None:
            self.status.ok(_writer.manifold_caption(layer))

        return background(
            self,
            _writer.compute_manifold,
            (bundle, *self._data()),
            what="decoding the manifold",
            show=lambda data: _writer.show_manifold(self._viewer, image, bundle, data),
            on_done=done,
            status=self.status,
            buttons=(self.manifold_button,),
        )

    def _data(self) -> tuple:
        """The last results' encoding and the patches, when they belong to the current model
        (the manifold then spans the data's codes at the data's contrast)."""
        session = self._session
        encoding, patchset = session.encoding, session.patchset
        if encoding is None or patchset is None or len(encoding.z_mean) != len(patchset.patches):
            return None, None
        return encoding, patchset.patches

    def _manifold_job(self) -> tuple:
        if self._session.bundle is None:
            raise InputError("no model yet: train one or load one.")
        image = self._session.image_layer or self._viewer.layers.selection.active
        return self._session.bundle, image

    def save(self) -> Path | None:
        """Save the current model bundle to the chosen file."""
        from napari_ivae.core.models.persistence import (
            is_model_path,
            pipeline_metadata,
            save_model,
        )

        bundle = self._session.bundle
        target = Path(self.model_file.value)
        replaced = target.exists()
        try:
            if bundle is None:
                raise InputError("no model to save: train one first.")
            if not is_model_path(target):  # never over the user's image or table
                raise InputError(
                    f"the model file must end in .ivae.pt, got {target.name!r}; "
                    "choose a name such as model.ivae.pt"
                )
            path = save_model(
                target,
                bundle.model,
                result=self._session.train_result,
                metadata=pipeline_metadata(bundle.metadata),
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        if replaced:  # never silently: the file of that name was someone's
            self.status.warn(f"saved {path}, replacing the earlier file of that name")
        else:
            self.status.ok(f"saved {path}")
        return path

    def load(self) -> Any:
        """Load a model bundle; it becomes the session's model."""
        from napari_ivae.core.errors import ModelFileError
        from napari_ivae.core.models.persistence import load_model

        try:
            bundle = load_model(Path(self.model_file.value))
        except ModelFileError as err:  # the core names the command line's option
            text = str(err).replace("a lower --lr", "a lower 'learning rate' in the Train dock")
            report(self.status, ModelFileError(text))
            return None
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self._session.update(bundle=bundle, train_result=None)
        self.status.ok(f"loaded {bundle.config.kind} model from {self.model_file.value}")
        return bundle

    def apply(self) -> list:
        """Detect, cut patches of the model's size and encode another image (no training)."""
        from napari_ivae._widgets._apply import apply_model

        try:
            written = apply_model(self._viewer, self._session, self.apply_image.value)
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return []
        self.reset_choices()
        self._say_applied(written)
        return written

    def _say_applied(self, written: list) -> None:
        message = f"applied the model: wrote {len(written)} layers."
        notes = getattr(written, "notes", "")
        if notes:  # e.g. missing pixels filled: a result to look at
            self.status.warn(f"{message} {notes}")
        else:
            self.status.ok(message)

    def apply_in_background(self) -> None:
        """As :meth:`apply`, with detection, patches and encoding in a worker thread."""
        from napari_ivae._widgets._apply import apply_job

        def done(written: list) -> None:
            self.reset_choices()
            self._say_applied(written)

        try:
            apply_job(
                self._viewer,
                self._session,
                self.apply_image.value,
                done,
                lambda err: report(self.status, err),
                owner=self,
                buttons=(self.apply_button,),
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return
        self.status.ok(f"applying the model to {self.apply_image.value.name!r}...")


def _segment(data: np.ndarray, method: str, n_regions: int) -> tuple:
    """int32 region labels of a map (NaN = the map's median), how many regions it has, and
    ``(boundary length of the labels, edge length of the map)`` in pixels, frames averaged
    (:func:`napari_ivae.core.analysis.segmentation.edge_length`; any thread)."""
    from napari_ivae.core.analysis.segmentation import edge_length, segment_map

    data = np.asarray(data, dtype=np.float32)
    finite = data[np.isfinite(data)]
    fill = float(np.median(finite)) if finite.size else 0.0
    filled = np.nan_to_num(data, nan=fill)
    labels = np.asarray(segment_map(filled, method=method, n_classes=n_regions)).astype(np.int32)
    frames = labels.reshape(-1, *labels.shape[-2:])
    maps = filled.reshape(-1, *filled.shape[-2:])
    edges = (
        float(np.mean([edge_length(f.astype(np.float32), denoise=False) for f in frames])),
        float(np.mean([edge_length(m) for m in maps])),
    )
    return labels, len(np.unique(labels)), edges
