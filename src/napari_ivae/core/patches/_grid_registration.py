"""Lattice-registered grid patches: every grid patch moved onto the nearest lattice feature.

Why: grid patches cut at fixed steps start at every phase of the lattice, so a shift-VAE's
codes spend their capacity on that phase and its latent maps show a lattice beat (a
checkerboard) instead of domains. Moving each grid centre to the nearest bright lattice
feature (an atom column, or whatever periodic maximum the image has) makes every patch start
at the same phase of its local lattice; what is left for z is what differs between places:
orientation (domains), strain, defects. The shift-VAE's offsets then only absorb the residual
(sub-pixel) displacement.

The features are the local maxima of the image smoothed at ``0.15 x spacing`` (an atom's
width), at least ``0.7 x spacing`` apart and brighter than the image's median, with the spacing
measured from the image (:func:`napari_ivae.core.detection.spacing.estimate_spacing`). A grid centre with
no feature within one spacing (vacuum, a hole) keeps its place.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.patches import _sampling as sampling

SMOOTH_FRACTION = 0.15  # Gaussian smoothing, in spacings (an atom column's width)
MIN_DISTANCE_FRACTION = 0.7  # features closer than this many spacings merge
MAX_SHIFT_FRACTION = 1.0  # a centre moves at most one spacing


def lattice_features(frame: np.ndarray, spacing: float) -> np.ndarray:
    """``(K, 2)`` integer ``(row, col)`` of the bright lattice features of one frame."""
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(
        np.asarray(frame, dtype=np.float32), max(SMOOTH_FRACTION * spacing, 0.5)
    )
    size = max(3, int(round(MIN_DISTANCE_FRACTION * spacing)) | 1)
    peaks = (smooth == ndimage.maximum_filter(smooth, size=size)) & (smooth > np.median(smooth))
    return np.argwhere(peaks)


def lattice_shifts(frame: np.ndarray, centres: np.ndarray, shape, spacing: float) -> np.ndarray:
    """Integer ``(N, 2)`` shifts moving each grid centre onto its nearest lattice feature.

    Only features whose patch of ``shape`` lies inside the frame are used; a centre with none
    within ``MAX_SHIFT_FRACTION x spacing`` gets a zero shift.
    """
    from scipy.spatial import cKDTree

    shifts = np.zeros_like(centres, dtype=np.float64)
    features = lattice_features(frame, spacing).astype(np.float64)
    features = features[sampling.patch_inside(features, shape, frame.shape)]
    if len(features) == 0:
        return shifts
    distance, nearest = cKDTree(features).query(centres)
    close = distance <= MAX_SHIFT_FRACTION * spacing
    shifts[close] = features[nearest[close]] - centres[close]
    return shifts


def measured_spacing(stack: np.ndarray) -> float | None:
    """Nearest-neighbour spacing of the first frame, or None when it shows no lattice."""
    from napari_ivae.core.detection.spacing import estimate_spacing
    from napari_ivae.core.errors import InputError

    try:
        return float(estimate_spacing(stack[0]))
    except InputError:
        return None


def registration_spacing(spacing, register, measure) -> float | None:
    """The spacing to register grid patches with, or None for plain crops.

    ``register`` None registers when a spacing is given or measured, True requires one, False
    never registers. ``measure()`` measures the spacing (see :func:`measured_spacing`) and is
    called only when ``spacing`` is None.
    """
    from napari_ivae.core.errors import InputError

    if register is not None and not register:
        return None
    if spacing is None:
        spacing = measure()
    elif not np.isfinite(spacing) or spacing <= 0:
        raise InputError(f"spacing must be a positive number of pixels, got {spacing!r}.")
    if spacing is None and register:
        raise InputError(
            "No lattice spacing could be measured to register the grid "
            "patches; give the spacing, or register=False."
        )
    return None if spacing is None else float(spacing)


def registration_message(spacing: float, shifts: np.ndarray) -> str:
    """What registration did, for the patch set's message."""
    moved = int(np.any(shifts != 0, axis=1).sum())
    return (
        f"grid patches registered on the lattice (spacing {spacing:.1f} px; "
        f"{moved} of {len(shifts)} moved)"
    )
