"""Blobs on one saturated plateau: one particle, placed at the plateau's centre.

Where the detector saturates, a particle's top is clipped flat at the frame's highest value
(of the particles' polarity), and a CCD's full well spills the excess charge along the
columns into a streak at that value (blooming). Nothing inside the plateau tells one place
from another: scale space finds a row of blobs along it, each as strong as a particle, and
the radial profile drawn for the one kept at its middle leaves the streak for the beside pass
(:mod:`~napari_ivae.core.detection.particle_beside`). The rod merge
(:mod:`~napari_ivae.core.detection.particle_merge`) keeps them apart: the bead is wider than
its streak, so the ends are unlike. :func:`plateau_groups` joins the kept blobs whose centres
lie on one connected plateau unless it narrows to a waist between them (two touching saturated
particles meet at a neck narrower than either top); the group is placed at the plateau's
centroid (a bloom spills to both sides alike).

Without it, stranger_fresh's blooming CCD (seed 6) had a bead's streak reported as three
labels (the middle blob, two blobs 10 px up and down joined by the rod merge, and two beside
points further out), their centres all on the bead.
"""

from __future__ import annotations

import numpy as np

WAIST = 0.9  # a neck: the plateau's width between two blobs under this share of the narrower end's


def plateau_groups(signal, points, groups):
    """``groups`` (one index per blob, ``0..G-1``) with the blobs on one saturated plateau
    joined, and the centres of the groups that hold such blobs.

    Parameters
    ----------
    signal : numpy.ndarray
        ``(Y, X)`` frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept blobs.
    groups : numpy.ndarray
        ``(N,)`` their groups so far (:func:`~.particle_merge.merge_groups`).

    Returns
    -------
    (numpy.ndarray, dict)
        The groups (``0..G'-1``, in the order of their first blob) and, per group joined on a
        plateau, the plateau's centroid ``(row, col)``.
    """
    from scipy import ndimage

    from napari_ivae.core.detection.graph_components import component_labels

    points = np.asarray(points).reshape(-1, 2).astype(np.int64)
    groups = np.asarray(groups)
    if len(points) < 2:
        return groups, {}
    top = signal.max()
    clipped = signal >= top
    if np.count_nonzero(clipped) < 2:
        return groups, {}
    # the read noise leaves single pixels of a saturated area below the clip: closed over
    plateau = clipped | ndimage.binary_closing(clipped, structure=np.ones((3, 3)))
    components, _ = ndimage.label(plateau, structure=np.ones((3, 3)))
    # a blob's point on (or beside) the plateau: the highest label within a pixel of it
    near = ndimage.maximum_filter(components, size=3)
    piece = near[points[:, 0], points[:, 1]]
    on = piece > 0
    shared = [p for p in np.unique(piece[on]) if np.count_nonzero(piece == p) > 1]
    if not shared:
        return groups, {}
    # widths on the plateau grown by the pixel a blob's point may lie beside it
    mask = ndimage.binary_dilation(plateau, structure=np.ones((3, 3))).astype(np.float32)
    joined_pieces = {}
    edges = []  # pairs of groups joined on a plateau
    for p in shared:
        members = np.flatnonzero(piece == p)
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                if _no_waist(mask, points[first], points[second]):
                    edges.append((groups[first], groups[second]))
                    joined_pieces[int(groups[first])] = p
    first_ends, second_ends = np.array(edges, dtype=np.int64).reshape(-1, 2).T
    roots = component_labels(int(groups.max()) + 1, first_ends, second_ends)[groups]
    _, first_seen, out = np.unique(roots, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_seen))  # keep the groups in their blobs' order
    out = order[out]
    pieces = sorted(set(joined_pieces.values()))
    at = dict(zip(pieces, ndimage.center_of_mass(plateau, components, pieces), strict=True))
    centres = {}
    for old, p in joined_pieces.items():
        centres[int(out[np.flatnonzero(groups == old)[0]])] = tuple(float(x) for x in at[p])
    return out, centres


def _no_waist(mask, a, b) -> bool:
    """Whether the plateau (``mask``: 1 on it) keeps its width between ``a`` and ``b``: across
    the segment, nowhere under ``WAIST`` of the narrower end's width less a pixel (its outline
    runs on whole pixels: a streak two or three pixels wide steps by one)."""
    from napari_ivae.core.detection.particle_merge import _segments, _widths

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    steps = np.array([max(2, int(np.ceil(np.linalg.norm(b - a))) + 1)])
    line, _ = _segments(a[None, :], b[None, :], steps)
    reach = float(np.linalg.norm(b - a)) + 2.0
    width = _widths(mask, line, b - a, reach, 0.5)
    narrower = min(width[0], width[-1])
    inner = width[1:-1] if len(width) > 2 else width
    return bool(narrower > 0 and inner.min() >= WAIST * narrower - 1.0)


__all__ = ["plateau_groups"]
