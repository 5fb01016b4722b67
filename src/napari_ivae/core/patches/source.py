"""Patches cut on demand from an image too large to hold: by point table or on a grid.

A :class:`PatchSource` keeps only the patch geometry (centres, frames, which points were kept);
the pixels stay in the array-like it was given (a ``numpy.memmap`` from
:func:`~napari_ivae.core.io.imageio.read_image` with ``mmap=True``, a dask or zarr array, anything
that can be sliced as ``image[frame, r0:r1, c0:c1]``). Patches are cut chunk by chunk: the
points are taken frame by frame and row by row, and for each chunk only the window of the frame
its patches cover is read, so memory stays at one chunk of patches plus one window whatever the
image's size. Every patch equals the one :func:`~napari_ivae.core.patches.cutting.extract_patches`
(or :func:`~napari_ivae.core.patches.cutting.grid_patches`) cuts from the whole image in memory: the
same sampling code runs on the window, and a window that stops inside the frame extends a few
pixels past the patches it serves (cubic interpolation reads the whole frame, since its spline
filter depends on every pixel).

:func:`encode_source` encodes a source chunk by chunk; :meth:`PatchSource.geometry` gives the
:class:`~napari_ivae.core.patches.PatchSet` (without pixels) that :mod:`napari_ivae.core.analysis.maps`
needs to paint the results back onto the image.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.patches import _sampling as sampling
from napari_ivae.core.patches.cutting import BORDER_POLICIES, NORMALIZE_MODES, PatchSet
from napari_ivae.core.validation import looks_like_colour

CHUNK_PIXELS = 1 << 22  # patch pixels per chunk (16 MiB of float32)
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


def _lazy_stack(image):
    """``(stack, is_stack)``: checks the shape without reading pixels."""
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
    return _Frames(image, shape), len(shape) == 3


class _Frames:
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
    frames, _ = _lazy_stack(image)
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


class PatchSource:
    """Patches of one image, cut when asked for (see the module doc).

    Parameters
    ----------
    image : array-like
        ``(Y, X)`` image or ``(frames, Y, X)`` stack, sliceable without reading it whole.
    coords : array-like
        ``(N, 2)`` ``(row, col)`` or ``(N, 3)`` ``(frame, row, col)`` (required for a stack).
    size : int or (int, int)
        Patch height and width.
    subpixel, border, normalize, order, value_range
        As in :func:`napari_ivae.core.patches.cutting.extract_patches` (``normalize="global"`` without a
        ``value_range`` reads the image once, band by band, for its range).

    Attributes
    ----------
    frames, centres, indices, valid
        As in :class:`~napari_ivae.core.patches.PatchSet`, for the kept points.
    normalization : dict
        As in :class:`~napari_ivae.core.patches.PatchSet` (``patch`` mode: ``patch_min`` and
        ``patch_max`` are filled in as patches are cut).
    """

    def __init__(
        self,
        image,
        coords,
        size,
        *,
        subpixel: bool = True,
        border: str = "drop",
        normalize: str = "none",
        order: int = 1,
        value_range=None,
    ):
        self._frames, self.is_stack = _lazy_stack(image)
        n_frames, height, width = self._frames.shape
        self.shape = sampling.patch_shape(size, (height, width))
        self.border = sampling.check_choice("border", border, BORDER_POLICIES)
        self.normalize = sampling.check_choice("normalize", normalize, NORMALIZE_MODES)
        if order not in (1, 3):
            raise InputError(f"order must be 1 (bilinear) or 3 (cubic spline), got {order!r}.")
        if value_range is not None and normalize != "global":
            raise InputError('value_range is only used with normalize="global".')
        self.order = order
        frames, centres = sampling.as_points(coords, n_frames, self.is_stack)
        if not subpixel:
            centres = np.round(centres)
        outside = ~sampling.centre_inside(centres, (height, width))
        crossing = ~sampling.patch_inside(centres, self.shape, (height, width))
        keep = ~outside if border == "flag" else ~crossing
        if not keep.any():
            raise InputError(
                f"All {len(centres)} patches of {self.shape[0]}x{self.shape[1]} px cross the "
                f"border of the {height}x{width} image (or their centre lies outside it). Use a "
                'smaller patch size, or border="flag" to keep them with reflected edges.'
            )
        self.indices = np.flatnonzero(keep).astype(np.int64)
        if len(self.indices) == len(keep):  # every point kept: no second copy of them
            self.frames, self.centres = frames, centres
        else:
            self.frames, self.centres = frames[self.indices], centres[self.indices]
        self.valid = None
        if border == "flag" and crossing[self.indices].any():
            self.valid = ~crossing[self.indices]
        from napari_ivae.core.patches.cutting import _drop_message

        self.message = _drop_message(len(centres), outside, crossing, border, self.shape)
        self.image_shape = (int(height), int(width))
        self.n_frames = int(n_frames)
        self.grid_shape: tuple[int, int] | None = None
        self.stride: int | None = None
        self.grid_origin: tuple[float, float] | None = None
        # grid patches: the grid, and where each was cut
        self.grid_centres: np.ndarray | None = None
        self.shifts: np.ndarray | None = None
        self.patch_min: np.ndarray | None = None
        self.patch_max: np.ndarray | None = None
        # particles' diameters (set by the caller): their point maps stay on them
        self.particle_diameter: float | np.ndarray | None = None
        self.normalization: dict
        if self.normalize == "global" and value_range is None:
            missing = np.zeros(n_frames, dtype=np.int64)
            lo, hi = lazy_range(image, missing)  # missing data counted in the same read
            if missing.any():  # filled as read, as the in-memory path fills it
                import warnings

                image = fill_missing(image, missing)
                self._frames, _ = _lazy_stack(image)
                note = (
                    f"{int(missing.sum())} NaN/inf pixels were replaced by the median of "
                    "their frame."
                )
                warnings.warn(note, UserWarning, stacklevel=2)
                self.message = f"{self.message} {note}".strip()
        elif self.normalize == "global":
            lo, hi = sampling.as_range(value_range)
        if self.normalize == "global":
            self.normalization = {
                "mode": "global",
                "method": "minmax",
                "min": lo,
                "max": hi,
                "range": [0.0, 1.0],
            }
        elif self.normalize == "patch":
            self.normalization = {"mode": "patch", "method": "minmax", "range": [0.0, 1.0]}
            self.patch_min = np.full(len(self.indices), np.nan, dtype=np.float32)
            self.patch_max = np.full(len(self.indices), np.nan, dtype=np.float32)
        else:
            self.normalization = {"mode": "none"}

    @classmethod
    def grid(
        cls,
        image,
        size,
        stride,
        *,
        normalize: str = "none",
        value_range=None,
        register: bool | None = None,
        spacing: float | None = None,
    ):
        """Patches on the regular grid of :func:`~napari_ivae.core.patches.cutting.grid_patches`.

        Parameters
        ----------
        image : array-like
            ``(Y, X)`` or ``(frames, Y, X)``.
        size : int or (int, int)
        stride : int
        normalize, value_range, register, spacing
            As in :func:`~napari_ivae.core.patches.cutting.grid_patches` (lattice registration reads
            one whole frame at a time to find its features).

        Returns
        -------
        PatchSource
            In the grid's order (frame by frame, row by row), with ``grid_shape``, ``stride``
            and ``grid_origin`` set, ``indices`` all ``-1`` and, when registered, ``shifts``.
        """
        from napari_ivae.core.patches import _grid_registration as registration

        frames, _ = _lazy_stack(image)
        n_frames, height, width = frames.shape
        shape = sampling.patch_shape(size, (height, width))
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise InputError(f"stride must be a positive integer number of pixels, got {stride!r}.")
        stride = int(stride)
        grid_shape = ((height - shape[0]) // stride + 1, (width - shape[1]) // stride + 1)
        top = ((height - shape[0]) - (grid_shape[0] - 1) * stride) // 2
        left = ((width - shape[1]) - (grid_shape[1] - 1) * stride) // 2
        rows = top + shape[0] // 2 + stride * np.arange(grid_shape[0], dtype=np.float64)
        cols = left + shape[1] // 2 + stride * np.arange(grid_shape[1], dtype=np.float64)
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        centres = np.tile(np.column_stack([rr.ravel(), cc.ravel()]), (n_frames, 1))
        index = np.repeat(np.arange(n_frames, dtype=np.float64), rr.size)
        shifts, message = None, ""
        spacing = registration.registration_spacing(
            spacing,
            register,
            lambda: registration.measured_spacing(frames.window(0, slice(None), slice(None))[None]),
        )
        if spacing is not None:
            shifts = np.zeros_like(centres)
            for frame in range(n_frames):
                block = slice(frame * rr.size, (frame + 1) * rr.size)
                shifts[block] = registration.lattice_shifts(
                    frames.window(frame, slice(None), slice(None)), centres[block], shape, spacing
                )
                release_pages(image)
            message = registration.registration_message(spacing, shifts)
        cut = centres if shifts is None else centres + shifts
        coords = np.column_stack([index, cut]) if frames.is_stack else cut
        source = cls(image, coords, shape, normalize=normalize, value_range=value_range)
        source.indices = np.full(len(source.indices), -1, dtype=np.int64)
        source.grid_shape, source.stride = grid_shape, stride
        source.grid_origin = (float(rows[0]), float(cols[0]))
        source.grid_centres, source.shifts, source.message = centres, shifts, message
        return source

    def __len__(self) -> int:
        return int(len(self.indices))

    @property
    def patch_shape(self) -> tuple[int, int]:
        """``(H, W)`` of one patch."""
        return self.shape

    def chunks(self, max_patches: int | None = None) -> Iterator[np.ndarray]:
        """Positions (into the kept points) of each chunk: frame by frame, rows in order."""
        per_chunk = max_patches or max(1, CHUNK_PIXELS // (self.shape[0] * self.shape[1]))
        order = np.lexsort((self.centres[:, 1], self.centres[:, 0], self.frames))
        starts = np.flatnonzero(np.diff(self.frames[order], prepend=-1))
        for frame_rows in np.split(order, starts[1:]):
            for start in range(0, len(frame_rows), per_chunk):
                yield frame_rows[start : start + per_chunk]

    def read(self, positions) -> np.ndarray:
        """The patches at ``positions`` (into the kept points), in that order.

        Parameters
        ----------
        positions : array-like of int
            Any subset, e.g. a random training batch; each frame it touches is read over the
            window its patches cover.

        Returns
        -------
        (n, H, W) float32 array
            Normalised as asked.
        """
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        out = np.empty((len(positions),) + self.shape, dtype=np.float32)
        frames = self.frames[positions]
        for frame in np.unique(frames):
            rows = np.flatnonzero(frames == frame)
            self._cut(int(frame), positions[rows], rows, out)
        release_pages(self._frames.image)
        sampling.check_finite(out)
        self._normalize(out, positions)
        return out

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(positions, patches)`` chunk by chunk (see :meth:`chunks`)."""
        for positions in self.chunks():
            yield positions, self.read(positions)

    def _cut(self, frame: int, positions: np.ndarray, rows: np.ndarray, out) -> None:
        height, width = self.shape
        centres = self.centres[positions]
        reflect = self.valid is not None
        if self.order == 3:  # the spline filter depends on every pixel of the frame
            window, origin = self._frames.window(frame, slice(None), slice(None)), (0, 0)
        else:
            margin = (max(height, width) + 2 if reflect else 0) + 2
            tops = np.floor(centres[:, 0]).astype(np.int64) - height // 2
            lefts = np.floor(centres[:, 1]).astype(np.int64) - width // 2
            r0 = max(0, int(tops.min()) - margin)
            c0 = max(0, int(lefts.min()) - margin)
            r1 = min(self.image_shape[0], int(tops.max()) + height + 1 + margin)
            c1 = min(self.image_shape[1], int(lefts.max()) + width + 1 + margin)
            window, origin = self._frames.window(frame, slice(r0, r1), slice(c0, c1)), (r0, c0)
        local = centres - np.asarray(origin, dtype=np.float64)
        sampling.sample_frame(window, local, rows, out, self.order, reflect=reflect)

    def _normalize(self, patches: np.ndarray, positions: np.ndarray) -> None:
        if self.normalize == "global":
            lo, hi = self.normalization["min"], self.normalization["max"]
            patches -= lo
            patches /= hi - lo if hi > lo else 1.0
            np.clip(patches, 0.0, 1.0, out=patches)
        elif self.normalize == "patch":
            flat = patches.reshape(len(patches), -1)
            pmin, pmax = flat.min(axis=1), flat.max(axis=1)
            span = np.where(pmax > pmin, pmax - pmin, 1.0).astype(np.float32)
            patches -= pmin[:, None, None]
            patches /= span[:, None, None]
            np.clip(patches, 0.0, 1.0, out=patches)
            assert self.patch_min is not None and self.patch_max is not None  # patch mode
            self.patch_min[positions], self.patch_max[positions] = pmin, pmax

    def piece(self, positions) -> PatchSource:
        """A source of the patches at ``positions`` only (same image, same settings), small to
        send to another process: the image goes as a reference
        (:func:`~napari_ivae.core.scheduling.portable`)."""
        import copy

        from napari_ivae.core.scheduling import portable

        positions = np.asarray(positions, dtype=np.int64)
        piece = copy.copy(self)
        piece._frames = copy.copy(self._frames)
        piece._frames.image = portable(self._frames.image)
        piece.indices, piece.frames = self.indices[positions], self.frames[positions]
        piece.centres = self.centres[positions]
        piece.valid = None if self.valid is None else self.valid[positions]
        piece.grid_centres = piece.shifts = None
        if self.patch_min is not None:
            piece.patch_min = np.full(len(positions), np.nan, dtype=np.float32)
            piece.patch_max = np.full(len(positions), np.nan, dtype=np.float32)
        return piece

    def patchset(self) -> PatchSet:
        """All patches cut (chunk by chunk) into one :class:`~napari_ivae.core.patches.PatchSet`,
        as :func:`~napari_ivae.core.patches.cutting.extract_patches` returns it: the patches are held,
        the image is not."""
        patches = np.empty((len(self),) + self.shape, dtype=np.float32)
        for positions, chunk in self:
            patches[positions] = chunk
        found = self.geometry()
        found.patches = patches
        return found

    def lazy_patchset(self) -> PatchSet:
        """A :class:`~napari_ivae.core.patches.PatchSet` whose ``patches`` are
        :class:`SourcePatches` of this source: cut when indexed, never held."""
        found = self.geometry()
        found.patches = SourcePatches(self)  # type: ignore[assignment]
        return found

    def geometry(self) -> PatchSet:
        """A :class:`~napari_ivae.core.patches.PatchSet` of these patches without their pixels
        (``patches`` is a read-only zero-size-in-memory broadcast), for the maps."""
        empty = np.broadcast_to(
            np.zeros((1,) + self.shape, dtype=np.float32), (len(self),) + self.shape
        )
        centres = self.centres if self.grid_centres is None else self.grid_centres
        return PatchSet(
            patches=empty,
            centres=centres,
            frames=self.frames,
            indices=self.indices,
            image_shape=self.image_shape,
            normalization=dict(self.normalization),
            grid_shape=self.grid_shape,
            stride=self.stride,
            valid=self.valid,
            n_frames=self.n_frames,
            is_stack=self.is_stack,
            patch_min=self.patch_min,
            patch_max=self.patch_max,
            grid_origin=self.grid_origin,
            shifts=self.shifts,
            message=self.message,
            particle_diameter=self.particle_diameter,
        )


class SourcePatches:
    """The patches of a :class:`PatchSource` as a read-only ``(N, H, W)`` float32 array-like.

    Indexing cuts only the patches asked for (``patches[i]``, ``patches[10:20]``,
    ``patches[[3, 1]]``); ``numpy.asarray`` cuts them all, chunk by chunk. ``train`` and
    ``encode_source`` take the source behind it (:func:`as_source`) and stream.
    """

    ndim = 3
    dtype = np.dtype(np.float32)

    def __init__(self, source: PatchSource):
        self.source = source
        self.shape = (len(source),) + tuple(source.shape)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes the patches would take if cut all at once (none are held)."""
        return int(np.prod(self.shape)) * 4

    def __getitem__(self, key):
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        positions = np.arange(len(self))[first]
        out = self.source.read(np.atleast_1d(positions))
        if np.ndim(positions) == 0:
            out = out[0]
        return out[rest] if rest else out

    def __array__(self, dtype=None, copy=None):
        patches = self.source.patchset().patches
        return patches if dtype is None else patches.astype(dtype, copy=False)


def as_source(patches) -> PatchSource | None:
    """The :class:`PatchSource` ``patches`` stream from (a source, or :class:`SourcePatches`);
    None for anything else (patches held in memory)."""
    if isinstance(patches, PatchSource):
        return patches
    if isinstance(patches, SourcePatches):
        return patches.source
    return None


CACHE_BYTES = 1 << 28  # decoded image tiles a PatchReader keeps (256 MiB)
TILE_SIDE = 2048  # a frame larger than a quarter of the cache is read in tiles of this side
SAMPLE_PATCHES = 4096  # patches a model's normalisation and PCA start are fitted on
TILE_INDEX_CHUNK = 1 << 20  # points whose tile a PatchReader finds at once


class _CachedFrames:
    """``window(frame, rows, cols)`` served from a bounded cache of decoded tiles.

    A window is looked for in the tile of the first patch centre it serves (``offset`` before
    its corner, as :meth:`PatchSource._cut` places it); a window inside that tile (with its
    margin of two patch sides) is a view of it, read once and kept until the cache's byte
    budget pushes it out (least recently used first); any other window is read directly.
    """

    def __init__(
        self, frames: _Frames, tile: int, margin: int, offset: tuple[int, int], cache_bytes: int
    ):
        self.frames, self.tile, self.margin = frames, int(tile), int(margin)
        self.offset = offset
        self.cache_bytes = int(cache_bytes)
        self.cache: OrderedDict = OrderedDict()
        self.held = 0
        self.tiles_read = 0

    def _bounds(self, index: int, length: int) -> tuple[int, int]:
        return (
            max(0, index * self.tile - self.margin),
            min(length, (index + 1) * self.tile + self.margin),
        )

    def window(self, frame: int, rows: slice, cols: slice) -> np.ndarray:
        _, height, width = self.frames.shape
        r0, r1, _ = rows.indices(height)
        c0, c1, _ = cols.indices(width)
        key = (frame, (r0 + self.offset[0]) // self.tile, (c0 + self.offset[1]) // self.tile)
        (t0, t1), (u0, u1) = self._bounds(key[1], height), self._bounds(key[2], width)
        if not (t0 <= r0 and r1 <= t1 and u0 <= c0 and c1 <= u1):
            return self.frames.window(frame, rows, cols)
        block = self.cache.get(key)
        if block is None:
            block = self.frames.window(frame, slice(t0, t1), slice(u0, u1))
            self.tiles_read += 1
            if block.nbytes <= self.cache_bytes:
                while self.cache and self.held + block.nbytes > self.cache_bytes:
                    self.held -= self.cache.popitem(last=False)[1].nbytes
                self.cache[key] = block
                self.held += block.nbytes
        else:
            self.cache.move_to_end(key)
        return block[r0 - t0 : r1 - t0, c0 - u0 : c1 - u0]


class PatchReader:
    """Random patches of a :class:`PatchSource` through a bounded cache of decoded tiles.

    For training: each batch is cut from the tiles its patches lie in; a frame that fits in a
    quarter of the cache is one tile, a larger one is split into ``TILE_SIDE`` tiles. The
    patches equal :meth:`PatchSource.read`'s.

    Parameters
    ----------
    source : PatchSource
    cache_bytes : int, optional
        Budget of decoded tiles (default ``CACHE_BYTES``).

    Attributes
    ----------
    tiles : (N,) int64 array
        The tile of each patch (numbered frame by frame, row by row).
    tile_bytes : int
        Bytes of one decoded tile (the largest).
    fits : bool
        Whether every tile fits in the cache at once (the reads are then one pass).
    """

    def __init__(self, source: PatchSource, cache_bytes: int | None = None):
        import copy

        self.cache_bytes = int(CACHE_BYTES if cache_bytes is None else cache_bytes)
        frames = source._frames
        n_frames, height, width = frames.shape
        itemsize = max(np.dtype(getattr(frames.image, "dtype", np.float32)).itemsize, 4)
        margin = 2 * max(source.shape) + 8
        whole = height * width * itemsize <= self.cache_bytes // 4 or source.order == 3
        tile = max(height, width) if whole else TILE_SIDE
        cut = (max(source.shape) + 2 if source.valid is not None else 0) + 2  # as in _cut
        offset = (source.shape[0] // 2 + cut, source.shape[1] // 2 + cut)
        self.cached = _CachedFrames(frames, tile, 0 if whole else margin, offset, self.cache_bytes)
        self.source = copy.copy(source)
        self.source._frames = self.cached
        per_row = -(-width // tile)
        per_frame = -(-height // tile) * per_row
        self.tiles = np.empty(len(source), dtype=np.int64)
        centres, frames = source.centres, source.frames
        for start in range(0, len(source), TILE_INDEX_CHUNK):  # no temporaries of every point
            part = slice(start, start + TILE_INDEX_CHUNK)
            rows = np.clip(np.floor(centres[part, 0]), 0, height - 1).astype(np.int64) // tile
            cols = np.clip(np.floor(centres[part, 1]), 0, width - 1).astype(np.int64) // tile
            self.tiles[part] = (
                np.asarray(frames[part], np.int64) * per_frame + rows * per_row + cols
            )
        side_r, side_c = min(height, tile + 2 * margin), min(width, tile + 2 * margin)
        self.tile_bytes = int((height * width if whole else side_r * side_c) * itemsize)
        self.n_tiles = int(n_frames * per_frame)
        self.fits = self.n_tiles * self.tile_bytes <= self.cache_bytes

    def __len__(self) -> int:
        return len(self.source)

    def read(self, positions) -> np.ndarray:
        """The patches at ``positions`` (float32 ``(n, H, W)``), as :meth:`PatchSource.read`."""
        source = self.source
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        out = np.empty((len(positions),) + source.shape, dtype=np.float32)
        tiles = self.tiles[positions]
        for tile in np.unique(tiles):
            rows = np.flatnonzero(tiles == tile)
            source._cut(int(source.frames[positions[rows[0]]]), positions[rows], rows, out)
        release_pages(self.cached.frames.image)
        sampling.check_finite(out)
        source._normalize(out, positions)
        return out


def sample_positions(n: int, seed: int, limit: int | None = None) -> np.ndarray:
    """Sorted positions of a seeded sample of ``limit`` (default ``SAMPLE_PATCHES``) of ``n``
    patches: all of them, in order, when there are no more than that."""
    limit = SAMPLE_PATCHES if limit is None else int(limit)
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False)).astype(np.int64)


def encode_source(
    model,
    source: PatchSource,
    batch_size: int = 256,
    device=None,
    progress=None,
    scheduler=None,
    out=None,
):
    """Encode every patch of a source chunk by chunk (memory: one chunk of patches).

    Parameters
    ----------
    model : BaseIVAE
    source : PatchSource
        Patches of the model's ``patch_shape``.
    batch_size : int
        Patches per forward pass.
    device : str, optional
        As in :func:`napari_ivae.core.models.inference.encode`.
    progress : callable, optional
        ``progress(done, total)`` after each chunk.
    scheduler : None, str or distributed.Client
        ``None``, ``"threads"`` or ``"sync"``: here, chunk after chunk (torch spreads each
        batch over the cores). ``"processes"``, a dask scheduler address or a client: every
        chunk is cut and encoded by a worker (on its CPU), which reads the image itself
        (:func:`~napari_ivae.core.scheduling.map_tasks`).
    out : str or Path, optional
        A folder: each array of the encoding is written there as a memory-mapped ``.npy``
        (``z_mean.npy``...) chunk by chunk, its pages handed back after each chunk
        (:func:`release_pages`), so the latents of any number of patches take no resident
        memory; the returned arrays are those memory maps.

    Returns
    -------
    Encoding
        In the source's order, as :func:`~napari_ivae.core.models.inference.encode` gives for the
        patches cut in memory (equal up to float rounding of the batch composition).
    """
    from napari_ivae.core.models.inference import Encoding, encode

    if tuple(source.patch_shape) != tuple(model.config.patch_shape):
        want = model.config.patch_shape
        raise InputError(
            f"the model reads {want[0]}x{want[1]} px patches but the source cuts "
            f"{source.patch_shape[0]}x{source.patch_shape[1]} px ones"
        )
    from napari_ivae.core.scheduling import check_scheduler

    check_scheduler(scheduler)
    arrays: dict = {}

    def store(positions, part):
        for key, values in part.items():
            if key not in arrays:
                shape = (len(source),) + values.shape[1:]
                if out is None:
                    arrays[key] = np.empty(shape, dtype=values.dtype)
                else:
                    from pathlib import Path

                    Path(out).mkdir(parents=True, exist_ok=True)
                    arrays[key] = np.lib.format.open_memmap(
                        Path(out) / f"{key}.npy", mode="w+", dtype=values.dtype, shape=shape
                    )
            arrays[key][positions] = values
            release_pages(arrays[key])

    if scheduler in (None, "threads", "sync"):  # here: torch already uses the cores
        done = 0
        for positions, patches in source:
            store(positions, encode(model, patches, batch_size=batch_size, device=device).as_dict())
            done += len(positions)
            if progress is not None:
                progress(done, len(source))
        return Encoding(**arrays)
    from napari_ivae.core.scheduling import map_tasks

    chunks = list(source.chunks())
    model = model.to("cpu")  # workers have no GPU of ours
    counted = np.cumsum([len(c) for c in chunks])
    for start in range(0, len(chunks), ENCODE_BLOCK):
        block = chunks[start : start + ENCODE_BLOCK]

        def done_chunks(done, _, before=start):
            if progress is not None:
                progress(int(counted[before + done - 1]), len(source))

        results = map_tasks(
            _encode_piece,
            [(model, source.piece(positions), batch_size) for positions in block],
            scheduler,
            done_chunks,
        )
        for positions, (part, low, high) in zip(block, results):
            store(positions, part)
            if source.patch_min is not None and source.patch_max is not None:
                source.patch_min[positions], source.patch_max[positions] = low, high
    return Encoding(**arrays)


ENCODE_BLOCK = 64  # chunks handed to a scheduler at once (their latents come back together)


def _encode_piece(model, piece: PatchSource, batch_size: int):
    """Cut and encode one chunk where it runs: its latents and (``normalize="patch"``) the
    patches' value ranges."""
    from napari_ivae.core.models.inference import encode

    patches = piece.read(np.arange(len(piece)))
    part = encode(model, patches, batch_size=batch_size, device="cpu").as_dict()
    return part, piece.patch_min, piece.patch_max


def maps_by_frame(columns: dict, geometry: PatchSet, write, max_distance=None):
    """Paint per-patch values back onto the image one frame at a time.

    Each frame's maps equal that frame of the whole-stack maps of :mod:`napari_ivae.core.analysis.maps`
    (the distance beyond which pixels stay empty is measured once over all frames, as there),
    so a stack's maps can go to memory-mapped files without ever being whole in memory.

    Parameters
    ----------
    columns : dict
        ``{name: (N,) values}`` in the order of ``geometry``; ``"angle"`` (radians) is mapped
        as an angle, ``"class"`` and ``"cluster"`` as labels (value + 1, 0 = none), the others
        as floats.
    geometry : PatchSet
        From :meth:`PatchSource.geometry` (or any PatchSet).
    write : callable
        ``write(name, frame, array)`` with each ``(Y, X)`` map of each frame.
    max_distance : float or (N,) array, optional
        Points: pixels farther than this from their nearest point stay empty, one distance
        or one per point (default: 1.5 x the median nearest-neighbour distance over all
        frames, for particles their radii, as :func:`~napari_ivae.core.analysis.maps.point_map`).

    Returns
    -------
    float, (N,) array or None
        The distance used (None for grid patches).
    """
    from napari_ivae.core.analysis import maps

    frames = np.asarray(geometry.frames)
    # the patches of each frame, found once (a stack's patches are usually in frame order)
    order = np.argsort(frames, kind="stable")
    bounds = np.searchsorted(frames[order], np.arange(geometry.n_frames + 1))
    if geometry.is_grid:
        max_distance = None
    elif max_distance is None:
        spacing = _median_spacing(geometry.centres, order, bounds)
        max_distance = maps.point_reach(spacing, geometry.image_shape, geometry.particle_diameter)
    for frame in range(geometry.n_frames):
        rows = np.sort(order[bounds[frame] : bounds[frame + 1]])
        if max_distance is not None and len(rows):
            within = max_distance[rows] if np.ndim(max_distance) else max_distance
            _voronoi_frame(columns, rows, geometry, within, frame, write)
            continue
        empty = np.broadcast_to(
            np.zeros((1,) + geometry.patch_shape, np.float32), (len(rows),) + geometry.patch_shape
        )
        single = PatchSet(
            patches=empty,
            centres=geometry.centres[rows],
            frames=np.zeros(len(rows), np.int64),
            indices=geometry.indices[rows],
            image_shape=geometry.image_shape,
            normalization={},
            grid_shape=geometry.grid_shape,
            stride=geometry.stride,
            grid_origin=geometry.grid_origin,
        )
        for name, values in columns.items():
            values = _take(values, rows)
            if len(rows) == 0:
                blank = 0 if name in ("class", "cluster") else np.nan
                dtype = np.int32 if name in ("class", "cluster") else np.float32
                write(name, frame, np.full(geometry.image_shape, blank, dtype=dtype))
            elif name == "angle":
                write(name, frame, maps.angle_map(values, single))
            elif name in ("class", "cluster"):
                write(name, frame, maps.class_map(values, single))
            else:
                write(
                    name,
                    frame,
                    maps.patch_map(np.asarray(values, np.float32), single).astype(np.float32),
                )
    return max_distance


def _take(values, rows) -> np.ndarray:
    """``values[rows]`` without converting the whole column first (a memory map stays on disk)."""
    if isinstance(values, np.ndarray):
        return np.asarray(values[rows])
    return np.asarray(values)[rows]


def _median_spacing(centres, order, bounds) -> float | None:
    """:func:`~napari_ivae.core.analysis._point_maps.median_neighbour_distance` over the
    frames, one frame's points at a time (only the distances are kept)."""
    from scipy.spatial import cKDTree

    distances = np.empty(len(order), dtype=np.float64)
    filled = 0
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if stop - start >= 2:
            points = centres[np.sort(order[start:stop])]
            d, _ = cKDTree(points).query(points, k=2)
            distances[filled : filled + len(points)] = d[:, 1]
            filled += len(points)
    if not filled:
        return None
    median = float(np.median(distances[:filled]))
    return median if median > 0 else None


def _voronoi_frame(columns: dict, rows, geometry, max_distance, frame: int, write) -> None:
    """One frame's point maps from one nearest-point search shared by every column (the
    values :func:`~napari_ivae.core.analysis.maps.point_map` gives, computed the same way)."""
    from napari_ivae.core.analysis import _point_maps, maps

    index = _point_maps.nearest_index(geometry.centres[rows], geometry.image_shape, max_distance)

    def nearest(table):  # (n, C) float64 -> (Y, X, C) float32, NaN beyond max_distance
        padded = np.vstack([table, np.full((1, table.shape[1]), np.nan)])
        return padded[index].astype(np.float32)

    for name, values in columns.items():
        values = _take(values, rows).astype(np.float64)
        if name == "angle":
            mapped = nearest(np.column_stack([np.cos(values), np.sin(values)]))
            array = maps.wrap_angle(np.arctan2(mapped[..., 1], mapped[..., 0]))
            write(name, frame, array.astype(np.float32))
        elif name in ("class", "cluster"):
            labels = nearest((np.maximum(values, -1.0) + 1.0)[:, None])[..., 0]
            write(name, frame, np.nan_to_num(labels, nan=0.0).astype(np.int32))
        else:
            write(name, frame, nearest(values[:, None])[..., 0])


__all__ = [
    "PatchReader",
    "PatchSource",
    "SourcePatches",
    "as_source",
    "encode_source",
    "lazy_range",
    "maps_by_frame",
    "release_pages",
    "sample_positions",
]
