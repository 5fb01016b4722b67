"""Detect dock widget: atom columns or particles -> a Points layer (+ Labels for particles).

Every parameter starts at "auto" (chosen from the image; the status line shows the values used).
Once a result is on screen, changing a parameter re-detects in a worker ("update while
tuning"): changes made while a detection runs are coalesced into one more run with the latest
values, so the viewer never waits and the layer always ends with the settings on screen.
"""

from __future__ import annotations

import re
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
from napari_ivae._workers import background, is_busy
from napari_ivae.core.errors import InputError

AUTO_TEXT = "auto"  # a spin box at 0; after a detection, with the value it chose
LIVE_DELAY_MS = 150  # a burst of changes (dragging a spin box) gives one re-detection
FLATTEN_CHOICES = [("none", None), ("plane", "plane"), ("poly2", "poly2"), ("gaussian", "gaussian")]


def run_detection(
    image: np.ndarray,
    mode: str,
    spacing: float | None,
    sigma: float | None,
    refine: str | None,
    method: str,
    polarity: str,
    crystal_only: bool = True,
) -> Any:
    """Detect atoms or particles in a prepared ``(Y, X)`` / ``(F, Y, X)`` image (any thread)."""
    frame_axis = 0 if image.ndim == 3 else None
    if mode == "atoms":
        from napari_ivae.core.detection.atoms import detect_atoms

        invert = {"auto": None, "bright": False, "dark": True}[polarity]
        from napari_ivae.core.detection.streaming import detect_lazy, lazy_input

        if lazy_input(image, None, frame_axis):  # by frame or chunk, counted in the dock
            from napari_ivae._workers import report_progress

            return detect_lazy(
                image,
                "atoms",
                spacing=spacing,
                sigma=sigma,
                refine=refine,
                invert=invert,
                crystal_only=crystal_only,
                progress=report_progress,
            )
        return detect_atoms(
            image,
            spacing=spacing,
            sigma=sigma,
            refine=refine,
            invert=invert,
            frame_axis=frame_axis,
            crystal_only=crystal_only,
        )
    from napari_ivae.core.detection.particles import detect_particles

    return detect_particles(image, method=method, polarity=polarity, frame_axis=frame_axis)


def _detect_snapshot(snapshot: tuple, params: dict) -> Any:
    try:
        prepared: dict = {}
        image = _layers.prepare_snapshot(snapshot, report=prepared)
        if params["mode"] == "atoms":  # the command line's limits on a spacing given
            from napari_ivae.core.detection.spacing import check_given_spacing

            check_given_spacing(params["spacing"], image.shape)
        det = run_detection(image, **params)
        if params["mode"] == "particles":
            _check_particle_contrast(image, det, params["polarity"])
        filled = int(prepared.get("nan_filled") or 0)
        if filled and isinstance(det.quality, dict):  # as the command line warns
            det.quality.setdefault("warnings", []).insert(0, _filled_warning(filled))
        return det
    except InputError as err:  # the core's words, with this widget's controls
        text = widget_spelling(str(err))
        if params["mode"] == "atoms" and params["spacing"] is None and "spacing" in text:
            text += " " + PARTICLES_HINT
        raise InputError(text) from err


def _filled_warning(count: int) -> str:
    return f"{count} NaN/inf pixels (missing data) were replaced by the median of their frame"


PARTICLES_HINT = "If the image shows particles rather than atom columns, choose 'find: particles'."


def _check_particle_contrast(image: Any, det: Any, asked: str) -> None:
    """Add the command line's warning for particles that barely stand out (noise, or the
    other polarity) to the detection's self-check (not for images read by chunks)."""
    from napari_ivae.core.detection.particle_contrast import noise_warning, resolved_polarity
    from napari_ivae.core.detection.streaming import lazy_input

    if len(det.coords) == 0 or det.labels is None or not isinstance(det.quality, dict):
        return
    if lazy_input(image, None, 0 if image.ndim == 3 else None):
        return
    polarity = resolved_polarity(det, asked)
    warning = noise_warning(np.asarray(image), det.labels, polarity, len(det.coords))
    if warning:
        det.quality.setdefault("warnings", []).append(warning)


# The command line's options named in the core's messages, as this widget's controls (the
# advanced ones are under "advanced"), or, where it has none, the action to take in the viewer.
_WIDGET_SPELLINGS = [
    (
        re.compile(r"\b([Gg])ive the spacing explicitly\b(?! \()"),
        r"\1ive the spacing explicitly ('spacing (px)')",
    ),
    (re.compile(r"\bgive --spacing\b"), "set 'spacing (px)'"),
    (re.compile(r"\bleave it out to estimate it\b"), "set it to 0 (auto) to estimate it"),
    (re.compile(r"--spacing\b( PX)?"), "'spacing (px)'"),
    (re.compile(r"--sigma\b"), "'smoothing σ'"),
    (re.compile(r"\((--)?invert\)"), "('polarity' dark)"),
    (re.compile(r"--invert\b"), "'invert contrast'"),
    (re.compile(r"crystal_only=False|--keep-non-crystal\b"), "'keep peaks outside the crystal'"),
    (re.compile(r"--polarity\b"), "'polarity'"),
    (re.compile(r"--method\b"), "'threshold'"),
    # options the dock does not have: the action to take here instead
    (
        re.compile(r"the threshold too low \(--threshold\)"),
        "noise peaks taken for atoms (try more 'smoothing σ')",
    ),
    (
        re.compile(r"give --exclude to mask something else"),
        "to leave out something else, select its points and delete them",
    ),
    (re.compile(r"besides the --exclude mask"), "besides the mask given"),
    (re.compile(r"look at the labels, or set --min-size"), "look at the labels layer"),
    (re.compile(r", lower min_size, or try another method"), ", or try another 'threshold'"),
    (re.compile(r"\bmethod=[\"'](\w+)[\"']"), r"threshold '\1'"),
    (re.compile(r"\bpolarity=[\"'](\w+)[\"']"), r"polarity '\1'"),
    (re.compile(r" ?\(--[a-z][a-z-]*\)"), ""),  # a new core message's option the dock lacks
]


def widget_spelling(text: str) -> str:
    """A core detection message with the options it names spelled as this widget's controls
    (the quality warnings name the command line's options)."""
    for pattern, replacement in _WIDGET_SPELLINGS:
        text = pattern.sub(replacement, text)
    return text


def _estimate_snapshot(snapshot: tuple) -> float:
    return estimate(_layers.prepare_snapshot(snapshot))


def estimate(image: Any) -> float:
    """Lattice spacing (px) of the first frame of a prepared image
    (:func:`~napari_ivae.core.detection.spacing.frame_spacing`: a lazy image is never read
    whole)."""
    from napari_ivae.core.detection.spacing import frame_spacing

    return frame_spacing(image)


class DetectWidget(DockBody):
    """Find atom columns (or particles) in an image layer and add them as a Points layer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._session = get_session(viewer)
        self._worker = None
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
        self.method = ComboBox(
            choices=["auto", "otsu", "li", "local", "log"],
            value="auto",
            label="threshold",
            visible=False,
        )
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
        self.method.visible = not atoms

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
            or self._live_timer.isActive()
            or is_busy(self, "estimating spacing")
        )

    def _on_parameter_changed(self, *_: Any) -> None:
        if self.live.value and self._shown_for is not None and self._shown_for is self.image.value:
            self._live_timer.start()  # restarts: a burst of changes gives one run

    def _live_detect(self) -> None:
        if self._worker is not None:
            self._pending = True
            return
        self.detect()

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
        params = dict(
            mode=self.mode.value,
            spacing=self.spacing.value or None,
            sigma=self.sigma.value or None,
            refine=self.refine.value,
            method=self.method.value,
            polarity=self.polarity.value,
            crystal_only=not self.keep_non_crystal.value,
        )
        preparation = {"invert": bool(self.invert.value), "flatten": self.flatten.value}
        self._worker = background(
            self,
            _detect_snapshot,
            (snapshot, params),
            what=f"detecting {params['mode']}",
            show=lambda det: self._show(det, layer, params, preparation),
            on_error=lambda err: self._mark_stale(layer, params),
            on_finished=self._idle,
            status=self.status,
            buttons=(self.run_button,),
        )
        self.status.ok(f"detecting {params['mode']} in {layer.name!r}...")

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
        _layers.mark_stale(self._viewer, layer.name, f"detections_{params['mode']}")
        if params["mode"] == "particles":
            _layers.mark_stale(self._viewer, layer.name, "particle_labels")

    def _show(self, det: Any, layer: Any, params: dict, preparation: dict | None = None) -> None:
        mode = params["mode"]
        n = len(det.coords)
        spacing = det.params.get("spacing") if isinstance(det.params, dict) else None
        if spacing:
            self._session.update(spacing=float(spacing), spacing_image=layer.name)
        if n == 0:
            text = widget_spelling(det.message) if det.message else f"no {mode} found"
            self._failed(InputError(text), layer, params, warn=True)  # shown as it is
            return
        image_ndim = len(_layers.image_data(layer).shape) - (1 if layer.rgb else 0)
        # the other kind's detections of this image (an atoms run on particles, say) would
        # cover this result and be cut at by the Patches dock: hidden first, kept
        other = "particles" if mode == "atoms" else "atoms"
        roles = (f"detections_{other}",) + (("particle_labels",) if other == "particles" else ())
        hidden = _layers.hide_results(self._viewer, layer.name, roles)
        points = _layers.write_layer(
            self._viewer,
            "points",
            _layers.points_data(det.coords, image_ndim),
            role=f"detections_{mode}",
            source=layer,
            what=mode,
            params={
                **{k: _jsonable(v) for k, v in det.params.items()},
                "widget_settings": params,
                "image_preparation": dict(preparation or {}),
                "quality": det.quality,
            },
            features=det.properties.reset_index(drop=True),
            size=point_size(det, mode),
            face_color="#ffd400",
            border_width=0,
            opacity=0.8,
            select=True,
        )
        points.visible = True  # hidden by a run of the other kind
        if mode == "particles" and det.labels is not None:
            labels = _layers.write_layer(
                self._viewer,
                "labels",
                det.labels,
                role="particle_labels",
                source=layer,
                what="particle labels",
                params={"mode": mode},
                opacity=0.4,
            )
            labels.visible = True
        self._shown_for = layer
        used = det.params if isinstance(det.params, dict) else {}
        self._show_auto_values(used, params)
        frames = used.get("n_frames") if used.get("is_stack") else None
        where = f" in {frames} frames" if frames else ""
        chosen = _chosen(det.params, params)
        if (preparation or {}).get("invert"):  # the polarity as the layer shows it
            chosen = re.sub(
                r"\b(bright|dark) (atoms|particles)\b",
                lambda m: f"{'dark' if m.group(1) == 'bright' else 'bright'} {m.group(2)}",
                chosen,
            )
        message = f"{n} {mode} found{where}; {chosen}"
        from napari_ivae.core.detection.detections import stack_notes

        note = stack_notes(det.message)  # the count and spacing are said above
        if note:  # the core names its parameters; here they are the controls
            message = f"{message}. {widget_spelling(note)}"
        if hidden:
            message += f" ({', '.join(repr(name) for name in hidden)} hidden)"
        found = list(det.quality.get("warnings", []))
        if (preparation or {}).get("invert"):  # the spots as the layer shows them
            found = [_as_shown_inverted(w) for w in found]
        warnings = [widget_spelling(w[0].upper() + w[1:] + ".") for w in found]
        from napari_ivae.core.detection.quality import suggests_particles

        auto_atoms = mode == "atoms" and params["spacing"] is None
        if auto_atoms and suggests_particles(found):
            warnings.append(PARTICLES_HINT)
        if warnings:
            self.status.warn(f"{message}. Check: {' '.join(warnings)}")
        else:
            self.status.ok(message)


    def _show_auto_values(self, used: dict, asked: dict) -> None:
        """A spin box left at auto says the value the detection chose, "auto (11.0)", until
        the image changes (then "auto" again)."""
        for box, key in ((self.spacing, "spacing"), (self.sigma, "sigma")):
            chosen = used.get(key) if asked.get("mode") == "atoms" and not asked.get(key) else None
            text = f"{AUTO_TEXT} ({float(chosen):.1f})" if chosen else AUTO_TEXT
            box.native.setSpecialValueText(text)


def _as_shown_inverted(warning: str) -> str:
    """A self-check note on an image inverted by 'invert contrast': its bright spots are the
    layer's dark ones."""
    swap = {"bright spots": "dark spots", "dark spots": "bright spots"}
    return re.sub(r"\b(bright|dark) spots\b", lambda m: swap[m.group(0)], warning)


def point_size(det: Any, mode: str) -> float:
    """Size of the detections' points: 0.4 spacings for atoms, half the median diameter for
    particles (5 px without either), at least 2 px."""
    spacing = det.params.get("spacing") if isinstance(det.params, dict) else None
    size = 0.4 * float(spacing) if spacing else 5.0
    if mode == "particles" and "equivalent_diameter" in det.properties and len(det.properties):
        size = float(np.median(det.properties["equivalent_diameter"])) * 0.5
    return max(size, 2.0)


def _chosen(used: dict, asked: dict) -> str:
    """The values detection used, those it chose itself marked "auto"."""
    if asked["mode"] == "atoms":
        spacing = used.get("spacing")
        parts = [f"spacing {spacing:.2f} px" + (" (auto)" if asked.get("spacing") is None else "")]
        if used.get("lattice_spacing") and abs(used["lattice_spacing"] - spacing) > 0.05 * spacing:
            parts[0] += f", lattice {used['lattice_spacing']:.2f} px"
        parts.append(
            f"smoothing {used.get('sigma', 0.0):.2f} px"
            + (" (auto)" if asked.get("sigma") is None else "")
        )
        if used.get("polarity"):
            parts.append(f"{used['polarity'].replace(' (auto)', '')} atoms (auto)")
        return ", ".join(parts)
    resolved = used.get("resolved")
    first = resolved[0] if isinstance(resolved, list) and resolved else resolved
    first = first if isinstance(first, dict) else {}
    parts = [
        f"{first.get('polarity', asked.get('polarity'))} particles"
        + (" (auto)" if asked.get("polarity") == "auto" else "")
    ]
    if "scale_sigma" in first:
        parts.append(f"blob scale {first['scale_sigma']:.1f} px (auto)")
    return ", ".join(parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
