"""The automatic patch size: two spacings, the spacing measured from the points."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.validation import MIN_PATCH_SIZE

DEFAULT_PATCH_SIZE = 32  # px, when no spacing is known


def auto_patch_size(spacing: float | None) -> int:
    """Patch side for a lattice spacing: two spacings (one shell of neighbours), even, at least
    :data:`~napari_ivae.core.validation.MIN_PATCH_SIZE`; :data:`DEFAULT_PATCH_SIZE` when no
    spacing is known."""
    if not spacing:
        return DEFAULT_PATCH_SIZE
    return int(max(MIN_PATCH_SIZE, 2 * round(spacing)))


def points_spacing(coords) -> float | None:
    """Median nearest-neighbour distance of points.

    Parameters
    ----------
    coords : (N, 2) or (N, D) array
        ``(row, col)``, or leading columns naming a frame (``frame, row, col``): neighbours
        are then looked for within each frame (the same atoms in every frame of a stack would
        otherwise be each other's neighbours at distance 0).

    Returns
    -------
    float or None
        None with fewer than 2 points in every frame, or when the distance is 0.
    """
    from scipy.spatial import cKDTree

    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or len(coords) < 2:
        return None
    frames = np.round(coords[:, :-2])
    nearest = []
    for frame in np.unique(frames, axis=0):
        points = coords[np.all(frames == frame, axis=1), -2:]
        if len(points) >= 2:
            nearest.append(cKDTree(points).query(points, k=2)[0][:, 1])
    if not nearest:
        return None
    spacing = float(np.median(np.concatenate(nearest)))
    return spacing if spacing > 0 else None
