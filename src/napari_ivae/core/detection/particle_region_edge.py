"""Particles strung along the edge between two large areas: a film's edge, not particles.

A frame that holds two large areas of different level (a carbon film's edge across a hole in
cryo-EM, a support's edge) has a step between them, and a defocused step rings: its fringes
are a string of small blobs along the edge. Where the particles themselves are too faint for
the search, those fringe blobs are all that is kept (stranger_optical cryo_ctf_carbon: 19 of
25 and 23 of 23 points on the edge, none of ~120 particles). The two areas are the frame
smoothed at a large scale cut at Otsu's level; the edge is their boundary where it forms one
long curve. Only said, not acted on (:mod:`~napari_ivae.core.detection.quality`): particles
may also line a real edge.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# the smoothing scale, as a fraction of the shorter side (a step's level, not its fringes)
SCALE = 1 / 64
# the steepest slope, robustly: this quantile of the smoothed frame's slope
STEEPEST = 0.999
# the edge band (2 smoothing scales each side) covers at most this share of the frame ...
MAX_BAND = 0.15
# ... and holds at least this share of the points (uniformly spread ones: the band's share)
MIN_SHARE = 2 / 3
# judged only over this many points
MIN_POINTS = 5


def on_region_edge(frame, points, excluded=None) -> int:
    """The number of points strung along a long step edge in the frame, or 0.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame searched.
    points : numpy.ndarray
        ``(N, 2)`` particle centres (row, col).
    excluded : numpy.ndarray of bool, optional
        Pixels left out (masks); no edge is taken there.

    Returns
    -------
    int
        The points within the band along the edge, where they are at least two thirds of
        all (at least 5) and the band is at most 15 % of the frame; else 0.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < MIN_POINTS or min(frame.shape) < 64:
        return 0
    # on a frame binned to a quarter of the smoothing scale: the step's level is all that is
    # looked at, and a 2048 x 2048 frame costs 2 s at full resolution
    factor = max(1, int(SCALE * min(frame.shape) / 4))
    frame = _binned(np.asarray(frame, dtype=np.float64), factor)
    if excluded is not None:
        excluded = _binned(np.asarray(excluded, dtype=np.float64), factor) > 0
    scale = SCALE * min(frame.shape)
    edge = _long_edge(_step(frame, scale, excluded), min(frame.shape) / 2)
    if not edge.any():
        return 0
    band = ndimage.distance_transform_edt(~edge) <= 2 * scale
    if band.mean() > MAX_BAND:
        return 0
    ij = np.clip(np.floor(points / factor).astype(int), 0, np.array(frame.shape) - 1)
    near = int(band[ij[:, 0], ij[:, 1]].sum())
    return near if near >= MIN_SHARE * len(points) else 0


def _binned(frame, factor):
    """``frame`` averaged over ``factor`` x ``factor`` blocks (a ragged edge left out)."""
    if factor == 1:
        return frame
    rows, cols = frame.shape[0] // factor, frame.shape[1] // factor
    blocks = frame[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    return blocks.mean(axis=(1, 3))


def _step(frame, scale, excluded):
    """Where the frame smoothed at ``scale`` changes at least half as steeply as its steepest."""
    rows = ndimage.gaussian_filter(frame, scale, order=(1, 0), mode="reflect")
    cols = ndimage.gaussian_filter(frame, scale, order=(0, 1), mode="reflect")
    slope = np.hypot(rows, cols)
    if excluded is not None:
        slope[np.asarray(excluded, dtype=bool)] = 0.0
    top = np.quantile(slope, STEEPEST)
    return slope >= 0.5 * top if top > 0 else np.zeros(frame.shape, dtype=bool)


def _long_edge(step, length):
    """The pixels of ``step`` in connected pieces spanning at least ``length``."""
    pieces, count = ndimage.label(step, structure=np.ones((3, 3)))
    keep = np.zeros(count + 1, dtype=bool)
    for index, where in enumerate(ndimage.find_objects(pieces), start=1):
        span = np.hypot(where[0].stop - where[0].start, where[1].stop - where[1].start)
        keep[index] = span >= length
    return keep[pieces]


def edge_warning(near: int, count: int, measures: dict) -> list:
    """The particles lie along one long step edge in the frame (a film's edge and its
    fringes, :func:`on_region_edge`); records ``region_edge`` in ``measures``."""
    if not near:
        return []
    measures["region_edge"] = near
    return [
        f"{near} of the {count} particles lie along one long edge between two areas of "
        "different level (a film's or support's edge, with its fringes): they may be the "
        "edge, not particles, and particles elsewhere may be too faint for the defaults; "
        "look at the overlay"
    ]


__all__ = ["edge_warning", "on_region_edge"]
