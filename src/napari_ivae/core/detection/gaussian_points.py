"""``scipy.ndimage.gaussian_filter``'s values at a few pixels only, equal to the bit.

Several blob tests read a smoothed window at a handful of pixels (a ridge's two sides and its
run, a response peak's 3 x 3 curvature) and paid for the whole window: a 150 px window at
sigma 8 is 150 x 150 x 2 x 33 pairs of taps for about 50 values read (real PtCo1: the lips'
and the round peaks' tests 0.30 s of its 1.6 s of CPU, 0.16 s now). Here the first axis's
pass runs on the rows the second needs only, and the second on the wanted pixels only, each
sum in ``ndimage.correlate1d``'s own order: the centre's tap, then the pairs of taps from the
outermost in, each pair added (or, for an odd derivative, subtracted) before it is weighted.
Each value is ``gaussian_filter``'s to the bit where scipy's loop is compiled without fused
multiply-add (its Linux wheels, x86-64 and aarch64); elsewhere a value may differ in its last
bit.
"""

from __future__ import annotations

import functools

import numpy as np

EPSILON = float(np.finfo(np.float64).eps)  # scipy's test of a kernel's (anti)symmetry
CACHED_VALUES = 1 << 15  # a first pass gathers at most this many values at once (256 kB)


def gaussian_at(image, sigma: float, order, rows, cols, truncate: float = 4.0) -> np.ndarray:
    """``ndimage.gaussian_filter(image, sigma, order, mode="reflect")[..., rows, cols]``.

    Parameters
    ----------
    image : numpy.ndarray
        ``(..., H, W)`` float64 or float32 frame or stack of frames, filtered along its last
        two axes (each frame alone, as ``gaussian_filter`` with a sigma of 0 on the leading
        axes). A float32 frame's passes are each rounded to float32, as ``gaussian_filter``
        stores them in a float32 output.
    sigma : float
        The Gaussian's standard deviation (pixels) along both axes; ``<= 1e-15`` filters
        nothing, as ``gaussian_filter`` skips such an axis.
    order : tuple of int
        The derivative's order along the rows and along the columns.
    rows, cols : array-like
        ``(P,)`` integer pixel indices inside the frame.
    truncate : float
        The kernel's half-width in sigmas (``gaussian_filter``'s).

    Returns
    -------
    numpy.ndarray
        ``(..., P)``: the filtered frame's values at the pixels (float32 for a float32 frame,
        else float64).
    """
    kept = np.float32 if np.asarray(image).dtype == np.float32 else np.float64
    image = np.asarray(image, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(cols, dtype=np.int64).reshape(-1)
    if float(sigma) <= 1e-15:
        return image[..., rows, cols].astype(kept)
    height, width = image.shape[-2:]
    needed, row_of = np.unique(rows, return_inverse=True)
    first = _rows_filtered(image, _taps(float(sigma), int(order[0]), truncate), needed, height)
    first = first.astype(kept).astype(np.float64)
    along = _taps(float(sigma), int(order[1]), truncate)
    reach = _reflected(cols, len(along) // 2, width)  # (P, 2K + 1) columns of each pixel
    return _correlated_lines(first[..., row_of[:, None], reach], along).astype(kept)


@functools.lru_cache(maxsize=64)
def _taps(sigma: float, order: int, truncate: float) -> np.ndarray:
    """``gaussian_filter1d``'s weights as ``correlate1d`` reads them (float64, reversed;
    read-only: kept for the next window of the same scale).

    Read off ``gaussian_filter1d``'s response to a unit impulse (its public interface): every
    other product is an exact zero, so each weight comes back to the bit.
    """
    from scipy import ndimage

    radius = int(truncate * float(sigma) + 0.5)
    impulse = np.zeros(4 * radius + 1)
    impulse[2 * radius] = 1.0
    response = ndimage.gaussian_filter1d(
        impulse, sigma, order=order, mode="constant", truncate=truncate
    )
    taps = np.ascontiguousarray(response[radius : 3 * radius + 1][::-1], dtype=np.float64)
    taps.flags.writeable = False
    return taps


def _reflected(centres: np.ndarray, radius: int, size: int) -> np.ndarray:
    """``(len(centres), 2 radius + 1)`` indices ``centre - radius ... centre + radius`` of a
    line of ``size`` pixels, mirrored at its ends as ``mode="reflect"`` (``d c b a | a b c d |
    d c b a``, repeatedly where the kernel is longer than the line)."""
    index = centres[:, None] + np.arange(-radius, radius + 1)[None, :]
    index = np.mod(index, 2 * size)
    return np.where(index >= size, 2 * size - 1 - index, index)


def _rows_filtered(image: np.ndarray, taps: np.ndarray, rows: np.ndarray, height: int):
    """The first pass (down the columns) at ``rows`` only: ``(..., R, W)``, summed in
    :func:`_ordered_sum`'s order; every tap's rows gathered at once where they fit in the
    CPU's cache (``CACHED_VALUES``), else each tap's in turn (a 3.5 MB gather: 10 x slower)."""
    reach = _reflected(rows, len(taps) // 2, height)  # (R, 2K + 1)
    radius = len(taps) // 2
    symmetry = _symmetry(taps)
    if symmetry == 0 or image[..., :1, :].size * reach.size <= CACHED_VALUES:
        return _ordered_sum(image[..., reach, :], taps, -2)
    total = image[..., reach[:, radius], :] * taps[radius]
    for step in range(radius):  # the pair (step, 2 radius - step), outermost first
        left, right = image[..., reach[:, step], :], image[..., reach[:, 2 * radius - step], :]
        pair = np.add(left, right, out=left) if symmetry > 0 else np.subtract(left, right, out=left)
        pair *= taps[step]
        total += pair
    return total


def _correlated_lines(lines: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """``ndimage.correlate1d``'s sum at the centre of each ``(..., 2K + 1)`` line."""
    return _ordered_sum(lines, taps, -1)


def _ordered_sum(lines: np.ndarray, taps: np.ndarray, axis: int) -> np.ndarray:
    """``sum(lines[k] x taps[k])`` over ``axis`` in ``correlate1d``'s order: for a symmetric
    kernel the centre's product, then ``(left + right) x tap`` from the outermost pair in;
    antisymmetric, ``(left - right) x tap``; else the last product, then every other one from
    the left. The terms are formed at once, then added one after the other in that order
    (the same roundings as ``correlate1d``'s loop)."""
    axis %= lines.ndim  # np.moveaxis(lines, axis, 0)'s view, without its argument checks
    lines = lines.transpose((axis, *(other for other in range(lines.ndim) if other != axis)))
    radius = len(taps) // 2
    column = (-1,) + (1,) * (lines.ndim - 1)
    symmetry = _symmetry(taps)
    if symmetry == 0:
        order = np.r_[len(taps) - 1, 0 : len(taps) - 1]
        terms = lines[order] * taps[order].reshape(column)
    else:
        left, right = lines[:radius], lines[2 * radius : radius : -1]
        pairs = left + right if symmetry > 0 else left - right
        pairs *= taps[:radius].reshape(column)
        terms = np.concatenate([lines[radius : radius + 1] * taps[radius], pairs])
    total = terms[0].copy()
    for term in terms[1:]:  # one after the other (np.add.accumulate: 25 x slower)
        total += term
    return total


def _symmetry(taps: np.ndarray) -> int:
    """``correlate1d``'s test: 1 for a symmetric odd kernel, -1 antisymmetric, else 0."""
    if len(taps) % 2 == 0:
        return 0
    radius = len(taps) // 2
    left, right = taps[radius - 1 :: -1][:radius], taps[radius + 1 :]
    if (np.abs(right - left) <= EPSILON).all():
        return 1
    if (np.abs(right + left) <= EPSILON).all():
        return -1
    return 0
