"""Scoring detected points against reference positions (benchmarks and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "rmse": self.rmse,
            "tp": self.true_positives,
            "fp": self.n_detected - self.true_positives,
            "fn": self.n_reference - self.true_positives,
            "n_detected": self.n_detected,
            "n_reference": self.n_reference,
        }


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
        cKDTree(reference), max_distance, output_type="ndarray"
    )
    if len(candidates) == 0:
        return empty
    det_idx, ref_idx = candidates["i"], candidates["j"]
    dist = candidates["v"]
    # connected clusters of the bipartite candidate graph (reference nodes offset by n_det)
    graph = coo_matrix(
        (np.ones(len(dist)), (det_idx, ref_idx + n_det)), shape=(n_det + n_ref, n_det + n_ref)
    )
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
    return MatchResult(
        np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        np.asarray(distances, dtype=np.float64),
        n_det,
        n_ref,
    )


#: affine variants of each clean suit the judge tries (the cards' scale and shear ranges)
_JUDGE_SCALES = (1.0, 1.15, 1.3)
_JUDGE_SHEARS = (0.0, 0.115, 0.23)


@lru_cache(maxsize=4)
def _suit_variants(size: int, angle_step: float):
    """Zero-mean, unit-norm clean suits at every angle, scale and shear: ``(V, S, S)`` and the
    suit index of each variant."""
    from napari_ivae.core.synthetic.cards import CARD_CLASSES, _render, _template

    angles = np.deg2rad(np.arange(0.0, 360.0, angle_step))
    grid = np.array([(a, s, h) for a in angles for s in _JUDGE_SCALES for h in _JUDGE_SHEARS])
    templates = np.stack([_template(c, size) for c in CARD_CLASSES])
    images, suits = [], []
    for suit in range(len(CARD_CLASSES)):
        a, s, h = grid.T
        cos, sin = np.cos(a), np.sin(a)
        rot_inv = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
        shear_inv = np.tile(np.eye(2), (len(grid), 1, 1))
        shear_inv[:, 0, 1] = -h
        inverse = (shear_inv @ rot_inv) / s[:, None, None]
        labels = np.full(len(grid), suit, dtype=np.int64)
        images.append(_render(templates, labels, inverse, np.zeros((len(grid), 2)), size))
        suits.append(labels)
    v = np.concatenate(images).astype(np.float64)
    v -= v.mean((1, 2), keepdims=True)
    v /= np.sqrt((v**2).sum((1, 2), keepdims=True)) + 1e-12
    return v, np.concatenate(suits)


def judge_suits(images, angle_step: float = 5.0, max_shift: int = 2) -> np.ndarray:
    """Which card suit each image shows: an independent template judge.

    Each image is correlated (Pearson, over the whole patch) with the four clean suits of
    :mod:`napari_ivae.core.synthetic.cards` turned through every ``angle_step`` degrees, at
    the cards' scales (1, 1.15, 1.3) and shears (0, 0.115, 0.23), and shifted by up to
    ``max_shift`` pixels each way; the suit with the best correlation wins. It knows nothing
    of any model, so it scores what a decoder draws (class traversals, per-class decodings)
    as a person would.

    Parameters
    ----------
    images : (N, S, S) array
        Square images, any intensity scale (bright symbol on dark background).
    angle_step : float
        Degrees between tried rotations.
    max_shift : int
        Largest tried shift in pixels, per axis (circular shifts: the background is 0).

    Returns
    -------
    (N,) int64 array of suit indices into ``CARD_CLASSES``.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"judge_suits needs square images (N, S, S), got shape {x.shape}")
    size = x.shape[1]
    variants, suits = _suit_variants(size, float(angle_step))
    x = x - x.mean((1, 2), keepdims=True)
    x /= np.sqrt((x**2).sum((1, 2), keepdims=True)) + 1e-12
    spec_v = np.conj(np.fft.rfft2(variants)).astype(np.complex64)
    spec_x = np.fft.rfft2(x).astype(np.complex64)
    m = int(max_shift)
    near = np.r_[0 : m + 1, size - m : size] if m > 0 else np.array([0])
    n_suits = int(suits.max()) + 1
    out = np.empty(len(x), dtype=np.int64)
    for i in range(len(x)):
        # circular cross-correlation with every variant at every shift, kept within max_shift
        corr = np.fft.irfft2(spec_x[i] * spec_v, s=(size, size))[:, near][:, :, near]
        best = corr.reshape(len(variants), -1).max(1)
        out[i] = int(np.argmax([best[suits == s].max() for s in range(n_suits)]))
    return out


def suit_match_rate(images, intended) -> float:
    """Share of ``images`` that :func:`judge_suits` matches to the ``intended`` suit index."""
    intended = np.asarray(intended, dtype=np.int64).ravel()
    if len(intended) != len(images):
        raise ValueError(f"{len(images)} images but {len(intended)} intended suits")
    return float((judge_suits(images) == intended).mean()) if len(intended) else float("nan")
