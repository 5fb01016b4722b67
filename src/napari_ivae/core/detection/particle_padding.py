"""Padding (a mosaic's or a drift-corrected frame's constant border, clipped vacuum) ended as
the frame's edge is: the data mirrored into it.

A constant area reaching the frame's edge holds no data. The step from the data down (or up)
to it is no structure of the sample, but every filter reads it as one: a ridge of blobs along
the data's edge (bright low-dose particles in 20 px of zeros: precision 0.69-0.74), or, where
the constant is the particles' side of the data (a saturated white frame), a polarity taken
from the ridge. The filters mirror the frame at its own edge; :func:`mirrored` does the same at
the data's edge, and no peak or candidate is taken from the padding.

A constant area is padding only along a stretch of the frame's edge and beside a stretch of
data, both wider than the largest particle searched: on a noise-free render the background
around the particles is constant too, and the particles are islands in it, not data ended
by it; in a dark vacuum a few patches of zero counts reach the edge.
"""

from __future__ import annotations

import numpy as np


def padding_and_edges(flat, masked) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The padding among the constant areas ``flat`` and, for each of its pixels, the nearest
    pixel of data.

    Parameters
    ----------
    flat : numpy.ndarray of bool
        Pixels in a constant window (:func:`~napari_ivae.core.detection.peaks.flat_mask`).
    masked : numpy.ndarray of bool
        Pixels masked already (an annotation, ``exclude``): neither padding nor data.

    Returns
    -------
    (numpy.ndarray of bool, tuple or None)
        The padding: ``flat``'s regions (8-connected) that cover a stretch of the frame's
        edge, those of their pixels nearest to a stretch of data, both wider than the
        largest particle searched
        (:func:`~napari_ivae.core.detection.particle_scale_space.blob_scales`); and the
        ``(rows, cols)`` of every pixel's nearest pixel outside the constant regions (None
        where there is no padding).
    """
    from scipy import ndimage

    from napari_ivae.core.detection._filters import square_extreme
    from napari_ivae.core.detection.particle_scale_space import blob_scales

    # wider than the largest particle searched: a stretch of data, a stretch of the edge
    side = 2 * int(np.ceil(np.sqrt(2.0) * blob_scales(flat.shape)[-1])) + 1
    constant = edge_regions(flat & ~masked, side)
    none = np.zeros(flat.shape, dtype=bool)
    if not constant.any() or (constant | masked).all():
        return none, None
    nearest = ndimage.distance_transform_edt(constant, return_distances=False, return_indices=True)
    data = ~(constant | masked)
    wide = square_extreme(data.view(np.uint8), side, np.minimum).view(bool)
    if not wide.any():
        return none, None
    pieces, count = ndimage.label(data, structure=np.ones((3, 3), dtype=bool))
    if count == 1:  # one stretch of data, and it is wide
        return constant, (nearest[0], nearest[1])
    rows, cols = np.nonzero(constant)
    beside = np.isin(pieces[nearest[0][rows, cols], nearest[1][rows, cols]], pieces[wide])
    padding = np.zeros(flat.shape, dtype=bool)
    padding[rows[beside], cols[beside]] = True
    return padding, (nearest[0], nearest[1])


def edge_regions(mask, along: int = 1) -> np.ndarray:
    """The connected regions of ``mask`` (8-connected) that reach the frame's edge.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        2D mask (the frame's constant areas).
    along : int
        The fewest pixels of the frame's edge a region must cover (a dark vacuum's patches
        of zero counts cover a few; padding a side).

    Returns
    -------
    numpy.ndarray of bool
        ``mask``'s pixels whose region covers at least ``along`` pixels of the first or
        last row or column.
    """
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    if not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()):
        return np.zeros_like(mask)
    regions, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    rim = np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]])
    counts = np.bincount(rim[rim > 0])
    return np.isin(regions, np.flatnonzero(counts >= along))


def mirrored(frame, padding, nearest) -> np.ndarray:
    """``frame`` with each pixel of ``padding`` replaced by its mirror image across its
    nearest pixel of data (as the filters mirror the frame at its edge).

    Parameters
    ----------
    frame : numpy.ndarray
        2D float frame (changed in place and returned).
    padding : numpy.ndarray of bool
        Pixels holding no data (:func:`padding_and_edges`).
    nearest : tuple of numpy.ndarray or None
        Each pixel's nearest pixel of data, ``(rows, cols)`` (:func:`padding_and_edges`).

    Returns
    -------
    numpy.ndarray
        ``frame``; where the mirror image falls outside the frame or on no data (past a
        corner, across a strip wider than the data beside it), the nearest pixel's value.
    """
    if nearest is None or not padding.any():
        return frame
    rows, cols = np.nonzero(padding)
    edge_row, edge_col = nearest[0][rows, cols], nearest[1][rows, cols]
    mirror_row, mirror_col = 2 * edge_row - rows, 2 * edge_col - cols
    height, width = frame.shape
    inside = (mirror_row >= 0) & (mirror_row < height) & (mirror_col >= 0) & (mirror_col < width)
    mirror_row = np.where(inside, mirror_row, edge_row)
    mirror_col = np.where(inside, mirror_col, edge_col)
    # the mirror image is data where its own nearest data pixel is itself
    data = (nearest[0][mirror_row, mirror_col] == mirror_row) & (
        nearest[1][mirror_row, mirror_col] == mirror_col
    )
    frame[rows, cols] = np.where(data, frame[mirror_row, mirror_col], frame[edge_row, edge_col])
    return frame


__all__ = ["edge_regions", "mirrored", "padding_and_edges"]
