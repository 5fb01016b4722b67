"""Particles strung along single scan lines: a line offset, not particles.

A scan whose lines carry offsets of their own (a flickering source, a drifting or jumping
scan) has lines that stand above the lines beside them over their whole length; at a small
scale such a line is a row of blobs. A real particle lifts the lines beside its centre's too
(it is more than one line high), and real particles spread over many lines. So where most
points lie on a few lines, each holding several of them, that stand above both neighbouring
lines by far more than a line's median can vary with the pixel noise, the points may be the
lines. Only said, not acted on (:mod:`~napari_ivae.core.detection.quality`).
"""

from __future__ import annotations

import numpy as np

# a line holding at least this many points is a string of them
MIN_ON_LINE = 5
# the points on such lines are at least this share of all
MIN_SHARE = 2 / 3
# a line stands out when above both neighbours by this many standard errors of their difference
STANDS_OUT = 6.0


def on_single_lines(frame, points, polarity: str, excluded=None) -> int:
    """The number of points strung along single scan lines (rows or columns), or 0.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame searched.
    points : numpy.ndarray
        ``(N, 2)`` particle centres (row, col).
    polarity : str
        ``"bright"`` or ``"dark"``: the side the particles stand out to.
    excluded : numpy.ndarray of bool, optional
        Pixels left out (masks): not part of any line's median.

    Returns
    -------
    int
        The points on lines that each hold at least 5 of them and stand out from both
        neighbouring lines, where they are at least two thirds of all points; else 0.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < MIN_ON_LINE or min(frame.shape) < 8:
        return 0
    values = np.asarray(frame, dtype=np.float64)
    if excluded is not None and np.asarray(excluded).any():
        values = np.where(np.asarray(excluded, dtype=bool), np.nan, values)
    sign = -1.0 if polarity == "dark" else 1.0
    return max(_on_lines(sign * values, points, axis) for axis in (0, 1))


def _on_lines(values, points, axis: int) -> int:
    """:func:`on_single_lines` along ``axis`` (0: rows are the lines)."""
    lines = values if axis == 0 else values.T
    index = np.clip(np.round(points[:, axis]).astype(int), 0, lines.shape[0] - 1)
    held = np.bincount(index, minlength=lines.shape[0])
    crowded = np.flatnonzero(held >= MIN_ON_LINE)
    if held[crowded].sum() < MIN_SHARE * len(points):
        return 0
    with np.errstate(all="ignore"):
        medians = np.nanmedian(lines, axis=1)
        # the pixel noise from differences along the lines (which no line offset reaches)
        along = np.diff(lines, axis=1)
        noise = 1.4826 * np.nanmedian(np.abs(along - np.nanmedian(along))) / np.sqrt(2.0)
    if not np.isfinite(noise) or noise <= 0:
        return 0
    # a line's median varies as 1.25 x noise / sqrt(length); two of them differ by sqrt(2) more
    error = 1.25 * noise * np.sqrt(2.0 / lines.shape[1])
    padded = np.pad(medians, 1, mode="edge")
    above = medians - np.maximum(padded[:-2], padded[2:])
    standing = crowded[above[crowded] > STANDS_OUT * error]
    on = int(held[standing].sum())
    return on if on >= MIN_SHARE * len(points) else 0


def lines_warning(near: int, count: int, measures: dict) -> list:
    """The particles lie along single scan lines that stand out from their neighbours
    (:func:`on_single_lines`); records ``scan_lines`` in ``measures``."""
    if not near:
        return []
    measures["scan_lines"] = near
    return [
        f"{near} of the {count} particles lie along single scan lines that stand above the "
        "lines beside them (line offsets: a flickering source or a jumping scan): they may "
        "be the lines, not particles; level the lines (subtract each line's median) and "
        "detect again, or look at the overlay"
    ]


__all__ = ["lines_warning", "on_single_lines"]
