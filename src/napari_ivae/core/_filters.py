"""Fast separable image filters for peak finding on large float32 frames.

``scipy.ndimage`` filters along axis 0 of a C-ordered image walk memory with a large stride and
are about three times slower than along axis 1; here the axis-0 pass is a handful of whole-row
numpy operations instead (results equal ``ndimage``'s to float32 rounding).
"""

from __future__ import annotations

import numpy as np


def gaussian_smooth(image: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian blur in float32, edges reflected (``ndimage.gaussian_filter`` defaults).

    Parameters
    ----------
    image : numpy.ndarray
        2D frame.
    sigma : float
        Standard deviation in pixels (``<= 0`` returns a float32 copy).
    truncate : float
        Kernel half-width in standard deviations.

    Returns
    -------
    numpy.ndarray
        Smoothed float32 frame, same shape.
    """
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float32)
    if sigma <= 0:
        return image.copy()
    radius = int(truncate * float(sigma) + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / float(sigma)) ** 2)
    kernel = (taps / taps.sum()).astype(np.float32)
    if min(image.shape) <= radius:  # too small to pad by one reflection
        return ndimage.gaussian_filter(image, float(sigma), truncate=truncate)
    out = np.empty_like(image)
    # blocks of rows: every temporary stays in the CPU cache (about twice as fast)
    for first, last, block in _row_blocks(image, radius, radius, "symmetric", radius):
        out[first:last] = _symmetric_correlate(_symmetric_correlate(block, kernel, 1),
                                               kernel, 0)
    return out


def _row_blocks(image, above, below, mode, side):
    """Yield ``(first, last, block)``: rows ``first:last`` with ``above``/``below`` halo rows
    and ``side`` columns on each side, padded with ``np.pad`` ``mode`` at the image edges."""
    height = image.shape[0]
    step = _block_rows(image.shape[1])
    for first in range(0, height, step):
        last = min(first + step, height)
        top, bottom = max(first - above, 0), min(last + below, height)
        widths = ((above - (first - top), below - (bottom - last)), (side, side))
        yield first, last, np.pad(image[top:bottom], widths, mode=mode)


def _block_rows(width: int) -> int:
    return max(8, 2**17 // max(width, 1))


def _symmetric_correlate(padded: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Correlate with a symmetric odd ``kernel`` along ``axis`` of an already padded array."""
    radius = len(kernel) // 2
    length = padded.shape[axis] - 2 * radius

    def shifted(step):
        index = [slice(None), slice(None)]
        index[axis] = slice(radius + step, radius + step + length)
        return padded[tuple(index)]

    out = shifted(0) * kernel[radius]
    pair = np.empty_like(out)
    for step in range(1, radius + 1):  # one multiply per pair of taps
        np.add(shifted(-step), shifted(step), out=pair)
        pair *= kernel[radius + step]
        out += pair
    return out


def _running_max(padded: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``out[i] = max(padded[i : i + size])`` along ``axis``."""

    def cut(start, stop):
        index = [slice(None), slice(None)]
        index[axis] = slice(start, stop)
        return tuple(index)

    running, covered = padded, 1
    while covered * 2 <= size:
        running = np.maximum(running[cut(None, -covered)], running[cut(covered, None)])
        covered *= 2
    if covered < size:
        extra = size - covered
        running = np.maximum(running[cut(None, -extra)], running[cut(extra, None)])
    return running


def local_maxima(image: np.ndarray, size: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of pixels equal to the maximum of their ``size`` square and above ``floor``.

    Same as ``np.nonzero((image == maximum_filter_square(image, size)) & (image > floor))``,
    computed block by block without a full-size maximum image.
    """
    size = max(int(size), 1)
    half, rest = size // 2, size - 1 - size // 2
    rows, cols = [], []
    for first, last, block in _row_blocks(image, half, rest, "edge", half):
        if rest < half:  # even size: one column less on the right
            block = block[:, :block.shape[1] - (half - rest)]
        block_max = _running_max(_running_max(block, size, 0), size, 1)
        values = image[first:last]
        found = np.flatnonzero((values == block_max) & (values > floor))
        rows.append(found // image.shape[1] + first)
        cols.append(found % image.shape[1])
    return np.concatenate(rows), np.concatenate(cols)
