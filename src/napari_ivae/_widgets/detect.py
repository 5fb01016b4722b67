"""Detect dock widget: atom columns or particles -> a Points layer (+ Labels for particles)."""

from __future__ import annotations

from typing import Any

import napari
import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, PushButton
from napari.layers import Image

from napari_ivae import _layers
from napari_ivae._widgets._common import (
    StatusLine,
    layer_picker,
    pick_active,
    report,
    while_alive,
)
from napari_ivae._widgets._session import get_session
from napari_ivae._workers import function_job

FLATTEN_CHOICES = [("none", None), ("plane", "plane"), ("poly2", "poly2"),
                   ("gaussian", "gaussian")]


def run_detection(image: np.ndarray, mode: str, spacing: float | None, sigma: float | None,
                  refine: str | None, method: str, polarity: str,
                  crystal_only: bool = True) -> Any:
    """Detect atoms or particles in a prepared ``(Y, X)`` / ``(F, Y, X)`` image (any thread)."""
    frame_axis = 0 if image.ndim == 3 else None
    if mode == "atoms":
        from napari_ivae.core.atoms import detect_atoms

        return detect_atoms(image, spacing=spacing, sigma=sigma, refine=refine,
                            frame_axis=frame_axis, crystal_only=crystal_only)
    from napari_ivae.core.particles import detect_particles

    return detect_particles(image, method=method, polarity=polarity, frame_axis=frame_axis)


def estimate(image: np.ndarray) -> float:
    """Lattice spacing (px) of the first frame of a prepared image."""
    from napari_ivae.core.spacing import estimate_spacing

    return float(estimate_spacing(image if image.ndim == 2 else image[0]))


class DetectWidget(Container):
    """Find atom columns (or particles) in an image layer and add them as a Points layer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)
        self._viewer = viewer
        self._session = get_session(viewer)
        self._worker = None
        self.image = layer_picker(Image, "image")
        self.mode = ComboBox(choices=["atoms", "particles"], value="atoms", label="find")
        self.spacing = FloatSpinBox(value=0.0, min=0.0, max=1000.0, step=0.5,
                                    label="spacing (px)",
                                    tooltip="Nearest-neighbour distance; 0 = estimate it.")
        self.estimate_button = PushButton(text="Estimate spacing")
        self.sigma = FloatSpinBox(value=0.0, min=0.0, max=100.0, step=0.1, label="smoothing σ",
                                  tooltip="Gaussian smoothing in px; 0 = auto (from spacing).")
        self.refine = ComboBox(choices=[("centre of mass", "com"), ("gaussian fit", "gaussian"),
                                        ("none", None)], value="com", label="refine")
        self.keep_non_crystal = CheckBox(
            value=False, text="keep peaks outside the crystal",
            tooltip="By default peaks are left out where the image shows no lattice (vacuum, "
                    "amorphous support, a contamination rim), when it has such parts.")
        self.method = ComboBox(choices=["auto", "otsu", "li", "local", "log"], value="auto",
                               label="threshold", visible=False)
        self.polarity = ComboBox(choices=["auto", "bright", "dark"], value="auto",
                                 label="particles are", visible=False)
        self.invert = CheckBox(value=False, text="invert contrast")
        self.flatten = ComboBox(choices=FLATTEN_CHOICES, value=None, label="flatten")
        self.run_button = PushButton(text="Detect")
        self.status = StatusLine()
        self.extend([self.image, self.mode, self.spacing, self.estimate_button, self.sigma,
                     self.refine, self.keep_non_crystal, self.method, self.polarity,
                     self.invert, self.flatten, self.run_button])
        self.native.layout().addWidget(self.status.native)
        for box in (self.spacing, self.sigma):
            box.native.setSpecialValueText("auto")  # shown at 0
        self.mode.changed.connect(self._on_mode)
        self.estimate_button.clicked.connect(self.estimate_spacing)
        self.run_button.clicked.connect(self.detect)
        pick_active(viewer, self.image, Image)

    def _on_mode(self, mode: str) -> None:
        atoms = mode == "atoms"
        for widget in (self.spacing, self.estimate_button, self.sigma, self.refine,
                       self.keep_non_crystal):
            widget.visible = atoms
        self.method.visible = self.polarity.visible = not atoms

    def _prepared(self) -> np.ndarray:
        return _layers.prepared_image(self.image.value, invert=self.invert.value,
                                      flatten=self.flatten.value)

    def estimate_spacing(self) -> float | None:
        """Estimate the lattice spacing of the chosen image and show it."""
        try:
            spacing = estimate(self._prepared())
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self._session.set("spacing", spacing=spacing)
        self.status.ok(f"estimated spacing: {spacing:.1f} px")
        return spacing

    @property
    def busy(self) -> bool:
        """True while a detection runs."""
        return self._worker is not None

    def detect(self) -> None:
        """Run the detection in a worker thread; the result arrives as a Points layer."""
        if self.busy:
            return
        layer = self.image.value
        try:
            image = self._prepared()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return
        params = dict(mode=self.mode.value, spacing=self.spacing.value or None,
                      sigma=self.sigma.value or None, refine=self.refine.value,
                      method=self.method.value, polarity=self.polarity.value,
                      crystal_only=not self.keep_non_crystal.value)
        worker = function_job(run_detection, image, what=f"detecting {params['mode']}", **params)
        worker.returned.connect(while_alive(self, lambda det: self._show(det, layer, params)))
        worker.errored.connect(while_alive(self, lambda err: report(self.status, err)))
        worker.finished.connect(while_alive(self, self._idle))
        self._worker = worker
        self.run_button.enabled = False
        self.status.ok(f"detecting {params['mode']} in {layer.name!r}...")
        worker.start()

    def _idle(self) -> None:
        self._worker = None
        self.run_button.enabled = True

    def _show(self, det: Any, layer: Any, params: dict) -> None:
        mode = params["mode"]
        n = len(det.coords)
        spacing = det.params.get("spacing") if isinstance(det.params, dict) else None
        if spacing:
            self._session.set("spacing", spacing=float(spacing))
        if n == 0:
            report(self.status, ValueError(det.message or f"no {mode} found"), warn=True)
            return
        image_ndim = _layers.image_array(layer).ndim - (1 if layer.rgb else 0)
        size = 0.4 * float(spacing) if spacing else 5.0
        if mode == "particles" and "equivalent_diameter" in det.properties:
            size = float(np.median(det.properties["equivalent_diameter"])) * 0.5
        points = _layers.write_layer(
            self._viewer, "points", _layers.points_data(det.coords, image_ndim),
            role=f"detections_{mode}", source=layer, what=mode,
            params={k: _jsonable(v) for k, v in det.params.items()},
            features=det.properties.reset_index(drop=True), size=max(size, 2.0),
            face_color="#ffd400", border_width=0, opacity=0.8)
        if mode == "particles" and det.labels is not None:
            _layers.write_layer(self._viewer, "labels", det.labels, role="particle_labels",
                                source=layer, what="particle labels",
                                params={"mode": mode}, opacity=0.4)
        self._viewer.layers.selection.active = points
        message = (f"{n} atoms found (spacing {spacing:.1f} px)"
                   if mode == "atoms" and spacing else f"{n} {mode} found")
        if det.message:
            message = f"{message}. {det.message}"
        self.status.ok(message)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
