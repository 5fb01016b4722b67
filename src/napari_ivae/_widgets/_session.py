"""State shared by the widgets of one viewer: patches, labels, the trained model, results.

:class:`Session` is a psygnal evented dataclass: every field has its own signal under
``session.events`` (``session.events.bundle.connect(...)``), emitted with ``(new, old)`` when the
field is assigned a different value, so a widget connects to exactly the fields it shows.
"""

from __future__ import annotations

import operator
import weakref
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from psygnal import evented

if TYPE_CHECKING:
    import numpy as np
    from napari.layers import Image, Points

    from napari_ivae.core.models.inference import Encoding
    from napari_ivae.core.models.persistence import ModelBundle
    from napari_ivae.core.models.training import TrainResult
    from napari_ivae.core.patches.cutting import PatchSet


#: The labeled classes' colours (the class table's palette: see ``class_table.PALETTE``).
CLASS_COLOURS = (
    "#8000ff",
    "#40ff80",
    "#c00040",
    "#00ffff",
    "#808020",
    "#c0c0ff",
    "#606060",
    "#ffe0e0",
)


@dataclass
class ClassTable:
    """Annotation classes: names and colours, index = class id."""

    names: list[str] = field(default_factory=lambda: ["class 1", "class 2"])
    colours: list[str] = field(default_factory=lambda: list(CLASS_COLOURS[:2]))


# A new object is a change even when it compares equal (a re-extracted patch set, a new label
# array): identity for everything but the plain numbers.
_EQUALITY = dict.fromkeys(
    (
        "image_layer",
        "points_layer",
        "patchset",
        "patch_params",
        "labels",
        "classes",
        "bundle",
        "train_result",
        "encoding",
        "columns",
        "result_notes",
    ),
    operator.is_,
)


@evented(equality_operators=_EQUALITY, connect_child_events=False)
@dataclass(eq=False)
class Session:
    """What one viewer's widgets share (one per viewer: :func:`get_session`).

    Attributes
    ----------
    spacing : float or None
        Last lattice spacing estimated / used by Detect (pixels).
    spacing_image : str or None
        Name of the image layer ``spacing`` was measured on (grid patches of another image
        do not take it).
    image_layer : napari Image layer or None
        Layer the patches come from.
    points_layer : napari Points layer or None
        Layer whose points were cut into patches (results go into its features).
    patchset : PatchSet or None
    patch_params : dict
        The Patches settings that cut ``patchset`` (they travel with a trained model).
    labels : (N,) int64 array or None
        Class per patch from the annotation Shapes, ``-1`` unlabeled.
    classes : ClassTable
    bundle : ModelBundle or None
        The current trained or loaded model (``.model``, ``.config``, ``.metadata``).
    train_result : TrainResult or None
        The training run that made ``bundle`` (None for a loaded model).
    encoding : Encoding or None
        The last results written, and ``columns`` their per-patch feature columns.
    columns : dict of str to (N,) array
    result_notes : list of str
        Warnings about those results (a latent map within its posterior noise).
    training : bool
        A model is being trained on the current patches (they must not change meanwhile).
    """

    spacing: float | None = None
    spacing_image: str | None = None
    image_layer: Image | None = None
    points_layer: Points | None = None
    patchset: PatchSet | None = None
    patch_params: dict[str, Any] = field(default_factory=dict)
    labels: np.ndarray | None = None
    classes: ClassTable = field(default_factory=ClassTable)
    bundle: ModelBundle | None = None
    train_result: TrainResult | None = None
    encoding: Encoding | None = None
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    result_notes: list[str] = field(default_factory=list)
    training: bool = False

    def update(self, **values: Any) -> None:
        """Assign several fields, then emit the signals of those that changed.

        The listeners of one field see the others already assigned (the patch set with its
        layers, the model with its training run, the encoding with its columns and notes).
        """
        names = {f.name for f in fields(self)}
        unknown = set(values) - names
        if unknown:
            raise AttributeError(f"Session has no field(s) {sorted(unknown)}")
        before = {name: getattr(self, name) for name in values}
        with self.events.blocked():
            for name, value in values.items():
                setattr(self, name, value)
        for name, value in values.items():
            if not _EQUALITY.get(name, operator.eq)(value, before[name]):
                getattr(self.events, name).emit(value, before[name])


_SESSIONS: dict[int, Session] = {}


def get_session(viewer: Any) -> Session:
    """The session of ``viewer`` (created on first use, dropped with the viewer)."""
    viewer = getattr(viewer, "__wrapped__", viewer)  # napari hands plugins a proxy
    key = id(viewer)
    if key not in _SESSIONS:
        session = _SESSIONS[key] = Session()
        weakref.finalize(viewer, _SESSIONS.pop, key, None)
        layers = getattr(viewer, "layers", None)
        if layers is not None and hasattr(getattr(layers, "events", None), "renamed"):
            from napari_ivae._layers import follow_renames

            def renamed(old: str, new: str) -> None:
                if session.spacing_image == old:
                    session.update(spacing_image=new)

            follow_renames(viewer, renamed)
    return _SESSIONS[key]
