"""The auto particle method: scale-space blobs with polarity, scale and threshold from the image.

:func:`auto_blobs` runs the steps of :mod:`~napari_ivae.core.detection.particle_blobs`'s
overview on one frame: a burned-in scale bar and its label are masked (the masked pixels take
the background around them, :func:`filled_frame`); candidates at the particle scale and below
(:func:`~napari_ivae.core.detection.particle_candidates.searched_candidates`); per-scale cuts
from the strengths' mixture, the noise floor and what the background reaches
(:mod:`~napari_ivae.core.detection.particle_scale_cuts`); the surround and nesting tests
(:func:`~napari_ivae.core.detection.particle_candidates.judged`), again at the levels of the
background far from the kept particles
(:func:`~napari_ivae.core.detection.particle_far_background.background_pass`); particles beside
kept ones, the spots on a larger one's edge dropped, faint ones; disc labels, centres, one
particle per rod. Where most kept particles sit at the search's floor, the search runs again
below it (:mod:`~napari_ivae.core.detection.particle_size_range`).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.layer_vacancies import off_vacancies
from napari_ivae.core.detection.masked_fill import filled_frame
from napari_ivae.core.detection.particle_candidates import judged
from napari_ivae.core.detection.particle_scale_cuts import layer_cuts, scale_cuts
from napari_ivae.core.detection.particle_scales import beyond_top
from napari_ivae.core.detection.particle_shared_steps import shared_steps
from napari_ivae.core.detection.particle_size_range import covered_blobs, lowered_scales

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
        ``exclude_border``, ``min_size`` and ``sensitivity``, default 1, are read).

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

    settings = {
        "polarity": params["polarity"],
        "exclude_border": params["exclude_border"],
        "sensitivity": params.get("sensitivity", 1.0),
    }
    labels, used, centres = remembered("auto_blobs", _unfloored_blobs, frame, excluded, settings)
    if params["min_size"]:
        labels, centres = particle_labels.drop_small(labels, params["min_size"], centres)
    return labels, used, centres


def _unfloored_blobs(frame, excluded, params):
    """:func:`auto_blobs` without the size floor (``params``: ``polarity``, ``exclude_border``,
    ``sensitivity``);
    wide particles found on the frame binned (:mod:`.particle_binning`), measured at full size."""
    from napari_ivae.core.detection import particle_annotation_cuts, particle_labels
    from napari_ivae.core.detection import particle_binning as binning
    from napari_ivae.core.detection.detection_memo import using_memo
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
    # a memo for the frame's own steps where the caller's is none: the binning's choice and
    # each search test the same crop for a packed layer, the size range's two searches
    # measure one background's counting noise
    with using_memo():
        factor, _, largest = binning.bin_factor(filled, choice_skip, params["polarity"], padding)
        kept_blobs = partial(_kept_blobs, sensitivity=params["sensitivity"], shared={})
        if factor == 1:
            points, radius, keep, on_layer, used = covered_blobs(
                partial(kept_blobs, no_data=padding, largest=largest),
                filled,
                masked,
                skip,
                params["polarity"],
            )
        else:
            points, radius, keep, on_layer, used = covered_blobs(
                partial(kept_blobs, no_data=binning.binned_mask(padding, factor)),
                binning.binned(filled, factor),
                binning.binned_mask(masked, factor),
                binning.binned_mask(skip, factor),
                params["polarity"],
            )
    if factor != 1:
        points, radius = binning.to_full(points, radius, factor, frame.shape)
        for name in ("scale_sigma", "faint_radius", "range_floor"):
            if used.get(name) is not None:
                used[name] = round(used[name] * factor, 3)
        used["search_sigmas"] = [round(x * factor, 3) for x in used["search_sigmas"]]
    signal = filled if used["polarity"] == "bright" else -filled
    labels, centres, groups, border_dropped = binning.labelled(
        signal, points, radius, keep, on_layer, params["exclude_border"], used["rims"]
    )
    # a particle the scale bar or a glyph cuts in pieces: neither piece is the particle
    cut = particle_annotation_cuts.cut_pieces(labels, centres, annotation)
    if cut.any():
        labels, centres = particle_labels.without(labels, centres, cut)
    used.update(
        merged=int(len(groups) - (groups.max() + 1 if len(groups) else 0)),
        annotation_pixels=int(annotation.sum()),
        annotation_cut=int(cut.sum()),
        border_dropped=border_dropped,
        bin=factor,
    )
    return labels, used, centres


def _kept_blobs(
    filled,
    masked,
    skip,
    requested,
    below=None,
    no_data=None,
    largest=None,
    shared=None,
    sensitivity=1.0,
):
    """Steps 1-10 of :mod:`~napari_ivae.core.detection.particle_blobs`, edges and rims on one
    frame (annotation filled): the blobs' integer ``points``, ``radius``, the ``keep`` mask,
    whether it is a packed layer of the particles' polarity, ``used``; ``requested``: polarity;
    ``below``: :mod:`.particle_size_range`'s lower search floor and the first search's kept;
    ``no_data``: the padding (filled with the data's mirror image), where no peak counts in
    the scale choice. ``shared`` (a dict, optional): the steps that do not depend on ``below``
    (the choice, the aggregates' scale space, the noise), kept there by the first search for
    the second one on the same frame (:func:`~.particle_shared_steps.shared_steps`).
    ``sensitivity`` divides every strength cut a particle must pass (the per-scale cut, its
    noise floor, the far background's level, the cut beside kept ones, the faint pass's)."""
    from napari_ivae.core.detection import (
        particle_beside,
        particle_candidates,
        particle_faint,
        particle_far_background,
        particle_scale_space,
        particle_shapes,
        particle_streaks,
        particle_surround,
        particle_texture,
    )
    from napari_ivae.core.detection.layer_candidates import layer_share, off_phase
    from napari_ivae.core.detection.layer_doubles import layer_doubles
    from napari_ivae.core.detection.layer_grain import grained, layer_cells
    from napari_ivae.core.detection.packed import off_layer
    from napari_ivae.core.detection.particle_edge_bumps import without_edge_bumps as edge_bumps

    steps = shared_steps(filled, masked, skip, requested, no_data, largest, shared)
    polarity, sigma, layer, large, large_response, pixel_noise, ratio = steps
    core_scales = particle_candidates.candidate_scales(filled.shape, sigma)
    # ... and below the floor where the kept particles' sizes ran on past it (``below``)
    searched = particle_candidates.search_scales(filled.shape, sigma)
    scales = lowered_scales(filled.shape, searched, below)
    # a flat area on the background's side (blank vacuum, padding) holds no particle; one on
    # the particles' side may be a particle's saturated or noise-free top
    signal = filled if polarity == "bright" else -filled
    background_side = signal <= _median(signal[~masked]) if (~masked).any() else signal < 0
    candidate_skip = masked | (skip & background_side)
    response = particle_scale_space.scale_space(filled, scales)
    held = None if shared is None else shared.setdefault("core_candidates", {})
    points, blob_sigma, strength, core_strength = particle_candidates.searched_candidates(
        filled, scales, core_scales, polarity, candidate_skip, response, held
    )
    noise = (pixel_noise, float((~masked).sum()))
    core = (core_strength, blob_sigma[: len(core_strength)])
    # the second search's candidate scales are the first's, the same layers: measured once
    known = None if shared is None else shared.setdefault("background_layers", {})
    searched_at = (response, scales, core_scales, polarity, core, noise, skip, layer, below)
    scale_cut, bounds, floors, floor, cut, mixture, pooled, added = scale_cuts(
        *searched_at, signal, known, points[: len(core_strength)]
    )
    on_layer = layer is not None and layer[0] == polarity
    packed = None if pooled else layer
    hidden_kept, own_cut, share = 0, np.full(len(points), np.inf), None
    if packed is not None and packed[0] == polarity:
        scale_cut, (points, blob_sigma, strength), hidden_kept, structure, own_cut = layer_cuts(
            filled,
            response,
            scales,
            core_scales,
            sigma,
            polarity,
            (points, blob_sigma, strength),
            core,
            floors,
            noise,
            (skip, candidate_skip),
        )
        share = layer_share(structure, masked)  # the self-check's layer area
    # a smaller blob inside a larger kept one, or inside an aggregate too large to be a
    # particle, is judged against its interior, not its ring
    aggregates = particle_surround.aggregate_blobs(
        signal, large_response, large, polarity, float(scale_cut[-1]), candidate_skip
    )
    # a blob at the top candidate scale whose response grows on above it: judged where it peaks
    top_response = None if on_layer else large_response
    spreads = None if shared is None else shared.setdefault("top_spreads", {})
    cut_by = beyond_top(strength, points, blob_sigma, top_response, large, polarity, skip, spreads)
    del large_response, top_response

    def candidate_cut(cuts):
        level = np.searchsorted(scales, blob_sigma)
        if ratio is None:  # a vacancy of a packed layer has a cut of its own
            return _sensitive(np.minimum(cuts[level], own_cut), sensitivity)
        noise_at = ratio[points[:, 0], points[:, 1]]
        cut = np.maximum(np.minimum(bounds, cuts)[level], floors[level] * noise_at)
        return _sensitive(cut, sensitivity)

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
        lowered, passed, other_pixels = particle_far_background.background_pass(
            signal,
            response,
            scales,
            polarity,
            (points, blob_sigma, cut_by),
            keep,
            (scale_cut, floors, added),
            (skip, candidate_skip),
            candidate_cut,
        )
        if passed is not None:
            before = int(keep.sum())
            scale_cut = lowered
            keep, not_above_surround, not_above_larger = judged(
                signal, points, blob_sigma, strength, passed, aggregates, pixel_noise
            )
            background_added = int(keep.sum()) - before
    if packed is not None and packed[0] == polarity and keep.any():
        # the layer's false discovery rate holds on the layer: below the noise floor, a
        # particle off it (in an empty patch) is the noise there, or the liquid's texture
        kept = np.flatnonzero(keep)
        confident = strength[kept] >= floors[np.searchsorted(scales, blob_sigma[kept])]
        at = structure[points[kept, 0], points[kept, 1]]
        off = off_layer(points[kept], confident, at)
        keep[kept[off | off_phase(signal, points[kept], confident, sigma, masked)]] = False
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
        _sensitive(scale_cut, sensitivity),
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
    # (a vacancy's particle, below its scale's cut too, among its candidates: its rate counts it)
    padded_cut = np.pad(own_cut, (0, len(keep) - len(own_cut)), constant_values=np.inf)
    vacancy = keep & np.isfinite(padded_cut)
    faint, faint_used = particle_faint.faint_particles(
        signal, points[keep & ~vacancy], radius[keep & ~vacancy], skip, sensitivity
    )
    faint = faint[off_vacancies(faint, points, radius, vacancy)]
    # ... but a streak along the scan lines from a kept particle (SEM charging) is none
    faint, faint_used = particle_streaks.without_streaks(
        signal, faint, faint_used, points[keep], radius[keep]
    )
    if len(faint):
        points = np.concatenate([points, faint])
        faint_sigma = np.full(len(faint), faint_used["faint_radius"] / np.sqrt(2.0))
        blob_sigma = np.concatenate([blob_sigma, faint_sigma])
        keep = np.concatenate([keep, np.ones(len(faint), dtype=bool)])
        radius = np.sqrt(2.0) * blob_sigma
    # one particle per rim, outline or donut; no noisy pixel, wake, lip or relief's shadow
    points, radius, keep, shaped = particle_shapes.shaped_blobs(
        signal, points, radius, keep, ratio, pixel_noise, on_layer
    )
    doubles = 0
    if on_layer and keep.any():
        # a packed layer's particle found twice (at a scale below its own, or again by the
        # beside and faint passes): two points on one hill at the layer's cell scale
        before = int(keep.sum())
        keep = layer_doubles(signal, points, keep, layer[2])
        doubles = before - int(keep.sum())
    # only said, not acted on: two populations of particles (stranger_fresh two_populations
    # s2, 173 particles) also came out no more and no stronger than their texture's maxima
    texture_only = int(keep.sum()) if film else 0
    cells = layer_cells(filled, masked, shared) if on_layer else None
    if grained(filled, skip, cells, int(keep.sum()), shared):  # again at the grain's noise
        return _kept_blobs(
            filled, masked, skip, requested, below, no_data, largest, shared, sensitivity
        )
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
        "layer_doubles": doubles,
        "edge_bumps": edge,
        **shaped,
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
        "layer_cells": cells,
        "layer_share": share,
        "noise_grain": shared.get("grain") if shared else None,
        **texture,
        **faint_used,
    }
    return points, radius, keep, on_layer, used


def _sensitive(cut, sensitivity):
    """``cut`` divided by the user's ``sensitivity``; unchanged (not a float op) at 1."""
    return cut if sensitivity == 1.0 else cut / sensitivity
