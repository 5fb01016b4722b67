"""A :class:`~napari_ivae.core.patches.source.PatchSource` seen as an array of patches.

:class:`SourcePatches` is what a lazy :class:`~napari_ivae.core.patches.PatchSet` holds as its
``patches``: indexing cuts only the patches asked for; :func:`as_source` finds the source
behind it so that training and encoding can stream. Both are imported from
:mod:`napari_ivae.core.patches.source` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from napari_ivae.core.patches.source import PatchSource


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
    from napari_ivae.core.patches.source import PatchSource  # it imports this module

    if isinstance(patches, PatchSource):
        return patches
    if isinstance(patches, SourcePatches):
        return patches.source
    return None


__all__ = ["SourcePatches", "as_source"]
