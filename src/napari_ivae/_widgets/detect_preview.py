"""The Detect dock's preview while the spacing or smoothing (atoms), or the threshold method or
polarity (particles), is changed.

An exact re-detection of a 1024² frame takes a few tenths of a second of CPU (particles: up to
2 s), more beside the viewer's drawing. When only the spacing or the smoothing changed since
the atoms on screen were found, the dock first draws a preview
(:func:`~napari_ivae.core.detection.tuning_preview.preview_atoms`: the peaks at the new values,
judged with that detection's polarity, contrast cut and region; a few hundredths of a second);
when only the threshold method (to Otsu, Li or local), the polarity or the size floor changed
since the particles on screen were found, the objects above the new threshold
(:func:`~napari_ivae.core.detection.particle_preview.preview_particles`; the auto method: the
size floor alone, the particles on screen as large as it). The dock says so in
its status line, then runs the exact detection, whose points replace the preview's. A preview
never replaces a later run's points (preview or exact), and one asked while another computes
waits for it and then runs with the latest values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae._widgets.detect_layers import write_preview
from napari_ivae._widgets.detect_run import (
    SUPERSEDED,
    _prepared_preview_frame,
    _preview_particles_snapshot,
    _preview_snapshot,
)
from napari_ivae._widgets.detect_text import point_size
from napari_ivae._workers import background

# the parameters a preview follows, by mode; any other: exact only
PREVIEWED = ("spacing", "sigma")
PREVIEWED_PARTICLES = ("method", "polarity", "min_size")


class TuningPreview:
    """Previews for one :class:`~napari_ivae._widgets.detect.DetectWidget`.

    The widget calls :meth:`remember` with each exact atoms result it shows, and
    :meth:`start` when a tuning change could be previewed; ``then()`` (the exact run) is
    called when the preview, or the last of a burst of them, has ended.
    """

    def __init__(self, widget: Any) -> None:
        self._widget = widget
        self._basis: tuple | None = None  # (image layer, asked params, preparation, det)
        self._worker = None
        self._waiting: tuple | None = None  # the latest ask while a preview computes
        self.shown = ""  # the status of the preview on screen ("" once a detection is)
        self._frame: tuple | None = None  # (array, its preparation, the frame prepared)
        self._detected: set = set()  # the settings detected exactly on the basis's image

    @property
    def running(self) -> bool:
        """True while a preview computes."""
        return self._worker is not None

    def remember(self, layer: Any, params: dict, preparation: dict, det: Any) -> None:
        """Keep an exact result on screen as the basis of the next previews (``None`` for
        ``det``: nothing to preview from)."""
        from napari_ivae.core.detection.particle_preview import can_preview_particles
        from napari_ivae.core.detection.tuning_preview import can_preview

        self.shown = ""
        usable = det is not None and (
            can_preview(det.params)
            if params["mode"] == "atoms"
            else can_preview_particles(det.params)
        )
        if self._basis is None or self._basis[0] is not layer or len(self._detected) > 64:
            self._detected.clear()
        self._detected.add(_settings(params, preparation))
        self._basis = (layer, dict(params), dict(preparation), det) if usable else None

    def applies(self, layer: Any, params: dict, preparation: dict) -> bool:
        """Whether ``params`` differ from the basis's only in what a preview follows (atoms:
        the spacing or smoothing, with a spacing given; particles: the threshold method, to
        one previewed, or the polarity), on the same image layer, and were not detected on it
        before (the dock's memo holds that result: it comes at once)."""
        from napari_ivae.core.detection.particle_preview import PREVIEWED_METHODS

        if self._basis is None or _settings(params, preparation) in self._detected:
            return False
        basis_layer, asked, prepared, _ = self._basis
        if params["mode"] == "atoms":
            previewed, possible = PREVIEWED, bool(params["spacing"])
        else:  # a threshold method; the auto method: its size floor alone
            previewed = PREVIEWED_PARTICLES
            possible = params["method"] in PREVIEWED_METHODS or (
                params["method"] == asked.get("method") == "auto"
                and params["polarity"] == asked.get("polarity")
            )
        same = all(params[k] == asked.get(k) for k in params if k not in previewed)
        return possible and basis_layer is layer and prepared == preparation and same

    def start(self, snapshot: tuple, layer: Any, params: dict, run: int, then: Any) -> None:
        """Compute the preview of ``params`` (number ``run``) in a worker and draw it, then
        call ``then()``. Asked while one computes, it runs after it (the latest ask only)."""
        if self._worker is not None:
            self._waiting = (snapshot, layer, params, run, then)
            return
        _, _, _, det = self._basis
        widget = self._widget
        how = _how(snapshot, params, det)
        frame = self._held(snapshot, how)
        if params["mode"] == "atoms":
            compute, extra = _preview_snapshot, (det.coords[:, -2:],)
        else:
            areas = det.properties["area"].to_numpy()
            compute, extra = _preview_particles_snapshot, (det.coords[:, -2:], areas)
        self._worker = background(
            widget,
            compute,
            (snapshot, params, det.params, *extra, widget._memo, widget._stale(run), frame),
            what=f"previewing {params['mode']}",
            show=lambda found: self._found(found, (snapshot[0], how), layer, params, run),
            on_finished=lambda: self._ended(then),
            activity=False,  # a few hundredths of a second: the status line says it
        )

    def prepare(self, snapshot: tuple) -> None:
        """Prepare, in a worker, the frame the next preview from the basis (just drawn) starts
        from: the first preview after a Detect then has only its own work to do. Nothing when
        the frame is held already, or a preview computes."""
        from napari_ivae.core.io.imageio import is_lazy

        if self._basis is None or self._worker is not None or is_lazy(snapshot[0]):
            return
        _, params, _, det = self._basis
        how = _how(snapshot, params, det)
        if self._held(snapshot, how) is not None:
            return
        self._worker = background(
            self._widget,
            _prepared_preview_frame,
            (snapshot, params, det.params, self._widget._memo),
            what=f"previewing {params['mode']}",
            show=lambda found: self._keep(found[0], (snapshot[0], how)),
            on_finished=lambda: self._ended(lambda: None),
            activity=False,
        )

    def _held(self, snapshot: tuple, how: tuple) -> Any:
        """The frame an earlier preview prepared alike from the same array (no hashing)."""
        held = self._frame
        return held[2] if held and held[0] is snapshot[0] and held[1] == how else None

    def _keep(self, frame: Any, source: tuple) -> None:
        self._frame = (*source, frame)

    def _ended(self, then: Any) -> None:
        self._worker = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None and self._basis is not None:
            self.start(*waiting)
        else:
            (waiting[-1] if waiting is not None else then)()

    def _found(self, found: Any, source: tuple, layer: Any, params: dict, run: int) -> None:
        if found is SUPERSEDED:
            return
        frame, coords = found
        self._keep(frame, source)
        self._draw(coords, layer, params, run)

    def _draw(self, coords: Any, layer: Any, params: dict, run: int) -> None:
        widget = self._widget
        if run <= widget._shown_run:
            return  # a later run's points (preview or exact) are on screen, or follow
        widget._shown_run = run
        widget._note_shown()
        count = len(np.reshape(coords, (-1, 2)))
        if params["mode"] == "atoms":
            spacing = float(params["spacing"])
            write_preview(widget._viewer, coords, layer, params, max(0.4 * spacing, 2.0))
            found = f"{count} peaks at spacing {spacing:.2f} px"
        else:  # the points as large as the particles on screen
            basis = self._basis[3] if self._basis is not None else None
            size = point_size(basis, "particles") if basis is not None else 5.0
            write_preview(widget._viewer, coords, layer, params, size)
            floor = f", min size {params['min_size']} px" if params.get("min_size") else ""
            found = f"{count} particles at threshold {params['method']!r}{floor}"
        self.shown = f"preview: {found} (the detection follows)..."
        widget.status.ok(self.shown)


def _how(snapshot: tuple, params: dict, det: Any) -> tuple:
    """What a preview's frame depends on besides the array: its preparation, the mode, the
    polarity (particles, auto: as the basis ``det`` resolved it)."""
    polarity = params["polarity"]
    if params["mode"] == "particles" and polarity == "auto":
        polarity = det.params["resolved"]["polarity"]
    return (snapshot[1], params["mode"], polarity)


def _settings(params: dict, preparation: dict) -> tuple:
    return tuple(sorted(params.items())) + tuple(sorted(preparation.items()))


__all__ = ["PREVIEWED", "PREVIEWED_PARTICLES", "TuningPreview"]
