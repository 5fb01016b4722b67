"""The peaks of a blob response and their shape: round (a blob's) or along a ridge (an edge's).

:func:`signed_peaks` finds the maxima of ``-sigma^2 LoG`` signed for a polarity;
:func:`curvature_ratio` measures how round a peak is (about 1 at a blob, about 0 on a ridge) and
:func:`ridge_like` says whether a scale's strongest peaks lie on ridges, as flat-topped
particles' edges give them at every scale below the particles' own
(:mod:`~napari_ivae.core.detection.particle_blobs`, step 1).
"""

from __future__ import annotations

import numpy as np

RIDGE = 0.4  # strongest peaks whose principal curvatures' median ratio is below this: an edge
# the frame's slope over the response at the strongest peaks (scale-normalised): 1 on a straight
# edge's ridge, 0 at a symmetric blob's centre; at or above this median they follow an outline
OFF_CENTRE = 0.25


def signed_peaks(response: np.ndarray, polarity: str) -> np.ndarray:
    """Where ``response`` (``-sigma^2 LoG``, bright blobs positive; a layer or a scale space)
    signed for ``polarity`` is a maximum of its 3 x 3 (x 3) neighbourhood and above 0.

    For ``"dark"`` the minima below 0 of ``response`` itself: the same elements as the maxima
    of its negation, without the negated copy.
    """
    from napari_ivae.core.detection._filters import maximum_filter3, minimum_filter3

    if polarity == "bright":
        return (response == maximum_filter3(response)) & (response > 0)
    return (response == minimum_filter3(response)) & (response < 0)


def ridge_like(response, item, strongest) -> bool:
    """Whether the strongest peaks of a polarity at a scale lie on ridges: the median of their
    :func:`curvature_ratio` is below ``RIDGE``.

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` responses ``-sigma^2 LoG`` (bright blobs positive).
    item : tuple
        ``(strength, polarity, scale index)``, as the scale choice measures each pair.
    strongest : dict
        ``(polarity, scale index)`` -> flat indices of that pair's strongest peaks.

    Returns
    -------
    bool
    """
    _, name, index = item
    layer = response[index] if name == "bright" else -response[index]
    rows, cols = np.unravel_index(strongest[name, index], layer.shape)
    return bool(np.median(curvature_ratio(layer, rows, cols)) < RIDGE)


def off_centre(frame, response, scales, item, strongest) -> bool:
    """Whether the strongest peaks of a polarity at a scale lie on a slope of the frame (an
    outline's inner side), not at blob centres: the median of ``sigma |grad(G_sigma * frame)|
    / |sigma^2 LoG|`` there is ``OFF_CENTRE`` or more.

    A step edge smoothed at ``sigma`` has its ``sigma^2 LoG`` ridge one ``sigma`` inside, where
    the ratio is 1; a blob's peak at its centre has no slope (0). An outline's curvature makes
    its peaks round at scales near its own (the ends of an ellipse, a large particle's rim) while
    the ratio stays near 1/2.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame the response was computed on.
    response : numpy.ndarray
        ``(scales, Y, X)`` responses ``-sigma^2 LoG`` (bright blobs positive).
    scales : numpy.ndarray
        The sigmas of ``response``'s layers.
    item : tuple
        ``(strength, polarity, scale index)``, as the scale choice measures each pair.
    strongest : dict
        ``(polarity, scale index)`` -> flat indices of that pair's strongest peaks.

    Returns
    -------
    bool
    """
    from napari_ivae.core.detection.gaussian_points import gaussian_at

    _, name, index = item
    sigma = float(scales[index])
    rows, cols = np.unravel_index(strongest[name, index], response.shape[1:])
    # the two derivatives at the peaks only (the whole float32 frame's values to the bit)
    values = np.asarray(frame, dtype=np.float32)
    slope = np.hypot(
        gaussian_at(values, sigma, (1, 0), rows, cols),
        gaussian_at(values, sigma, (0, 1), rows, cols),
    )
    height = np.abs(response[index][rows, cols]).astype(np.float64)
    ratio = sigma * slope / np.maximum(height, np.finfo(np.float64).tiny)
    return bool(np.median(ratio) >= OFF_CENTRE)


def curvature_ratio(layer, rows, cols) -> np.ndarray:
    """The smaller over the larger principal curvature of ``layer`` at its peaks ``(rows,
    cols)``: about 1 at a blob's (round) peak, about 0 on a ridge (an edge's response), 0 where
    the peak is no maximum in both directions. Second differences of the 3 x 3 neighbourhood,
    the frame's edge repeated."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    above, below = np.maximum(rows - 1, 0), np.minimum(rows + 1, layer.shape[0] - 1)
    left, right = np.maximum(cols - 1, 0), np.minimum(cols + 1, layer.shape[1] - 1)

    def at(row, col):
        return np.asarray(layer[row, col], dtype=np.float64)

    centre = at(rows, cols)
    d_yy = at(below, cols) - 2 * centre + at(above, cols)
    d_xx = at(rows, right) - 2 * centre + at(rows, left)
    d_xy = 0.25 * (at(below, right) - at(below, left) - at(above, right) + at(above, left))
    half_trace = 0.5 * (d_xx + d_yy)
    root = np.sqrt(np.maximum(half_trace**2 - (d_xx * d_yy - d_xy**2), 0.0))
    steep, shallow = half_trace - root, half_trace + root  # at a maximum both below 0
    return np.where(steep < 0, shallow / np.where(steep < 0, steep, -1.0), 0.0)


__all__ = ["OFF_CENTRE", "RIDGE", "curvature_ratio", "off_centre", "ridge_like", "signed_peaks"]
