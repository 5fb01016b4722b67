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

:meth:`PatchSource.geometry` gives the :class:`~napari_ivae.core.patches.PatchSet` (without
pixels) that :mod:`napari_ivae.core.analysis.maps` needs to paint the results back onto the
image. Beside this module, and imported from it too: :mod:`~napari_ivae.core.patches.lazy_image`
reads the image part by part (windows, value range, NaN fill, page release);
:mod:`~napari_ivae.core.patches.reader` cuts training's random batches through a bounded cache
of tiles (:class:`PatchReader`, with the budgets set here); :func:`encode_source`
(:mod:`~napari_ivae.core.patches.source_encoding`) encodes a source chunk by chunk; and
:func:`maps_by_frame` (:mod:`~napari_ivae.core.patches.frame_maps`) paints the results one
frame at a time; :class:`SourcePatches` and :func:`as_source`
(:mod:`~napari_ivae.core.patches.source_patches`) show a source as an array of patches.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.patches import _sampling as sampling
from napari_ivae.core.patches.cutting import BORDER_POLICIES, NORMALIZE_MODES, PatchSet
from napari_ivae.core.patches.frame_maps import maps_by_frame
from napari_ivae.core.patches.lazy_image import (
    counted_and_filled,
    fill_missing,
    lazy_frames,
    lazy_range,
    release_pages,
)
from napari_ivae.core.patches.reader import PatchReader, sample_positions
from napari_ivae.core.patches.source_encoding import encode_source
from napari_ivae.core.patches.source_patches import SourcePatches, as_source

CHUNK_PIXELS = 1 << 22  # patch pixels per chunk (16 MiB of float32)
# the budgets of reader.PatchReader and reader.sample_positions (read there when used)
CACHE_BYTES = 1 << 28  # decoded image tiles a PatchReader keeps (256 MiB)
TILE_SIDE = 2048  # a frame larger than a quarter of the cache is read in tiles of this side
SAMPLE_PATCHES = 4096  # patches a model's normalisation and PCA start are fitted on


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
        self._frames, self.is_stack = lazy_frames(image)
        n_frames, height, width = self._frames.shape
        self.shape = sampling.patch_shape(size, (height, width))
        self.border = sampling.check_choice("border", border, BORDER_POLICIES)
        self.normalize = sampling.check_choice("normalize", normalize, NORMALIZE_MODES)
        sampling.check_order(order)
        if value_range is not None and normalize != "global":
            raise InputError('value_range is only used with normalize="global".')
        self.order = order
        points = sampling.kept_points(
            coords, n_frames, self.is_stack, self.shape, (height, width), border, subpixel
        )
        self.indices, self.valid, self.message = points.indices, points.valid, points.message
        if len(self.indices) == len(points.centres):  # every point kept: no second copy of them
            self.frames, self.centres = points.frames, points.centres
        else:
            self.frames, self.centres = points.frames[self.indices], points.centres[self.indices]
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
                self._frames, _ = lazy_frames(image)
                note = (
                    f"{int(missing.sum())} NaN/inf pixels were replaced by the median of "
                    "their frame."
                )
                warnings.warn(note, UserWarning, stacklevel=2)
                self.message = f"{self.message} {note}".strip()
        elif self.normalize == "global":
            lo, hi = sampling.as_range(value_range)
        if self.normalize == "global":
            self.normalization = sampling.minmax_record("global", lo, hi)
        elif self.normalize == "patch":
            self.normalization = sampling.minmax_record("patch")
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

        frames, _ = lazy_frames(image)
        n_frames, height, width = frames.shape
        shape = sampling.patch_shape(size, (height, width))
        stride, grid_shape, _, rows, cols, centres = sampling.grid_layout(
            (height, width), shape, stride, n_frames
        )
        per_frame = grid_shape[0] * grid_shape[1]
        index = np.repeat(np.arange(n_frames, dtype=np.float64), per_frame)
        shifts, message = None, ""
        spacing = registration.registration_spacing(
            spacing,
            register,
            lambda: registration.measured_spacing(frames.window(0, slice(None), slice(None))[None]),
        )
        if spacing is not None:
            shifts = np.zeros_like(centres)
            for frame in range(n_frames):
                block = slice(frame * per_frame, (frame + 1) * per_frame)
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
            sampling.scale_global(patches, self.normalization["min"], self.normalization["max"])
        elif self.normalize == "patch":
            pmin, pmax = sampling.scale_each(patches)
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


__all__ = [
    "PatchReader",
    "PatchSource",
    "SourcePatches",
    "as_source",
    "counted_and_filled",
    "encode_source",
    "fill_missing",
    "lazy_range",
    "maps_by_frame",
    "release_pages",
    "sample_positions",
]
