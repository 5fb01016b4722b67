"""A frame's basins filled up to the level at which they drain to its edge, as skimage does it.

``skimage.morphology.reconstruction(seed, frame, method="erosion")`` with the seed equal to
the frame on its edge and to its maximum inside fills every basin no path to the edge leaves
without climbing up to its lowest saddle. skimage sorts the stacked seed and frame twice:
once for the order it visits pixels in and once (of the negated values: three times slower
on a frame whose seed is one value inside) for their ranks. :func:`filled_from_edge` makes
both from one stable sort and runs skimage's own loop on them: the reconstruction is unique,
so the values are the same bit for bit (0.56 -> 0.2 s on a 960 x 960 frame).
"""

from __future__ import annotations

import numpy as np


def filled_from_edge(frame: np.ndarray) -> np.ndarray:
    """``frame`` with each basin not open to its edge filled to its lowest saddle.

    Parameters
    ----------
    frame : numpy.ndarray
        2D float array, at least 3 x 3.

    Returns
    -------
    numpy.ndarray
        ``skimage.morphology.reconstruction(seed, frame, method="erosion")`` where ``seed`` is
        ``frame`` on its edge and ``frame.max()`` inside (the same values; float32 for a
        float32 frame, float64 otherwise, as skimage returns).
    """
    frame = np.asarray(frame)
    seed = frame.copy()
    seed[1:-1, 1:-1] = frame.max()
    try:
        from skimage.morphology._grayreconstruct import reconstruction_loop
    except ImportError:  # skimage moved its loop: its public function, the same values
        reconstruction_loop = None
    if reconstruction_loop is None or frame.ndim != 2 or np.isnan(frame).any():
        from skimage.morphology import reconstruction

        return reconstruction(seed, frame, method="erosion")
    dtype = np.float32 if frame.dtype == np.float32 else np.float64
    height, width = frame.shape[0] + 2, frame.shape[1] + 2
    # seed and frame stacked, each padded by one pixel of the seed's maximum (as skimage)
    images = np.full((2, height, width), seed.max(), dtype=dtype)
    images[0, 1:-1, 1:-1] = seed
    images[1, 1:-1, 1:-1] = frame
    flat = images.reshape(-1)
    signed = np.result_type(np.min_scalar_type(-flat.size), np.int32)
    unsigned = np.dtype(signed.char.upper())
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    index_sorted = order.astype(signed, copy=False)
    del order
    following = np.full(flat.size, -1, signed)
    preceding = np.full(flat.size, -1, signed)
    preceding[index_sorted[1:]] = index_sorted[:-1]
    following[index_sorted[:-1]] = index_sorted[1:]
    # ranks of the negated values (0 the largest), and the value of each rank
    step = ordered[1:] != ordered[:-1]
    ascending = np.zeros(flat.size, dtype=unsigned)
    np.cumsum(step, out=ascending[1:], dtype=unsigned)
    top = int(ascending[-1])
    values = np.empty(top + 1, dtype=dtype)
    values[0] = ordered[0]
    values[1:] = ordered[1:][step]
    rank = np.empty(flat.size, dtype=unsigned)
    rank[index_sorted] = unsigned.type(top) - ascending
    del ascending, ordered, step
    # the 8 neighbours' offsets in the padded frame, in skimage's order
    neighbours = np.array(
        [dy * width + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx], dtype=signed
    )
    reconstruction_loop(rank, preceding, following, neighbours, index_sorted[0], height * width)
    filled = values[::-1][rank[: height * width]].reshape(height, width)
    return filled[1:-1, 1:-1]
