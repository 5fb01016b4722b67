"""What each training step reads: batches of patch indices, the patches behind them and the
decoder's pixel subset.

:class:`_Batches` draws shuffled index batches (semi-supervised data: every batch carries
labeled patches); :class:`_TileBatches` visits a streamed source too large for its reader's
cache a group of tiles at a time; :class:`_StreamedPatches` cuts the patches of a batch from a
:class:`~napari_ivae.core.patches.source.PatchSource`; :func:`pixel_subset` draws the pixels
the spatial decoder evaluates; :func:`training_data` the patches a run fits its start on.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import as_patch_array


class _Batches:
    """Index batches; for semi-supervised data every batch carries labeled patches."""

    def __init__(self, labels, batch_size, min_labeled, generator):
        self.gen = generator
        n = len(labels)
        self.labeled = torch.nonzero(labels >= 0).flatten()
        if len(self.labeled) == 0:  # one index array only (millions of streamed patches)
            self.unlabeled = torch.arange(n)
        else:
            self.unlabeled = torch.nonzero(labels < 0).flatten()
        n_l, n_u = len(self.labeled), len(self.unlabeled)
        if n_l == 0 or n_u == 0:  # fully (un)supervised: plain shuffled batches
            self.pool, self.n_lab = (self.unlabeled if n_l == 0 else torch.arange(n)), 0
            self.n_unl = min(batch_size, n)
        else:
            share = round(batch_size * n_l / n)
            self.n_lab = min(n_l, max(min_labeled, share, 1), max(batch_size - 1, 1))
            self.n_unl = max(batch_size - self.n_lab, 1)
            self.pool = self.unlabeled
        self.steps = math.ceil(len(self.pool) / self.n_unl)
        self._lab_queue = torch.empty(0, dtype=torch.long)

    def _take_labeled(self):
        while len(self._lab_queue) < self.n_lab:
            perm = self.labeled[torch.randperm(len(self.labeled), generator=self.gen)]
            self._lab_queue = torch.cat([self._lab_queue, perm])
        out, self._lab_queue = self._lab_queue[: self.n_lab], self._lab_queue[self.n_lab :]
        return out

    def _order(self):
        return self.pool[torch.randperm(len(self.pool), generator=self.gen)]

    def epoch(self):
        order = self._order()
        for i in range(self.steps):
            idx = order[i * self.n_unl : (i + 1) * self.n_unl]
            if self.n_lab:
                idx = torch.cat([self._take_labeled(), idx])
            yield idx


class _TileBatches(_Batches):
    """Unlabeled batches of a patch source too large for the reader's tile cache: each epoch
    visits the tiles in a random order, ``per_group`` tiles at a time, and shuffles the
    patches within each group (so a batch reads from the cached tiles only). The patches are
    sorted by tile once; an epoch's order is then filled group by group, so that no
    temporary the size of the whole set is made but the order itself."""

    def __init__(self, labels, batch_size, generator, tiles, per_group):
        super().__init__(labels, batch_size, 0, generator)
        self.per_group = max(int(per_group), 1)
        tiles = np.asarray(tiles)
        everyone = len(self.pool) == len(tiles)  # (then the pool is every patch, in order)
        pool_tiles = tiles if everyone else tiles[self.pool.numpy()]
        counts = np.bincount(pool_tiles)
        self.n_tiles = len(counts)
        self.bounds = np.concatenate([[0], np.cumsum(counts)])
        by_tile = torch.from_numpy(np.argsort(pool_tiles, kind="stable"))
        del pool_tiles
        # the pool, sorted by tile, replaces the pool (its order is never used)
        self.pool = self.unlabeled = by_tile if everyone else self.pool[by_tile]

    def _order(self):
        order = torch.empty(len(self.pool), dtype=torch.long)
        tiles = torch.randperm(self.n_tiles, generator=self.gen).numpy()
        filled = 0
        for first in range(0, self.n_tiles, self.per_group):
            group = [
                self.pool[self.bounds[t] : self.bounds[t + 1]]
                for t in tiles[first : first + self.per_group]
            ]
            members = torch.cat(group)  # (never empty: first < n_tiles)
            order[filled : filled + len(members)] = members[
                torch.randperm(len(members), generator=self.gen)
            ]
            filled += len(members)
        return order


class _StreamedPatches:
    """The patches of a :class:`~napari_ivae.core.patches.source.PatchSource` as training reads
    them: ``x[idx]`` (indices or a slice) cuts just those patches, through the reader's cache
    of decoded tiles, onto ``device``."""

    def __init__(self, reader, device):
        self.reader, self.device = reader, torch.device(device)

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, slice):
            positions = np.arange(len(self))[key]
        else:
            positions = torch.as_tensor(key).cpu().numpy()
        return torch.from_numpy(self.reader.read(positions)).to(self.device)


def pixel_subset(n_pixels: int, count: int, generator, device) -> torch.Tensor | None:
    """A fresh random subset of ``count`` of the ``n_pixels`` pixel coordinates (drawn on the
    CPU from ``generator``, then moved to ``device``), or None when ``count`` is 0 or not
    below ``n_pixels`` (every pixel is evaluated)."""
    if not 0 < count < n_pixels:
        return None
    return torch.randperm(n_pixels, generator=generator)[:count].to(device)


def training_data(patches, patch_shape, seed: int):
    """``(data, reader, source, n)``: the patches training fits its start on and reads from.

    Patches in memory: ``data`` are they (checked, float32), no reader nor source. A
    :class:`~napari_ivae.core.patches.source.PatchSource` (or its
    :class:`~napari_ivae.core.patches.source.SourcePatches`): ``data`` is its seeded sample
    (:func:`~napari_ivae.core.patches.source.sample_positions`), cut through ``reader``, a
    :class:`~napari_ivae.core.patches.source.PatchReader` that every batch is then cut through.
    ``n`` counts all the patches.
    """
    from napari_ivae.core.patches.source import PatchReader, as_source, sample_positions

    source = as_source(patches)
    if source is None:
        data = as_patch_array(patches, patch_shape)
        return data, None, None, len(data)
    if tuple(source.patch_shape) != tuple(patch_shape):
        raise InputError(
            f"the source cuts {tuple(source.patch_shape)} px patches, the "
            f"model reads {tuple(patch_shape)}"
        )
    reader = PatchReader(source)
    data = as_patch_array(reader.read(sample_positions(len(source), seed)), patch_shape)
    return data, reader, source, len(source)
