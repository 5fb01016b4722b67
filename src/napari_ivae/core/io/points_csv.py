"""Point tables as CSV: a header row with ``frame,row,col`` first, then one column per measured
property. :func:`read_points_csv` also accepts ``row,col`` only (frame 0), ``y,x`` and napari's
own Points export (``index,axis-0,axis-1[,axis-2]``)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from napari_ivae.core._atomic import write_output
from napari_ivae.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

COORDINATES = ("frame", "row", "col")


def write_points_csv(path, detections) -> Path:
    """Write points as CSV: header ``frame,row,col,<properties...>``, one row per point.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file (parent folders are created).
    detections : Detections, pandas.DataFrame or array-like
        A :class:`~napari_ivae.core.detection.detections.Detections`, a table with ``frame,row,col``
        (or ``row,col``) columns, or an ``(N, 2|3)`` coordinate array.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Bad points, or the file cannot be written; it is written atomically, so an existing
        file is either replaced whole or left unchanged.
    """
    columns = _detection_columns(detections)
    text = _columns_csv(columns) if columns is not None else None
    if text is None:  # any other table, or a column csv.writer would not write as pandas
        text = _points_table(detections).to_csv(index=False)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the folder {path.parent}: {err.strerror or err}") from err
    data = text.encode("utf-8")
    return write_output(path, lambda stream: stream.write(data), "CSV file")


def read_points_csv(path) -> tuple[np.ndarray, pd.DataFrame]:
    """Read a point table written by :func:`write_points_csv` or exported by napari.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV file with a header row. Coordinates are taken from ``frame,row,col``;
        ``row,col``; ``y,x`` (plus optional ``frame``/``t``); or ``axis-0,axis-1[,axis-2]``.

    Returns
    -------
    coords : numpy.ndarray
        ``(N, 3)`` float64 ``(frame, row, col)``.
    properties : pandas.DataFrame
        ``frame,row,col`` then the remaining columns (napari's ``index`` column dropped).

    Raises
    ------
    InputError
        Missing/unreadable file, no recognised coordinate columns, non-numeric coordinates.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"Points file not found: {path}")
    try:
        raw = pd.read_csv(path)
    except Exception as err:
        raise InputError(f"Could not read points CSV '{path}': {err}") from err
    raw.columns = [str(c).strip() for c in raw.columns]
    lower = {c.lower(): c for c in raw.columns}
    frame_col, row_col, col_col = _coordinate_columns(lower, path)
    try:
        rows = pd.to_numeric(raw[row_col]).to_numpy(np.float64)
        cols = pd.to_numeric(raw[col_col]).to_numpy(np.float64)
        frames = (
            pd.to_numeric(raw[frame_col]).to_numpy(np.float64) if frame_col else np.zeros(len(raw))
        )
    except (ValueError, TypeError) as err:
        raise InputError(f"'{path}' has non-numeric coordinates: {err}") from err
    bad = ~(np.isfinite(rows) & np.isfinite(cols) & np.isfinite(frames))
    if bad.any():
        raise InputError(
            f"'{path}' has {int(bad.sum())} point(s) with an empty, NaN or infinite coordinate "
            f"(first on line {int(np.flatnonzero(bad)[0]) + 2}); remove or fix those rows"
        )
    used = {c for c in (frame_col, row_col, col_col) if c} | (
        {lower["index"]} if "index" in lower else set()
    )
    properties = pd.DataFrame({"frame": frames, "row": rows, "col": cols})
    extra = raw[[c for c in raw.columns if c not in used and c not in properties]]
    properties = pd.concat([properties, extra.reset_index(drop=True)], axis=1)
    coords = np.stack([frames, rows, cols], axis=1).reshape(-1, 3)
    return coords, properties


def _coordinate_columns(lower: dict, path) -> tuple[str | None, str, str]:
    frame = lower.get("frame") or lower.get("t")
    if "row" in lower and "col" in lower:
        return frame, lower["row"], lower["col"]
    if "y" in lower and "x" in lower:
        return frame, lower["y"], lower["x"]
    if "axis-0" in lower and "axis-1" in lower:
        if "axis-3" in lower:
            raise InputError(
                f"'{path}' has 4D points (axis-0..axis-3); only (frame, row, col) "
                "points are supported."
            )
        if "axis-2" in lower:
            return lower["axis-0"], lower["axis-1"], lower["axis-2"]
        return frame, lower["axis-0"], lower["axis-1"]
    raise InputError(
        f"'{path}' has no coordinate columns; expected a header with "
        "frame,row,col or row,col or y,x or axis-0,axis-1[,axis-2]."
    )


def _detection_columns(detections) -> dict | None:
    """A detection's table as columns, ``frame, row, col`` (from its coordinates) first, as
    :func:`_points_table` makes it; ``None`` for anything but a detection."""
    if not (hasattr(detections, "coords") and hasattr(detections, "columns")):
        return None
    coords = np.asarray(detections.coords, dtype=np.float64).reshape(-1, 3)
    columns = detections.columns()
    if any(len(values) != len(coords) for values in columns.values()):
        columns = {}
    for i, name in enumerate(COORDINATES):
        columns[name] = coords[:, i]
    frames = columns["frame"]
    if np.all(np.isfinite(frames)) and np.all(frames == np.round(frames)):
        columns["frame"] = frames.astype(np.int64)
    return {
        name: columns[name]
        for name in list(COORDINATES) + [c for c in columns if c not in COORDINATES]
    }


def _columns_csv(columns: dict) -> str | None:
    """The CSV text pandas' ``to_csv(index=False)`` writes for these columns, without pandas:
    floats as numpy's shortest repr (``astype(str)``, NaN empty), integers and booleans as
    ``str``. ``None`` when a column is of another kind (text, dates...) or a name is no str."""
    if not all(isinstance(name, str) for name in columns):
        return None
    cells = []
    for values in columns.values():
        values = np.asarray(values)
        if values.ndim != 1 or values.dtype.kind not in "fiub":
            return None
        text = values.astype(str).astype(object)
        if values.dtype.kind == "f":
            text[np.isnan(values)] = ""
        cells.append(text)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=os.linesep, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(list(columns))
    writer.writerows(zip(*cells))
    return out.getvalue()


def _points_table(detections) -> pd.DataFrame:
    import pandas as pd

    if hasattr(detections, "coords") and hasattr(detections, "properties"):
        coords = np.asarray(detections.coords, dtype=np.float64).reshape(-1, 3)
        table = detections.properties.reset_index(drop=True).copy()
        if len(table) != len(coords):
            table = pd.DataFrame(index=range(len(coords)))
        for i, name in enumerate(("frame", "row", "col")):
            table[name] = coords[:, i]
    elif isinstance(detections, pd.DataFrame):
        table = detections.reset_index(drop=True).copy()
        if "row" not in table or "col" not in table:
            raise InputError("The points table needs 'row' and 'col' columns.")
        if "frame" not in table:
            table["frame"] = 0.0
    else:
        coords = np.asarray(detections, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[1] not in (2, 3):
            raise InputError(f"Points must be an (N, 2) or (N, 3) array; got shape {coords.shape}.")
        if coords.shape[1] == 2:
            coords = np.column_stack([np.zeros(len(coords)), coords])
        table = pd.DataFrame(coords, columns=["frame", "row", "col"])
    frames = table["frame"].to_numpy(dtype=np.float64)
    if np.all(np.isfinite(frames)) and np.all(frames == np.round(frames)):
        table["frame"] = frames.astype(np.int64)  # "0" rather than "0.0" in the file
    first = ["frame", "row", "col"]
    return table[first + [c for c in table.columns if c not in first]]
