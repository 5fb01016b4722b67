"""Each searched scale's cut for one search, from the candidates, the noise and the background.

Steps 3 to 5 of :mod:`~napari_ivae.core.detection.particle_blobs` put together (the numbers refer
to its overview). :func:`scale_cuts`: the white-noise floor of the candidate scales, and of the
smaller ones where those are searched too
(:func:`~napari_ivae.core.detection.particle_threshold.noise_floor`); the pooled cut of the
candidates' strengths (:func:`~napari_ivae.core.detection.particle_valley.pooled_cut`, moved up
at the smaller scales by :func:`~napari_ivae.core.detection.particle_scales.weak_shift`); what
the background reaches at each scale
(:func:`~napari_ivae.core.detection.particle_threshold.opposite_strengths`,
:func:`~napari_ivae.core.detection.particle_threshold.background_strengths`). On a packed layer
of the particles' polarity the floors decide instead, lowered to a false discovery rate over the
layer, and the maxima that the layer's failing candidates hid join the candidates
(:func:`layer_cuts`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ScaleCuts(NamedTuple):
    """What :func:`scale_cuts` measured."""

    scale_cut: np.ndarray  # each searched scale's cut
    bounds: np.ndarray  # what the background reaches at each scale (no floor applied)
    floors: np.ndarray  # each scale's white-noise floor
    floor: float  # the candidate scales' white-noise floor
    cut: float  # the pooled cut of the candidates' strengths
    mixture: dict  # what the pooled cut was measured from
    pooled: bool  # whether the pooled cut holds (a background population below the particles)
    added: int  # how many of the smallest scales lie below the first search's floor


def scale_cuts(
    response,
    scales,
    core_scales,
    polarity,
    core,
    noise,
    skip,
    layer,
    below,
    frame=None,
    known=None,
    core_points=None,
) -> ScaleCuts:
    """Each searched scale's cut (steps 3-5).

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` scale space of the frame (its own sign).
    scales : numpy.ndarray
        Every searched scale, ascending; the last ``len(core_scales)`` are the candidate scales.
    core_scales : numpy.ndarray
        The candidate scales.
    polarity : {"bright", "dark"}
        The particles' polarity.
    core : tuple of numpy.ndarray
        ``(strength, sigma)`` of the candidates at the candidate scales.
    noise : tuple of float
        ``(pixel_noise, area)``: the frame's pixel noise and the pixels searched.
    skip : numpy.ndarray
        Pixels that say nothing of the background (constant areas, masks).
    layer : tuple or None
        The frame's :func:`~napari_ivae.core.detection.packed.packed_phase`.
    below : tuple or None
        :mod:`~napari_ivae.core.detection.particle_size_range`'s lower search floor and the
        first search's kept particles.
    frame : numpy.ndarray, optional
        The frame with the particles' polarity positive: the skew of its noise carries the
        lowered scales' levels over to the particles' side.
    known : dict, optional
        :func:`~napari_ivae.core.detection.particle_threshold.background_strengths`' layers
        measured by an earlier search on the same frame and ``skip`` (filled here).
    core_points : numpy.ndarray, optional
        ``(N, 2)`` positions of the candidates at the candidate scales (``core``'s order): the
        pooled cut's lower valley needs them (:func:`~.particle_valley.pooled_cut`).

    Returns
    -------
    ScaleCuts
    """
    from napari_ivae.core.detection import particle_threshold, particle_valley
    from napari_ivae.core.detection.packed import weak_majority
    from napari_ivae.core.detection.particle_scales import weak_shift
    from napari_ivae.core.detection.particle_size_range import added_count, lowered_bounds

    pixel_noise, area = noise
    core_strength, core_sigma = core
    smaller = len(scales) - len(core_scales)
    floor = particle_threshold.noise_floor(pixel_noise, area, core_scales, polarity)
    # the cut comes from the candidate scales alone: the smaller ones bring a population of
    # their own (a support's fine texture) that would pull the mixture down to it
    spots = None if core_points is None else (core_points, core_sigma)
    cut, mixture = particle_valley.pooled_cut(core_strength, floor, spots)
    other_side = particle_threshold.opposite_strengths(response, polarity, skip)
    spreads: dict = {}  # each layer's spread, measured once for the bound and weak_shift
    background = particle_threshold.background_strengths(
        response, scales, polarity, skip, core_scales, spreads, known
    )
    floors = np.full(len(scales), floor)
    added = added_count(scales, below)  # below the first search's floor: a floor of their own
    if smaller:  # white noise searched at the smaller scales too reaches higher there
        floors[:smaller] = max(
            floor, particle_threshold.noise_floor(pixel_noise, area, scales[added:], polarity)
        )
        floors[:added] = particle_threshold.noise_floor(pixel_noise, area, scales, polarity)
    # a pooled cut at the noise floor means the mixture found no background population below
    # the particles (one population, or the support's texture taken for the strong one): then
    # what the background reaches at each scale decides, never less than the floor
    pooled = cut > floor
    on_layer = layer is not None and layer[0] == polarity
    if pooled and on_layer and weak_majority(mixture):
        pooled = False  # on a layer the mixture split the particles' own strengths in two
    # the mixture saw the particle scales only: at a smaller scale the weak population (a
    # support's fine texture, noise) sits higher, and the pooled cut moves up with it. Not on
    # a layer of the particles' polarity: there most pixels are particles, and the
    # response's spread is their own profile, not the background's
    pooled_cut: float | np.ndarray = cut
    if not on_layer:
        pooled_cut = cut * weak_shift(response, scales, smaller, core_sigma, skip, spreads)
    bounds = np.minimum(np.minimum(pooled_cut if pooled else np.inf, other_side), background)
    bounds = lowered_bounds(bounds, response, scales, polarity, skip, below, frame)
    scale_cut = np.maximum(bounds, floors)
    return ScaleCuts(scale_cut, bounds, floors, floor, cut, mixture, pooled, added)


def layer_cuts(
    frame, response, scales, core_scales, sigma, polarity, candidates, core, floors, noise, skips
):
    """On a packed layer of the particles' polarity: each scale's cut, and the candidates with
    the maxima that failing ones hid.

    There the other side at each scale is the network of gaps between the particles and the
    response's spread their own profile; neither is what the background reaches, and the
    candidates are the particles: the floors decide, at the candidate scales no higher than a
    false discovery rate over the layer allows
    (:func:`~napari_ivae.core.detection.packed.layer_floors`). Where the frame holds more than
    noise at the particles' scale (:func:`~napari_ivae.core.detection.layer_candidates.layer_area`),
    the maxima at the particles' own scale that failing candidates hid join
    (:func:`~napari_ivae.core.detection.packed.hidden_by_failing`).

    Parameters
    ----------
    frame : numpy.ndarray
        The frame searched.
    response, scales, core_scales, polarity
        As :func:`scale_cuts`.
    sigma : float
        The particles' scale.
    candidates : tuple of numpy.ndarray
        ``(points, sigma, strength)`` of every candidate.
    core : tuple of numpy.ndarray
        ``(strength, sigma)`` of the candidates at the candidate scales.
    floors : numpy.ndarray
        Each scale's white-noise floor.
    noise : tuple of float
        ``(pixel_noise, area)``, as :func:`scale_cuts`.
    skips : tuple of numpy.ndarray
        ``(skip, candidate_skip)``: pixels that say nothing of the background, and where no
        candidate is.

    Returns
    -------
    scale_cut : numpy.ndarray
        Each scale's cut.
    candidates : tuple of numpy.ndarray
        ``(points, sigma, strength)``, the hidden maxima added.
    hidden : int
        How many were added.
    structure : numpy.ndarray
        How much more than noise the frame holds at the particles' scale around each pixel.
    own_cut : numpy.ndarray
        Each candidate's own cut, below its scale's: a maximum in a vacancy of the layer
        (:func:`~napari_ivae.core.detection.layer_vacancies.with_vacancies`), ``inf`` elsewhere.
    """
    from napari_ivae.core.detection.layer_candidates import (
        layer_area,
        layer_candidates,
        particle_scale,
    )
    from napari_ivae.core.detection.layer_vacancies import vacancy_level, with_vacancies
    from napari_ivae.core.detection.packed import hidden_by_failing, layer_floors

    pixel_noise, area = noise
    core_strength, core_sigma = core
    skip, candidate_skip = skips
    smaller = len(scales) - len(core_scales)
    scale_cut = floors.copy()
    # ... and on a layer of many particles, the floor a false discovery rate allows
    scale_cut[smaller:] = np.minimum(
        scale_cut[smaller:],
        layer_floors(core_strength, core_sigma, pixel_noise, area, core_scales),
    )
    settled = len(candidates[0])
    # how much more than noise the frame holds at the particles' scale around each pixel
    structure = layer_area(frame, response, scales, sigma, skip)
    # ... and where that is the layer, the maxima at the particles' own scale
    every = layer_candidates(response, scales, polarity, candidate_skip, sigma, structure)
    candidates = hidden_by_failing(candidates, every, scales, scale_cut)
    # those compete at that scale: a maximum in a vacancy of the layer is cut by the false
    # discovery rate over them, not over the few candidates whose best scale fell there
    index = particle_scale(scales, sigma)
    level = vacancy_level(every, scales, index, pixel_noise, area)
    candidates, own_cut = with_vacancies(
        candidates, every, scales, scale_cut, index, level, frame.shape
    )
    return scale_cut, candidates, len(candidates[0]) - settled, structure, own_cut


__all__ = ["ScaleCuts", "layer_cuts", "scale_cuts"]
