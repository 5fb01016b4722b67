"""The auto particle method: scale-space blobs with polarity, scale and threshold from the image.

:func:`auto_blobs` runs the steps of :mod:`~napari_ivae.core.detection.particle_blobs`'s
overview on one frame: a burned-in scale bar and its label are masked (the masked pixels take
the background around them, :func:`filled_frame`); candidates at the particle scale and below;
per-scale cuts from the strengths' mixture, the noise floor and what the background reaches;
the surround and nesting tests (:func:`~napari_ivae.core.detection.particle_candidates.judged`);
particles beside kept ones, the spots on a larger one's edge dropped, faint ones; disc labels,
centres, one particle per rod. Where most kept particles sit at the search's floor, the search
runs again below it (:mod:`~napari_ivae.core.detection.particle_size_range`).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.masked_fill import filled_frame
from napari_ivae.core.detection.particle_candidates import judged
from napari_ivae.core.detection.particle_scales import beyond_top, scale_space_from, weak_shift
from napari_ivae.core.detection.particle_size_range import (
    added_count,
    covered_blobs,
    lowered_bounds,
    lowered_scales,
)

FLAT_WINDOW = 9  # constant areas at least this wide (padding, blank vacuum) hold no particle


def auto_blobs(frame, excluded, params):
    """Scale-space blobs with polarity, scale and threshold from ``frame``; disc labels.

    All but the size floor (``params["min_size"]``, applied last) through the active detection
    memo: the Detect dock's min size dragged redoes the floor alone.

    Parameters
    ----------
    frame : numpy.ndarray
        One 2D frame.
    excluded : numpy.ndarray of bool
        Pixels where nothing may be detected (the caller's ``exclude``).
    params : dict
        :func:`~napari_ivae.core.detection.particles.detect_particles`'s settings (``polarity``,
        ``exclude_border``, ``min_size`` are read).

    Returns
    -------
    labels : numpy.ndarray
        One disc label per particle.
    used : dict
        What was decided from the frame (polarity, scale, cuts, counts per step).
    centres : numpy.ndarray
        ``(n, 2)`` sub-pixel centres, in label order.
    """
    from napari_ivae.core.detection import particle_labels
    from napari_ivae.core.detection.detection_memo import remembered

    settings = {"polarity": params["polarity"], "exclude_border": params["exclude_border"]}
    labels, used, centres = remembered("auto_blobs", _unfloored_blobs, frame, excluded, settings)
    if params["min_size"]:
        labels, centres = particle_labels.drop_small(labels, params["min_size"], centres)
    return labels, used, centres


def _unfloored_blobs(frame, excluded, params):
    """:func:`auto_blobs` without the size floor (``params``: ``polarity``, ``exclude_border``);
    wide particles found on the frame binned (:mod:`.particle_binning`), measured at full size."""
    from napari_ivae.core.detection import particle_binning as binning
    from napari_ivae.core.detection.overlays import annotation_mask
    from napari_ivae.core.detection.particle_padding import mirrored, padding_and_edges
    from napari_ivae.core.detection.peaks import flat_mask

    annotation = annotation_mask(frame)
    masked = annotation | excluded
    # constant areas (padding, blank vacuum) say nothing about texture, noise or scale
    flat = flat_mask(frame, FLAT_WINDOW)
    skip = flat | masked
    # ... and those reaching the frame's edge (a mosaic's or a drift-corrected frame's
    # padding, clipped vacuum) end the data as the frame's edge does: the data mirrored into
    # them, so that the step down (or up) to them is no ridge of blobs; nothing is found there
    padding, nearest = padding_and_edges(flat, masked)
    filled = mirrored(filled_frame(frame, masked, skip), padding, nearest)
    choice_skip = skip if not skip.all() else masked
    masked = masked | padding
    factor, _ = binning.bin_factor(filled, choice_skip, params["polarity"], padding)
    if factor == 1:
        points, radius, keep, on_layer, used = covered_blobs(
            partial(_kept_blobs, no_data=padding), filled, masked, skip, params["polarity"]
        )
    else:
        points, radius, keep, on_layer, used = covered_blobs(
            partial(_kept_blobs, no_data=binning.binned_mask(padding, factor)),
            binning.binned(filled, factor),
            binning.binned_mask(masked, factor),
            binning.binned_mask(skip, factor),
            params["polarity"],
        )
        points, radius = binning.to_full(points, radius, factor, frame.shape)
        for name in ("scale_sigma", "faint_radius", "range_floor"):
            if used.get(name) is not None:
                used[name] = round(used[name] * factor, 3)
        used["search_sigmas"] = [round(x * factor, 3) for x in used["search_sigmas"]]
    signal = filled if used["polarity"] == "bright" else -filled
    labels, centres, groups, border_dropped = binning.labelled(
        signal, points, radius, keep, on_layer, params["exclude_border"], used["rims"]
    )
    used.update(
        merged=int(len(groups) - (groups.max() + 1 if len(groups) else 0)),
        annotation_pixels=int(annotation.sum()),
        border_dropped=border_dropped,
        bin=factor,
    )
    return labels, used, centres


def _kept_blobs(filled, masked, skip, requested, below=None, no_data=None):
    """Steps 1-10 of :mod:`~napari_ivae.core.detection.particle_blobs`, edges and rims on one
    frame (annotation filled): the blobs' integer ``points``, ``radius``, the ``keep`` mask,
    whether it is a packed layer of the particles' polarity, ``used``; ``requested``: polarity;
    ``below``: :mod:`.particle_size_range`'s lower search floor and the first search's kept;
    ``no_data``: the padding (filled with the data's mirror image), where no peak counts in
    the scale choice."""
    from napari_ivae.core.detection import (
        local_noise,
        particle_beside,
        particle_blobs,
        particle_candidates,
        particle_faint,
        particle_other_side,
        particle_outlines,
        particle_rims,
        particle_streaks,
        particle_surround,
        particle_texture,
        particle_threshold,
        particle_valley,
    )
    from napari_ivae.core.detection.layer_candidates import layer_area, layer_candidates
    from napari_ivae.core.detection.packed import (
        hidden_by_failing,
        layer_floors,
        off_layer,
        weak_majority,
    )
    from napari_ivae.core.detection.particle_edge_bumps import without_edge_bumps as edge_bumps
    from napari_ivae.core.detection.peaks import smoothed_noise

    polarity, sigma, choice_scales, choice_response, layer = (
        particle_blobs.polarity_scale_and_response(
            filled, skip if not skip.all() else masked, requested, no_data
        )
    )
    core_scales = particle_candidates.candidate_scales(filled.shape, sigma)
    # ... and below the floor where the kept particles' sizes ran on past it (``below``)
    scales = lowered_scales(
        filled.shape, particle_candidates.search_scales(filled.shape, sigma), below
    )
    large = particle_surround.aggregate_scales(filled.shape, sigma)
    large = np.concatenate([core_scales[-1:], large]) if len(large) else large
    # a flat area on the background's side (blank vacuum, padding) holds no particle; one on
    # the particles' side may be a particle's saturated or noise-free top
    signal = filled if polarity == "bright" else -filled
    background_side = signal <= _median(signal[~masked]) if (~masked).any() else signal < 0
    candidate_skip = masked | (skip & background_side)
    large_response = (
        scale_space_from(filled, large, choice_scales, choice_response) if len(large) else None
    )
    del choice_response
    response = particle_blobs.scale_space(filled, scales)
    smaller = len(scales) - len(core_scales)
    points, blob_sigma, strength = particle_candidates.blob_candidates(
        filled, core_scales, polarity, candidate_skip, response=response[smaller:]
    )
    core_strength = strength
    if smaller:
        # maxima at the smaller scales join the candidates; overlaps with the others are
        # settled among those that pass their scale's cut (a noise blob stronger than a
        # particle beside it but below its own cut must not take the particle's place)
        low_points, low_sigma, low_strength = particle_candidates.blob_candidates(
            filled, scales, polarity, candidate_skip, response=response, overlaps=False
        )
        low = low_sigma < core_scales[0]
        points = np.concatenate([points, low_points[low]])
        blob_sigma = np.concatenate([blob_sigma, low_sigma[low]])
        strength = np.concatenate([strength, low_strength[low]])
    pixel_noise = smoothed_noise(filled, 0.0, skip if skip.any() else None)
    area = float((~masked).sum())
    floor = particle_threshold.noise_floor(pixel_noise, area, core_scales, polarity)
    # the cut comes from the candidate scales alone: the smaller ones bring a population of
    # their own (a support's fine texture) that would pull the mixture down to it
    cut, mixture = particle_valley.pooled_cut(core_strength, floor)
    other_side = particle_threshold.opposite_strengths(response, polarity, skip)
    spreads: dict = {}  # each layer's spread, measured once for the bound and weak_shift
    background = particle_threshold.background_strengths(
        response, scales, polarity, skip, core_scales, spreads
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
    if pooled and layer is not None and layer[0] == polarity and weak_majority(mixture):
        pooled = False  # on a layer the mixture split the particles' own strengths in two
    # the mixture saw the particle scales only: at a smaller scale the weak population (a
    # support's fine texture, noise) sits higher, and the pooled cut moves up with it. Not on
    # a layer of the particles' polarity: there most pixels are particles, and the
    # response's spread is their own profile, not the background's
    on_layer = layer is not None and layer[0] == polarity
    pooled_cut = cut
    if not on_layer:
        core_sigma = blob_sigma[: len(core_strength)]
        pooled_cut = cut * weak_shift(response, scales, smaller, core_sigma, skip, spreads)
    bounds = np.minimum(np.minimum(pooled_cut if pooled else np.inf, other_side), background)
    bounds = lowered_bounds(bounds, response, scales, polarity, skip, below)
    scale_cut = np.maximum(bounds, floors)
    packed = None if pooled else layer
    hidden_kept = 0
    if packed is not None and packed[0] == polarity:
        # a packed layer: the other side at each scale is the network of gaps between the
        # particles, the response's spread their own profile; neither is what the background
        # reaches, and the candidates are the particles: the floor decides
        scale_cut = floors.copy()
        # ... and on a layer of many particles, the floor a false discovery rate allows
        scale_cut[smaller:] = np.minimum(
            scale_cut[smaller:],
            layer_floors(
                core_strength,
                blob_sigma[: len(core_strength)],
                pixel_noise,
                area,
                core_scales,
            ),
        )
        settled = len(points)
        # how much more than noise the frame holds at the particles' scale around each pixel
        structure = layer_area(filled, response, scales, sigma, skip)
        points, blob_sigma, strength = hidden_by_failing(
            (points, blob_sigma, strength),
            # ... and where that is the layer, the maxima at the particles' own scale
            layer_candidates(response, scales, polarity, candidate_skip, sigma, structure),
            scales,
            scale_cut,
        )
        hidden_kept = len(points) - settled
    # a smaller blob inside a larger kept one, or inside an aggregate too large to be a
    # particle, is judged against its interior, not its ring
    aggregates = particle_surround.aggregate_blobs(
        signal, large_response, large, polarity, float(scale_cut[-1]), candidate_skip
    )
    # a blob at the top candidate scale whose response grows on above it: judged where it peaks
    top_response = None if on_layer else large_response
    cut_by = beyond_top(strength, points, blob_sigma, top_response, large, polarity, skip)
    del large_response
    # where the noise varies over the frame (counts on a thick support, a dose gradient), the
    # floor in each candidate's cut is that of the noise where it lies; not on a packed layer,
    # whose cut is a false discovery rate over the whole layer
    ratio = None if on_layer else local_noise.noise_ratio(filled, skip)

    def candidate_cut(cuts):
        level = np.searchsorted(scales, blob_sigma)
        if ratio is None:
            return cuts[level]
        noise_at = ratio[points[:, 0], points[:, 1]]
        return np.maximum(np.minimum(bounds, cuts)[level], floors[level] * noise_at)

    keep, not_above_surround, not_above_larger = judged(
        signal,
        points,
        blob_sigma,
        strength,
        cut_by >= candidate_cut(scale_cut),
        aggregates,
        pixel_noise,
    )
    # the background far from the kept particles may reach less than the whole frame's
    # bounds (gaps and rings between packed particles): candidates on it pass from there
    background_added = other_pixels = 0
    if keep.sum() >= 3:
        kept_points, kept_radius = points[keep], np.sqrt(2.0) * blob_sigma[keep]
        # particles of the other polarity (either side of focus) are no background either
        other_area = particle_other_side.other_polarity_area(
            signal, kept_points, kept_radius, candidate_skip
        )
        other_pixels = int(other_area.sum())
        lowered = np.maximum(
            np.minimum(
                scale_cut,
                particle_faint.background_levels(
                    response, scales, polarity, kept_points, kept_radius, skip | other_area
                ),
            ),
            floors,
        )
        lowered[:added] = scale_cut[:added]  # measured away from the first search's particles
        if (lowered < scale_cut).any():
            clear = particle_faint.FAINT_CLEAR * float(np.median(kept_radius))
            on_kept = particle_faint.within_discs(filled.shape, kept_points, kept_radius + clear)[
                points[:, 0], points[:, 1]
            ]
            before = int(keep.sum())
            passed = (cut_by >= candidate_cut(scale_cut)) | (
                (cut_by >= candidate_cut(lowered)) & ~on_kept
            )
            # that level is measured on the opposite side, where a support's one-sided ridges
            # (strands of lacey carbon over its holes, edges) never reach: a candidate that
            # passes only there must be round
            lowered_only = np.flatnonzero(passed & (cut_by < candidate_cut(scale_cut)))
            passed[lowered_only] = particle_surround.round_peaks(
                signal, points[lowered_only], blob_sigma[lowered_only]
            )
            scale_cut = lowered
            keep, not_above_surround, not_above_larger = judged(
                signal, points, blob_sigma, strength, passed, aggregates, pixel_noise
            )
            background_added = int(keep.sum()) - before
    if packed is not None and packed[0] == polarity and keep.any():
        # the layer's false discovery rate holds on the layer: below the noise floor, a
        # particle off it (in an empty patch) is the noise there
        kept = np.flatnonzero(keep)
        confident = strength[kept] >= floors[np.searchsorted(scales, blob_sigma[kept])]
        at = structure[points[kept, 0], points[kept, 1]]
        keep[kept[off_layer(points[kept], confident, at)]] = False
    # no separate strong population: the kept may be the strongest blobs of a film's texture
    film, texture = False, {}
    if not pooled and not on_layer and keep.any():
        film, texture = particle_texture.texture_only(
            filled, skip, polarity, scales, scale_cut, points, blob_sigma, strength, keep
        )
    # particles beside kept ones, whose larger responses swallowed theirs in scale space, found
    # with the kept particles' measured profiles taken out; they pass the same tests
    more, more_sigma, more_strength, drawn = particle_beside.beside_candidates(
        signal,
        response,
        polarity,
        scales,
        points[keep],
        blob_sigma[keep],
        scale_cut,
        candidate_skip,
    )
    del response  # taken in place for the residual
    beside = 0
    if len(more):
        use = particle_beside.judged_beside(
            signal,
            drawn,
            more,
            more_sigma,
            more_strength,
            points[keep],
            blob_sigma[keep],
            aggregates,
            pixel_noise,
        )
        beside = int(use.sum())
        points = np.concatenate([points, more[use]])
        blob_sigma = np.concatenate([blob_sigma, more_sigma[use]])
        strength = np.concatenate([strength, more_strength[use]])
        keep = np.concatenate([keep, np.ones(beside, dtype=bool)])
    keep, edge = (keep, 0) if on_layer else edge_bumps(signal, points, blob_sigma, keep)
    radius = np.sqrt(2.0) * blob_sigma
    # particles fainter than the cut, away from the kept ones, against the background there
    faint, faint_used = particle_faint.faint_particles(signal, points[keep], radius[keep], skip)
    # ... but a streak along the scan lines from a kept particle (SEM charging) is none
    faint, faint_used = particle_streaks.without_streaks(
        signal, faint, faint_used, points[keep], radius[keep]
    )
    if len(faint):
        points = np.concatenate([points, faint])
        blob_sigma = np.concatenate(
            [blob_sigma, np.full(len(faint), faint_used["faint_radius"] / np.sqrt(2.0))]
        )
        keep = np.concatenate([keep, np.ones(len(faint), dtype=bool)])
        radius = np.sqrt(2.0) * blob_sigma
    # blobs along one rim brighter than its interior (secondary electrons, a shell) are one
    # particle at the rim's centre; not on a packed layer, whose gaps are no background
    rims = outlines = 0
    if not on_layer:
        points, radius, keep, rims = particle_rims.one_per_rim(
            signal, points, radius, keep, pixel_noise
        )
        # ... and where the smoothed rim encloses no basin, those on one round outline
        points, radius, keep, outlines = particle_outlines.one_per_outline(
            signal, points, radius, keep, pixel_noise, last=rims
        )
    # only said, not acted on: two populations of particles (stranger_fresh two_populations
    # s2, 173 particles) also came out no more and no stronger than their texture's maxima
    texture_only = int(keep.sum()) if film else 0
    used = {
        "polarity": polarity,
        "scale_sigma": round(float(sigma), 3),
        "candidates": int(len(core_strength)),
        "strength_cut": float(cut),
        "pooled_cut": bool(pooled),
        "packed_cut": packed is not None and packed[0] == polarity,
        "smaller_candidates": int(len(strength) - len(core_strength) - hidden_kept),
        "hidden_candidates": hidden_kept,
        "search_sigmas": [round(float(scales[0]), 3), round(float(scales[-1]), 3)],
        "not_above_surround": not_above_surround,
        "not_above_larger": not_above_larger,
        "background_cut": background_added,
        "other_polarity_pixels": other_pixels,
        "beside_kept": beside,
        "edge_bumps": edge,
        "rims": rims,
        "outlines": outlines,
        "aggregates": int(len(aggregates[0])),
        "merged": 0,
        "scale_cuts": [round(float(x), 4) for x in scale_cut],
        "annotation_pixels": 0,
        "border_dropped": 0,
        "noise_ratio": None
        if ratio is None
        else [round(float(x), 3) for x in (ratio.min(), ratio.max())],
        "noise_floor": float(floor),
        "mixture": mixture,
        "texture_only": texture_only,
        **texture,
        **faint_used,
    }
    return points, radius, keep, on_layer, used
