"""From kept blobs to particles: the labels (a disc per blob, split between touching ones by a
watershed), sub-pixel centres, and the filters on them (clear of the frame's edge, a smallest
area)."""

from __future__ import annotations

import numpy as np


def clear_of_edge(points, radius, shape) -> np.ndarray:
    """Blobs whose centre is at least half their radius from the frame's edge."""
    margin = 0.5 * radius
    return (
        (points[:, 0] >= margin)
        & (points[:, 0] <= shape[0] - 1 - margin)
        & (points[:, 1] >= margin)
        & (points[:, 1] <= shape[1] - 1 - margin)
    )


def disc_labels(signal, centres, radii) -> np.ndarray:
    """One label per blob: its disc, shared out between touching blobs by a watershed."""
    from skimage import segmentation

    from napari_ivae.core.detection.particle_discs import within_discs

    labels = np.zeros(signal.shape, dtype=np.int32)
    if len(centres) == 0:
        return labels
    markers = np.zeros(signal.shape, dtype=np.int32)
    rows, cols = np.asarray(centres).T
    markers[rows, cols] = np.arange(1, len(centres) + 1)
    discs = within_discs(signal.shape, centres, radii)
    return segmentation.watershed(-signal, markers, mask=discs).astype(np.int32)


def blob_centres(signal, points, radii) -> np.ndarray:
    """Sub-pixel blob centres: centre of mass of the signal above a plane fitted around it,
    within half a blob radius (at least 1.5 px) of each scale-space maximum."""
    from napari_ivae.core.detection.refine import refine_centre_of_mass

    if len(points) == 0:
        return np.zeros((0, 2))
    centres = points.astype(np.float64)
    for radius in np.unique(radii):
        same = radii == radius
        centres[same], _ = refine_centre_of_mass(
            signal, centres[same], max(0.5 * radius, 1.5), iterations=1
        )
    return centres


def drop_small(labels, min_size, centres):
    """Remove labels smaller than ``min_size`` pixels (and their centres); renumber."""
    areas = np.bincount(labels.ravel(), minlength=len(centres) + 1)
    return without(labels, centres, areas[1 : len(centres) + 1] < min_size)


def without(labels, centres, drop):
    """``labels`` and ``centres`` without the particles ``drop`` (a mask over ``centres``,
    label ``i + 1`` for centre ``i``), the rest renumbered in order."""
    keep = ~np.asarray(drop, dtype=bool)
    mapping = np.zeros(len(keep) + 1, dtype=np.int32)
    mapping[1:][keep] = np.arange(1, int(keep.sum()) + 1)
    return mapping[labels], np.asarray(centres).reshape(-1, 2)[keep]
