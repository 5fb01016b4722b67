"""Detect dock widget: atom columns or particles -> a Points layer (+ Labels for particles).

Every parameter starts at "auto" (chosen from the image; the status line shows the values used).
Once a result is on screen, changing a parameter re-detects in a worker ("update while
tuning"), at once (the changes of one event-loop turn together). Changes made while a
detection runs are coalesced into one more run with the latest values; the running one, now
stale, stops at its next step unless no result was shown for ``LIVE_SHOW_EVERY_S`` (a long
drag still shows its way). So the viewer never waits and the layer always ends with the
settings on screen; a run never replaces the points of a later one. The dock keeps the
results of the detection's steps (:class:`~napari_ivae.core.detection.detection_memo.DetectionMemo`,
keyed by the image's contents and each step's parameters): a re-detection recomputes only
what the changed parameter reaches, with the same result as a fresh one. A change of the
spacing or smoothing alone (atoms), or of the threshold method, polarity or min size
(particles), is first drawn as a preview (:mod:`.detect_preview`).
"""

from __future__ import annotations

import time
from typing import Any

import napari
import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, PushButton
from napari.layers import Image

from napari_ivae import _layers
from napari_ivae._widgets._common import (
    DockBody,
    Section,
    StatusLine,
    layer_picker,
    pick_active,
    report,
)
from napari_ivae._widgets._session import get_session
from napari_ivae._widgets.detect_controls import method_box, min_size_box, sensitivity_box
from napari_ivae._widgets.detect_layers import write_detections
from napari_ivae._widgets.detect_preview import TuningPreview
from napari_ivae._widgets.detect_run import (  # noqa: F401 - importable from here as before
    SUPERSEDED,
    _check_particle_contrast,
    _detect_snapshot,
    estimate,
    run_detection,
)
from napari_ivae._widgets.detect_text import (  # noqa: F401 - importable from here as before
    _WIDGET_SPELLINGS,
    PARTICLES_HINT,
    _as_shown_inverted,
    _chosen,
    _filled_warning,
    _jsonable,
    empty_message,
    physical_note,
    point_size,
    result_message,
    widget_spelling,
)
from napari_ivae._workers import background, is_busy
from napari_ivae.core.detection.detection_memo import DetectionMemo
from napari_ivae.core.errors import InputError

AUTO_TEXT = "auto"  # a spin box at 0; after a detection, with the value it chose
LIVE_DELAY_MS = 0  # after the event-loop turn: the changes made together give one run
LIVE_SHOW_EVERY_S = 1.0  # a stale run stops unless no result was shown for this long
FLATTEN_CHOICES = [("none", None), ("plane", "plane"), ("poly2", "poly2"), ("gaussian", "gaussian")]


def _estimate_snapshot(snapshot: tuple) -> float:
    return estimate(_layers.prepare_snapshot(snapshot))


class DetectWidget(DockBody):
    """Find atom columns (or particles) in an image layer and add them as a Points layer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._session = get_session(viewer)
        self._worker = None
        self._memo = DetectionMemo()  # the steps of earlier runs, by contents: never stale
        self._asked = 0  # counts Detect presses and parameter changes: a run's is its number
        self._shown_run = 0  # the number of the run whose result is on screen
        self._shown_at = 0.0  # when a result was last shown (or a tuning burst began)
        self._preview = TuningPreview(self)
        self.image = layer_picker(Image, "image")
        self.mode = ComboBox(choices=["atoms", "particles"], value="atoms", label="find")
        self.spacing = FloatSpinBox(
            value=0.0,
            min=0.0,
            max=1000.0,
            step=0.5,
            label="spacing (px)",
            tooltip="Nearest-neighbour distance; 0 = estimate it.",
        )
        self.estimate_button = PushButton(text="Estimate spacing")
        self.sigma = FloatSpinBox(
            value=0.0,
            min=0.0,
            max=100.0,
            step=0.1,
            label="smoothing σ",
            tooltip="Gaussian smoothing in px; 0 = auto (from spacing).",
        )
        self.refine = ComboBox(
            choices=[("centre of mass", "com"), ("gaussian fit", "gaussian"), ("none", None)],
            value="com",
            label="refine",
        )
        self.keep_non_crystal = CheckBox(
            value=False,
            text="keep peaks outside the crystal",
            tooltip="By default peaks are left out where the image shows no lattice (vacuum, "
            "amorphous support, a contamination rim), when it has such parts.",
        )
        self.method = method_box()
        self.min_size = min_size_box()
        self.sensitivity = sensitivity_box()
        self.polarity = ComboBox(
            choices=["auto", "bright", "dark"],
            value="auto",
            label="polarity",
            tooltip="Atoms or particles brighter or darker than the "
            "background; auto decides from the image.",
        )
        self.invert = CheckBox(value=False, text="invert contrast")
        self.flatten = ComboBox(choices=FLATTEN_CHOICES, value=None, label="flatten")
        self.live = CheckBox(
            value=True,
            text="update while tuning",
            tooltip="Re-detect whenever a parameter changes (after a first Detect).",
        )
        self.run_button = PushButton(text="Detect")
        self.status = StatusLine()
        self.lay_out(
            [
                [
                    self.image,
                    self.mode,
                    self.spacing,
                    self.estimate_button,
                    self.method,
                    self.min_size,
                    self.sensitivity,
                    self.polarity,
                ],
                Section(
                    "advanced",
                    [self.sigma, self.refine, self.keep_non_crystal, self.invert, self.flatten],
                    folded=True,
                ),
                [self.live, self.run_button],
                self.status,
            ]
        )
        for box in (self.spacing, self.sigma):
            box.native.setSpecialValueText(AUTO_TEXT)  # shown at 0
        self.mode.changed.connect(self._on_mode)
        self.image.changed.connect(lambda *_: self._show_auto_values({}, {}))
        self.estimate_button.clicked.connect(self.estimate_in_background)
        self.run_button.clicked.connect(self.detect)
        self._pending = False  # a change arrived while a detection ran
        self._shown_for = None  # the image layer whose result is on screen
        from qtpy.QtCore import QTimer

        self._live_timer = QTimer(self.native)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_DELAY_MS)
        self._live_timer.timeout.connect(self._live_detect)
        for widget in (
            self.spacing,
            self.sigma,
            self.refine,
            self.keep_non_crystal,
            self.method,
            self.min_size,
            self.sensitivity,
            self.polarity,
            self.invert,
            self.flatten,
            self.mode,
        ):
            widget.changed.connect(self._on_parameter_changed)
        pick_active(viewer, self.image, Image)

    def _on_mode(self, mode: str) -> None:
        atoms = mode == "atoms"
        for widget in (
            self.spacing,
            self.estimate_button,
            self.sigma,
            self.refine,
            self.keep_non_crystal,
        ):
            widget.visible = atoms
        self.method.visible = self.min_size.visible = self.sensitivity.visible = not atoms

    def _prepared(self) -> np.ndarray:
        return _layers.prepared_image(
            self.image.value, invert=self.invert.value, flatten=self.flatten.value
        )

    def _snapshot(self) -> tuple:
        return _layers.image_snapshot(
            self.image.value, invert=self.invert.value, flatten=self.flatten.value
        )

    def estimate_spacing(self) -> float | None:
        """Estimate the lattice spacing of the chosen image and show it (in this thread)."""
        layer = self.image.value
        try:
            spacing = estimate(self._prepared())
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self._show_spacing(spacing, layer)
        return spacing

    def estimate_in_background(self) -> Any:
        """As :meth:`estimate_spacing`, computing in a worker thread; returns the worker."""
        layer = self.image.value
        try:
            snapshot = self._snapshot()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        return background(
            self,
            _estimate_snapshot,
            (snapshot,),
            what="estimating spacing",
            show=lambda spacing: self._show_spacing(spacing, layer),
            status=self.status,
            buttons=(self.estimate_button,),
        )

    def _show_spacing(self, spacing: float, layer: Any) -> float:
        self._session.update(spacing=spacing, spacing_image=layer.name)
        self.status.ok(
            f"estimated spacing: {spacing:.1f} px (the image's periodicity; Detect may "
            "still find a weaker sub-lattice between these atoms)"
        )
        return spacing

    @property
    def busy(self) -> bool:
        """True while a detection runs (or a tuning change waits for its turn)."""
        return (
            self._worker is not None
            or self._preview.running
            or self._live_timer.isActive()
            or is_busy(self, "estimating spacing")
        )

    def _on_parameter_changed(self, *_: Any) -> None:
        if self.live.value and self._shown_for is not None and self._shown_for is self.image.value:
            self._asked += 1  # a running detection is now stale: the timer runs the latest
            if self._worker is None and not self._live_timer.isActive():
                self._shown_at = time.monotonic()  # a tuning burst begins
            self._live_timer.start()

    def _superseded(self, run: int) -> bool:
        """Whether run ``run`` should stop (any thread): the settings changed since it began,
        and a result was shown less than ``LIVE_SHOW_EVERY_S`` ago."""
        return self._asked != run and time.monotonic() - self._shown_at < LIVE_SHOW_EVERY_S

    def _stale(self, run: int) -> Any:
        return lambda: self._superseded(run)

    def _note_shown(self) -> None:
        self._shown_at = time.monotonic()

    def _live_detect(self) -> None:
        layer, params, preparation = self.image.value, self._params(), self._preparation()
        if self._preview.applies(layer, params, preparation):
            from napari_ivae.core.io.imageio import is_lazy

            try:
                snapshot = self._snapshot()
            except Exception:  # noqa: BLE001 - the exact run reports it
                snapshot = None
            if snapshot is not None and not is_lazy(snapshot[0]):  # read by chunks: no preview
                self._preview.start(snapshot, layer, params, self._asked, self._exact_when_free)
                return
        self._exact_when_free()

    def _exact_when_free(self) -> None:
        if self._worker is not None:
            self._pending = True
            return
        self.detect()

    def _params(self) -> dict:
        return dict(
            mode=self.mode.value,
            spacing=self.spacing.value or None,
            sigma=self.sigma.value or None,
            refine=self.refine.value,
            method=self.method.value,
            min_size=int(self.min_size.value) or None,
            sensitivity=float(self.sensitivity.value),
            polarity=self.polarity.value,
            crystal_only=not self.keep_non_crystal.value,
        )

    def _preparation(self) -> dict:
        return {"invert": bool(self.invert.value), "flatten": self.flatten.value}

    def detect(self) -> None:
        """Run the detection in a worker thread; the result arrives as a Points layer."""
        if self._worker is not None:
            self._pending = True  # run again with the latest values when this one ends
            return
        layer = self.image.value
        try:
            snapshot = self._snapshot()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return
        params, preparation = self._params(), self._preparation()
        self._asked += 1
        run = self._asked
        self._worker = background(
            self,
            _detect_snapshot,
            (snapshot, params, self._memo, self._stale(run)),
            what=f"detecting {params['mode']}",
            show=lambda det: self._show(det, layer, params, preparation, run, snapshot),
            on_error=lambda err: self._mark_stale(layer, params),
            on_finished=self._idle,
            status=self.status,
            buttons=(self.run_button,),
        )
        self.status.ok(self._preview.shown or f"detecting {params['mode']} in {layer.name!r}...")

    def _idle(self) -> None:
        self._worker = None
        self.run_button.enabled = True
        if self._pending:
            self._pending = False
            self.detect()

    def _failed(self, err: BaseException, layer: Any, params: dict, warn: bool = False) -> None:
        """Say what went wrong; the previous run's layers of this image no longer look current."""
        report(self.status, err, warn=warn)
        self._mark_stale(layer, params)

    def _mark_stale(self, layer: Any, params: dict) -> None:
        self._preview.remember(layer, params, {}, None)  # nothing current to preview from
        _layers.mark_stale(self._viewer, layer.name, f"detections_{params['mode']}")
        if params["mode"] == "particles":
            _layers.mark_stale(self._viewer, layer.name, "particle_labels")

    def _show(
        self,
        det: Any,
        layer: Any,
        params: dict,
        preparation: dict | None = None,
        run: int | None = None,
        snapshot: tuple | None = None,
    ) -> None:
        if det is SUPERSEDED or (run is not None and run < self._shown_run):
            return  # stale: a later run follows (or its points are on screen already)
        if run is not None:
            self._shown_run = run
        self._shown_at = time.monotonic()
        mode = params["mode"]
        n = len(det.coords)
        spacing = det.params.get("spacing") if isinstance(det.params, dict) else None
        if spacing:
            self._session.update(spacing=float(spacing), spacing_image=layer.name)
        self._preview.remember(layer, params, preparation or {}, det if n else None)
        if n == 0:
            text = empty_message(det, params, preparation or {})
            self._failed(InputError(text), layer, params, warn=True)  # shown as it is
            return
        hidden = write_detections(self._viewer, det, layer, params, preparation or {})
        self._shown_for = layer
        used = det.params if isinstance(det.params, dict) else {}
        self._show_auto_values(used, params)
        physical = physical_note(layer, used, mode)
        text, warn = result_message(det, params, preparation or {}, hidden, physical)
        if warn:
            self.status.warn(text)
        else:
            self.status.ok(text)
        if snapshot is not None and self.live.value:  # the next preview's frame, meanwhile
            self._preview.prepare(snapshot)

    def _show_auto_values(self, used: dict, asked: dict) -> None:
        """A spin box left at auto says the value the detection chose, "auto (11.0)", until
        the image changes (then "auto" again)."""
        for box, key in ((self.spacing, "spacing"), (self.sigma, "sigma")):
            chosen = used.get(key) if asked.get("mode") == "atoms" and not asked.get(key) else None
            text = f"{AUTO_TEXT} ({float(chosen):.1f})" if chosen else AUTO_TEXT
            box.native.setSpecialValueText(text)
