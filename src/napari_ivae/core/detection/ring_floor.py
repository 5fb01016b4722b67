"""Empty places that pass for atoms where every atom sits in a ring of opposite contrast.

Where each atom carries a dark ring (a colloid's bright field, a column's Fresnel fringe), the
empty frame outside the rings is higher than the rings: a vacancy or a gap between grains is a
local maximum inside the rings around it, with a contrast over them like an atom's. The unit
cell's average (:func:`~napari_ivae.core.detection.motif.cell_mean`) shows the rings without
needing the lattice's hollows (a polycrystal's average smears them): its radial profile falls
from the atom to a trough within half a spacing and rises out of it again. Only then, a
candidate whose band-passed height lies nearer the empty level (the median of the pixels half
a spacing or more from every candidate) than the atoms' median height is the empty frame.
Atoms whose profile falls monotonically have no such trough and are never judged.
"""

from __future__ import annotations

import numpy as np

SAMPLES = 48  # directions of the radial profile
TROUGH_WITHIN = 0.5  # the ring's trough lies within this many spacings of the atom
EMPTY_WITHIN = 0.6  # the profile rises out of it up to here
TROUGH_Z = 5.0  # by more than this many standard errors of the average
# ... and by this share of the atom's depth over the trough: a lattice of atoms without rings
# rises only by its hollows' geometry (0.015-0.030 measured on hexagonal lattices, interpolated,
# RGB, zero-cornered and dead-lined frames), ringed colloids in bright field by 0.096-0.109
RING_RISE = 0.05


def empty_places(frame, band, points, spacing: float, sigma: float) -> np.ndarray:
    """Which ``points`` are the empty frame between ringed atoms.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame, atoms bright.
    band : numpy.ndarray
        The frame smoothed, less its slow background (the detector's band-pass).
    points : numpy.ndarray
        ``(N, 2)`` integer candidates over the noise's cut.
    spacing, sigma : float
        Atom separation and smoothing (pixels).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` bool; all ``False`` when the cell's average shows no ring.
    """
    empty = np.zeros(len(points), dtype=bool)
    if len(points) == 0 or not atoms_are_ringed(frame, points, spacing, sigma):
        return empty
    from scipy import ndimage

    marks = np.ones(band.shape, dtype=bool)
    marks[points[:, 0], points[:, 1]] = False
    level = float(np.median(band[ndimage.distance_transform_edt(marks) >= 0.5 * spacing]))
    heights = band[points[:, 0], points[:, 1]]
    typical = float(np.median(heights))
    if typical <= level:
        return empty
    return heights < level + 0.5 * (typical - level)


def atoms_are_ringed(frame, points, spacing: float, sigma: float) -> bool:
    """Whether the cell's average around ``points`` has a trough within ``TROUGH_WITHIN``
    spacings that its radial profile rises out of by ``TROUGH_Z`` standard errors and by
    ``RING_RISE`` of the atom's depth over it."""
    from napari_ivae.core.detection.motif import cell_mean

    averaged = cell_mean(frame, points, spacing, sigma)
    if averaged is None:
        return False
    radii = np.arange(0.0, EMPTY_WITHIN * spacing, 0.5)
    profile, spread = _radial(averaged[0], radii), _radial(averaged[1], radii)
    trough = int(np.argmin(profile[radii <= TROUGH_WITHIN * spacing]))
    if trough == 0:
        return False
    rise = float(profile[trough:].max() - profile[trough])
    depth = float(profile[0] - profile[trough])
    return rise > max(TROUGH_Z * float(spread[trough]), RING_RISE * depth)


def _radial(image: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """``image`` averaged over ``SAMPLES`` directions at each radius from its centre."""
    from scipy import ndimage

    angles = np.linspace(0.0, 2.0 * np.pi, SAMPLES, endpoint=False)
    centre = (image.shape[0] // 2, image.shape[1] // 2)
    rows = centre[0] + radii[:, None] * np.sin(angles)[None, :]
    cols = centre[1] + radii[:, None] * np.cos(angles)[None, :]
    return ndimage.map_coordinates(image, [rows, cols], order=1, mode="nearest").mean(axis=1)


def empty_kept(shape, excluded, places, params: dict):
    """``excluded`` and discs of ``FAR`` spacings around the empty ``places`` (where the
    lattice's missed sites must not be put back: a vacancy is one); ``excluded`` itself when
    there are none."""
    from napari_ivae.core.detection.lattice_sites import FAR

    if places is None or len(places) == 0:
        return excluded
    radius = max(int(FAR * float(params["spacing"])), 1)
    marks = np.zeros(shape, dtype=bool)
    marks[places[:, 0], places[:, 1]] = True
    from scipy import ndimage

    offsets = np.arange(-radius, radius + 1)
    disc = np.hypot(offsets[:, None], offsets[None, :]) <= radius
    marks = ndimage.binary_dilation(marks, structure=disc)
    return marks if excluded is None else marks | np.asarray(excluded, dtype=bool)


__all__ = ["atoms_are_ringed", "empty_kept", "empty_places"]
