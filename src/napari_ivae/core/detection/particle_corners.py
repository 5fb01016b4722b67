"""Beside candidates that are a kept particle's own corner.

The beside pass (:mod:`~napari_ivae.core.detection.particle_beside`) draws each kept particle
from its radial median profile; a faceted (polygonal) particle's corners reach past that
profile, so the residual holds a lobe at each corner. The mirror-twin test of
:func:`~napari_ivae.core.detection.particle_profiles.beside_kept` removes the lobes of even
polygons only (a pentagon's corner mirrors to an edge's middle). :func:`host_corners` tests a
candidate against its host's own outline instead: a corner is where the host's straight
flanks on either side of it meet. A particle beside the host is not: its own round outline
bends the flanks away (the lines fitted to them meet far out, or never), or it stands out past
where the host's flanks meet.
"""

from __future__ import annotations

import numpy as np

FLANK_ARCS = (2.0, 3.0)  # each flank is fitted over [w, K w] of the host's outline, w the
# candidate's half angle seen from the host's centre: a straight flank fits both lengths
FLANK_RAYS = 6  # rays per flank
TIP_ROUNDING = 0.5  # the half-height outline of a blurred corner falls short of where its
# flanks meet by up to this x the candidate's radius (the candidate sits in the rounded tip)
RAY_STEP = 0.25  # px along a ray
HOST_RAYS = 72  # rays around the host for its outline beyond the candidate's flanks
HOST_LEVEL = 0.75  # a corner is the host's own material: from the host's centre to the
# candidate's inner rim the frame stays nearer the host's height than the half height that
# draws its outline; a lower particle beside it (its own height) leaves a shelf below that


def host_corners(signal, drawn, more, more_sigma, kept_points, kept_sigma) -> np.ndarray:
    """Which beside candidates ``more`` are a corner of the kept particle nearest to them.

    For each candidate, its host is the kept blob nearest to its rim. The host's half-height
    outline (the frame smoothed by a quarter of the candidate's scale, the host's background
    and height from its drawn profile ``drawn``) is traced along rays from the host's centre:
    at the candidate's direction (``rho``) and over each flank, the arcs from ``w`` to
    ``K w`` (``K`` in ``FLANK_ARCS``, ``w`` the candidate's half angle ``asin(r / d)``). A
    corner is the host's own material: from the host's inner half out to the candidate's inner
    rim (``d - r``) the frame stays above ``HOST_LEVEL`` x the host's height (nearer its top
    than the half height of its outline); a lower particle beside it leaves a shelf at its own
    height there. The host is faceted: beyond the flanks (``FLANK_ARCS[-1] w`` either side)
    its outline spans more than ``TIP_ROUNDING`` x the candidate's radius between its faces
    and its other corners; a round host's spans only its noise, and a round particle beside it
    draws a tip-like tent with it. A line is fitted to each flank's outline points and the farther of their
    crossings with the candidate's direction is ``t``, known to ``e`` (twice its standard
    error from the flank points' scatter about their line). The candidate is a corner when the outline
    reaches past its centre and, for every ``K``, the flanks are straight (``e`` within
    ``TIP_ROUNDING`` x its radius) and ``rho`` lies between ``t`` less ``TIP_ROUNDING`` x
    its radius (a corner's tip rounded by the blur) and ``t + e``: a convex corner never
    reaches past where its flanks meet. A neighbour's own round outline makes the flanks
    steep (``t`` far out or none) or stands out past them. Candidates of half the distance
    to the host's centre or more (no small part of it) are never corners.

    Parameters
    ----------
    signal : numpy.ndarray
        The frame, particles positive.
    drawn : numpy.ndarray
        The kept particles' drawn profiles (above their background, as ``signal``).
    more, more_sigma : numpy.ndarray
        The candidates' integer (row, col) and scales.
    kept_points, kept_sigma : numpy.ndarray
        The kept blobs' integer positions and scales.

    Returns
    -------
    numpy.ndarray
        A boolean mask over ``more``.
    """
    more = np.asarray(more).reshape(-1, 2)
    corner = np.zeros(len(more), dtype=bool)
    kept_points = np.asarray(kept_points).reshape(-1, 2)
    if not len(more) or not len(kept_points):
        return corner
    kept_radius = np.sqrt(2.0) * np.asarray(kept_sigma, dtype=np.float64).reshape(-1)
    for index, (point, sigma) in enumerate(zip(more, np.asarray(more_sigma, float))):
        distance = np.hypot(*(kept_points - point).T)
        host = int(np.argmin(distance - kept_radius))
        corner[index] = _is_corner(
            signal, drawn, point, sigma, kept_points[host], kept_radius[host], distance[host]
        )
    return corner


def _is_corner(signal, drawn, point, sigma, centre, host_radius, distance) -> bool:
    from scipy import ndimage

    radius = np.sqrt(2.0) * sigma
    if distance <= 0 or radius >= 0.5 * distance:
        return False
    half = int(np.ceil(distance + 3.0 * radius)) + 3
    low = np.maximum(np.asarray(centre) - half, 0)
    high = np.minimum(np.asarray(centre) + half + 1, signal.shape)
    box = (slice(low[0], high[0]), slice(low[1], high[1]))
    frame = np.asarray(signal[box], dtype=np.float64)
    model = np.asarray(drawn[box], dtype=np.float64)
    at = np.asarray(centre, dtype=np.float64) - low
    rows, cols = np.indices(frame.shape)
    inner = np.hypot(rows - at[0], cols - at[1]) <= 0.5 * host_radius
    height = float(np.median(model[inner]))
    if height <= 0:
        return False
    above = ndimage.gaussian_filter(frame, 0.25 * sigma) - np.median((frame - model)[inner])
    above -= 0.5 * height
    steps = np.arange(0.3 * host_radius, distance + 3.0 * radius, RAY_STEP)

    def outline(angle):
        """Where the ray at ``angle`` first falls below half height (sub-pixel)."""
        direction = np.array([np.sin(angle), np.cos(angle)])
        values = ndimage.map_coordinates(
            above, (at[:, None] + direction[:, None] * steps), order=1, mode="nearest"
        )
        below = np.flatnonzero(values < 0)
        if not len(below):
            return steps[-1]
        fall = below[0]
        if fall == 0:
            return steps[0]
        before, after = values[fall - 1], values[fall]
        return steps[fall - 1] + RAY_STEP * before / (before - after)

    offset = np.asarray(point, dtype=np.float64) - np.asarray(centre, dtype=np.float64)
    angle = np.arctan2(offset[0], offset[1])
    reach = outline(angle)
    if reach < distance:
        return False
    way = np.array([np.sin(angle), np.cos(angle)])
    path = np.arange(0.5 * host_radius, distance - radius, RAY_STEP)
    if len(path):
        along = ndimage.map_coordinates(
            above, (at[:, None] + way[:, None] * path), order=1, mode="nearest"
        )
        if float(along.min()) < (HOST_LEVEL - 0.5) * height:  # a shelf: a neighbour's own
            return False
    half_angle = np.arcsin(radius / distance)
    turns = np.linspace(-np.pi, np.pi, HOST_RAYS, endpoint=False)  # from the candidate's way
    rest = np.array(
        [outline(angle + turn) for turn in turns[np.abs(turns) > FLANK_ARCS[-1] * half_angle]]
    )
    if len(rest) and float(np.ptp(rest)) <= TIP_ROUNDING * radius:  # a round host: no facets
        return False
    for arc in FLANK_ARCS:
        meets, slack = [], []
        for side in (-1.0, 1.0):
            angles = angle + side * np.linspace(half_angle, arc * half_angle, FLANK_RAYS)
            reaches = np.array([outline(each) for each in angles])
            points = reaches[:, None] * np.column_stack([np.sin(angles), np.cos(angles)])
            meet, error = _crossing(points, way)
            meets.append(meet)
            slack.append(error)
        farther = int(np.argmax(meets))
        meet = meets[farther]
        if slack[farther] > TIP_ROUNDING * radius:  # flanks too crooked to place a tip
            return False
        if not meet - TIP_ROUNDING * radius <= reach <= meet + slack[farther]:
            return False
    return True


def _crossing(points, way):
    """Where the line fitted to ``points`` (total least squares) crosses the ray ``t way``
    (``inf`` where it does not, ahead), and twice the standard error of that crossing from
    the points' scatter about the line (a line's prediction error at its lever arm)."""
    middle = points.mean(axis=0)
    _, _, axes = np.linalg.svd(points - middle)
    along, across = axes[0], axes[1]
    spread = (points - middle) @ along
    scatter = float(np.sqrt(np.mean(((points - middle) @ across) ** 2)))
    system = np.column_stack([way, -along])
    if abs(np.linalg.det(system)) < 1e-9:
        return np.inf, 0.0
    crossing, lever = np.linalg.solve(system, middle)
    if crossing <= 0:
        return np.inf, 0.0
    count = len(points)
    error = scatter * np.sqrt(1.0 / count + lever**2 / max(float(np.sum(spread**2)), 1e-12))
    # the crossing moves along the way by the offset across the line over their angle's sine
    sine = abs(float(way @ across))
    return float(crossing), 2.0 * error / max(sine, 1e-9)


__all__ = ["host_corners"]
