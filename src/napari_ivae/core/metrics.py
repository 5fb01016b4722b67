"""Scoring detected points against reference positions (benchmarks and tests)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MatchResult:
    """One-to-one matching of detected points to reference points.

    Attributes
    ----------
    pairs : numpy.ndarray
        ``(M, 2)`` int64 indices ``(detected, reference)`` of matched points.
    distances : numpy.ndarray
        ``(M,)`` distances of the matched pairs (pixels).
    n_detected, n_reference : int
        Sizes of the two sets that were scored.
    """

    pairs: np.ndarray
    distances: np.ndarray
    n_detected: int
    n_reference: int

    @property
    def true_positives(self) -> int:
        return int(len(self.pairs))

    @property
    def precision(self) -> float:
        return self.true_positives / self.n_detected if self.n_detected else float("nan")

    @property
    def recall(self) -> float:
        return self.true_positives / self.n_reference if self.n_reference else float("nan")

    @property
    def f1(self) -> float:
        total = self.n_detected + self.n_reference
        return 2.0 * self.true_positives / total if total else float("nan")

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.distances**2))) if len(self.distances) else float("nan")

    def summary(self) -> dict:
        """Plain-number dictionary (precision, recall, f1, rmse, counts)."""
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "rmse": self.rmse, "tp": self.true_positives,
                "fp": self.n_detected - self.true_positives,
                "fn": self.n_reference - self.true_positives,
                "n_detected": self.n_detected, "n_reference": self.n_reference}


def match_points(detected, reference, max_distance: float) -> MatchResult:
    """Optimal one-to-one matching of points within ``max_distance`` (Hungarian per cluster).

    Parameters
    ----------
    detected, reference : array-like
        ``(N, 2)`` and ``(M, 2)`` positions (same axis order, e.g. row, col).
    max_distance : float
        Pairs farther apart never match (e.g. 0.35 x the neighbour distance).

    Returns
    -------
    MatchResult
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    detected = np.asarray(detected, dtype=np.float64).reshape(-1, 2)
    reference = np.asarray(reference, dtype=np.float64).reshape(-1, 2)
    n_det, n_ref = len(detected), len(reference)
    empty = MatchResult(np.zeros((0, 2), np.int64), np.zeros(0), n_det, n_ref)
    if n_det == 0 or n_ref == 0:
        return empty
    candidates = cKDTree(detected).sparse_distance_matrix(
        cKDTree(reference), max_distance, output_type="ndarray")
    if len(candidates) == 0:
        return empty
    det_idx, ref_idx = candidates["i"], candidates["j"]
    dist = candidates["v"]
    # connected clusters of the bipartite candidate graph (reference nodes offset by n_det)
    graph = coo_matrix((np.ones(len(dist)), (det_idx, ref_idx + n_det)),
                       shape=(n_det + n_ref, n_det + n_ref))
    _, component = connected_components(graph, directed=False)
    edge_component = component[det_idx]
    order = np.argsort(edge_component, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_component[order])) + 1
    pairs, distances = [], []
    for edges in np.split(order, bounds):
        if len(edges) == 1:
            pairs.append((det_idx[edges[0]], ref_idx[edges[0]]))
            distances.append(dist[edges[0]])
            continue
        rows, row_index = np.unique(det_idx[edges], return_inverse=True)
        cols, col_index = np.unique(ref_idx[edges], return_inverse=True)
        cost = np.full((len(rows), len(cols)), 1e6 * (max_distance + 1.0))
        cost[row_index, col_index] = dist[edges]
        chosen_r, chosen_c = linear_sum_assignment(cost)
        real = cost[chosen_r, chosen_c] <= max_distance
        pairs.extend(zip(rows[chosen_r[real]], cols[chosen_c[real]]))
        distances.extend(cost[chosen_r[real], chosen_c[real]])
    return MatchResult(np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
                       np.asarray(distances, dtype=np.float64), n_det, n_ref)
