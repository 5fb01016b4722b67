"""State shared by the widgets of one viewer: patches, labels, the trained model."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal


@dataclass
class ClassTable:
    """Annotation classes: names and colours, index = class id."""

    names: list[str] = field(default_factory=lambda: ["class 1", "class 2"])
    colours: list[str] = field(default_factory=lambda: ["#4c9be8", "#e8a33d"])


class Session:
    """What one viewer's widgets share.

    Attributes
    ----------
    spacing : float or None
        Last lattice spacing estimated / used by Detect (pixels).
    points_layer : napari Points layer or None
        Layer whose points were cut into patches (results go into its features).
    image_layer : napari Image layer or None
        Layer the patches come from.
    patchset : PatchSet or None
    labels : (N,) int64 or None
        Class per patch from the annotation Shapes, ``-1`` unlabeled.
    classes : ClassTable
    bundle : ModelBundle or None
        The current trained or loaded model (``.model``, ``.config``, ``.metadata``).
    encoding, columns :
        The last results written (``core.inference.Encoding`` and its feature columns).
    result_notes : list of str
        Warnings about those results (a latent map within its posterior noise).
    training : bool
        A model is being trained on the current patches (they must not change meanwhile).
    """

    changed = Signal(str)  # "spacing" | "patches" | "labels" | "model" | "results" | "training"

    def __init__(self) -> None:
        self.spacing: float | None = None
        self.points_layer: Any = None
        self.image_layer: Any = None
        self.patchset: Any = None
        self.patch_params: dict = {}
        self.labels: Any = None
        self.classes = ClassTable()
        self.bundle: Any = None
        self.train_result: Any = None
        self.encoding: Any = None  # last Encoding written as results
        self.columns: dict = {}  # its per-patch feature columns (z1, angle, class...)
        self.result_notes: list[str] = []  # its maps that show posterior noise
        self.training = False

    def set(self, what: str, **values: Any) -> None:
        """Set attributes and emit ``changed(what)``."""
        for key, value in values.items():
            setattr(self, key, value)
        self.changed.emit(what)


_SESSIONS: dict[int, Session] = {}


def get_session(viewer: Any) -> Session:
    """The session of ``viewer`` (created on first use, dropped with the viewer)."""
    viewer = getattr(viewer, "__wrapped__", viewer)  # napari hands plugins a proxy
    key = id(viewer)
    if key not in _SESSIONS:
        _SESSIONS[key] = Session()
        weakref.finalize(viewer, _SESSIONS.pop, key, None)
    return _SESSIONS[key]
