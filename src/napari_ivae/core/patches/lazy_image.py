"""An image read part by part, never whole: window access to its frames, its value range
band by band, its NaN/inf pixels filled as read, and a memory map's pages handed back.

Any array-like that can be sliced as ``image[frame, r0:r1, c0:c1]`` (a ``numpy.memmap``, a
dask or zarr array, a TIFF stack) is read here only through such windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import looks_like_colour

RANGE_BAND_PIXELS = 1 << 24  # image pixels read at once when measuring the value range


def release_pages(array) -> None:
    """Hand the pages of a memory-mapped array that were read or written back to the system.

    A memory map's pages that have been touched count as the process's resident memory until
    the system needs them back, so reading a large stack through one would look (and, for
    the system's accounting, be) as large as the stack. Written pages are flushed to the file
    first; nothing is lost, and later reads fetch the pages again. Anything that is not a
    memory map is left alone.

    Parameters
    ----------
    array : array-like
        A ``numpy.memmap`` (or a view of one); other objects are ignored.
    """
    import mmap

    base, handle = array, getattr(array, "_mmap", None)
    while handle is None and isinstance(getattr(base, "base", None), np.ndarray):
        base = base.base
        handle = getattr(base, "_mmap", None)
    if handle is None or not hasattr(handle, "madvise"):
        return
    try:
        if getattr(base, "mode", "r") != "r":
            base.flush()
        handle.madvise(mmap.MADV_DONTNEED)
    except (AttributeError, OSError, ValueError):  # closed, or a system without it
        pass


def lazy_frames(image):
    """``(frames, is_stack)``: the image's :class:`Frames`, its shape checked without reading
    pixels."""
    shape = tuple(int(s) for s in getattr(image, "shape", ()))
    dtype = np.dtype(getattr(image, "dtype", np.float64))
    if dtype.kind not in "biuf":
        raise InputError(f"The image must hold numbers, got dtype {dtype}.")
    if len(shape) not in (2, 3) or looks_like_colour(shape):
        raise InputError(
            f"Expected a (Y, X) image or a (frames, Y, X) stack, got shape {shape} "
            "(prepare colour data first)."
        )
    if min(shape[-2:]) < 2:
        raise InputError(f"The image of shape {shape} is too small to cut patches from.")
    return Frames(image, shape), len(shape) == 3


class Frames:
    """Uniform ``(frames, Y, X)`` window access to a 2D or 3D array-like."""

    def __init__(self, image, shape):
        self.image, self.is_stack = image, len(shape) == 3
        self.shape = shape if self.is_stack else (1,) + shape

    def window(self, frame: int, rows: slice, cols: slice) -> np.ndarray:
        part = self.image[frame, rows, cols] if self.is_stack else self.image[rows, cols]
        return np.asarray(part)


def lazy_range(image, missing=None) -> tuple[float, float]:
    """Minimum and maximum of the finite values, read in bands of rows (as ``finite_range``).

    Parameters
    ----------
    image : array-like
        ``(Y, X)`` or ``(frames, Y, X)``.
    missing : (frames,) int64 array, optional
        Filled with each frame's count of NaN/inf pixels (the same read).

    Returns
    -------
    (float, float)
    """
    frames, _ = lazy_frames(image)
    n, height, width = frames.shape
    band = max(1, RANGE_BAND_PIXELS // max(width, 1))
    lo, hi = np.inf, -np.inf
    for frame in range(n):
        for top in range(0, height, band):
            values = frames.window(frame, slice(top, top + band), slice(None))
            if values.dtype.kind == "f":
                finite = np.isfinite(values)
                if missing is not None:
                    missing[frame] += int(finite.size - np.count_nonzero(finite))
                values = values[finite]
            if values.size:
                lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
            release_pages(image)
    if not np.isfinite(lo):
        raise InputError("The image has no finite values.")
    return lo, hi


def fill_missing(image, missing):
    """A lazy ``(Y, X)`` / ``(frames, Y, X)`` image whose NaN/inf pixels read as the median of
    their frame's finite pixels (as :func:`~napari_ivae.core.io.image.prepare_image` fills an
    image in memory), chunk by chunk as it is read. ``missing`` (each frame's count of such
    pixels, e.g. from :func:`lazy_range`) says which frames are read whole for their median.

    Returns
    -------
    dask array
    """
    import dask.array as da

    lazy = da.asarray(image)
    missing = np.asarray(missing).reshape(-1)
    medians = np.zeros(len(missing), dtype=np.float64)
    for index in np.flatnonzero(missing):
        frame = np.asarray(lazy[index] if lazy.ndim == 3 else lazy)
        finite = frame[np.isfinite(frame)]
        if finite.size == 0:
            raise InputError(f"Frame {index} has no finite pixel (all NaN/inf); remove it.")
        medians[index] = float(np.median(finite))
    return lazy.map_blocks(_filled_block, medians=medians, dtype=lazy.dtype)


def counted_and_filled(image) -> tuple[Any, int]:
    """A lazy ``(Y, X)`` / ``(frames, Y, X)`` image with its NaN/inf pixels filled as read
    (:func:`fill_missing`), after one pass that counts them chunk by chunk.

    Returns
    -------
    (array, int)
        ``image`` itself and 0 when it has none; else the filled dask array and their count.
    """
    import dask.array as da

    lazy = da.asarray(image)
    missing = np.asarray((~da.isfinite(lazy)).sum(axis=(-2, -1)).compute()).reshape(-1)
    if not missing.any():
        return image, 0
    return fill_missing(lazy, missing), int(missing.sum())


def _filled_block(block, medians, block_info=None):
    """One chunk with its NaN/inf pixels set to their frame's median (a module function, so
    that the graph can be sent to worker processes)."""
    first = block_info[0]["array-location"][0][0] if block.ndim == 3 else 0
    values = medians[first : first + len(block)] if block.ndim == 3 else medians[0]
    values = np.asarray(values, dtype=block.dtype)
    if block.ndim == 3:
        values = values[:, None, None]
    return np.where(np.isfinite(block), block, values)


__all__ = [
    "Frames",
    "counted_and_filled",
    "fill_missing",
    "lazy_frames",
    "lazy_range",
    "release_pages",
]
