"""Candidates on a packed layer at a low dose: maxima at the particles' own scale.

The auto method's candidates are maxima over the scales as well as over the frame
(:func:`~napari_ivae.core.detection.particle_candidates.blob_candidates`). At a low dose the
noise adds most at the small scales: on a particle the response at 1.3-2 px then exceeds the
particle's own at its scale, so there the particle's response is no maximum over the scales,
and the one that is fails its small scale's cut. On a packed layer the particles' scale is
known from their pieces (:func:`~napari_ivae.core.detection.packed.packed_phase`), and
:func:`layer_candidates` adds the maxima over the frame at that scale, as a single-scale
search finds them, where the frame holds more than noise at that scale
(:func:`layer_structure`): not in an empty patch of liquid beside the film, whose noise
maxima would pass the layer's false discovery rate too.
"""

from __future__ import annotations

import numpy as np

LAYER_WINDOW = 4.0  # the structure's root mean square over a Gaussian of this x the scale
LAYER_STRUCTURE = 1.8  # ... a layer where it is at least this x white noise's


def layer_candidates(frame, response, scales, polarity: str, skip, sigma: float, pixel_noise):
    """The scale-space maxima of ``response`` over ``scales`` (overlaps kept) and, where the
    frame holds a layer, the maxima over the frame alone of the response at the particles'
    scale (the one of ``scales`` nearest ``sigma``), each once.

    Measured on the third generator's liquid-cell films (dark r 5 px particles, 8-24 counts a
    pixel): 109-112 of the 122-145 particles missed had a maximum at the particle scale within
    2.5 px that passed that scale's cut; with these candidates (and
    :func:`~napari_ivae.core.detection.packed.hidden_by_failing`) recall 0.917/0.942/0.893 ->
    0.987/0.986/0.971 on seeds 0-2, precision 0.982/0.992/0.996 -> 0.981/0.991/0.994.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame the response was measured on (its local noise is read from it).
    response : numpy.ndarray
        ``(len(scales), Y, X)`` blob response (:func:`~napari_ivae.core.detection.
        particle_blobs.scale_space`).
    scales : numpy.ndarray
        The sigmas of ``response``, ascending.
    polarity : str
        ``"bright"`` or ``"dark"``.
    skip : numpy.ndarray of bool or None
        Pixels where no candidate may lie.
    sigma : float
        The layer's particle scale.
    pixel_noise : float
        The frame's pixel noise (its median over the frame).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(N, 2)`` integer (row, col), their sigmas and strengths.
    """
    from napari_ivae.core.detection._filters import maximum_filter3
    from napari_ivae.core.detection.particle_candidates import blob_candidates

    points, blob_sigma, strength = blob_candidates(
        None, scales, polarity, skip, response=response, overlaps=False
    )
    scales = np.asarray(scales)
    index = int(np.argmin(np.abs(np.log(scales / sigma))))
    signed = response[index] if polarity == "bright" else -response[index]
    at_scale = (signed == maximum_filter3(signed)) & (signed > 0)
    if skip is not None:
        at_scale &= ~np.asarray(skip, dtype=bool)
    # the maxima at that scale that are maxima over the scales too are there already
    known = points[blob_sigma == scales[index]]
    at_scale[known[:, 0], known[:, 1]] = False
    if not pixel_noise > 0:  # no noise to hide the particles' maxima over the scales
        at_scale[:] = False
    if at_scale.any():
        structure = layer_structure(frame, response[index], scales[index], pixel_noise, skip)
        at_scale &= structure >= LAYER_STRUCTURE
    more = np.argwhere(at_scale)
    return (
        np.concatenate([points, more]),
        np.concatenate([blob_sigma, np.full(len(more), scales[index])]),
        np.concatenate([strength, signed[more[:, 0], more[:, 1]]]),
    )


def layer_structure(frame, response, sigma: float, pixel_noise: float, skip=None) -> np.ndarray:
    """The root mean square of ``response`` (the blob response at ``sigma``) around each
    pixel, over white noise's there.

    The noise there is ``pixel_noise`` times the local noise ratio
    (:func:`~napari_ivae.core.detection.local_noise.noise_ratio`: a dose gradient), its
    response's standard deviation ``noise / (sqrt(2 pi) sigma)``; both averaged over a
    Gaussian of ``LAYER_WINDOW`` x ``sigma`` (about one cell of touching particles), ``skip``
    pixels left out. Measured with ``LAYER_WINDOW`` 4: on Poisson noise of 2-50 counts a pixel
    at sigmas 1.6-4 px the median is 0.94-1.13, the largest of a 512 px frame 1.45-1.98, the
    99.9th percentile 1.21-1.72; at the particles of the liquid-cell films 1.8-1.9 for the
    first percentile, 2.5-2.8 for the median.

    Returns
    -------
    numpy.ndarray
        ``(Y, X)`` float32 ratios (0 where every pixel around is skipped).
    """
    from napari_ivae.core.detection import local_noise
    from napari_ivae.core.detection._filters import smooth_background

    use = np.ones(response.shape, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    ratio = local_noise.noise_ratio(frame, skip)
    spread = pixel_noise / (np.sqrt(2.0 * np.pi) * sigma) * (1.0 if ratio is None else ratio)
    width = LAYER_WINDOW * sigma
    power = smooth_background(np.where(use, response, 0.0).astype(np.float32) ** 2, width)
    noise = smooth_background(np.where(use, spread, 0.0).astype(np.float32), width)
    weight = smooth_background(use.astype(np.float32), width)
    # both are averages over the used pixels: sqrt(power / weight) / (noise / weight)
    return np.sqrt(np.maximum(power * weight, 0.0)) / np.maximum(noise, np.float32(1e-30))
