"""Random patches of a :class:`~napari_ivae.core.patches.source.PatchSource` through a bounded
cache of decoded tiles (what training's batches are cut through), and the seeded sample of
patches a model's start is fitted on.

The budgets are the source module's settings, read when used (so that they are set in one
place): ``source.CACHE_BYTES`` (decoded tiles kept), ``source.TILE_SIDE`` (the tiles of a frame
larger than a quarter of the cache) and ``source.SAMPLE_PATCHES``.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from napari_ivae.core.patches import _sampling as sampling
from napari_ivae.core.patches.lazy_image import Frames, release_pages

if TYPE_CHECKING:
    from napari_ivae.core.patches.source import PatchSource

TILE_INDEX_CHUNK = 1 << 20  # points whose tile a PatchReader finds at once


class _CachedFrames:
    """``window(frame, rows, cols)`` served from a bounded cache of decoded tiles.

    A window is looked for in the tile of the first patch centre it serves (``offset`` before
    its corner, as :meth:`PatchSource._cut` places it); a window inside that tile (with its
    margin of two patch sides) is a view of it, read once and kept until the cache's byte
    budget pushes it out (least recently used first); any other window is read directly.
    """

    def __init__(
        self, frames: Frames, tile: int, margin: int, offset: tuple[int, int], cache_bytes: int
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
    quarter of the cache is one tile, a larger one is split into ``source.TILE_SIDE`` tiles. The
    patches equal :meth:`PatchSource.read`'s.

    Parameters
    ----------
    source : PatchSource
    cache_bytes : int, optional
        Budget of decoded tiles (default ``source.CACHE_BYTES``).

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
        settings = _settings()
        default = settings.CACHE_BYTES
        self.cache_bytes = int(default if cache_bytes is None else cache_bytes)
        frames = source._frames
        n_frames, height, width = frames.shape
        itemsize = max(np.dtype(getattr(frames.image, "dtype", np.float32)).itemsize, 4)
        margin = 2 * max(source.shape) + 8
        whole = height * width * itemsize <= self.cache_bytes // 4 or source.order == 3
        tile = max(height, width) if whole else settings.TILE_SIDE
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
    limit = _settings().SAMPLE_PATCHES if limit is None else int(limit)
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False)).astype(np.int64)


def _settings():
    """The source module, whose budgets the reader uses."""
    from napari_ivae.core.patches import source

    return source


__all__ = ["PatchReader", "sample_positions"]
