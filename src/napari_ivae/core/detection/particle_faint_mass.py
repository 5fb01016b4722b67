"""Faint particles on a mostly constant background, by their mass.

For :func:`~napari_ivae.core.detection.particle_faint.faint_particles` where the background
far from the kept particles is mostly one constant value (a rendered localisation image's
black): it holds no noise, so no null to cut a response against (:func:`faint_by_mass`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.particle_faint import FAINT_APART, peaks_off


def faint_by_mass(signal, points, radius, area, skip, info) -> np.ndarray:
    """On a mostly constant background: the maxima away from the kept particles whose mass
    lies above the valley between the frame's two populations of mass.

    A constant background holds no noise, so no null to cut a response against; but it adds
    nothing to a blob's mass (its sum over the constant level), and a Laplacian's ring weighs a
    diffuse blob below a compact one of less mass (a nanocluster of 15 localisations spread
    over 3.5 px reads no stronger than a molecule's 5 repeats within 2 px). The mass at the
    kept particles' median scale, ``r / sqrt(2)``, gives two populations where the frame holds
    particles and lesser objects; the valley between them
    (:func:`~napari_ivae.core.detection.particle_valley.valley_cut`) is the cut, where the
    kept particles lie above it.

    Returns
    -------
    numpy.ndarray
        ``(M, 2)`` integer centres of the particles added.
    """
    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.particle_valley import valley_cut

    none = np.zeros((0, 2), dtype=np.int64)
    constant = np.asarray(skip, dtype=bool)
    if not constant.any() or not area.any():
        return none
    sigma = float(np.median(radius)) / np.sqrt(2.0)
    level = _median(signal[constant])
    mass = gaussian_smooth(signal - level, sigma) * (2.0 * np.pi * sigma**2)
    size = 2 * int(np.ceil(FAINT_APART * np.sqrt(2.0) * sigma)) + 1
    rows, cols = peaks_off(mass, ~constant, size)
    cut = valley_cut(mass[rows, cols])
    kept = mass[points[:, 0], points[:, 1]]
    if cut is None or float(np.median(kept)) < cut:
        return none
    info["faint_cut"] = round(cut, 6)
    take = (mass[rows, cols] >= cut) & area[rows, cols]
    info["faint"] = int(take.sum())
    return np.stack([rows[take], cols[take]], axis=1).astype(np.int64)


__all__ = ["faint_by_mass"]
