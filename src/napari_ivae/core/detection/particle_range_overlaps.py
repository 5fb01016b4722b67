"""The lower octave's particles (:func:`~napari_ivae.core.detection.particle_size_range.
covered_blobs`) beside and over the first search's points.

A particle found below the first floor that overlaps a first point is a piece of that point's
particle (its rim, its end, the same particle again at a smaller scale), unless that point is
not centred on a particle of its own: climbing the frame's own response at the point's scale
from it ends inside another kept particle (:func:`uncentred`). The beside pass
(:mod:`~napari_ivae.core.detection.particle_beside`) finds such points in the residual between
a large particle and a small one it swallowed, at too large a scale and between the two;
the lower search finds the small one as a maximum of the frame's own response at its own
scale, and it replaces the point. stranger_heldlike stem_bright_carbon s1 @x1.5: every other
first point a lower particle overlapped (40) is a maximum of its own response (moved 0-1 px);
the beside point moved 13.5 px, onto the large particle, its response 0.69 against 6.78 there.
"""

from __future__ import annotations

import numpy as np


def uncentred(signal, points, radius, over) -> np.ndarray:
    """Per kept point (``points``, ``radius``), whether a disc of ``over`` (``(centres,
    radii)``) overlaps it and the frame's response ``-sigma^2 LoG`` of ``signal`` (particles
    positive) at its scale (``radius / sqrt(2)``), climbed from it one pixel at a time to the
    highest of the 3 x 3 around, ends inside another kept point's disc."""
    from napari_ivae.core.detection.particle_size_range import apart_from

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    found = np.zeros(len(points), dtype=bool)
    if len(points) < 2 or not len(over[0]):
        return found
    for index in np.flatnonzero(~apart_from(points, radius, over[0], over[1])).tolist():
        end = _climbed(signal, points[index], radius[index])
        distance = np.hypot(*(points - end).T)
        distance[index] = np.inf
        found[index] = bool((distance <= radius).any())
    return found


def _climbed(signal, point, radius: float) -> np.ndarray:
    """Where the response at ``radius / sqrt(2)``, climbed from ``point``, peaks, within a
    window of 2 radii + 4 sigma round it (the window's edge ends the climb)."""
    from napari_ivae.core.detection.particle_scale_space import scale_space

    sigma = radius / np.sqrt(2.0)
    reach = int(np.ceil(2.0 * radius + 4.0 * sigma))
    at = np.round(np.asarray(point)).astype(np.int64)
    low = np.maximum(at - reach, 0)
    high = np.minimum(at + reach + 1, signal.shape)
    window = np.asarray(signal[low[0] : high[0], low[1] : high[1]], dtype=np.float32)
    layer = scale_space(window, [sigma])[0]
    here = at - low
    for _ in range(layer.size):
        rows = slice(max(here[0] - 1, 0), min(here[0] + 2, layer.shape[0]))
        cols = slice(max(here[1] - 1, 0), min(here[1] + 2, layer.shape[1]))
        around = layer[rows, cols]
        step = np.unravel_index(int(np.argmax(around)), around.shape)
        best = np.array([rows.start + step[0], cols.start + step[1]])
        if around[step] <= layer[here[0], here[1]]:
            break
        here = best
    return (here + low).astype(np.float64)


__all__ = ["uncentred"]
