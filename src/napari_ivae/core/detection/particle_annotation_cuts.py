"""Particles that a burned-in annotation (a scale bar, its label's glyphs) cuts in pieces.

A particle lying under a scale bar or a glyph stroke is seen as two (or more) blobs, one on
each side of the stroke, and each is found as a particle of its own: two points where there is
one, neither at its centre, each the size of a piece. Nothing of the image says where the
hidden part of such a particle is or how large it is, so its pieces are dropped, as a particle
cut by the frame's edge is (:func:`.particle_edges.clear_of_edge`).
"""

from __future__ import annotations

import numpy as np


def cut_pieces(labels: np.ndarray, centres: np.ndarray, annotation: np.ndarray) -> np.ndarray:
    """Which particles are pieces of one particle cut by the ``annotation``.

    Two particles are pieces of one when both touch the annotation, neither centre lies in
    it, and the straight line between their centres runs through nothing but the two pieces
    (discs of their equivalent radii; a watershed label has holes) and one stretch of the
    annotation no longer than the image's particles are across (twice their median
    equivalent radius): they meet across a stroke thin enough to lie over a particle. Two
    particles with background between them, beside the annotation on one side (the line
    misses it or runs along it) or on either side of an opaque box wider than a particle
    are not.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(Y, X)`` particle labels, ``i + 1`` for ``centres[i]``.
    centres : numpy.ndarray
        ``(n, 2)`` particle centres (row, column).
    annotation : numpy.ndarray
        ``(Y, X)`` bool, the annotation's pixels (:func:`.overlays.annotation_mask`).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` bool, True for each piece.
    """
    from scipy import ndimage

    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    pieces = np.zeros(len(centres), dtype=bool)
    if len(centres) < 2 or not annotation.any():
        return pieces
    # the annotation grown by one pixel: a piece's label stops where the annotation begins
    grown = ndimage.binary_dilation(annotation)
    touching = np.zeros(len(centres) + 1, dtype=bool)
    touching[np.unique(labels[grown])] = True
    touching[0] = False
    candidates = np.flatnonzero(touching[1:])
    if len(candidates) < 2:
        return pieces
    areas = np.bincount(labels.ravel(), minlength=len(centres) + 1)[1 : len(centres) + 1]
    radius = np.sqrt(areas / np.pi)
    widest = 2.0 * float(np.median(radius[areas > 0])) if (areas > 0).any() else 0.0
    last = np.array(labels.shape) - 1
    for a_index, a in enumerate(candidates):
        for b in candidates[a_index + 1 :]:
            if _meet_across(centres[a], centres[b], radius[a], radius[b], grown, last, widest):
                pieces[[a, b]] = True
    return pieces


def _meet_across(a, b, radius_a, radius_b, grown, last, widest) -> bool:
    """Whether the line from ``a`` to ``b`` (centres, ``radius_a`` and ``radius_b`` their
    pieces' radii) leaves the first piece into the ``grown`` annotation and enters the second
    from it, the stretch across at most ``widest`` long (``last``: the frame's last row and
    column)."""
    length = float(np.hypot(*(b - a)))
    if length == 0.0:
        return False
    samples = max(int(np.ceil(2 * length)), 2)
    along = np.linspace(0.0, length, samples)
    rows, cols = np.clip(np.rint(a + np.outer(along / length, b - a)), 0, last).astype(int).T
    inside = grown[rows, cols]
    if inside[0] or inside[-1] or not inside.any():
        return False
    covered = inside | (along <= radius_a) | (length - along <= radius_b)
    return bool(covered.all()) and inside.sum() * length / (samples - 1) <= widest


__all__ = ["cut_pieces"]
