"""``skimage.feature.peak_local_max`` without a border or labels, its spacing kept on a grid.

skimage keeps its peaks at least ``min_distance`` apart by a greedy pass over them (highest
first) that asks a k-d tree for every accepted peak's neighbours, in batches that repeat the
pass over the peaks accepted so far: on a distance transform's plateaus (thousands of equal
maxima) that was 0.5 s of a 1024 px frame's packed-layer test. The peaks are pixels and the
spacing a Chebyshev distance, so the same greedy pass can mark each accepted peak's square on
a grid instead: the same peaks in the same order.
"""

from __future__ import annotations

import numpy as np


def spaced_peaks(image: np.ndarray, min_distance: int, threshold: float) -> np.ndarray:
    """``peak_local_max(image, min_distance, threshold_abs=threshold, exclude_border=False)``
    of a 2-D ``image``: the same ``(N, 2)`` (row, col) peaks in the same order.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image.
    min_distance : int
        At least 1: a peak is the maximum of the ``2 min_distance + 1`` square around it
        (the frame's edge repeated beyond it), and the peaks kept lie at a Chebyshev
        distance of at least ``min_distance`` from every higher one kept (ties: row-major).
    threshold : float
        Peaks strictly above this value only.

    Returns
    -------
    numpy.ndarray
        ``(N, 2)`` int64 (row, col) of the peaks, highest first.
    """
    from scipy import ndimage

    size = 2 * int(min_distance) + 1
    peak = image == ndimage.maximum_filter(image, size=size, mode="nearest")
    if np.all(peak):
        peak[:] = False  # a constant image has no peak (skimage's rule)
    peak &= image > threshold
    found = np.nonzero(peak)
    order = np.argsort(-image[found], kind="stable")
    coords = np.transpose(found)[order]
    if min_distance <= 1 or len(coords) < 2:
        return coords
    reach = int(min_distance) - 1  # rejected: closer than min_distance, i.e. within reach
    blocked = np.zeros(image.shape, dtype=bool)
    kept = []
    for index, (row, col) in enumerate(coords.tolist()):
        if blocked[row, col]:
            continue
        kept.append(index)
        blocked[max(row - reach, 0) : row + reach + 1, max(col - reach, 0) : col + reach + 1] = True
    return coords[kept]
