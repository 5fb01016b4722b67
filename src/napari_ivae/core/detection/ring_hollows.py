"""Whether a weaker sub-lattice in both hollows of a hexagonal lattice is the atoms' own rings.

Where each atom carries a ring of opposite contrast (a colloid's dark ring in bright field,
the Fresnel fringe around a column in defocused HRTEM), the hollow between three atoms lies
outside their rings, at the level of the empty frame, and every ring around it is darker: the
unit cell's average has a maximum there, which :func:`~napari_ivae.core.detection.motif.
weaker_sublattice` (and the autocorrelation, the rings' own overlap) takes for a weaker atom in
both hollows. The bridge between two neighbours tells them apart: no hollow is there, and atoms
with no ring (profiles that fall monotonically) lift it above the trough beside it by the tails
of the two hollow atoms 0.29 lattice constants away only: 0.04-0.14 of a hollow atom's own rise
(Gaussian widths 0.08-0.2 constants, hollow atoms 0.2-1 of the others). Rings lift the bridge
out of their troughs about as much as the hollow (0.5-0.94 for ring amplitudes 0.15-0.8 and
radii 0.25-0.33 constants; 0.59-0.68 on the colloids' bright field). ``BRIDGE_SHARE`` lies
between the two (their geometric mean). Only a sub-lattice in both hollows is judged: a bridge
in a square lattice or beside a honeycomb's single hollow may hold a real atom.
"""

from __future__ import annotations

import numpy as np

BRIDGE_SHARE = 0.3  # a bridge lifted this much of a hollow's rise: the atoms' rings (see above)
SAMPLES = 41  # points along each line from the atom at the centre


def rings_make_hollows(
    frame: np.ndarray, points: np.ndarray, spacing: float, sigma: float, vectors: np.ndarray
) -> bool:
    """Whether the maxima at ``vectors`` (six, both hollows of the hexagonal lattice of
    ``points`` at ``spacing``) are the gaps between the atoms' rings of opposite contrast.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame, atoms bright.
    points : numpy.ndarray
        ``(N, 2)`` the strong atoms.
    spacing : float
        Their lattice constant (pixels).
    sigma : float
        Smoothing before averaging (pixels).
    vectors : numpy.ndarray
        ``(6, 2)`` the hollows' offsets from a strong atom, in angular order or not.

    Returns
    -------
    bool
        ``True`` when the bridges between neighbours (the sum of two adjacent hollow vectors)
        rise from the trough between them and the atom by at least ``BRIDGE_SHARE`` of the
        hollows' rise from theirs.
    """
    from napari_ivae.core.detection.motif import cell_mean

    vectors = np.asarray(vectors, dtype=np.float64).reshape(-1, 2)
    averaged = cell_mean(frame, points, spacing, sigma)
    if averaged is None or len(vectors) != 6:
        return False
    mean = averaged[0]
    angles = np.arctan2(vectors[:, 0], vectors[:, 1])
    vectors = vectors[np.argsort(angles)]
    neighbours = vectors + np.roll(vectors, -1, axis=0)
    rises, bumps = [], []
    for hollow, neighbour in zip(vectors, neighbours):
        line = _line(mean, hollow)
        rises.append(line[-1] - line.min())
        half_way = _line(mean, neighbour / 2.0)
        bumps.append(half_way[-1] - half_way.min())
    rise = float(np.median(rises))
    return rise > 0 and float(np.median(bumps)) >= BRIDGE_SHARE * rise


def _line(mean: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``mean`` sampled from its centre to ``vector`` beyond it (bilinear)."""
    from scipy import ndimage

    centre = (mean.shape[0] // 2, mean.shape[1] // 2)
    steps = np.linspace(0.0, 1.0, SAMPLES)
    rows = centre[0] + steps * vector[0]
    cols = centre[1] + steps * vector[1]
    return ndimage.map_coordinates(mean, [rows, cols], order=1, mode="nearest")


__all__ = ["rings_make_hollows"]
