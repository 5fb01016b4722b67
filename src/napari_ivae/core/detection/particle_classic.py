"""The particle methods that take their settings from the caller: threshold + watershed
(``method="otsu" | "li" | "local"``) and Laplacian-of-Gaussian blobs (``method="log"``).

:func:`threshold_objects`: light Gaussian smoothing, a global (Otsu, Li) or local (block mean)
threshold, removal of objects smaller than ``min_size`` pixels, hole filling, a
distance-transform watershed that splits touching particles, and (optionally) removal of
objects touching the image border or the ``exclude`` mask. :func:`log_blobs`:
:func:`skimage.feature.blob_log`, a disc of radius ``sqrt(2) * sigma`` per blob.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.errors import InputError


def threshold_objects(signal, excluded, params):
    """Threshold, size filter, hole filling and watershed split of ``signal`` (particles
    bright) as ``params`` say; returns the labels and the settings used."""
    from scipy import ndimage
    from skimage import segmentation

    smoothed = ndimage.gaussian_filter(signal, params["sigma"]) if params["sigma"] > 0 else signal
    valid = smoothed[~excluded]
    if valid.size == 0 or valid.min() == valid.max():
        return np.zeros(signal.shape, dtype=np.int32), {"threshold": None}
    foreground, used = thresholded(smoothed, valid, params["method"], params["block_size"])
    foreground &= ~excluded
    if params["fill_holes"]:
        foreground = ndimage.binary_fill_holes(foreground)
    objects, _ = ndimage.label(foreground)
    areas = np.bincount(objects.ravel())[1:]
    min_size = params["min_size"]
    if min_size is None:
        min_size = default_min_size(areas)
    used["min_size"] = int(min_size)
    big_enough = np.concatenate([[False], areas >= min_size])
    foreground = big_enough[objects]
    if params["split"] and foreground.any():
        labels, used["min_separation"] = _watershed_split(foreground, params["min_separation"])
    else:
        labels = ndimage.label(foreground)[0]
    if params["exclude_border"]:
        touching = excluded.copy()
        touching[[0, -1], :] = touching[:, [0, -1]] = True
        edge = np.unique(labels[ndimage.binary_dilation(touching) & (labels > 0)])
        labels[np.isin(labels, edge)] = 0
        labels = segmentation.relabel_sequential(labels)[0]
    return labels.astype(np.int32), used


def thresholded(smoothed, valid, method: str, block_size: int | None = None):
    """The pixels of ``smoothed`` above ``method``'s threshold: Otsu's or Li's of the
    ``valid`` values, or (``"local"``) above the mean of their ``block_size`` block (default
    an eighth of the smaller side, odd, at least 15) and above Otsu's less half the values'
    spread. Returns the mask and the settings used (``threshold`` or ``block_size``)."""
    from skimage import filters

    if method == "local":
        block = block_size or (max(15, min(smoothed.shape) // 8) | 1)
        if block % 2 == 0 or block < 3:
            raise InputError(f"block_size must be an odd integer >= 3, got {block}.")
        foreground = smoothed > filters.threshold_local(smoothed, block, method="mean")
        foreground &= smoothed > filters.threshold_otsu(valid) - 0.5 * valid.std()
        return foreground, {"block_size": int(block)}
    threshold_fn = filters.threshold_otsu if method == "otsu" else filters.threshold_li
    threshold = float(threshold_fn(valid))
    return smoothed > threshold, {"threshold": threshold}


def default_min_size(areas) -> int:
    """The threshold methods' size floor: 2 % of the median object's area, at least 10 px."""
    return max(10, int(0.02 * np.median(areas))) if len(areas) else 10


def _watershed_split(foreground, min_separation):
    from scipy import ndimage
    from skimage import feature, segmentation

    distance = ndimage.distance_transform_edt(foreground)
    objects, n_objects = ndimage.label(foreground)
    if min_separation is None:
        areas = np.bincount(objects.ravel())[1:]
        radius = np.sqrt(np.median(areas) / np.pi)
        min_separation = max(2.0, 0.5 * radius)
    peaks = feature.peak_local_max(
        ndimage.gaussian_filter(distance, 1.0),
        min_distance=max(1, int(round(min_separation))),
        labels=objects,
        exclude_border=False,
    )
    markers = np.zeros(foreground.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # every object keeps at least one marker (tiny objects may have no distance peak)
    unmarked = np.setdiff1d(np.arange(1, n_objects + 1), np.unique(objects[markers > 0]))
    if len(unmarked):
        centres = ndimage.maximum_position(distance, objects, unmarked)
        for offset, centre in enumerate(centres):
            markers[centre] = len(peaks) + 1 + offset
    labels = segmentation.watershed(-distance, markers, mask=foreground)
    return labels, float(min_separation)


def log_blobs(signal, excluded, params):
    """LoG blobs of ``signal`` (particles bright) as ``params`` say, a disc label each, the
    largest first; returns the labels and the number of raw blobs."""
    from skimage import feature

    span = signal.max() - signal.min()
    scaled = (signal - signal.min()) / span if span > 0 else np.zeros_like(signal)
    blobs = feature.blob_log(
        scaled,
        min_sigma=params["min_sigma"],
        max_sigma=params["max_sigma"],
        num_sigma=10,
        threshold=params["log_threshold"],
        exclude_border=False,
    )
    labels = np.zeros(signal.shape, dtype=np.int32)
    rows, cols = np.indices(signal.shape)
    kept = 0
    for row, col, blob_sigma in sorted(blobs, key=lambda b: -b[2]):
        r, c = int(row), int(col)
        if excluded[r, c]:
            continue
        radius = np.sqrt(2.0) * blob_sigma
        if params["exclude_border"] and not (
            radius <= r < signal.shape[0] - radius and radius <= c < signal.shape[1] - radius
        ):
            continue
        kept += 1
        lo_r, hi_r = max(0, int(r - radius - 1)), min(signal.shape[0], int(r + radius + 2))
        lo_c, hi_c = max(0, int(c - radius - 1)), min(signal.shape[1], int(c + radius + 2))
        disc = (
            (rows[lo_r:hi_r, lo_c:hi_c] - row) ** 2 + (cols[lo_r:hi_r, lo_c:hi_c] - col) ** 2
        ) <= radius**2
        window = labels[lo_r:hi_r, lo_c:hi_c]
        window[disc & (window == 0)] = kept
    return labels, {"n_blobs_raw": int(len(blobs))}
