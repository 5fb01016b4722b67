"""The atom separation as a fixed point of the first pass: a distance a pass at it finds again.

The first pass (:func:`~napari_ivae.core.detection.atom_defaults._first_pass`) runs at the
lattice spacing, so its peaks keep ``min_distance`` (0.4 spacings) apart and lie on whole
pixels. Atoms closer than about that exclusion (a Si [110] dumbbell's two columns lie 0.41
nearest-dumbbell distances apart) are then found only where the pixel grid happens to put them
just outside it, and the median nearest-neighbour distance is a mix of the pairs' and the
dumbbells' distances, rounded to the grid's few values (2.83, 3.00, 4.00, 4.24 px for columns
2.3-2.7 px apart), on either side of the 0.45-spacing floor of
:func:`~napari_ivae.core.detection.atom_geometry.second_pass_spacing`.

A pass at the separation measured (its exclusion 0.4 of that) tells whether the atoms are
there: they keep their distance, and it finds them again at least ``SEPARATION_RATIO`` of it
apart. Where a pass finds its own spacing again within ``NEAREST_ROUNDS`` steps closer, that
spacing (read at sub-pixel precision) is the separation. Where that is the first pass's reading
already, or no step settles, or a step's closer nearest distances are the noise's
(:func:`~napari_ivae.core.detection.atom_geometry.noise_spread`, the first step's test: a
low-dose honeycomb's pass at its bond reads 5.83 px for 7.07, 41 % of its atoms with their
nearest still at the bond), the first pass's reading stands (a smoothed random field searched
at a spacing of 8 px keeps its single reading, 5.0 px; without the test it settled at 4.6).
"""

from __future__ import annotations

from napari_ivae.core.detection.atom_geometry import (
    SEPARATION_RATIO,
    noise_spread,
    second_pass_spacing,
)
from napari_ivae.core.detection.spacing import MIN_SPACING

NEAREST_ROUNDS = 2  # passes at a closer spacing, at most (atom_defaults': a ring's rounds)


def settled_separation(frame, params, given, excluded, found) -> tuple | None:
    """A closer atom separation than the first pass's reading, where passes at it settle.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame.
    params : dict
        The parameters of the first pass (``spacing``: the lattice estimate, automatic).
    given : dict
        The parameters the caller gave (kept in every pass).
    excluded : numpy.ndarray or None
        Pixels the detection leaves out.
    found : dict
        The first pass's geometry
        (:func:`~napari_ivae.core.detection.atom_geometry.first_pass_geometry`).

    Returns
    -------
    tuple or None
        ``(crop, table, geometry, spacing)`` of the pass that found ``spacing`` again, or
        ``None`` where the first pass's reading stands (no closer distance, its nearest
        distances spread by noise, no pass settling, or the one it settles at is that
        reading).
    """
    from napari_ivae.core.detection.atom_defaults import _first_pass, _resolve_params

    lattice = float(params["spacing"])
    spacing = found["separation"]
    if spacing is None or not spacing < SEPARATION_RATIO * lattice or noise_spread(found):
        return None
    standing = second_pass_spacing(lattice, found)
    for _ in range(NEAREST_ROUNDS):
        if spacing < MIN_SPACING:
            return None
        nearer = {
            **params,
            **_resolve_params(frame, **{**given, "spacing": spacing}),
            "spacing_source": params["spacing_source"],
        }
        again = _first_pass(frame, nearer, excluded)
        closer = again[2]["separation"]
        if closer is None:
            return None
        if closer >= SEPARATION_RATIO * spacing:
            if spacing == standing:
                return None
            crop, table, geometry = again
            return crop, table, geometry, subpixel_separation(crop, table, nearer["sigma"])
        if noise_spread(again[2]):  # the step closer fails the first step's test
            return None
        spacing = closer
    return None


def subpixel_separation(crop, table, sigma: float) -> float:
    """The median nearest-neighbour distance of a pass's atoms placed at the vertex of a
    parabola through their smoothed frame's three pixels along each axis (through their
    logarithm where positive: exact for a Gaussian); whole-pixel distances between atoms 2-3
    px apart take only a few values (2.00, 2.24, 2.83, 3.00)."""
    import numpy as np
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.point_columns import points_of

    smoothed = gaussian_smooth(np.asarray(crop, dtype=np.float64), sigma)
    centres = np.rint(points_of(table)).astype(np.int64)
    inner = ((centres >= 1) & (centres < np.array(smoothed.shape) - 1)).all(axis=1)
    centres = centres[inner]
    placed = centres.astype(np.float64)
    for axis in (0, 1):
        step = np.eye(2, dtype=np.int64)[axis]
        left, mid, right = (smoothed[tuple((centres + k * step).T)] for k in (-1, 0, 1))
        positive = (left > 0) & (mid > 0) & (right > 0)  # a Gaussian's logarithm: a parabola
        left, mid, right = (
            np.where(positive, np.log(np.where(positive, v, 1.0)), v) for v in (left, mid, right)
        )
        curve = left - 2.0 * mid + right
        offset = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1.0), 0.0)
        placed[:, axis] += np.clip(offset, -0.5, 0.5)
    return float(np.median(cKDTree(placed).query(placed, k=2)[0][:, 1]))


__all__ = ["NEAREST_ROUNDS", "settled_separation", "subpixel_separation"]
