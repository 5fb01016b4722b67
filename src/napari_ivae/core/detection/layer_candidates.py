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
LAYER_NOISE = 1.5  # ... noise alone where below this (white noise's largest: 1.25-1.34)
LAYER_ABOVE_FLOOR = 0.5  # a layer above the noise floor: more than this share of its kept there
LAYER_LOWEST = 1.0  # ... its particles' lowest level: this percentile of those above the floor


def layer_area(frame, response, scales, sigma: float, skip=None) -> np.ndarray:
    """:func:`layer_structure` at the particles' scale (the one of ``scales`` nearest
    ``sigma``; ``response`` measured at ``scales``): at least ``LAYER_STRUCTURE`` where the
    frame holds the layer, below ``LAYER_NOISE`` where it holds noise alone."""
    index = particle_scale(scales, sigma)
    return layer_structure(frame, response[index], float(scales[index]), skip)


def layer_candidates(response, scales, polarity: str, skip, sigma: float, structure):
    """The scale-space maxima of ``response`` over ``scales`` (overlaps kept) and, where the
    frame holds the layer (``structure``, :func:`layer_area`, at least ``LAYER_STRUCTURE``),
    the maxima over the frame alone of the response at the particles' scale (the one of
    ``scales`` nearest ``sigma``), each once.

    Measured on the third generator's liquid-cell films (dark r 5 px particles, 8-24 counts a
    pixel): 109-112 of the 122-145 particles missed had a maximum at the particle scale within
    2.5 px that passed that scale's cut; with these candidates (and
    :func:`~napari_ivae.core.detection.packed.hidden_by_failing`; below the floor, no particle
    where the frame holds noise alone, :func:`~napari_ivae.core.detection.packed.off_layer`)
    recall 0.917/0.942/0.893 -> 0.987/0.986/0.970 on seeds 0-2, precision 0.982/0.992/0.996
    -> 0.993/0.995/0.995.

    Parameters
    ----------
    response : numpy.ndarray
        ``(len(scales), Y, X)`` blob response (:func:`~napari_ivae.core.detection.
        particle_scale_space.scale_space`).
    scales : numpy.ndarray
        The sigmas of ``response``, ascending.
    polarity : str
        ``"bright"`` or ``"dark"``.
    skip : numpy.ndarray of bool or None
        Pixels where no candidate may lie.
    sigma : float
        The layer's particle scale.
    structure : numpy.ndarray
        ``(Y, X)`` :func:`layer_area`.

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
    index = particle_scale(scales, sigma)
    signed = response[index] if polarity == "bright" else -response[index]
    at_scale = (signed == maximum_filter3(signed)) & (signed > 0)
    at_scale &= np.asarray(structure) >= LAYER_STRUCTURE
    if skip is not None:
        at_scale &= ~np.asarray(skip, dtype=bool)
    # the maxima at that scale that are maxima over the scales too are there already
    known = points[blob_sigma == scales[index]]
    at_scale[known[:, 0], known[:, 1]] = False
    more = np.argwhere(at_scale)
    return (
        np.concatenate([points, more]),
        np.concatenate([blob_sigma, np.full(len(more), scales[index])]),
        np.concatenate([strength, signed[more[:, 0], more[:, 1]]]),
    )


def layer_share(structure, masked) -> float:
    """The share of the frame's unmasked pixels (``masked`` False) where ``structure``
    (:func:`layer_area`) reaches ``LAYER_NOISE``: where the frame holds more than noise at the
    particles' scale, the packed layer with its faintest particles (an empty patch of liquid
    holds noise alone: white noise's largest ratio is 1.25-1.34). The self-check's area of the
    layer (:func:`~napari_ivae.core.detection.quality_particles.assess_particles`): at a low
    dose its particles stand at 1.5-1.9 where ``LAYER_STRUCTURE`` would miss them."""
    use = ~np.asarray(masked, dtype=bool)
    if not use.any():
        return 0.0
    return round(
        float(np.count_nonzero((np.asarray(structure) >= LAYER_NOISE) & use)) / float(use.sum()), 4
    )


def off_phase(signal, points, confident, sigma: float, masked) -> np.ndarray:
    """Which of the particles kept on a packed layer (``points``) stand on the background's
    phase although below the white-noise floor (not ``confident``), where the layer stands
    above it (more than ``LAYER_ABOVE_FLOOR`` of them ``confident``); all False elsewhere.

    The layer's false discovery rate counts white noise alone
    (:func:`~napari_ivae.core.detection.packed.layer_floors`). Where the layer's particles
    stand above the noise floor, their contrast stands high over the shot noise, and so does
    the open liquid's own texture (its thickness, a few per cent of its level): its blobs
    pass the rate and chain to the film, and :func:`layer_structure` counts them as
    structure. Their level is the liquid's: ``signal`` (the particles bright) smoothed
    by a Gaussian of ``sigma`` (the particles' scale) stands there below its Otsu level over
    the unmasked pixels and below the ``LAYER_LOWEST`` percentile of the above-floor
    particles' levels (touching particles without open background: Otsu splits their own
    levels). Measured on the held-out-like liquid-cell films (seeds 0-32, 8-bit): on the six
    whose layer stands above the floor (0.78-0.95 of the kept), 340 of the 344 points kept in
    open liquid stood below both levels (9-54 counts below Otsu's), 2 of the layer's 797
    particles below the floor; on a bright monolayer at gaps of 0.5 px, 3 of its ~460. At a
    low dose (none or few of the kept above the floor) the noise maxima are white and the rate
    holds for them; the level, smoothed over a small particle at a few counts a pixel, is no
    sure test there (up to 3 % of the particles below it).
    """
    from skimage.filters import threshold_otsu

    from napari_ivae.core.detection._filters import gaussian_smooth

    points = np.asarray(points).reshape(-1, 2)
    confident = np.asarray(confident, dtype=bool)
    use = ~np.asarray(masked, dtype=bool)
    if not len(points) or not confident.mean() > LAYER_ABOVE_FLOOR or not use.any():
        return np.zeros(len(points), dtype=bool)
    smooth = gaussian_smooth(np.asarray(signal, dtype=np.float32), sigma)
    level = smooth[points[:, 0], points[:, 1]]
    # a layer without open background (touching particles): Otsu splits the particles' own
    # levels; below the above-floor particles' lowest (their LAYER_LOWEST percentile) too
    lowest = np.percentile(level[confident], LAYER_LOWEST)
    return ~confident & (level <= threshold_otsu(smooth[use])) & (level < lowest)


def particle_scale(scales, sigma: float) -> int:
    """The index of the scale of ``scales`` nearest ``sigma`` (in its logarithm)."""
    return int(np.argmin(np.abs(np.log(np.asarray(scales) / sigma))))


def layer_structure(frame, response, sigma: float, skip=None) -> np.ndarray:
    """The root mean square of ``response`` (the blob response at ``sigma``) around each
    pixel, over white noise's there.

    The noise there is read from the mean square of each pixel's residual against its four
    neighbours (1.25 x the pixel noise's variance for white noise; a mean, not a median, so
    no step of the counts' lattice at a few counts a pixel), its response's variance that
    over ``2 pi sigma^2``; both averaged over a Gaussian of ``LAYER_WINDOW`` x ``sigma``
    (about one cell of touching particles), ``skip`` pixels left out. The residual holds the
    particles' own edges too: where they stand far above the noise the ratio is lower than
    their contrast, never below what a layer gives. Counting noise grows with the signal, so
    the frame's one pixel noise (the particles' where they cover most of it) is no measure
    of the noise in an empty patch of bright liquid. Measured: on Poisson noise of 2-50
    counts a pixel the median is 0.99-1.00, the largest of a 384 px frame 1.25-1.34; in the
    liquid beside a film at 5-20 counts a pixel the median 1.00-1.03, the largest 1.24-2.4
    (within a window of the film's edge); at the particles of the liquid-cell films 1.8-1.9
    for the first percentile, 2.6-2.8 for the median; on the monolayers 6.7-41.

    Returns
    -------
    numpy.ndarray
        ``(Y, X)`` float32 ratios (0 where every pixel around is skipped).
    """
    from napari_ivae.core.detection._filters import smooth_background

    values = np.asarray(frame, dtype=np.float64)
    use = np.ones(values.shape, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    around = (values[:-2, 1:-1] + values[2:, 1:-1] + values[1:-1, :-2] + values[1:-1, 2:]) / 4.0
    residual = np.pad(values[1:-1, 1:-1] - around, 1, mode="edge")
    width = LAYER_WINDOW * sigma
    power = smooth_background(np.where(use, response, 0.0).astype(np.float32) ** 2, width)
    noise = smooth_background(np.where(use, residual**2 / 1.25, 0.0).astype(np.float32), width)
    # both are means over the same used pixels: their weight cancels
    spread = noise / np.float32(2.0 * np.pi * sigma**2)
    return np.sqrt(np.maximum(power, 0.0) / np.maximum(spread, np.float32(1e-30)))
