"""Blobs at the background's level that stand out only beside a darker thing.

Beside a deep dark area (the shadow side of a bead in differential interference contrast, the
dark half of a relief, a dark particle), the background at that area's edge stands above its
surround on the dark side, and the scale-space search can keep it: a blob at the background's
level, its dark neighbour's shoulder. A particle rises above the background, alone, in a
cluster or along a rod.

:func:`on_shoulders` reads each kept blob's top and its surround's sector medians as
:func:`~napari_ivae.core.detection.particle_surround.surround_share` does, and the background:
the median of the frame within ``BACKGROUND`` x the surround's outer radius, outside every kept
blob's disc. The blob is a shoulder where its lowest sector lies deeper than ``DEEP`` x the
noise of a sector's median below its top, and its top rises over both the background and the
median of its surround's upper half (the four higher sectors' medians) by less than
``SHOULDER`` of that depth. A bright particle beside a dark one as deep as it is high reads
1 / 2; a particle in a cluster or on a rod rises over the background between them, and one
in its own dark halo (phase contrast, defocus) over its surround on every side.

Measured on benchmarks/stranger_optical.py's dic_beads (beads r 6-16, each a bright and a dark
side): the bright side's blobs 0.43-0.6 (with the surround's upper half for the background:
the cleanest gap), the shoulders past the dark side at most 0.28.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _group_medians, _median
from napari_ivae.core.detection.particle_surround import RING, _around, _surround_rings

SHOULDER = 1.0 / 3.0  # the top's rise over the background, below this share of the depth
DEEP = 6.0  # the lowest sector lies this many times its median's noise below the top
BACKGROUND = 2.0  # the background is read within this many x the surround's outer radius
MIN_BACKGROUND = 20  # fewer background pixels than this: no decision


def on_shoulders(signal, points, radius, pixel_noise, judged=None) -> np.ndarray:
    """Which kept blobs are a dark area's shoulder (see the module).

    Parameters
    ----------
    signal : numpy.ndarray
        ``(Y, X)`` frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept blobs.
    radius : numpy.ndarray
        ``(N,)`` their radii (pixels).
    pixel_noise : float
        The frame's pixel noise (standard deviation).
    judged : numpy.ndarray of bool, optional
        ``(N,)`` the blobs to judge (default all); the others only mask the background.

    Returns
    -------
    numpy.ndarray of bool
        ``(N,)``.
    """
    from napari_ivae.core.detection.particle_discs import within_discs

    signal = np.asarray(signal)
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    out = np.zeros(len(points), dtype=bool)
    if not len(points):
        return out
    judged = np.ones(len(points), dtype=bool) if judged is None else np.asarray(judged)
    outside = ~within_discs(signal.shape, points, radius + 1.0)
    for index in np.flatnonzero(judged):
        centre, size = points[index], float(radius[index])
        area, dy, dx = _around(centre, int(np.ceil(RING[1] * size)), signal.shape)
        top_pixels, ring, sector = _surround_rings(dy, dx, size)
        if not top_pixels.any() or len(np.unique(sector)) < 4:
            continue
        window = _around(centre, int(np.ceil(BACKGROUND * RING[1] * size)), signal.shape)[0]
        background = signal[window][outside[window]]
        if len(background) < MIN_BACKGROUND:
            continue
        top = float(signal[area][top_pixels].mean())
        values = signal[area][ring]
        medians = np.sort(_group_medians(values, sector))
        depth = top - float(medians[0])
        # over the background (a rod's or a cluster's gaps) and over the surround's upper half
        # (a particle's own dark halo): a shoulder rises over neither
        rise = top - min(float(_median(background)), float(np.median(medians[len(medians) // 2 :])))
        # the noise of a sector's median: about 1.25 x the pixel noise over its pixels' root
        noise = 1.25 * float(pixel_noise) / np.sqrt(max(len(values) / len(medians), 1))
        out[index] = depth > DEEP * noise and rise < SHOULDER * depth
    return out


__all__ = ["on_shoulders"]
