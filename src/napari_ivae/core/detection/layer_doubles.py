"""One point per particle on a packed layer: a particle found twice within its own cell.

On a packed layer (:func:`~napari_ivae.core.detection.packed.packed_phase`) every particle
has its neighbours at about one lattice distance ``a``. A particle larger than the scale it
was searched at (noise or facets give its flat top two maxima), or found again by the beside
and faint passes, gives two points about half a particle apart. Distance alone does not tell
them from two neighbours whose points lie off their centres toward each other (necked
particles); the layer's own cell does: at the scale of a particle that fills its cell
(``-sigma^2 LoG`` at the cell's sigma) each particle is one hill, and two points on one
particle climb to the same top. Where a particle's only point sits at its neck toward a
neighbour it climbs the neighbour's hill (no hill of its own at that scale): the lattice site
beyond, on a particle and with no point of its own, keeps it.
"""

from __future__ import annotations

import numpy as np

LAYER_DOUBLE = 0.6  # two kept points nearer than this x the lattice distance may be one particle
LAYER_SITE = 0.5  # ... unless the site beyond the dropped one holds no other point this near (x a)
LAYER_RANK = 2  # the lattice distance: the median distance to each point's second neighbour
_STEPS = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


def climbed(response: np.ndarray, points: np.ndarray, steps: int) -> np.ndarray:
    """Each of ``points`` moved uphill on ``response`` (to the largest of its 3 x 3
    neighbourhood, at most ``steps`` times): the top of the hill it lies on."""
    at = np.asarray(points, dtype=np.int64).reshape(-1, 2).copy()
    high = np.array(response.shape) - 1
    at = np.clip(at, 0, high)
    for _ in range(steps):
        around = np.clip(at[:, None, :] + _STEPS[None], 0, high)
        best = response[around[..., 0], around[..., 1]].argmax(axis=1)
        moved = around[np.arange(len(at)), best]
        if np.array_equal(moved, at):
            break
        at = moved
    return at


def layer_doubles(signal, points, keep, cell_sigma: float) -> np.ndarray:
    """``keep`` less the second point of each particle found twice on a packed layer.

    The lattice distance ``a`` is the median over the kept points of the distance to each
    one's ``LAYER_RANK``-th nearest other point (a hexagonal layer's first six neighbours all
    stand at about ``a``, so one extra point beside a particle does not move it). Two kept
    points nearer than ``LAYER_DOUBLE`` x ``a`` that climb to the same top of the frame's
    ``-sigma^2 LoG`` at ``cell_sigma`` (the sigma of a particle filling its cell) are one
    particle: the one with fewer such partners stays, then the one nearer the top, unless the
    site beyond the other holds a particle and no other point (:func:`_alone_beyond`).
    Measured on the stranger liquid-cell films (seeds 0-8): true neighbours stand at >= 0.69
    x ``a``, the doubles at 0.46 (median), 0.64 (95 %); of the pairs nearer than 0.6 ``a``
    that were two particles (off-centre points; seeds 0, 2, 3, 6, 8), all but 3 of 44 lay on
    two tops, of the doubles 490 of 510 on one.

    Parameters
    ----------
    signal : numpy.ndarray
        The frame, particles positive.
    points : numpy.ndarray
        ``(N, 2)`` integer (row, col) positions.
    keep : numpy.ndarray of bool
        Which of ``points`` are kept.
    cell_sigma : float
        The layer's cell sigma (:func:`~napari_ivae.core.detection.packed.packed_phase`).

    Returns
    -------
    numpy.ndarray of bool
        The new ``keep``.
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.particle_scale_space import scale_space

    keep = np.asarray(keep, dtype=bool).copy()
    kept = np.flatnonzero(keep)
    if len(kept) <= 2 * LAYER_RANK:
        return keep
    at = np.asarray(points, dtype=np.float64).reshape(-1, 2)[kept]
    tree = cKDTree(at)
    lattice = float(np.median(tree.query(at, k=LAYER_RANK + 1)[0][:, LAYER_RANK]))
    pairs = tree.query_pairs(LAYER_DOUBLE * lattice, output_type="ndarray")
    if not len(pairs):
        return keep
    near = np.unique(pairs)
    response = scale_space(signal, [cell_sigma])[0]
    tops = np.zeros((len(kept), 2), dtype=np.int64)
    tops[near] = climbed(response, at[near], int(np.ceil(lattice)) * 2)
    one = (tops[pairs[:, 0]] == tops[pairs[:, 1]]).all(axis=1)
    pairs = pairs[one]
    if not len(pairs):
        return keep
    # greedy: the point with the fewest partners first (a point at the neck between two
    # particles pairs with both, while they are no pair), then the one nearest its top
    off_top = np.hypot(*(at - tops).T)
    degree = np.bincount(pairs.ravel(), minlength=len(kept))
    order = np.lexsort((np.arange(len(kept)), off_top, degree))
    rank = np.empty(len(kept), dtype=np.int64)
    rank[order] = np.arange(len(kept))
    partners: list[list[int]] = [[] for _ in range(len(kept))]
    for first, second in pairs.tolist():
        partners[first].append(second)
        partners[second].append(first)
    stays = np.ones(len(kept), dtype=bool)
    for index in order.tolist():
        if stays[index]:
            for other in partners[index]:
                if rank[other] > rank[index] and not _alone_beyond(
                    tree, at, (index, other), lattice, response
                ):
                    stays[other] = False
    keep[kept[~stays]] = False
    return keep


def _alone_beyond(tree, at, pair, lattice: float, response) -> bool:
    """Whether the lattice site one ``lattice`` distance from the staying point through the
    other (``pair``) holds a particle (the cell-scale ``response`` there above 0) and no kept
    point but the other within ``LAYER_SITE`` x ``a`` (half the distance to the next site:
    its cell): then the other may be that site's particle, found off its centre toward its
    neighbour (necked particles, a small particle beside a large one), and stays. A
    double's partner points at a kept neighbour, at a gap between two (response below 0), or
    off the film's edge (no particle there)."""
    staying, other = pair
    step = at[other] - at[staying]
    site = at[staying] + lattice * step / max(float(np.hypot(*step)), 1e-9)
    row, col = np.rint(site).astype(int)
    if not (0 <= row < response.shape[0] and 0 <= col < response.shape[1]):
        return False
    if response[row, col] <= 0:
        return False
    near = tree.query_ball_point(site, LAYER_SITE * lattice)
    return all(index in pair for index in near)


__all__ = ["LAYER_DOUBLE", "climbed", "layer_doubles"]
