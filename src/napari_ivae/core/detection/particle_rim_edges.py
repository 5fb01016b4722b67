"""Bright rims the frame's edge cuts (:mod:`~napari_ivae.core.detection.particle_rims`).

A sphere in a secondary-electron image whose centre lies inside the frame but whose rim runs
over its edge has an open rim: its interior drains to the edge, so it is no basin, and the
rim's segments stay 2-4 particles. Mirrored at the edge, the rim and its mirror image close
round the interior and its mirror image (the two circles cross on the edge): on the frame
mirrored at its edges, that interior is a basin again, one that reaches the edge.
:func:`cut_basins` finds those basins; the rim round each is then read as a closed one is,
in the directions whose rim lies inside the frame (at least half of them, since the centre
is inside), and its centre is the circle's through those crests. The edge rule keeps it when
that centre lies inside the frame by a pixel (as a particle cut by the edge,
:mod:`~napari_ivae.core.detection.particle_edges`).
"""

from __future__ import annotations

import numpy as np


def cut_basins(smoothed, floor, radius, reach, smooth):
    """The basins of the frame mirrored at its edges whose rim may reach the frame's edge.

    Parameters
    ----------
    smoothed : numpy.ndarray
        ``(Y, X)`` smoothed frame, the particles' polarity positive.
    floor : float
        A basin is deeper than this.
    radius : numpy.ndarray
        The kept blobs' radii: the frame is mirrored out to ``2 x reach`` times the largest
        (a rim's segment is no wider than the rim; a rim reaches at most ``reach`` times its
        interior's radius).
    reach : float
        :data:`~napari_ivae.core.detection.particle_rims.REACH`: a rim is searched out to this
        many times its interior's radius (and ``2 x smooth``).
    smooth : float
        :data:`~napari_ivae.core.detection.particle_rims.SMOOTH`.

    Returns
    -------
    basins : numpy.ndarray
        ``(Y, X)`` labels of those basins inside the frame (1 ...): each one's centroid inside
        the frame is nearer its edge than the reach of its rim's search.
    area : numpy.ndarray
        Each one's pixel count with its mirror images (the whole interior).
    at : numpy.ndarray
        ``(M, 2)`` each one's centroid inside the frame.
    """
    from scipy import ndimage

    from napari_ivae.core.detection.detection_memo import remembered
    from napari_ivae.core.detection.particle_rims import _areas_and_centroids, _basin_depth

    shape = smoothed.shape
    empty = (np.zeros(shape, dtype=np.int32), np.zeros(0), np.zeros((0, 2)))
    if not len(radius):
        return empty
    # an even width keeps the 2 x 2 blocks of the basins' search where they are in the frame
    pad = min(2 * int(np.ceil(reach * float(np.max(radius)))), min(shape) // 2 * 2)
    if pad < 2:
        return empty
    # (the size range's second search asks it again where its blobs reach as far)
    depth = remembered("basin_depth", _basin_depth, np.pad(smoothed, pad, mode="symmetric"))
    labels, count = ndimage.label(depth > floor)
    inside = labels[pad:-pad, pad:-pad]
    full = np.bincount(labels.ravel(), minlength=count + 1)[1:].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # basins wholly in the mirror
        within, at = _areas_and_centroids(inside, count)
    # those whose rim, searched out to ``reach`` times the interior's radius, meets the edge
    near = np.minimum(at, np.array(shape, dtype=np.float64) - 1 - at).min(axis=1)
    edge = np.flatnonzero((within > 0) & (near < reach * (np.sqrt(full / np.pi) + 2.0 * smooth)))
    if not len(edge):
        return empty
    relabel = np.zeros(count + 1, dtype=np.int32)
    relabel[edge + 1] = np.arange(1, len(edge) + 1, dtype=np.int32)
    return relabel[inside], full[edge], at[edge]


def to_edge(centre, angles, shape) -> np.ndarray:
    """How far each ray from ``centre`` at ``angles`` (radians; row ``sin``, column ``cos``)
    runs before it leaves the frame (its last pixel)."""
    sin, cos = np.sin(angles), np.cos(angles)
    limits = []
    for step, at, size in ((sin, centre[0], shape[0]), (cos, centre[1], shape[1])):
        with np.errstate(divide="ignore", invalid="ignore"):
            forward = np.where(step > 1e-9, (size - 1 - at) / step, np.inf)
            backward = np.where(step < -1e-9, -at / step, np.inf)
        limits.append(np.minimum(forward, backward))
    return np.minimum(*limits)


def inside_frame(centre, shape) -> bool:
    """Whether ``centre`` lies inside the frame by the edge rule's pixel
    (:func:`~napari_ivae.core.detection.particle_edges.inside_frame`)."""
    from napari_ivae.core.detection.particle_edges import inside_frame as inside

    return bool(inside(np.asarray(centre, dtype=np.float64).reshape(1, 2), shape)[0])


__all__ = ["cut_basins", "inside_frame", "to_edge"]
