"""Per-frame kernels of :func:`napari_ivae.core.analysis.maps.point_map`: nearest-neighbour (Voronoi)
and normalised Gaussian splatting, both masked beyond a maximum distance.

Work is chunked over image rows so memory stays proportional to the map, not to
``pixels x points``.
"""

from __future__ import annotations

import numpy as np

QUERY_CHUNK = 1 << 17  # pixels queried at once in the k-d tree


def median_neighbour_distance(point_sets: list[np.ndarray]) -> float | None:
    """Median distance from each point to its nearest neighbour in the same frame."""
    from scipy.spatial import cKDTree

    distances = []
    for points in point_sets:
        if len(points) >= 2:
            d, _ = cKDTree(points).query(points, k=2)
            distances.append(d[:, 1])
    if not distances:
        return None
    median = float(np.median(np.concatenate(distances)))
    return median if median > 0 else None


def _row_chunks(shape):
    rows = max(1, QUERY_CHUNK // max(1, shape[1]))
    for start in range(0, shape[0], rows):
        stop = min(start + rows, shape[0])
        rr, cc = np.mgrid[start:stop, 0 : shape[1]]
        yield slice(start, stop), np.column_stack([rr.ravel(), cc.ravel()]).astype(np.float64)


def query_within(tree, pixels: np.ndarray, max_distance) -> np.ndarray:
    """Index of each pixel's nearest point in ``tree`` (a ``cKDTree``), ``-1`` where that
    point is farther than ``max_distance``: one distance, or one per point (a particle's own
    reach, :func:`~napari_ivae.core.analysis.maps.point_reach`)."""
    reach = np.asarray(max_distance, dtype=np.float64)
    bound = float(reach.max()) if reach.ndim else float(reach)
    dist, nearest = tree.query(pixels, k=1, distance_upper_bound=bound)
    near = np.isfinite(dist)
    if reach.ndim:  # the nearest point's own reach
        near[near] = dist[near] <= reach[nearest[near]]
    return np.where(near, nearest, -1)


def nearest_index(points: np.ndarray, shape, max_distance) -> np.ndarray:
    """``(Y, X)`` int64 index of the nearest point of each pixel, ``-1`` beyond ``max_distance``
    (one distance, or one per point)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    index = np.empty(shape, dtype=np.int64)
    for rows, pixels in _row_chunks(shape):
        nearest = query_within(tree, pixels, max_distance)
        index[rows] = nearest.reshape(rows.stop - rows.start, shape[1])
    return index


def voronoi_frame(values: np.ndarray, points: np.ndarray, shape, max_distance) -> np.ndarray:
    """``(Y, X, C)`` map: each pixel takes the value of its nearest point (NaN when too far)."""
    index = nearest_index(points, shape, max_distance)
    padded = np.vstack([values, np.full((1, values.shape[1]), np.nan, dtype=values.dtype)])
    return padded[index]  # index -1 picks the NaN row


def gaussian_frame(values, points, shape, sigma: float, max_distance) -> np.ndarray:
    """``(Y, X, C)`` normalised Gaussian-weighted average of the point values.

    Each point is splatted bilinearly onto its 4 neighbouring pixels, then numerator and
    weights are blurred with the same Gaussian: ``map = G*(v w) / G*(w)``. Pixels farther than
    ``max_distance`` from every point are NaN.
    """
    from scipy import ndimage

    height, width = shape
    r0 = np.floor(points[:, 0]).astype(np.int64)
    c0 = np.floor(points[:, 1]).astype(np.int64)
    fr = points[:, 0] - r0
    fc = points[:, 1] - c0
    index_parts, weight_parts, source_parts = [], [], []
    corners = (
        (0, 0, (1 - fr) * (1 - fc)),
        (1, 0, fr * (1 - fc)),
        (0, 1, (1 - fr) * fc),
        (1, 1, fr * fc),
    )
    for dr, dc, w in corners:
        rr, cc = r0 + dr, c0 + dc
        ok = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width) & (w > 0)
        index_parts.append(rr[ok] * width + cc[ok])
        weight_parts.append(w[ok])
        source_parts.append(np.flatnonzero(ok))
    flat_index = np.concatenate(index_parts)
    splat_weight = np.concatenate(weight_parts)
    source = np.concatenate(source_parts)

    def blurred(weights):
        splat = np.bincount(flat_index, weights=weights, minlength=height * width).reshape(shape)
        return ndimage.gaussian_filter(splat, sigma, mode="constant", output=np.float32)

    norm = blurred(splat_weight)
    tiny = np.float32(1e-12 * max(1.0, float(norm.max())))
    empty = (norm <= tiny) | ~within_distance(points, shape, max_distance)
    np.maximum(norm, tiny, out=norm)
    out = np.empty((height, width, values.shape[1]), dtype=np.float32)
    for ch in range(values.shape[1]):
        channel = blurred(splat_weight * values[source, ch])
        channel /= norm
        channel[empty] = np.nan
        out[..., ch] = channel
    return out


def within_distance(points: np.ndarray, shape, max_distance) -> np.ndarray:
    """``(Y, X)`` bool: True where the nearest point lies within ``max_distance`` (one
    distance, or one per point)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    near = np.empty(shape, dtype=bool)
    for rows, pixels in _row_chunks(shape):
        nearest = query_within(tree, pixels, max_distance)
        near[rows] = (nearest >= 0).reshape(rows.stop - rows.start, shape[1])
    return near
