"""Particles found on rings: one particle counted as several (a secondary-electron image's
bright rim, a hollow or core-shell particle, the fringes of a defocused particle's halo).

The self-check (:mod:`~napari_ivae.core.detection.quality`) looks at the found centres only:
each centre and two of its neighbours define a circle (of radius up to ``MAX_RADIUS`` median
diameters); when enough centres lie on it, go round it (no gap over half a turn) and its
inside is empty (no centre within ``EMPTY`` of its radius: a rim round a hollow) or holds one
centre at the middle and nothing else within ``INNER`` of the radius (fringes round a core
that was found too), they are a ring. Enough: at least ``MIN_ON`` and ``TILE`` of the
circumference over the median diameter. Pieces of one rim or fringe follow each other about a
diameter apart; separate particles around a gap lie a spacing apart, more than a diameter
(four round a hole between packed particles are no ring).

Measured (round l18, h4): stranger_probe's SEM spheres, with the rims not merged, 0.23-0.50
of the found points on rings; colloids on both sides of focus, none in it (the test's
``_colloids(seed, (9, -9))``: 10 fringe points per colloid) 0.61-0.69; PtCo1 0.02, PtCo1
mirrored to 1280^2 0.15 (0.46 with four centres round any empty circle counted).
"""

from __future__ import annotations

import numpy as np

MAX_RADIUS = 3.0  # circles of up to this many median diameters are looked at
MIN_RADIUS = 0.4  # ... and of at least this many
MIN_ON = 5  # centres on one circle that make a ring at least ...
TILE = 0.65  # ... and this share of its circumference over the median diameter
ON = 0.2  # on the circle: within this share of its radius (of the median diameter beyond)
EMPTY = 0.5  # a hollow ring: no centre inside this share of the radius
CORE = 0.15  # a ring round a core: one centre within this share of the radius ...
INNER = 0.7  # ... and no other inside this share (a packed layer's first shell lies there)
CORED_RADIUS = 2.0  # ... and the ring this many median diameters out: clear of the core by
# about a diameter (the core's packed neighbours, a ring round it, touch it)
RING_SHARE = 0.3  # this share of the found particles on rings: warn
SAMPLE = 300  # centres looked at (their share is the estimate)
NEIGHBOURS = 32  # the nearest centres looked at around each (a ring's members among them)
BATCH = 64  # sampled centres whose circles are tried at once (memory: 64 x 496 circles)


def ring_share(points: np.ndarray, diameters: np.ndarray) -> float:
    """The share of the particle centres ``points`` that lie on a ring (see the module),
    from at most ``SAMPLE`` of them.

    Parameters
    ----------
    points : (N, 2) array
        The found centres (row, col) of one frame.
    diameters : (N,) array
        Their equivalent diameters.

    Returns
    -------
    float
        0 when there are fewer than ``2 * MIN_ON`` particles.
    """
    return ring_shares(points, diameters)[0]


def ring_shares(points: np.ndarray, diameters: np.ndarray) -> tuple[float, float]:
    """:func:`ring_share`, and the share of the centres on a ring round a found core (a
    halo's fringes; ``(0, 0)`` when there are fewer than ``2 * MIN_ON`` particles)."""
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 2 * MIN_ON:
        return 0.0, 0.0
    size = float(np.median(diameters))
    if not size > 0:
        return 0.0, 0.0
    reach = 2.0 * MAX_RADIUS * size  # a circle through a centre reaches this far from it
    sample = np.unique(np.linspace(0, len(points) - 1, min(len(points), SAMPLE)).astype(np.int64))
    k = min(NEIGHBOURS + 1, len(points))
    tree = cKDTree(points)
    distance, index = tree.query(points[sample], k=k, distance_upper_bound=reach)
    found = np.isfinite(distance) & (index != sample[:, None])
    lengths = found.sum(axis=1)
    kinds = np.zeros(len(sample), dtype=np.int64)
    # the sampled centres with as many neighbours in reach together (each row's neighbours in
    # the tree's order, as one at a time), a bounded number of them at once
    for length in np.unique(lengths[lengths >= MIN_ON]).tolist():
        rows = np.flatnonzero(lengths == length)
        for start in range(0, len(rows), BATCH):
            part = rows[start : start + BATCH]
            near = index[part][found[part]].reshape(len(part), length)
            kinds[part] = _on_rings(points, sample[part], near, size, tree)
    return float(np.mean(kinds > 0)), float(np.mean(kinds == 2))


def _on_rings(points, centres, near, size, tree) -> np.ndarray:
    """For each point ``centres[j]``, whether it lies on a ring with some of its neighbours
    ``near[j]`` (all rows as many): each pair of them with the point gives a circle (its
    circumcircle), tried in turn (``tree``: a :class:`scipy.spatial.cKDTree` of ``points``).
    0: on none; 1: on a hollow ring only; 2: on a ring round a core. Every circle of every
    row is computed at once, each number as one row's own computation gives it."""
    kinds = np.zeros(len(centres), dtype=np.int64)
    p = points[centres][:, None, :]  # (rows, 1, 2)
    first, second = np.triu_indices(near.shape[1], 1)
    a, b = points[near[:, first]] - p, points[near[:, second]] - p  # (rows, pairs, 2)
    cross = 2 * (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
    ok = np.abs(cross) > 1e-9
    a2, b2 = (a**2).sum(-1), (b**2).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.stack(
            [(b[..., 1] * a2 - a[..., 1] * b2) / cross, (a[..., 0] * b2 - b[..., 0] * a2) / cross],
            axis=-1,
        )
    radius = np.hypot(centre[..., 0], centre[..., 1])
    ok &= (radius >= MIN_RADIUS * size) & (radius <= MAX_RADIUS * size)
    owner = np.nonzero(ok)[0]  # each kept circle's row, rows in order, circles in pair order
    centre, radius = centre[ok] + p[owner, 0], radius[ok]
    # the inside first (the two centres nearest each circle's): in a packed layer few pass
    inside = tree.query(centre, k=2)[0] / radius[:, None] if len(centre) else np.zeros((0, 2))
    hollow = inside[:, 0] >= EMPTY
    cored = (inside[:, 0] < CORE) & (inside[:, 1] >= INNER) & (radius >= CORED_RADIUS * size)
    kept = hollow | cored
    centre, radius, cored, owner = centre[kept], radius[kept], cored[kept], owner[kept]
    ring = points[np.concatenate([centres[:, None], near], axis=1)]  # (rows, 1 + near, 2)
    # (circles, points): each point's distance from each circle's centre, in its radii; a
    # ring's pieces scatter about it by a share of their own size, whatever its radius
    where = np.linalg.norm(ring[owner] - centre[:, None], axis=2) / radius[:, None]
    on_circle = np.abs(where - 1.0) <= ON * np.minimum(1.0, size / radius)[:, None]
    enough = np.maximum(MIN_ON, np.ceil(TILE * 2.0 * np.pi * radius / size - 1e-9))
    passing = np.flatnonzero(on_circle.sum(1) >= enough)
    for row in np.unique(owner[passing]).tolist():
        candidates = passing[owner[passing] == row]
        for k in candidates[np.argsort(~cored[candidates], kind="stable")]:  # a core's first
            c, on = centre[k], on_circle[k]
            offset = ring[row] - c
            angles = np.sort(np.arctan2(offset[on, 0], offset[on, 1]))
            if np.diff(np.r_[angles, angles[0] + 2 * np.pi]).max() > np.pi:
                continue  # an arc on one side, not a ring round the centre
            kinds[row] = 2 if cored[k] else 1
            break
    return kinds


__all__ = ["RING_SHARE", "ring_share", "ring_shares"]
