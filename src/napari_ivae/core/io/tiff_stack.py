"""Large TIFF stacks without reading them whole: a memory map of pixels stored plainly, or a
:class:`TiffStack` that decodes one page when it is indexed."""

from __future__ import annotations

import numpy as np


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
