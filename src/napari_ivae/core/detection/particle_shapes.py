"""The kept blobs' shapes judged after the faint pass, the last steps of
:func:`~napari_ivae.core.detection.particle_auto.auto_blobs`: a camera's noisy pixel is no
particle; blobs along one rim, one round outline or a donut are one particle; blobs in a
saturated particle's wake, along a step's lip or past a relief's shadow side are none.
"""

from __future__ import annotations

import numpy as np


def shaped_blobs(signal, points, radius, keep, ratio, pixel_noise, on_layer):
    """``points``, ``radius`` and ``keep`` after the shape steps, and their counts.

    Parameters
    ----------
    signal : numpy.ndarray
        The frame, the particles' polarity positive.
    points, radius : numpy.ndarray
        The blobs' integer (row, col) and radius.
    keep : numpy.ndarray of bool
        The blobs kept so far.
    ratio : numpy.ndarray or None
        The local noise over the frame's
        (:func:`~napari_ivae.core.detection.local_noise.noise_ratio`), ``None`` where even.
    pixel_noise : float
        The smoothed frame's noise.
    on_layer : bool
        A packed layer of the particles' polarity: its gaps are no background, so no rim,
        outline, donut, lip or relief is looked for.

    Returns
    -------
    points, radius, keep : numpy.ndarray
        As given, with rims, outlines and donuts each one particle at its centre.
    dict
        ``rims`` (donuts included), ``outlines``, ``wakes``, ``lips``, ``reliefs`` and
        ``one_pixel``: how many blobs each step merged or dropped.
    """
    from napari_ivae.core.detection import (
        particle_donuts,
        particle_lips,
        particle_outlines,
        particle_relief,
        particle_rims,
        particle_wakes,
    )

    # a camera's noisy pixel (sCMOS, an EMCCD's tail, a photomultiplier's photon on black) is
    # no particle: a particle lifts its brightest pixel's neighbours as the frame's do
    single = _one_pixel_blobs(signal, points, radius, keep, ratio, pixel_noise)
    keep[single] = False
    # blobs along one rim brighter than its interior (secondary electrons, a shell) are one
    # particle at the rim's centre; not on a packed layer, whose gaps are no background
    rims = outlines = 0
    standing = np.zeros((0, 2), dtype=np.int64)
    if not on_layer:
        points, radius, keep, rims = particle_rims.one_per_rim(
            signal, points, radius, keep, pixel_noise
        )
        # ... and where the smoothed rim encloses no basin, those on one round outline
        points, radius, keep, outlines, standing = particle_outlines.one_per_outline(
            signal, points, radius, keep, pixel_noise, last=rims, raised=True
        )
        # ... and two or three blobs on a ring too small for a basin (a donut)
        points, radius, keep, donuts = particle_donuts.one_per_donut(
            signal, points, radius, keep, pixel_noise
        )
        rims += donuts
    # blobs in the wake of a saturated particle along the fast scan (SEM charging) are none
    # (not an outline that stands round above its surroundings: a particle on the wake)
    keep, wakes = _dropped(
        keep,
        lambda kept: (
            particle_wakes.in_wakes(signal, points[kept], radius[kept], pixel_noise)
            & ~particle_outlines.among(points[kept], standing)
        ),
    )
    # ridge-like blobs along the lip of a step between two levels (a hole's edge in a film);
    # after the rims: a bright rim's crests separate a particle's interior from the background
    lips = reliefs = 0
    if not on_layer:
        keep, lips = _dropped(
            keep,
            lambda kept: particle_lips.on_lips(signal, points[kept], radius[kept], pixel_noise),
        )
        # blobs past the shadow side of a relief (DIC), where every blob's dip lies along one axis
        keep, reliefs = _dropped(
            keep,
            lambda kept: particle_relief.in_relief_shadows(
                signal, points[kept], radius[kept], pixel_noise
            ),
        )
    counts = {"rims": rims, "outlines": outlines, "wakes": wakes, "lips": lips}
    counts.update(reliefs=reliefs, one_pixel=int(len(single)))
    return points, radius, keep, counts


def _dropped(keep, judged) -> tuple[np.ndarray, int]:
    """``keep`` less the kept blobs ``judged(indices of the kept)`` marks, and how many."""
    kept = np.flatnonzero(keep)
    if not len(kept):
        return keep, 0
    out = np.asarray(judged(kept), dtype=bool)
    keep = keep.copy()
    keep[kept[out]] = False
    return keep, int(out.sum())


def _one_pixel_blobs(signal, points, radius, keep, ratio, pixel_noise) -> np.ndarray:
    """Indices of kept blobs at ``points`` (of ``radius``) whose ring the frame's particles
    would lift but which stands at the background (:mod:`.particle_impulse`); ``ratio``: the
    local noise."""
    from napari_ivae.core.detection.particle_impulse import one_pixel

    kept = np.flatnonzero(keep)
    local = np.ones(len(kept)) if ratio is None else ratio[points[kept, 0], points[kept, 1]]
    return kept[one_pixel(signal, points[kept], radius[kept], pixel_noise * local)]
