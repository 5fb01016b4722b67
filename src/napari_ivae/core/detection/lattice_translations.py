"""A lattice's translations found from its atoms, and each atom's partners along them.

Part of :func:`~napari_ivae.core.detection.lattice_sites.lattice_sites` (see its module's
overview). Every atom of a crystal is one lattice translation from another; a noise maximum
is from none. The *translations* are the difference vectors between found atoms that most of
them share (:func:`translations`: dense clusters of the vectors up to ``REACH`` spacings, each
shared by at least ``MIN_SHARE`` of the atoms and ``TRANSLATION_SHARE`` of the most shared
one's share, two of them not collinear and their sum or difference shared too; a honeycomb's
bonds, shared by half its atoms, are no translation). An atom's *partners* are the found atoms
within ``PARTNER`` spacings of it less a translation (:func:`partners`); :func:`spread` says how
far they put it from where it was found, :func:`averaged` places it at the mean of both.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 0.25  # a vector this many spacings from a cluster's centre belongs to it
PARTNER = 0.35  # an atom this many spacings from a translation of another is its partner
MIN_ATOMS = 30  # fewer found atoms say nothing about the lattice
MIN_SHARE = 0.25  # a translation: at least this share of the atoms have a partner along it
TRANSLATION_SHARE = 0.75  # ... and this share of the most shared vector's
REACH = 3.2  # translations looked for up to this many spacings
CLUSTER = 0.18  # a cluster of difference vectors holds at least this many per sampled atom
SAMPLE = 1500  # atoms used to find the translations


def translations(points: np.ndarray, spacing: float) -> np.ndarray:
    """``(K, 2)`` difference vectors (both signs) that most found atoms share: the frame's
    lattice translations up to ``REACH`` spacings, the shortest two non-collinear ones and
    every one no longer than the second; empty when there are not two."""
    from scipy.spatial import cKDTree

    if len(points) < MIN_ATOMS:
        return np.zeros((0, 2))
    sample = points[np.linspace(0, len(points) - 1, min(SAMPLE, len(points))).astype(np.int64)]
    tree = cKDTree(points)
    vectors = _differences(tree, points, sample, REACH * spacing)
    length = np.hypot(*vectors.T)
    vectors = vectors[length > 0.5 * spacing]
    vectors = vectors[(vectors[:, 0] > 0) | ((vectors[:, 0] == 0) & (vectors[:, 1] > 0))]
    centres = _vector_clusters(vectors, spacing, len(sample))
    if len(centres) < 2:
        return np.zeros((0, 2))
    share = _shares(tree, sample, centres, spacing)
    lattice = (share >= MIN_SHARE) & (share >= TRANSLATION_SHARE * share.max())
    centres = centres[lattice]
    if len(centres) < 2:
        return np.zeros((0, 2))
    order = np.argsort(np.hypot(*centres.T))
    centres = centres[order]
    first = centres[0]
    cross = np.abs(first[0] * centres[:, 1] - first[1] * centres[:, 0])
    other = np.flatnonzero(cross > 0.3 * np.hypot(*first) * np.hypot(*centres.T))
    if len(other) == 0 or not _closed(first, centres[other[0]], centres, spacing):
        return np.zeros((0, 2))
    longest = 1.05 * np.hypot(*centres[other[0]])
    chosen = centres[np.hypot(*centres.T) <= longest]
    return np.concatenate([chosen, -chosen])


def _closed(first, second, centres, spacing) -> bool:
    """Whether the sum or the difference of two translations is a shared vector too (a
    lattice, not two chance clusters)."""
    candidates = np.stack([first + second, first - second, second - first])
    gaps = np.hypot(*(candidates[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    return bool((gaps <= TOLERANCE * spacing).any())


def _vector_clusters(vectors: np.ndarray, spacing: float, n_points: int) -> np.ndarray:
    """Centres of the dense clusters of difference vectors (a 2D histogram's maxima, bins of
    ``TOLERANCE / 2`` spacings, each holding at least ``CLUSTER`` per sampled point; the
    centre is the mean of the vectors within ``TOLERANCE`` spacings of the bin)."""
    from scipy import ndimage

    if len(vectors) == 0:
        return np.zeros((0, 2))
    step = 0.5 * TOLERANCE * spacing
    reach = REACH * spacing
    edges = np.arange(-reach - step, reach + 2 * step, step)
    histogram, _, _ = np.histogram2d(vectors[:, 0], vectors[:, 1], bins=[edges, edges])
    blurred = ndimage.uniform_filter(histogram, size=3, mode="constant") * 9
    peaks = (blurred == ndimage.maximum_filter(blurred, size=5, mode="constant")) & (
        blurred >= CLUSTER * n_points
    )
    rows, cols = np.nonzero(peaks)
    centres: list[np.ndarray] = []
    for row, col in zip(rows, cols):
        guess = np.array([edges[row], edges[col]]) + 0.5 * step
        near = vectors[np.hypot(*(vectors - guess).T) <= TOLERANCE * spacing]
        if len(near) == 0:
            continue
        centre = near.mean(axis=0)
        if all(np.hypot(*(centre - c)) > TOLERANCE * spacing for c in centres):
            centres.append(centre)
    return np.asarray(centres, dtype=np.float64).reshape(-1, 2)


def _differences(tree, points: np.ndarray, sample: np.ndarray, reach: float) -> np.ndarray:
    """``(M, 2)`` each found atom within ``reach`` of a sampled atom less that sampled atom,
    sampled atom by sampled atom, each one's neighbours in the tree's order."""
    import itertools

    near = tree.query_ball_point(sample, reach)
    count = np.fromiter(map(len, near), dtype=np.int64, count=len(near))
    index = np.fromiter(itertools.chain.from_iterable(near), dtype=np.int64, count=count.sum())
    return points[index] - np.repeat(sample, count, axis=0)


def _shares(tree, sample: np.ndarray, vectors: np.ndarray, spacing: float):
    """For each of ``vectors``, the share of the sampled atoms with a found atom within
    ``TOLERANCE`` of them plus the vector (of those whose place plus it lies among the found
    atoms at all)."""
    places = sample[None, :, :] + vectors[:, None, :]
    distance, _ = nearest_within(tree, places, TOLERANCE * spacing)
    return np.mean(distance <= TOLERANCE * spacing, axis=1)


def partners(points: np.ndarray, shifts: np.ndarray, spacing: float, reach: float = PARTNER):
    """``(N, K)`` index of the found atom within ``PARTNER`` spacings of each atom minus
    each translation (the atom that puts it there), ``-1`` where none; and ``(N, K)`` the
    distance of the nearest found atom there, exact up to ``reach`` (at least ``PARTNER``)
    spacings and ``inf`` beyond."""
    distance, index = nearest_within(
        points, points[:, None, :] - shifts[None, :, :], reach * spacing
    )
    return np.where(distance <= PARTNER * spacing, index, -1), distance


def nearest_within(points, places: np.ndarray, reach: float):
    """``cKDTree(points).query(places)`` where the nearest point lies at most ``reach``
    away (the same distance and index); beyond it the distance is ``inf`` (the tree gives
    up there, far faster on many places). ``points`` may be a ``cKDTree`` of them."""
    from scipy.spatial import cKDTree

    tree = points if isinstance(points, cKDTree) else cKDTree(points)
    # a bound a little past ``reach``: the tree compares squared distances, rounded
    return tree.query(places, distance_upper_bound=reach * (1.0 + 1e-9) + 1e-12)


def _predictions(points, partner, shifts):
    """``(N, K, 2)`` where each atom's partners put it (NaN without a partner)."""
    safe = np.maximum(partner, 0)
    put = points[safe] + shifts[None, :, :]
    put[partner < 0] = np.nan
    return put


def spread(points, partner, shifts) -> float:
    """Median distance between an atom and where its partners put it (the positions' noise,
    times about the square root of two, plus the lattice's distortion over a translation)."""
    put = _predictions(points, partner, shifts)
    distance = np.hypot(*(put - points[:, None, :]).transpose(2, 0, 1))
    distance = distance[np.isfinite(distance)]
    return float(np.median(distance)) if len(distance) else 0.0


def averaged(measured, points, partner, shifts) -> np.ndarray:
    """Each atom at the mean of its measured position and where its partners put it."""
    put = _predictions(points, partner, shifts)
    total = measured + np.nansum(put, axis=1)
    return total / (1.0 + (partner >= 0).sum(axis=1))[:, None]


__all__ = ["averaged", "nearest_within", "partners", "spread", "translations"]
