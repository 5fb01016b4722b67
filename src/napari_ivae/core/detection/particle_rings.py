"""Particles found on rings around empty centres: one particle with a bright rim counted as
several (a secondary-electron image's edge brightening, a hollow or core-shell particle).

The self-check (:mod:`~napari_ivae.core.detection.quality`) looks at the found centres only:
each centre and two of its neighbours within ``REACH`` median diameters define a circle; when
at least ``MIN_ON`` centres lie on it, go round it (no gap over half a turn) and none lies
inside ``EMPTY`` of its radius, they are a ring. Measured: benchmarks/stranger_probe.py's SEM
spheres (6-8 blobs on each rim) 0.34-0.57 of the found particles on rings; the 174 other
particle images of the benchmarks (stranger_probe, stranger_scenes, stranger_particles,
robustness particles, held-out and monolayers) at most 0.26 (an empty lacey frame, warned
already), passing ones at most 0.23 (400 particles placed at random, touching: chance rings);
the real particle images 0-0.15.
"""

from __future__ import annotations

import numpy as np

REACH = 2.5  # neighbours looked at: within this many median diameters
MIN_ON = 4  # centres on one circle that make a ring
ON = 0.2  # on the circle: within this share of its radius
EMPTY = 0.5  # no centre inside this share of the radius
RING_SHARE = 0.3  # this share of the found particles on rings: warn
SAMPLE = 300  # centres looked at (their share is the estimate)


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
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 2 * MIN_ON:
        return 0.0
    size = float(np.median(diameters))
    reach = REACH * size
    sample = np.arange(0, len(points), max(1, len(points) // SAMPLE))
    neighbours = cKDTree(points).query_ball_point(points[sample], reach)
    on_ring = [
        len(near) >= MIN_ON
        and _on_ring(points, i, np.array([j for j in near if j != i]), size, reach)
        for i, near in zip(sample.tolist(), neighbours)
    ]
    return float(np.mean(on_ring))


def _on_ring(points, i, near, size, reach) -> bool:
    """Whether point ``i`` lies on a ring with some of its neighbours ``near``: each pair of
    them with ``i`` gives a circle (its circumcircle), tried in turn."""
    p = points[i]
    first, second = np.triu_indices(len(near), 1)
    a, b = points[near[first]] - p, points[near[second]] - p
    cross = 2 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
    ok = np.abs(cross) > 1e-9
    a2, b2 = (a**2).sum(1), (b**2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.column_stack(
            [(b[:, 1] * a2 - a[:, 1] * b2) / cross, (a[:, 0] * b2 - b[:, 0] * a2) / cross]
        )
    radius = np.hypot(centre[:, 0], centre[:, 1])
    ok &= (radius >= 0.4 * size) & (radius <= 0.5 * reach)
    ring = np.concatenate([[i], near])
    centre, radius = centre[ok] + p, radius[ok]
    # (circles, points): on each circle? inside it? (a centre inside lies within 0.75 reach
    # of point i: among its neighbours)
    distance = np.linalg.norm(points[ring][None] - centre[:, None], axis=2)
    on_circle = np.abs(distance - radius[:, None]) <= ON * radius[:, None]
    empty = (distance >= EMPTY * radius[:, None]).all(1)
    for k in np.flatnonzero((on_circle.sum(1) >= MIN_ON) & empty):
        c, on = centre[k], on_circle[k]
        offset = points[ring] - c
        angles = np.sort(np.arctan2(offset[on, 0], offset[on, 1]))
        if np.diff(np.r_[angles, angles[0] + 2 * np.pi]).max() > np.pi:
            continue  # an arc on one side, not a ring round the centre
        return True
    return False


__all__ = ["RING_SHARE", "ring_share"]
