"""Blobs that are groups of stronger, smaller blobs: the scale choice's clusters test.

The polarity and scale choice (:func:`~napari_ivae.core.detection.particle_blobs.
polarity_scale_and_response`) weighs each scale's strongest blob peaks against the response's
spread there. Touching particles in tight clusters make a cluster a blob too, and at the
cluster's scale the support's texture and noise are smoothed away: its spread is smaller, and
the cluster scale can win although every particle in it stands out on its own. The
scale-normalised response is the common currency across scales (a blob's response is about its
contrast at the scale that matches it), so a blob that holds two or more smaller blobs, each at
least as strong as itself, is a group of them, not one particle: their scale is the particles'.
A large particle's noise, fringes or texture on its top are weaker than the particle itself;
a bright rim's, a rod's or a bloomed streak's maxima lie on ridges (not round, as
:func:`~napari_ivae.core.detection.particle_peak_shape.curvature_ratio` measures them), and what is
strongest at the finest scale (noise, a one-pixel rim) is nothing scale space resolves: neither
counts as a smaller blob. Nor does one weaker than white noise of the frame's pixel noise reaches
at the smaller scales: white noise's scale-normalised response grows as the scale shrinks, so on
a frame of noise alone every blob would hold stronger smaller ones.
"""

from __future__ import annotations

import numpy as np

SUB_SCALE = 0.5  # a smaller blob's scale is at most this share of the group's: two fit in it


def inner_strong_blobs(response, scales, index, sign, row, col, floor=0.0) -> int:
    """How many distinct round blobs at scales up to ``SUB_SCALE`` x ``scales[index]`` (the
    finest excluded) lie within the blob radius ``sqrt(2) sigma`` of ``(row, col)`` and reach
    that blob's own response.

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` ``-sigma^2 LoG`` (bright blobs positive).
    scales : numpy.ndarray
        The sigmas of ``response``'s layers, ascending.
    index : int
        The larger blob's scale index.
    sign : float
        ``1.0`` for bright blobs, ``-1.0`` for dark ones.
    row, col : int
        The larger blob's peak.
    floor : float
        What white noise of the frame's pixel noise reaches at the smaller scales
        (:func:`~napari_ivae.core.detection.particle_threshold.noise_floor`): a smaller blob
        must reach it too (white noise is stronger at smaller scales, relative to a larger
        blob, whatever the frame holds).

    Returns
    -------
    int
        The number of such smaller blobs (maxima of the smaller scales' strongest response,
        one per smaller blob's radius).
    """
    from scipy import ndimage

    below = int(np.searchsorted(scales, SUB_SCALE * scales[index], side="right"))
    if below == 0:
        return 0
    reach = int(np.ceil(np.sqrt(2.0) * scales[index]))
    top, left = max(row - reach, 0), max(col - reach, 0)
    window = sign * response[:below, top : row + reach + 1, left : col + reach + 1]
    level = max(sign * float(response[index, row, col]), floor)
    best = window.max(axis=0)
    at_scale = window.argmax(axis=0)
    rows, cols = np.mgrid[: best.shape[0], : best.shape[1]]
    near = np.hypot(rows + top - row, cols + left - col) <= reach
    peaks = (best == ndimage.maximum_filter(best, 3)) & near & (best >= level)
    found = np.flatnonzero(peaks.ravel())
    found = found[np.argsort(-best.ravel()[found])]
    kept: list[tuple[int, int, float]] = []
    for flat in found:
        y, x = divmod(int(flat), best.shape[1])
        if at_scale[y, x] == 0 or not _round(window[at_scale[y, x]], y, x):
            # strongest at the finest scale (noise, a thin rim: nothing that scale space
            # resolves), or a rim's, a rod's or a bloomed streak's ridge: part of one particle
            continue
        radius = np.sqrt(2.0) * scales[at_scale[y, x]]
        if all(np.hypot(y - ky, x - kx) > max(radius, kr) for ky, kx, kr in kept):
            kept.append((y, x, radius))
    return len(kept)


def _round(layer, row, col) -> bool:
    """Whether ``layer``'s peak at ``(row, col)`` is a blob's, not a ridge's."""
    from napari_ivae.core.detection.particle_peak_shape import RIDGE, curvature_ratio

    return bool(curvature_ratio(layer, [row], [col])[0] >= RIDGE)


def grouped(response, scales, index, polarity: str, peaks, pixel_noise=0.0) -> bool:
    """Whether most of the strongest ``polarity`` blobs at ``scales[index]`` (flat ``peaks``
    of a layer) are groups: each holds two or more smaller blobs at least as strong, and
    stronger than white noise of ``pixel_noise`` reaches there (:func:`inner_strong_blobs`)."""
    from napari_ivae.core.detection.particle_threshold import noise_floor

    below = int(np.searchsorted(scales, SUB_SCALE * scales[index], side="right"))
    if below < 2:  # the finest scale alone never counts
        return False
    sign = 1.0 if polarity == "bright" else -1.0
    floor = noise_floor(pixel_noise, float(response[0].size), scales[:below], polarity)
    shape = response.shape[1:]
    rows, cols = np.unravel_index(np.asarray(peaks), shape)
    groups = [
        inner_strong_blobs(response, scales, index, sign, int(r), int(c), floor) >= 2
        for r, c in zip(rows, cols)
    ]
    return bool(groups) and 2 * sum(groups) > len(groups)


__all__ = ["grouped", "inner_strong_blobs"]
