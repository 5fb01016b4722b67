"""The :class:`Detections` result shared by atom and particle detection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

COORD_COLUMNS = ("frame", "row", "col")


@dataclass
class Detections:
    """Points found in an image or stack.

    Attributes
    ----------
    coords : numpy.ndarray
        ``(N, 3)`` float64 ``(frame, row, col)``; ``frame = 0`` for 2D images.
    properties : pandas.DataFrame
        One row per point: ``frame, row, col`` then measured columns.
    labels : numpy.ndarray or None
        Particles only: labels image, same shape as the (prepared) input.
    params : dict
        Parameters actually used, with automatic values resolved (incl. ``spacing``).
    message : str
        ``""`` or a human explanation, e.g. why nothing was found.
    quality : dict
        The self-check (:func:`napari_ivae.core.detection.quality.assess`): ``measures`` and
        ``warnings`` (one-line sentences naming the parameter to try).
    """

    coords: np.ndarray
    properties: pd.DataFrame
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


def make_detections(table: pd.DataFrame, *, labels=None, params=None, message="") -> Detections:
    """Build :class:`Detections` from a table whose first columns are ``frame, row, col``."""
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
    table = pd.DataFrame({name: np.zeros(0) for name in names})
    return make_detections(table, labels=labels, params=params, message=message)


_STACK_COUNT = re.compile(r"^\d+ (atoms|particles) in \d+ frames( \(spacing [\d.]+ px\))?(; |$)")


def stack_notes(message: str) -> str:
    """A detection's message less the count a stack's message leads with ("408 atoms in 3
    frames (spacing 7.98 px)"), for a front end that states the count and the spacing itself
    (the Detect dock, ``napari-ivae detect``); the notes that follow are kept, as a sentence."""
    rest = _STACK_COUNT.sub("", message or "", count=1)
    return rest[:1].upper() + rest[1:]
