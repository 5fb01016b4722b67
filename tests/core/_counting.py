"""An array-like wrapper that records the largest block read from it (tests of lazy reading)."""

from __future__ import annotations

import numpy as np


class Counting:
    """Wraps a 2D array-like (numpy, zarr); ``largest`` is the most elements one read returned."""

    def __init__(self, array):
        self.array, self.largest = array, 0
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        out = self.array[key]
        self.largest = max(self.largest, int(np.asarray(out).size))
        return out
