"""Point tables as plain column arrays: ``{name: (N,) numpy array}``, every column as long.

The detectors build their tables this way and pass them between their stages, so that
``napari-ivae detect`` needs no pandas (importing it is a quarter of a second, a fifth of a
whole command on a real image). :class:`~napari_ivae.core.detection.detections.Detections`
turns the columns into a :class:`pandas.DataFrame` when its ``properties`` are first read.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def row_count(table: Mapping) -> int:
    """The number of rows of a column table (0 without columns)."""
    for values in table.values():
        return len(values)
    return 0


def taken(table: Mapping, rows) -> dict:
    """The rows ``rows`` (a boolean mask or integer indices) of every column, in order."""
    return {name: np.asarray(values)[rows] for name, values in table.items()}


def joined(tables: list) -> dict:
    """Column tables one after the other (as ``pandas.concat(tables, ignore_index=True)``
    joins tables with the same columns): the first table's columns, each the concatenation
    of the tables' arrays (numpy's type promotion, as pandas' for numeric columns)."""
    if not tables:
        return {}
    names = list(tables[0])
    if any(list(table) != names for table in tables[1:]):
        raise ValueError("joined() needs tables with the same columns in the same order")
    return {name: np.concatenate([np.asarray(t[name]) for t in tables]) for name in names}


def points_of(table: Mapping) -> np.ndarray:
    """``(N, 2)`` float64 ``row, col`` of a column table."""
    return np.column_stack(
        [np.asarray(table["row"], dtype=np.float64), np.asarray(table["col"], dtype=np.float64)]
    ).reshape(-1, 2)


def as_frame(table: Mapping):
    """A :class:`pandas.DataFrame` of a column table (imports pandas)."""
    import pandas as pd

    return pd.DataFrame(dict(table))


__all__ = ["as_frame", "joined", "points_of", "row_count", "taken"]
