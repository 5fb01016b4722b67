"""The Detect dock's preview while the spacing or smoothing is dragged.

An exact re-detection of a 1024² frame takes a few tenths of a second of CPU, more beside the
viewer's drawing. When only the spacing or the smoothing changed since the atoms on screen
were found, the dock first draws a preview
(:func:`~napari_ivae.core.detection.tuning_preview.preview_atoms`: the peaks at the new values,
judged with that detection's polarity, contrast cut and region; a few hundredths of a second),
says so in its status line, then runs the exact detection, whose points replace the preview's.
A preview never replaces a later run's points (preview or exact), and one asked while another
computes waits for it and then runs with the latest values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae._widgets.detect_layers import write_preview
from napari_ivae._widgets.detect_run import SUPERSEDED, _preview_snapshot
from napari_ivae._workers import background

WHAT = "previewing atoms"
PREVIEWED = ("spacing", "sigma")  # the parameters a preview follows; any other: exact only


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
        """Keep an exact atoms result on screen as the basis of the next previews (``None``
        for ``det``: nothing to preview from)."""
        from napari_ivae.core.detection.tuning_preview import can_preview

        self.shown = ""
        usable = det is not None and params["mode"] == "atoms" and can_preview(det.params)
        if self._basis is None or self._basis[0] is not layer or len(self._detected) > 64:
            self._detected.clear()
        self._detected.add(_settings(params, preparation))
        self._basis = (layer, dict(params), dict(preparation), det) if usable else None

    def applies(self, layer: Any, params: dict, preparation: dict) -> bool:
        """Whether ``params`` differ from the basis's only in the spacing or smoothing, with
        a spacing given, on the same image layer, and were not detected on it before (the
        dock's memo holds that result: it comes at once)."""
        if self._basis is None or params["mode"] != "atoms" or not params["spacing"]:
            return False
        if _settings(params, preparation) in self._detected:
            return False
        basis_layer, asked, prepared, _ = self._basis
        same = all(params[k] == asked.get(k) for k in params if k not in PREVIEWED)
        return basis_layer is layer and prepared == preparation and same

    def start(self, snapshot: tuple, layer: Any, params: dict, run: int, then: Any) -> None:
        """Compute the preview of ``params`` (number ``run``) in a worker and draw it, then
        call ``then()``. Asked while one computes, it runs after it (the latest ask only)."""
        if self._worker is not None:
            self._waiting = (snapshot, layer, params, run, then)
            return
        _, _, _, det = self._basis
        widget = self._widget
        # the frame an earlier preview prepared alike from the same array: no hashing
        how = (snapshot[1], params["polarity"])
        held = self._frame
        frame = held[2] if held and held[0] is snapshot[0] and held[1] == how else None
        self._worker = background(
            widget,
            _preview_snapshot,
            (
                snapshot,
                params,
                det.params,
                det.coords[:, -2:],
                widget._memo,
                widget._stale(run),
                frame,
            ),
            what=WHAT,
            show=lambda found: self._found(found, (snapshot[0], how), layer, params, run),
            on_finished=lambda: self._ended(then),
            activity=False,  # a few hundredths of a second: the status line says it
        )

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
        self._frame = (*source, frame)
        self._draw(coords, layer, params, run)

    def _draw(self, coords: Any, layer: Any, params: dict, run: int) -> None:
        widget = self._widget
        if run <= widget._shown_run:
            return  # a later run's points (preview or exact) are on screen, or follow
        widget._shown_run = run
        widget._note_shown()
        write_preview(widget._viewer, coords, layer, params)
        count, spacing = len(np.reshape(coords, (-1, 2))), float(params["spacing"])
        self.shown = (
            f"preview: {count} peaks at spacing {spacing:.2f} px (the detection follows)..."
        )
        widget.status.ok(self.shown)


def _settings(params: dict, preparation: dict) -> tuple:
    return tuple(sorted(params.items())) + tuple(sorted(preparation.items()))


__all__ = ["PREVIEWED", "TuningPreview"]
