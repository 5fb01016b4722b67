"""A quick preview of particles at another threshold method or size floor, from an earlier
detection.

While the Detect dock's threshold method, polarity or size floor is changed in particle mode, the exact
detection (:func:`~napari_ivae.core.detection.particles.detect_particles`) takes 0.5-2 s of
CPU on a 1024² frame: the polarity's scale space, hole filling, the watershed split of
touching particles. The preview keeps the polarity the earlier detection of the same frame
resolved and does the cheap steps only: the light smoothing, the global (Otsu, Li) or local
threshold, the size filter and the border rule of
:func:`~napari_ivae.core.detection.particle_classic.threshold_objects`, and one point per
connected object at its centroid (a few hundredths of a second).

It is no detection: touching particles are not split, holes are not filled, Li's threshold
is found on a sample of the pixels. For the auto method (a scale-space search of a second or
more) only a change of the size floor is previewed: the earlier particles as large as the new
floor (:func:`large_enough`; the auto method applies its floor last, so this is its result
when the earlier floor was lower). The dock draws a preview marked as one and replaces it with
the exact result when that arrives.
"""

from __future__ import annotations

import numpy as np

PREVIEWED_METHODS = ("otsu", "li", "local")
# Li's iterations over every pixel take 50-80 ms on 1024²: a regular sample of this many
# pixels gives a threshold within the preview's accuracy
LI_SAMPLE = 2**17


def can_preview_particles(params: dict) -> bool:
    """Whether an earlier particle detection's ``params`` hold what a preview needs: one
    frame, no mask given, and the polarity its frame resolved."""
    if not isinstance(params, dict) or params.get("is_stack") or params.get("excluded_pixels"):
        return False
    resolved = params.get("resolved")
    return isinstance(resolved, dict) and resolved.get("polarity") in ("bright", "dark")


def smoothed_signal(frame: np.ndarray, previous: dict, polarity: str) -> np.ndarray:
    """``frame`` with the particles bright (``polarity``; ``"auto"``: as the earlier detection
    resolved it), smoothed as the threshold methods smooth it (float32)."""
    from scipy import ndimage

    if polarity == "auto":
        polarity = previous["resolved"]["polarity"]
    signal = np.asarray(frame, dtype=np.float32)
    if polarity == "dark":
        signal = -signal
    sigma = float(previous.get("sigma", 1.0))
    return ndimage.gaussian_filter(signal, sigma) if sigma > 0 else signal


def preview_particles(
    smoothed: np.ndarray, method: str, min_size: int | None = None, block_size: int | None = None
) -> np.ndarray:
    """One point per object of ``smoothed`` above the ``method``'s threshold.

    Parameters
    ----------
    smoothed : (Y, X) array
        The frame as :func:`smoothed_signal` returns it (particles bright).
    method : {"otsu", "li", "local"}
        The threshold, as :func:`~napari_ivae.core.detection.particle_classic.threshold_objects`
        computes it (Li's on a sample of the pixels).
    min_size : int, optional
        Objects smaller than this many pixels are left out; default as the detection's,
        ``max(10, 0.02 x`` the median object area``)``.
    block_size : int, optional
        The local threshold's block (odd); default as the detection's.

    Returns
    -------
    (N, 2) float array
        The objects' centroids (row, col); none touching the frame's edge.
    """
    from scipy import ndimage

    from napari_ivae.core.detection.particle_classic import default_min_size, thresholded

    if method not in PREVIEWED_METHODS:
        raise ValueError(f"no preview for method {method!r}; one of {PREVIEWED_METHODS}")
    smoothed = np.asarray(smoothed)
    if smoothed.size == 0 or smoothed.min() == smoothed.max():
        return np.zeros((0, 2))
    values = smoothed.ravel()
    if method == "li":
        values = values[:: max(1, smoothed.size // LI_SAMPLE)]
    foreground, _ = thresholded(smoothed, values, method, block_size)
    objects, count = ndimage.label(foreground)
    if count == 0:
        return np.zeros((0, 2))
    flat = objects.ravel()
    areas = np.bincount(flat, minlength=count + 1)
    if min_size is None:
        min_size = default_min_size(areas[1:])
    keep = areas >= min_size
    # the detection drops what touches the edge's two outer rows and columns (a dilated edge)
    edge = np.concatenate(
        [objects[:2].ravel(), objects[-2:].ravel(), objects[:, :2].ravel(), objects[:, -2:].ravel()]
    )
    keep[np.unique(edge)] = False
    keep[0] = False
    inside = np.flatnonzero(flat)
    index = flat[inside]
    rows, cols = np.divmod(inside, objects.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        centre_row = np.bincount(index, weights=rows, minlength=count + 1) / areas
        centre_col = np.bincount(index, weights=cols, minlength=count + 1) / areas
    kept = np.flatnonzero(keep)
    return np.column_stack([centre_row[kept], centre_col[kept]]).astype(np.float64)


def large_enough(points: np.ndarray, areas: np.ndarray, min_size: int | None) -> np.ndarray:
    """The ``(N, 2)`` ``points`` whose particles' ``areas`` (pixels) reach ``min_size``
    (``None``: all)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not min_size:
        return points
    return points[np.asarray(areas, dtype=np.float64) >= float(min_size)]


__all__ = [
    "PREVIEWED_METHODS",
    "can_preview_particles",
    "large_enough",
    "preview_particles",
    "smoothed_signal",
]
