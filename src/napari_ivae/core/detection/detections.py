"""The :class:`Detections` result shared by atom and particle detection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

COORD_COLUMNS = ("frame", "row", "col")


class _PropertyTable:
    """The ``properties`` field: set to a DataFrame or to column arrays (``{name: array}``,
    as the detectors build them); read, always a DataFrame. Columns are turned into one at
    the first read only, so a caller that reads them through :meth:`Detections.column`
    (``napari-ivae detect``) never imports pandas (a quarter of a second at every start)."""

    def __set_name__(self, owner, name):
        self.slot = f"_{name}"

    def __get__(self, instance, owner=None):
        if instance is None:  # the dataclass asks for a default: there is none
            raise AttributeError(self.slot[1:])
        value = instance.__dict__[self.slot]
        if isinstance(value, dict):
            import pandas as pd

            value = pd.DataFrame(value)
            instance.__dict__[self.slot] = value
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.slot] = dict(value) if isinstance(value, Mapping) else value


@dataclass
class Detections:
    """Points found in an image or stack.

    Attributes
    ----------
    coords : numpy.ndarray
        ``(N, 3)`` float64 ``(frame, row, col)``; ``frame = 0`` for 2D images.
    properties : pandas.DataFrame
        One row per point: ``frame, row, col`` then measured columns. May be given as a dict
        of column arrays; it is read as a DataFrame (:meth:`column` reads one column
        without building it).
    labels : numpy.ndarray or None
        Particles only: labels image, same shape as the (prepared) input.
    params : dict
        Parameters actually used, with automatic values resolved (incl. ``spacing``).
    message : str
        ``""`` or a human explanation, e.g. why nothing was found.
    quality : dict
        The self-check (:func:`napari_ivae.core.detection.quality.assess`): ``measures``,
        ``warnings`` (one-line sentences naming the parameter to try) and ``notes``
        (information that says nothing about the result's reliability, as a masked scale bar).
    """

    coords: np.ndarray
    properties: pd.DataFrame = _PropertyTable()
    labels: np.ndarray | None = None
    params: dict = field(default_factory=dict)
    message: str = ""
    quality: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.coords.shape[0])

    @property
    def is_empty(self) -> bool:
        """True when no point was found."""
        return len(self) == 0

    def columns(self) -> dict[str, np.ndarray]:
        """The properties as column arrays ``{name: (N,) array}``, in order (without
        building a DataFrame when they were given as columns)."""
        stored = self.__dict__["_properties"]
        if isinstance(stored, dict):
            return {name: np.asarray(values) for name, values in stored.items()}
        return {name: stored[name].to_numpy() for name in stored.columns}

    def column(self, name: str) -> np.ndarray:
        """One property column as an array (``KeyError`` when there is none)."""
        stored = self.__dict__["_properties"]
        if isinstance(stored, dict):
            return np.asarray(stored[name])
        return stored[name].to_numpy()

    def drop_column(self, name: str) -> None:
        """Remove the property column ``name`` if there is one."""
        stored = self.__dict__["_properties"]
        if isinstance(stored, dict):
            stored.pop(name, None)
        else:
            self.properties = stored.drop(columns=name, errors="ignore")


def make_detections(table, *, labels=None, params=None, message="") -> Detections:
    """Build :class:`Detections` from a table whose first columns are ``frame, row, col``.

    ``table`` is a :class:`pandas.DataFrame` or a dict of column arrays (all as long); a
    missing coordinate column is filled with zeros, ``frame`` is made integer.
    """
    if not isinstance(table, Mapping):
        return _from_frame(table, labels=labels, params=params, message=message)
    columns = {name: np.asarray(values) for name, values in table.items()}
    count = len(next(iter(columns.values()))) if columns else 0
    for name in COORD_COLUMNS:
        if name not in columns:
            columns[name] = np.zeros(count)
    ordered = list(COORD_COLUMNS) + [c for c in columns if c not in COORD_COLUMNS]
    columns = {name: columns[name] for name in ordered}
    coords = np.column_stack(
        [np.asarray(columns[name], dtype=np.float64) for name in COORD_COLUMNS]
    ).reshape(-1, 3)
    columns["frame"] = coords[:, 0].astype(np.int64)
    return Detections(
        coords=coords, properties=columns, labels=labels, params=dict(params or {}), message=message
    )


def _from_frame(table, *, labels=None, params=None, message="") -> Detections:
    table = table.reset_index(drop=True)
    for name in COORD_COLUMNS:
        if name not in table:
            table[name] = np.zeros(len(table))
    ordered = list(COORD_COLUMNS) + [c for c in table.columns if c not in COORD_COLUMNS]
    table = table[ordered]
    coords = table[list(COORD_COLUMNS)].to_numpy(dtype=np.float64).reshape(-1, 3)
    table["frame"] = coords[:, 0].astype(np.int64)
    return Detections(
        coords=coords, properties=table, labels=labels, params=dict(params or {}), message=message
    )


def empty_detections(columns=(), *, labels=None, params=None, message="") -> Detections:
    """An empty result with the given extra property columns and an explanatory message."""
    names = list(COORD_COLUMNS) + [c for c in columns if c not in COORD_COLUMNS]
    table = {name: np.zeros(0) for name in names}
    return make_detections(table, labels=labels, params=params, message=message)


_STACK_COUNT = re.compile(r"^\d+ (atoms|particles) in \d+ frames( \(spacing [\d.]+ px\))?(; |$)")


def stack_notes(message: str) -> str:
    """A detection's message less the count a stack's message leads with ("408 atoms in 3
    frames (spacing 7.98 px)"), for a front end that states the count and the spacing itself
    (the Detect dock, ``napari-ivae detect``); the notes that follow are kept, as a sentence."""
    rest = _STACK_COUNT.sub("", message or "", count=1)
    return rest[:1].upper() + rest[1:]
