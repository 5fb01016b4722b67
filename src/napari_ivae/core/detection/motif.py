"""A weaker sub-lattice found from the unit cell's average (the motif).

A sub-lattice much weaker than the main one (a perovskite's B columns at a quarter of the A
intensity, the Sc columns of DyScO3 next to Dy, the S2 columns of MoS2 next to Mo) leaves an
autocorrelation peak far below ``MIN_BASIS_HEIGHT`` of the strongest, so the spacing estimate
is the lattice constant and a first detection pass finds the strong atoms only. Each weak atom
may be lost in the noise, but the image averaged around the strong atoms (the unit cell's mean,
windows of ``WINDOW`` lattice spacings, sub-pixel aligned) has the noise of one cell divided by
the square root of the number of cells, and in it the weak atoms stand out:

* a *basis peak* is a local maximum of the mean closer to the centre than the lattice's own
  neighbours (``MIN_SEPARATION`` to ``MAX_SEPARATION`` lattice spacings);
* its contrast (height above the mean on a circle around it) must stand ``MIN_Z`` standard
  errors above zero (the spread of that pixel over the cells over the square root of their
  number: noise and cell-to-cell variation both count against it) and reach
  ``MIN_CONTRAST`` of the centre's contrast on a circle of the same radius;
* and it must repeat at a lattice translation: another such peak in the window at the basis
  vector plus or minus one of the lattice's neighbour vectors (a sub-lattice has the lattice's
  periodicity; a lone blob of the mean does not).

Between the atoms of a lattice with one atom per cell the mean has minima and saddles, not
maxima (a square lattice's cell centre, a hexagonal lattice's hollows), so nothing is found
there however low the dose.
"""

from __future__ import annotations

import numpy as np

WINDOW = 1.2  # half-size of the averaged window, in lattice spacings
MIN_SEPARATION = 0.25  # basis peaks from this many lattice spacings ...
MAX_SEPARATION = 0.85  # ... to this many (closer than the lattice's own neighbours)
MIN_Z = 5.0  # a basis peak's contrast over its standard error
MIN_CONTRAST = 0.1  # a basis peak's contrast over the centre's
MIN_CELLS = 30  # fewer cells give no useful average
MAX_SAMPLES = 6_000_000  # cells x window pixels averaged at most (time)
RING = 0.3  # contrast measured against a circle of this many lattice spacings (at most)


def weaker_sublattice(
    frame: np.ndarray, points: np.ndarray, spacing: float, sigma: float
) -> dict | None:
    """The separation of a weaker sub-lattice, when the unit cell's average shows one.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame, atoms bright.
    points : numpy.ndarray
        ``(N, 2)`` (row, col) of the atoms a first pass found at the lattice spacing.
    spacing : float
        The lattice spacing (pixels): the distance between the found atoms.
    sigma : float
        Smoothing (pixels) applied before averaging.

    Returns
    -------
    dict or None
        ``None`` when no basis peak passes. Otherwise ``separation`` (pixels: the median
        distance of the nearest basis peaks, within 1.15 x the nearest), ``vectors`` (their
        (row, col) offsets from the strong atom), ``contrast`` (relative to the centre's),
        ``z`` (contrast over its standard error; both for the nearest), ``cells`` (how many
        cells were averaged) and ``empty_vectors`` (as many offsets of the average's lowest
        minima at the same range of distances: places in the cell where no atom is, whose
        noise peaks are the control for the sub-lattice's sites).
    """
    found = unit_cell_peaks(frame, points, spacing, sigma)
    if found is None:
        return None
    peaks, cells, minima = found
    lattice = peaks["vector"][peaks["lattice"]]
    significant = (peaks["z"] >= MIN_Z) & (peaks["contrast"] >= MIN_CONTRAST) & ~peaks["lattice"]
    distance = np.hypot(*peaks["vector"].T)
    basis = significant & (distance >= MIN_SEPARATION * spacing)
    basis &= distance < MAX_SEPARATION * spacing
    if not basis.any() or len(lattice) == 0:
        return None
    others = peaks["vector"][significant]
    tolerance = max(0.1 * spacing, 1.5)
    repeated = np.zeros(len(distance), dtype=bool)
    for index in np.flatnonzero(basis):
        shifted = np.concatenate(
            [peaks["vector"][index] + lattice, peaks["vector"][index] - lattice]
        )
        gaps = np.linalg.norm(shifted[:, None, :] - others[None, :, :], axis=2)
        repeated[index] = bool((gaps <= tolerance).any())
    basis &= repeated
    if not basis.any():
        return None
    nearest = distance[basis].min()
    shell = basis & (distance <= 1.15 * nearest)
    first = int(np.flatnonzero(basis)[np.argmin(distance[basis])])
    return {
        "separation": float(np.median(distance[shell])),
        "vectors": peaks["vector"][shell],
        "empty_vectors": minima[: int(shell.sum())],
        "contrast": float(peaks["contrast"][first]),
        "z": float(peaks["z"][first]),
        "cells": int(cells),
    }


def unit_cell_peaks(frame: np.ndarray, points: np.ndarray, spacing: float, sigma: float):
    """Local maxima of the image averaged around ``points`` and what each is worth.

    Returns
    -------
    (dict, int, numpy.ndarray) or None
        Per maximum: ``vector`` ((row, col) offset from the centre, pixels), ``contrast``
        (over the centre's), ``z`` (contrast over its standard error) and ``lattice`` (a
        neighbour of the found lattice: 0.85-1.25 spacings, at least half the centre's
        contrast); the number of cells averaged; the offsets of the local minima from
        ``MIN_SEPARATION`` to ``MAX_SEPARATION`` spacings, lowest first. ``None`` with fewer
        than ``MIN_CELLS`` cells inside the frame.
    """
    from scipy import ndimage

    averaged = cell_mean(frame, points, spacing, sigma)
    if averaged is None:
        return None
    mean, error, count = averaged
    half = mean.shape[0] // 2
    offsets = np.arange(-half, half + 1)
    rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
    is_max = mean == ndimage.maximum_filter(mean, size=3, mode="nearest")
    is_max &= (np.abs(rows) < half) & (np.abs(cols) < half) & ((rows != 0) | (cols != 0))
    r, c = np.nonzero(is_max)
    vector = np.stack([rows[r, c], cols[r, c]], axis=1).astype(np.float64)
    distance = np.hypot(*vector.T)
    keep = distance >= 1.0
    r, c, vector, distance = r[keep], c[keep], vector[keep], distance[keep]
    radius = np.minimum(RING * spacing, 0.5 * distance)
    height = mean[r, c] - _ring_means(mean, np.stack([r, c], axis=1), radius)
    centre = mean[half, half] - _ring_means(mean, np.array([[half, half]] * len(r)), radius)
    with np.errstate(divide="ignore", invalid="ignore"):
        contrast = np.where(centre > 0, height / centre, 0.0)
        z = np.where(error[r, c] > 0, height / error[r, c], 0.0)
    lattice = (distance >= 0.85 * spacing) & (distance <= 1.25 * spacing) & (contrast >= 0.5)
    peaks = {"vector": vector, "contrast": contrast, "z": z, "lattice": lattice}
    is_min = mean == ndimage.minimum_filter(mean, size=3, mode="nearest")
    reach = np.hypot(rows, cols)
    is_min &= (reach >= MIN_SEPARATION * spacing) & (reach < MAX_SEPARATION * spacing)
    r, c = np.nonzero(is_min)
    order = np.argsort(mean[r, c])
    minima = np.stack([rows[r, c], cols[r, c]], axis=1).astype(np.float64)[order]
    return peaks, count, minima


def cell_mean(frame: np.ndarray, points: np.ndarray, spacing: float, sigma: float):
    """The frame (smoothed by ``sigma``) averaged in windows of ``WINDOW`` lattice spacings
    around ``points`` (sub-pixel aligned on their centres of mass).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, int) or None
        The mean (odd side, the atom at its centre pixel), its standard error per pixel and
        the number of cells; ``None`` with fewer than ``MIN_CELLS`` cells inside the frame.
    """
    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.refine import refine_centre_of_mass

    smoothed = gaussian_smooth(np.asarray(frame, dtype=np.float32), sigma)
    half = int(np.ceil(WINDOW * spacing))
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    most = max(MIN_CELLS, MAX_SAMPLES // (2 * half + 1) ** 2)
    points = points[_inside(points, smoothed.shape, half + 2)]
    if len(points) > most:  # evenly over the found atoms (they come in image order)
        points = points[np.linspace(0, len(points) - 1, most).astype(np.int64)]
    points, _ = refine_centre_of_mass(smoothed, points, max(0.3 * spacing, 1.0), iterations=2)
    points = points[_inside(points, smoothed.shape, half + 1)]
    if len(points) < MIN_CELLS:
        return None
    cells = _windows(smoothed, points, half)
    error = cells.std(axis=0, ddof=1) / np.sqrt(len(cells))
    return cells.mean(axis=0), error, len(cells)


def _inside(points: np.ndarray, shape, margin: int) -> np.ndarray:
    """Points at least ``margin`` pixels inside the frame (and one more at the far side)."""
    return np.all((points >= margin) & (points <= np.array(shape) - margin - 1), axis=1)


def _windows(image: np.ndarray, points: np.ndarray, half: int) -> np.ndarray:
    """``(N, 2 half + 1, 2 half + 1)`` windows centred on sub-pixel ``points`` (bilinear)."""
    base = np.floor(points).astype(np.int64)
    fraction = (points - base).astype(np.float32)
    offsets = np.arange(-half, half + 2)  # one more: the bilinear weights' far corner
    rows = base[:, 0, None, None] + offsets[None, :, None]
    cols = base[:, 1, None, None] + offsets[None, None, :]
    block = image[rows, cols]
    fr, fc = fraction[:, 0, None, None], fraction[:, 1, None, None]
    top = block[:, :-1, :-1] * (1 - fc) + block[:, :-1, 1:] * fc
    bottom = block[:, 1:, :-1] * (1 - fc) + block[:, 1:, 1:] * fc
    return (top * (1 - fr) + bottom * fr).astype(np.float64)


def _ring_means(image: np.ndarray, centres: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Mean of ``image`` on a circle of ``radius`` around each centre (bilinear, 32 samples)."""
    from scipy import ndimage

    if len(centres) == 0:  # an average with no maximum but its centre
        return np.zeros(0)
    angles = np.linspace(0.0, 2.0 * np.pi, 32, endpoint=False)
    rows = centres[:, 0, None] + radius[:, None] * np.sin(angles)[None, :]
    cols = centres[:, 1, None] + radius[:, None] * np.cos(angles)[None, :]
    samples = ndimage.map_coordinates(image, [rows.ravel(), cols.ravel()], order=1, mode="nearest")
    return samples.reshape(len(centres), -1).mean(axis=1)


__all__ = ["cell_mean", "unit_cell_peaks", "weaker_sublattice"]
