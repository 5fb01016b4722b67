"""Read images (``.npy``, ``.tif``/``.tiff``, pictures, ``.zarr``/OME-Zarr) and read/write
point tables as CSV.

A ``.zarr`` folder (a plain zarr array, a group holding one, or an OME-Zarr image) is always
opened lazily, as a dask array in the zarr's own chunks: nothing is read until a part of it is
used.

Point CSV files have a header row with ``frame,row,col`` first, then one column per measured
property. :func:`read_points_csv` also accepts ``row,col`` only (frame 0), ``y,x`` and napari's
own Points export (``index,axis-0,axis-1[,axis-2]``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from napari_ivae.core._atomic import write_output
from napari_ivae.core.errors import InputError

IMAGE_SUFFIXES = (".npy", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".zarr")
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")  # 8/16-bit pictures, grey or colour


def read_image(path, *, mmap: bool = False) -> np.ndarray | TiffStack:
    """Read an image or stack from ``.npy``, ``.tif``/``.tiff``, a picture
    (``.png``, ``.jpg``/``.jpeg``, ``.bmp``: grey or colour; colour becomes luminance in
    :func:`napari_ivae.core.io.image.prepare_image`) or a ``.zarr`` folder (opened lazily, see
    :func:`open_zarr`).

    Parameters
    ----------
    path : str or pathlib.Path
        File to read.
    mmap : bool
        Map the file into memory instead of reading it (``.npy``, and TIFF files stored
        uncompressed and contiguous); a multi-page TIFF that cannot be mapped (compressed, or
        its pages scattered in the file) is opened as a :class:`TiffStack`, which decodes a
        page when it is indexed; other files are read. Frames are then read from disk when
        used, for stacks larger than memory (:func:`napari_ivae.core.detection.streaming.detect_stream`,
        :class:`napari_ivae.core.patches.source.PatchSource`).

    Returns
    -------
    numpy.ndarray, TiffStack or dask.array.Array
        The array as stored (no conversion; see :func:`napari_ivae.core.io.image.prepare_image`).

    Raises
    ------
    InputError
        Missing file, unsupported extension, or a file that cannot be decoded.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(
            f"Cannot read '{path.name}': unsupported extension '{path.suffix}'. "
            f"Use one of {', '.join(IMAGE_SUFFIXES)} (convert other formats first)."
        )
    if suffix == ".zarr":
        return open_zarr(path)
    if not path.is_file():
        raise InputError(f"Image file not found: {path}")
    _check_signature(path, suffix)
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
        elif suffix in PICTURE_SUFFIXES:
            import imageio.v3 as iio

            array = np.asarray(iio.imread(path))
        else:
            import tifffile

            array = _tiff_memmap(path) if mmap else None
            if array is None and mmap:
                array = TiffStack.open(path)
            if array is None:
                array = tifffile.imread(path)
    except Exception as err:  # corrupt or foreign content: report, don't crash
        detail = (
            str(err)
            if isinstance(err, (OSError, ValueError))
            else f"the file is damaged ({type(err).__name__} in the reader: {err})"
        )
        raise InputError(f"Could not read image '{path}': {detail}") from err
    if not isinstance(array, (np.ndarray, TiffStack)):
        raise InputError(f"'{path}' does not hold a single array.")
    return array


# the first bytes of each format: a file without them is damaged or misnamed
_SIGNATURES = {
    ".npy": ("a numpy .npy", (b"\x93NUMPY",)),
    ".tif": ("a TIFF", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    ".png": ("a PNG", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("a JPEG", (b"\xff\xd8\xff",)),
    ".bmp": ("a BMP", (b"BM",)),
}


def _check_signature(path: Path, suffix: str) -> None:
    """Refuse an empty file, or one whose first bytes are not its extension's format, in one
    line (instead of the reader's own message: numpy's advice to load a text file with
    ``allow_pickle``, imageio's to install a plugin)."""
    suffix = {".tiff": ".tif", ".jpeg": ".jpg"}.get(suffix, suffix)
    kind, heads = _SIGNATURES.get(suffix, ("", ()))
    if suffix in PICTURE_SUFFIXES:  # the picture reader goes by the content: any picture
        kind = "a picture (PNG, JPEG, BMP or TIFF)"
        heads = tuple(h for key in (".png", ".jpg", ".bmp", ".tif") for h in _SIGNATURES[key][1])
    if not heads:
        return
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError as err:
        raise InputError(f"Could not read image '{path}': {err.strerror or err}") from err
    if not head:
        raise InputError(f"Could not read image '{path}': the file is empty (0 bytes)")
    if not head.startswith(heads):
        raise InputError(
            f"Could not read image '{path}': it is not {kind} file (it does not start as "
            "one); the file is damaged or its extension is wrong"
        )


def open_zarr(path):
    """Open a ``.zarr`` folder lazily as a dask array.

    Parameters
    ----------
    path : str or pathlib.Path
        A zarr array; a group holding exactly one array; or an OME-Zarr image (its
        ``multiscales`` metadata names the levels; the first, full-resolution one is used).
        Leading axes of length 1 (OME-Zarr's ``t, c, z`` of a single plane) are dropped.

    Returns
    -------
    dask.array.Array
        Chunked as the zarr is; read when computed or indexed.

    Raises
    ------
    InputError
        Missing folder, not a zarr, or a group with no (or several) arrays and no multiscales.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"Image folder not found: {path}")
    try:
        import dask.array as da
        import zarr

        node = zarr.open(str(path), mode="r")
        if not isinstance(node, zarr.Array):
            node = node[_zarr_level(node, path)]
        array = da.from_zarr(node)
    except InputError:
        raise
    except Exception as err:  # not a zarr, or unreadable metadata: report, don't crash
        raise InputError(f"Could not open '{path}' as zarr: {err}") from err
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]
    return array


def _zarr_level(group, path) -> str:
    """The full-resolution array of an OME-Zarr group, or a plain group's only array."""
    attributes = dict(group.attrs)
    multiscales = attributes.get("multiscales") or attributes.get("ome", {}).get("multiscales")
    if multiscales:
        return str(multiscales[0]["datasets"][0]["path"])
    names = [name for name, _ in group.arrays()]
    if len(names) != 1:
        raise InputError(
            f"'{path}' is a zarr group with {len(names)} arrays and no OME-Zarr "
            "multiscales metadata: open the array's own folder "
            f"({', '.join(sorted(names)[:5]) or 'none'})"
        )
    return names[0]


def is_lazy(image) -> bool:
    """Whether ``image`` is a chunked array read when indexed (dask, zarr) rather than held in
    memory: ``numpy.asarray`` on it would read all of it, so it is worked on part by part."""
    return type(image).__module__.split(".")[0] in ("dask", "zarr")


def _tiff_memmap(path):
    """A read-only memory map of a TIFF's pixels, or None when they are not stored plainly."""
    import tifffile

    try:
        return tifffile.memmap(path, mode="r")
    except (ValueError, OSError):  # compressed, tiled or fragmented: must be decoded
        return None


class TiffStack:
    """A multi-page TIFF stack (its first series) as a read-only ``(frames, Y, X)`` array-like,
    one page decoded at a time (the last page decoded is kept for the next read): ``stack[i]``,
    ``stack[i, rows, cols]`` and ``stack[a:b]`` read only those pages; ``numpy.asarray(stack)``
    reads them all.

    Attributes
    ----------
    shape, dtype, ndim, nbytes, size
        As the decoded array would have them.
    """

    def __init__(self, tif, pages):
        self._tif, self._pages = tif, pages
        first = pages[0]
        self.shape = (len(pages),) + tuple(int(s) for s in first.shape)
        self.dtype = np.dtype(first.dtype)
        self.ndim = 3
        self.size = int(np.prod(self.shape))
        self.nbytes = self.size * self.dtype.itemsize
        self._last: tuple[int, np.ndarray] | None = None  # the page decoded last

    @classmethod
    def open(cls, path):
        """A TiffStack of the pages of the file's first series (the array ``read_image``
        reads without ``mmap``), or None unless that is a stack of 2D pages."""
        import tifffile

        tif = tifffile.TiffFile(path)
        series = tif.series[0] if tif.series else None
        pages = list(series.pages) if series is not None else []
        stacked = (
            len(pages) > 1
            and len(series.shape) == 3
            and None not in pages
            and all(tuple(p.shape) == tuple(series.shape[1:]) for p in pages)
        )
        if not stacked:
            tif.close()
            return None
        stack = cls(tif, pages)
        stack.path = str(path)
        return stack

    def __reduce__(self):  # pickled as its path (to other processes), reopened there
        return (TiffStack.open, (self.path,))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        first, rest = key[0], key[1:]
        if isinstance(first, (int, np.integer)):
            return np.array(self._page(int(first))[rest])  # a copy: the page stays as decoded
        frames = range(self.shape[0])[first]
        if not frames:
            return np.empty((0,) + self.shape[1:], self.dtype)[(slice(None),) + rest]
        return np.stack([self._pages[i].asarray()[rest] for i in frames])

    def _page(self, index: int) -> np.ndarray:
        """Page ``index`` decoded; the last one is kept, so that the windows read from one
        frame one after the other (patches cut chunk by chunk) decode it once."""
        index = range(self.shape[0])[index]
        last = self._last
        if last is not None and last[0] == index:
            return last[1]
        page = self._pages[index].asarray()
        self._last = (index, page)
        return page

    def __array__(self, dtype=None, copy=None):
        array = self[:]
        return array if dtype is None else array.astype(dtype, copy=False)

    def close(self) -> None:
        """Close the file."""
        self._tif.close()

    def __del__(self):
        try:
            self._tif.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


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
    table = _points_table(detections)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the folder {path.parent}: {err.strerror or err}") from err
    text = table.to_csv(index=False).encode("utf-8")
    return write_output(path, lambda stream: stream.write(text), "CSV file")


def write_image(path, array) -> Path:
    """Write an array as ``.npy`` or ``.tif``/``.tiff`` (by the suffix), atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file; its folder must exist.
    array : array-like
        The image (labels, maps, stacks).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Unsupported suffix, or the file cannot be written (the old file is then unchanged).
    """
    path = Path(path)
    array = np.asarray(array)
    suffix = path.suffix.lower()
    if suffix == ".npy":

        def write(stream):
            np.save(stream, array, allow_pickle=False)
    elif suffix in (".tif", ".tiff"):

        def write(stream):
            import io

            import tifffile

            buffer = io.BytesIO()  # tifffile wants a named file or an in-memory buffer
            tifffile.imwrite(buffer, array)
            stream.write(buffer.getbuffer())
    else:
        raise InputError(f"cannot write '{path.name}': use .npy, .tif or .tiff")
    return write_output(path, write, "image file")


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


def _points_table(detections) -> pd.DataFrame:
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
