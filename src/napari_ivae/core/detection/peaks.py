"""Peak finding on a smoothed frame: local maxima thinned to a minimum distance, their local
contrast, and the noise level it is judged against.

The pieces of :func:`napari_ivae.core.detection.atoms.detect_atoms` that work on any frame of peaks.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.pixel_noise import pixel_noise_from_differences
from napari_ivae.core.detection.point_columns import points_of, row_count, taken

MAX_ROUNDS = 64  # vectorised rounds of the close-point thinning before it goes point by point


def ring_mean(smoothed, points, spacing):
    """Mean smoothed value on a circle of radius 0.5 spacing (24 samples) around each point.

    For a full circle this equals the value, at the centre, of the best plane through the
    samples, so ``peak - ring mean`` is a local contrast that ignores background slopes.
    """
    from napari_ivae.core.detection.refine import gather_offsets

    if len(points) == 0:
        return np.zeros(0)
    angles = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
    ring = np.rint(0.5 * spacing * np.column_stack([np.sin(angles), np.cos(angles)]))
    return gather_offsets(smoothed, points, ring).mean(axis=1, dtype=np.float64)


def find_peaks(smoothed: np.ndarray, min_distance: float, skip=None) -> np.ndarray:
    """Integer (row, col) local maxima at least ``min_distance`` apart (brightest kept).

    A square maximum filter gives the candidates; plateaus and pairs that are closer than
    ``min_distance`` in Euclidean distance are thinned by :func:`close_point_losers`.
    ``skip`` is an optional mask of pixels where no peak may be (constant padding: every
    pixel of a plateau is a maximum).
    """
    from napari_ivae.core.detection._filters import local_maxima

    # the square inscribed in the disc, and at least a pixel's eight neighbours: under 1.42 px
    # the square is the pixel alone, every pixel a "maximum" that only the thinning sorts
    # (a lattice at 2.5-3.5 px spacing: 5 noise candidates per atom)
    size = max(2 * int(np.floor(min_distance / np.sqrt(2))) + 1, 3)
    rows, cols = local_maxima(smoothed, size, smoothed.min())  # flat background is no peak
    if skip is not None:
        keep = ~skip[rows, cols]
        rows, cols = rows[keep], cols[keep]
    points = np.column_stack([rows, cols]).astype(np.int64)
    return points[~close_point_losers(points, smoothed[rows, cols], min_distance)]


def flat_mask(frame: np.ndarray, size: int = 25) -> np.ndarray:
    """Pixels inside a ``size x size`` window of one constant value (padding, blanking).

    Such areas have no noise to measure and no atoms; every pixel of a plateau would be a
    local maximum. The window is large so that the zero counts of a low-dose image's dark
    parts do not count as flat.
    """
    from napari_ivae.core.detection._filters import square_extreme

    frame = np.asarray(frame)
    repeats = np.count_nonzero(frame[:, 1:] == frame[:, :-1])
    if repeats < size * size:  # not even one flat window's worth of equal neighbours
        return np.zeros(frame.shape, dtype=bool)
    constant = square_extreme(frame, size) == square_extreme(frame, size, np.minimum)
    # a square dilation, separable (far faster than binary_dilation with a 25 x 25 element)
    return square_extreme(constant.view(np.uint8), size).view(bool)


def merge_close_points(table, distance: float):
    """Drop every point closer than ``distance`` to a brighter kept point.

    Parameters
    ----------
    table : dict of column arrays or pandas.DataFrame
        Needs ``row``, ``col`` and ``intensity`` columns.
    distance : float
        Merge radius in pixels (``<= 0`` keeps everything).

    Returns
    -------
    (dict or pandas.DataFrame, int)
        The kept rows (original order), as the table was given, and how many were dropped.
    """
    columns = isinstance(table, dict)
    if distance <= 0 or (row_count(table) if columns else len(table)) < 2:
        return table, 0
    if columns:
        points, intensity = points_of(table), np.asarray(table["intensity"])
    else:
        points, intensity = table[["row", "col"]].to_numpy(), table["intensity"].to_numpy()
    removed = close_point_losers(points, intensity, distance)
    if not removed.any():
        return table, 0
    if columns:
        return taken(table, ~removed), int(removed.sum())
    return table[~removed].reset_index(drop=True), int(removed.sum())


def close_point_losers(points: np.ndarray, intensity: np.ndarray, distance: float) -> np.ndarray:
    """Mask of the points a brighter kept point lies closer than ``distance`` to.

    The result of visiting points brightest first and keeping each one that has no kept point
    within ``distance`` (ties: the earlier point counts as brighter). Computed in rounds over
    the close pairs instead of a Python loop: in each round, points with a kept brighter
    neighbour are dropped, and points whose brighter neighbours are all dropped are kept.
    """
    removed = np.zeros(len(points), dtype=bool)
    if distance <= 0 or len(points) < 2:
        return removed
    first, second = _close_pair_columns(points, distance)
    if len(first) == 0:
        return removed
    rank = np.empty(len(points), dtype=np.int64)
    rank[np.argsort(-np.asarray(intensity), kind="stable")] = np.arange(len(points))
    first_wins = rank[first] < rank[second]
    brighter = np.where(first_wins, first, second)
    dimmer = np.where(first_wins, second, first)
    state = np.zeros(len(points), dtype=np.int8)  # 0 undecided, 1 kept, -1 dropped
    involved = np.zeros(len(points), dtype=bool)
    involved[first] = True
    involved[second] = True
    if not _decided_in_rounds(state, brighter, dimmer, np.flatnonzero(involved)):
        # long chains of ever dimmer neighbours: finish brightest first, one by one
        _finish_in_order(state, rank, brighter, dimmer)
    removed[state == -1] = True
    return removed


def _decided_in_rounds(state, brighter, dimmer, involved) -> bool:
    """Up to ``MAX_ROUNDS`` rounds of :func:`close_point_losers` on ``state`` (in place);
    whether every pair was decided. A pair whose dimmer point is decided or whose brighter
    point is dropped never counts again, so each round looks at the pairs and points still
    undecided only."""
    waiting = np.zeros(len(state), dtype=bool)  # an undecided brighter neighbour
    for _ in range(MAX_ROUNDS):
        live = (state[brighter] >= 0) & (state[dimmer] == 0)
        if not live.any():
            return True
        brighter, dimmer = brighter[live], dimmer[live]
        state[dimmer[state[brighter] == 1]] = -1
        held = dimmer[state[brighter] == 0]
        waiting[held] = True
        involved = involved[state[involved] == 0]
        state[involved[~waiting[involved]]] = 1
        waiting[held] = False
    return False


def close_pairs(points: np.ndarray, distance: float) -> np.ndarray:
    """``(P, 2)`` index pairs of the points at most ``distance`` apart, as
    ``cKDTree.query_pairs`` finds them (in another order). Distinct integer points a short
    reach apart (a frame's peaks) are paired by looking up each offset on a raster."""
    return np.column_stack(_close_pair_columns(points, distance))


def _close_pair_columns(points: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`close_pairs` as its two columns."""
    points = np.asarray(points)
    offsets = _raster_offsets(points, distance)
    if offsets is not None:
        pairs = _raster_pairs(points, offsets)
        if pairs is not None:
            return pairs
    from scipy.spatial import cKDTree

    # an unbalanced tree builds faster, and the queries here are few and short
    tree = cKDTree(np.asarray(points, dtype=np.float64), balanced_tree=False, compact_nodes=False)
    pairs = tree.query_pairs(distance, output_type="ndarray").reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


RASTER_OFFSETS = 12  # the raster pairs points this few offsets apart at most (else a tree)


def _raster_offsets(points: np.ndarray, distance: float):
    """The half-plane of integer offsets whose squared length is at most ``distance``
    squared, compared as the tree compares them; ``None`` where the raster does not apply
    (points not integers, or too many offsets)."""
    if points.ndim != 2 or points.shape[1] != 2 or not np.issubdtype(points.dtype, np.integer):
        return None
    if not distance < RASTER_OFFSETS:
        return None
    reach = int(np.floor(distance))
    rows, cols = np.mgrid[0 : reach + 1, -reach : reach + 1]
    ahead = (rows > 0) | ((rows == 0) & (cols > 0))
    within = (rows * rows + cols * cols).astype(np.float64) <= float(distance) * float(distance)
    offsets = np.column_stack([rows[ahead & within], cols[ahead & within]])
    return offsets if len(offsets) <= RASTER_OFFSETS else None


def _raster_pairs(points: np.ndarray, offsets: np.ndarray):
    """The pairs of ``points`` one of ``offsets`` apart, by an index raster over their
    bounding box (padded by the offsets' reach); ``None`` where the points repeat or the
    raster would be sparse."""
    low = points.min(axis=0)
    reach = int(np.abs(offsets).max())
    rows, cols = points.max(axis=0) - low + 1 + reach
    cols += reach
    if rows * cols > 16 * len(points) + 4096:
        return None
    place = (points[:, 0] - low[0]) * cols + (points[:, 1] - low[1] + reach)
    index = np.full(int(rows * cols), -1, dtype=np.int64)
    index[place] = np.arange(len(points))
    if np.count_nonzero(index >= 0) != len(points):  # a point given twice
        return None
    first = np.empty(len(points) * len(offsets), dtype=np.int64)
    second = np.empty_like(first)
    found = 0
    for step in offsets[:, 0] * cols + offsets[:, 1]:
        other = index[place + step]
        near = np.flatnonzero(other >= 0)
        first[found : found + len(near)] = near
        second[found : found + len(near)] = other[near]
        found += len(near)
    return first[:found], second[:found]


def _finish_in_order(state, rank, brighter, dimmer):
    """Decide the undecided points in brightness order (the greedy rule, sequentially)."""
    from scipy import sparse

    n = len(state)
    # neighbours as a sparse matrix: row = point, columns = its brighter neighbours
    above = sparse.csr_matrix((np.ones(len(dimmer), dtype=bool), (dimmer, brighter)), shape=(n, n))
    for point in np.flatnonzero(state == 0)[np.argsort(rank[state == 0])]:
        neighbours = above.indices[above.indptr[point] : above.indptr[point + 1]]
        state[point] = -1 if (state[neighbours] == 1).any() else 1


def smoothed_noise(frame: np.ndarray, sigma: float, skip=None) -> float:
    """Robust noise standard deviation of ``frame`` after Gaussian smoothing with ``sigma``.

    The pixel noise comes from the pixel-to-pixel differences
    (:func:`~napari_ivae.core.detection.pixel_noise.pixel_noise_from_differences`: their median
    absolute value, insensitive to atoms and background gradients, while it agrees with their
    trimmed RMS); white noise shrinks by ``1 / (2 sqrt(pi) sigma)`` under
    smoothing. Differences touching a ``skip`` pixel (constant padding, see
    :func:`flat_mask`) are left out: they are zero and would hide the noise.
    """
    step = max(1, int(np.sqrt(frame.size / 50_000)))  # ~100 000 differences are plenty
    pairs = [
        (
            np.diff(frame[::step, :], axis=1)[:, ::step],
            (slice(None, None, step), slice(None, -1, step)),
        ),
        (
            np.diff(frame[:, ::step], axis=0)[::step],
            (slice(None, -1, step), slice(None, None, step)),
        ),
    ]
    differences = np.concatenate(
        [
            (
                values[~skip[index][: values.shape[0], : values.shape[1]]]
                if skip is not None
                else values.ravel()
            )
            for values, index in pairs
        ]
    )
    return float(pixel_noise_from_differences(differences) * smoothing_factor(sigma))


def smoothing_factor(sigma: float) -> float:
    """How much Gaussian smoothing with ``sigma`` (px) shrinks white noise's standard
    deviation: ``1 / (2 sqrt(pi) sigma)``, at most 1 (none for ``sigma <= 0``)."""
    return 1.0 if sigma <= 0 else min(1.0, 1.0 / (2.0 * np.sqrt(np.pi) * sigma))


__all__ = [
    "close_point_losers",
    "find_peaks",
    "flat_mask",
    "merge_close_points",
    "ring_mean",
    "smoothed_noise",
    "smoothing_factor",
]
