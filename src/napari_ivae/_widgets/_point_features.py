"""Result columns in a Points layer's features: their names (``ivae_`` prefix, so a user's own
columns are never overwritten), the table of one value per point, and whether the layer's
points are still the ones the patches were cut at."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from napari_ivae import _layers

#: Result columns go into a Points layer's features under this prefix (``ivae_z1``,
#: ``ivae_angle``, ``ivae_class``, ``ivae_p_<class>``, ``ivae_cluster``...): a user's own columns,
#: whatever their names, are never overwritten.
COLUMN_PREFIX = "ivae_"


def point_column(name: str) -> str:
    """The features column holding result ``name`` (``"z1"`` -> ``"ivae_z1"``)."""
    return COLUMN_PREFIX + name


def result_name_of(column: str) -> str | None:
    """The result a features column holds (``"ivae_z1"`` -> ``"z1"``), None for a user column."""
    return column[len(COLUMN_PREFIX) :] if column.startswith(COLUMN_PREFIX) else None


def point_feature_table(n_points: int, patchset: Any, columns: dict) -> pd.DataFrame:
    """The per-patch result columns as a points table of ``n_points`` rows, each under its
    :func:`point_column` name (NaN, or -1 for integers, at points without a patch); any
    thread."""
    indices = np.asarray(patchset.indices)
    valid = (indices >= 0) & (indices < n_points)
    full = {}
    for name, values in columns.items():
        values = np.asarray(values)
        integer = values.dtype.kind == "i"
        out = np.full(n_points, -1 if integer else np.nan, values.dtype if integer else np.float32)
        out[indices[valid]] = values[valid]
        full[point_column(name)] = out
    return pd.DataFrame(full, index=pd.RangeIndex(n_points))


def write_point_features(
    points_layer: Any,
    patchset: Any,
    columns: dict,
    *,
    replace_all: bool = False,
    table: pd.DataFrame | None = None,
) -> Any:
    """Put the per-patch result columns into the points layer's features, each under its
    :func:`point_column` name (NaN, or -1 for integers, at points without a patch).

    Parameters
    ----------
    points_layer : napari Points layer
        The layer the patches were cut at; its own columns are left as they are.
    patchset : PatchSet
        ``indices`` maps each patch to its point.
    columns : dict
        ``{result name: (n_patches,) array}`` as made by :func:`feature_columns`.
    replace_all : bool
        Also drop the plugin's earlier columns that are not in ``columns`` (a full re-write:
        e.g. ``ivae_p_<class>`` of a previous model's classes).
    table : DataFrame, optional
        :func:`point_feature_table` of these columns, made in a worker; made here when
        missing or when the layer's number of points has changed since.

    Returns
    -------
    The points layer.
    """
    n = len(points_layer.data)
    if table is None or len(table) != n:
        table = point_feature_table(n, patchset, columns)
    drop = ()
    if replace_all:
        drop = tuple(
            c
            for c in points_layer.features.columns
            if result_name_of(str(c)) is not None and c not in table.columns
        )
    _layers.set_features(points_layer, table, drop=drop)
    return points_layer


def points_match(points_layer: Any, patchset: Any) -> bool:
    """Whether ``points_layer`` still holds, at each patch's point index, the point the patch
    was cut at (within half a pixel). False once Detect ran again on the layer (other points,
    or the same in another order) or the points were edited: results written by index would
    then land on the wrong points. Grid patches (no point indices) always match."""
    indices = np.asarray(patchset.indices)
    at_points = indices >= 0
    if not at_points.any():
        return True
    data = np.asarray(points_layer.data, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] < 2 or indices.max() >= len(data):
        return False
    where = data[indices[at_points], -2:]
    return bool(np.allclose(where, np.asarray(patchset.centres)[at_points], atol=0.5))


def points_changed_note(points_layer: Any) -> str:
    """Why a result left a points layer's features alone (see :func:`points_match`)."""
    return (
        f"the points of {points_layer.name!r} changed since the patches were cut (Detect ran "
        "again?), so their ivae_ columns were not written: extract the patches again"
    )
