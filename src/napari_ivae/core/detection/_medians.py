"""Medians as ``numpy`` computes them, faster: of a large 1D array, per group, per row.

The particle search (:mod:`~napari_ivae.core.detection.particle_blobs` and its step modules)
takes many medians of large arrays; these give the same numbers as ``np.median`` /
``np.nanmedian`` with fewer passes.
"""

from __future__ import annotations

import math

import numpy as np


def _median(values: np.ndarray):
    """``np.median`` of a 1D array, the same number, 3-5 x faster on a large one.

    The middle values are selected among those between two bounds taken from a sorted sample
    (most values lie outside them and are only counted); where the bounds miss them, or a
    value is NaN, by a partition of the whole.

    Parameters
    ----------
    values : numpy.ndarray
        1D array.

    Returns
    -------
    numpy scalar
        The median, of ``values``' dtype (NaN if any value is NaN).
    """
    values = np.asarray(values)
    size = values.size
    if values.ndim != 1 or size == 0 or values.dtype not in (np.float32, np.float64):
        return np.median(values)
    ranks = [size // 2] if size % 2 else [size // 2 - 1, size // 2]
    middle = _order_statistics(values, ranks)
    if middle is None:  # a NaN
        return np.median(values)
    if size % 2:
        return middle[0]
    return (middle[0] + middle[1]) / values.dtype.type(2)  # as np.median


def _quantile(values: np.ndarray, q: float):
    """``np.quantile(values, q)`` (its default, linear method) of a 1D array, the same number:
    the two values about the quantile selected as :func:`_median` selects its middle ones
    (a partition of a small part of a large array, not of the whole), then mixed as numpy's
    ``_lerp`` mixes them (in the values' dtype, from the far end when past halfway). A zero
    where -0.0 and 0.0 tie may come with the other sign (a partition may order them either
    way)."""
    values = np.asarray(values)
    size = values.size
    virtual = (size - 1) * np.float64(q)  # numpy's virtual index
    if (
        values.ndim != 1
        or values.dtype not in (np.float32, np.float64)
        or not 0.0 <= virtual < size - 1
    ):
        return np.quantile(values, q)
    below = np.floor(virtual)
    pair = _order_statistics(values, [int(below), int(below) + 1])
    if pair is None:  # a NaN
        return np.quantile(values, q)
    low, high = pair
    gamma = float(virtual - below)
    step = high - low
    if gamma >= 0.5:
        return high - step * (1 - gamma)
    return low + step * gamma


def _order_statistics(values: np.ndarray, ranks: list) -> list | None:
    """The values of the given (ascending, 0-based) ranks in sorted order; None if any is NaN."""
    size = values.size
    if size >= 1 << 14:
        # a sample of 8 sqrt(size) values (2 048 - 16 384), the bounds 2.8 of its rank's
        # standard errors either side: the larger the array, the narrower a share it selects
        sample = np.sort(values[:: size // min(max(8 * math.isqrt(size), 2048), 16384)])
        margin = int(1.415 * math.sqrt(len(sample)))  # 64 of 2 048
        at = [rank * len(sample) // size for rank in ranks]
        low = sample[max(at[0] - margin, 0)]
        high = sample[min(at[-1] + margin, len(sample) - 1)]
        from_low, to_high = values >= low, values <= high  # two passes over the values, not four
        above_low, up_to_high = np.count_nonzero(from_low), np.count_nonzero(to_high)
        inside = values[np.logical_and(from_low, to_high, out=to_high)]
        below = size - above_low
        # a number is >= low or <= high or both (inside); a NaN is neither
        counted = above_low + up_to_high == size + len(inside)
        if counted and below <= ranks[0] and ranks[-1] < below + len(inside):
            part = np.partition(inside, [rank - below for rank in ranks])
            return [part[rank - below] for rank in ranks]
    part = np.partition(values, ranks)
    if np.isnan(part[ranks[-1] :].max()):  # NaN sorts last
        return None
    return [part[rank] for rank in ranks]


def _group_medians(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``np.median`` of ``values`` in each group (integer labels), groups in ascending order:
    one sort instead of a call per group."""
    order = _by_group_then_value(values, groups)
    values, groups = values[order], groups[order]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    counts = np.diff(np.r_[starts, len(values)])
    low = values[starts + (counts - 1) // 2]
    high = values[starts + counts // 2]
    return (low + high) / values.dtype.type(2)  # as np.median: the two middle values' mean


def _by_group_then_value(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``np.lexsort((values, groups))``, the same permutation: a stable sort of the values,
    then a stable sort of their groups (labels that fit 16 bits: numpy's radix sort), about
    twice as fast as lexsort's two indirect merge sorts on a frame's labelled pixels."""
    by_value = np.argsort(values, kind="stable")
    groups = np.asarray(groups)[by_value]
    if groups.size and groups.dtype.kind in "iu" and groups.min() >= 0 and groups.max() < 1 << 16:
        groups = groups.astype(np.uint16)
    return by_value[np.argsort(groups, kind="stable")]


def _median_of_numbers(values) -> np.ndarray:
    """``numpy.nanmedian`` over the last axis (NaN where a row holds none), by one sort."""
    ordered = np.sort(values, axis=-1)  # NaN last
    count = (~np.isnan(values)).sum(axis=-1, keepdims=True)
    lower = np.maximum((count - 1) // 2, 0)
    take = np.take_along_axis
    middle = 0.5 * (
        take(ordered, lower, axis=-1) + take(ordered, count // 2 - (count == 0), axis=-1)
    )
    return np.where(count > 0, middle, np.nan)[..., 0]
