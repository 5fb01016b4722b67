"""An array-like wrapper that records what is read from it (tests of lazy reading)."""

from __future__ import annotations

import numpy as np


class Counting:
    """Wraps an array-like (numpy, zarr): ``reads`` holds the number of elements each read
    returned, ``largest`` the most of them."""

    def __init__(self, array):
        self.array, self.largest, self.reads = array, 0, []
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        out = self.array[key]
        size = int(np.asarray(out).size)
        self.reads.append(size)
        self.largest = max(self.largest, size)
        return out
