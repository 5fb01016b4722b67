"""Results dock widget: write latent/angle/class maps and point features, segment a latent map,
find unsupervised classes (k-means on the latent codes), show the decoded manifold and the
confusion matrix, save / load models, apply a model to another image without retraining.

'Colour points by' is :class:`~._point_colouring.PointColouring`, the confusion matrix and its
held-out check :class:`~._class_checks.ClassChecks`, the model file and applying the model
:class:`~._model_actions.ModelActions`: the widget's parts, each in its own module."""

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
from napari_ivae._widgets._class_checks import ClassChecks
from napari_ivae._widgets._common import DockBody, Section, StatusLine, layer_picker, report
from napari_ivae._widgets._model_actions import ModelActions
from napari_ivae._widgets._point_colouring import (  # noqa: F401 - importable from here too
    DEFAULT_COLOURING,
    DETECTION_YELLOW,
    NO_COLOUR,
    PointColouring,
)
from napari_ivae._widgets._session import get_session
from napari_ivae._workers import background, is_busy
from napari_ivae.core.errors import InputError


class ResultsWidget(PointColouring, ClassChecks, ModelActions, DockBody):
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
