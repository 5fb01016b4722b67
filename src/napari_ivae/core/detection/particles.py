"""Particle detection: scale-space blobs (default), threshold + watershed, or LoG blobs.

Auto mode (``method="auto"``, the default): polarity, particle scale and threshold all come from
the image (see :mod:`napari_ivae.core.detection.particle_blobs`); a burned-in scale bar and its label are
masked automatically (the masked pixels take the background around them); each particle's label
is a disc of its blob radius, split from touching neighbours by a watershed; the blobs along one
rod are one particle (their discs together).

Threshold mode (``method="otsu" | "li" | "local"``): light Gaussian smoothing, a global (Otsu,
Li) or local (block mean) threshold on the chosen ``polarity``, removal of objects smaller than
``min_size`` pixels, hole filling, a distance-transform watershed that splits touching particles,
and (optionally) removal of objects touching the image border. ``exclude`` masks pixels that
must never be a particle (a burned-in scale bar, a label).

Blob mode (``method="log"``): :func:`skimage.feature.blob_log` for round, sparse particles; the
labels image holds a disc of radius ``sqrt(2) * sigma`` per blob.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_ivae.core.detection.detections import Detections, empty_detections, make_detections
from napari_ivae.core.errors import InputError

METHODS = ("auto", "otsu", "li", "local", "log")
POLARITIES = ("auto", "bright", "dark")
FLAT_WINDOW = 9  # constant areas at least this wide (padding, blank vacuum) hold no particle
_COLUMNS = ("label", "area", "equivalent_diameter", "eccentricity", "orientation", "mean_intensity")


def detect_particles(
    image,
    *,
    method: str = "auto",
    polarity: str = "auto",
    sigma: float = 1.0,
    min_size: int | None = None,
    fill_holes: bool = True,
    split: bool = True,
    min_separation: float | None = None,
    exclude_border: bool = True,
    exclude=None,
    block_size: int | None = None,
    min_sigma: float = 1.0,
    max_sigma: float | None = None,
    log_threshold: float = 0.1,
    channel=None,
    frame_axis: int | None = None,
    flatten: str | None = None,
) -> Detections:
    """Find particles in a 2D image or in every frame of a stack.

    Parameters
    ----------
    image : array-like
        2D image or ``(frames, Y, X)`` stack (anything :func:`prepare_image` accepts).
    method : {"auto", "otsu", "li", "local", "log"}
        Scale-space blobs with every setting from the image (default), global Otsu or Li
        threshold, local (block) threshold, or Laplacian-of-Gaussian blobs.
    polarity : {"auto", "bright", "dark"}
        Particles brighter (dark-field, fluorescence) or darker (bright-field TEM) than the
        background; ``"auto"`` decides from the image (one-sided blobs).
    sigma : float
        Gaussian smoothing (pixels) before thresholding (0 = none).
    min_size : int, optional
        Objects smaller than this many pixels are removed; default ``max(10, 0.02 x`` the
        median object area``)``.
    fill_holes : bool
        Fill holes inside objects.
    split : bool
        Split touching particles with a distance-transform watershed (threshold methods; the
        auto method finds each particle as its own blob).
    min_separation : float, optional
        Smallest distance between two particle centres for the watershed; default half the
        median equivalent radius of the objects (at least 2 px).
    exclude_border : bool
        Drop objects touching the image edge (or the ``exclude`` mask).
    exclude : array-like of bool, optional
        ``(Y, X)`` mask, True where nothing may be detected (scale bar, text).
    block_size : int, optional
        Odd block size for ``method="local"``; default about an eighth of the smaller side.
    min_sigma, max_sigma, log_threshold : float
        Blob mode: scale range (pixels; ``max_sigma`` default a twentieth of the smaller side)
        and the threshold on the scale-normalised LoG response of the [0, 1]-scaled image.
    channel, frame_axis, flatten
        Passed to :func:`napari_ivae.core.io.image.prepare_image`.

    Returns
    -------
    Detections
        Centroids ``(frame, row, col)``, a labels image (``labels``; same shape as the prepared
        input) and a properties table with ``label, area, equivalent_diameter, eccentricity,
        orientation, mean_intensity``. An empty result carries a message.
    """
    from napari_ivae.core.detection.streaming import lazy_input
    from napari_ivae.core.io.image import prepare_image, split_frames

    if method not in METHODS:
        raise InputError(f"method={method!r} is not known; use one of {METHODS}.")
    if polarity not in POLARITIES:
        raise InputError(f"polarity={polarity!r} is not known; use 'auto', 'bright' or 'dark'.")
    if lazy_input(image, channel, frame_axis) and len(image.shape) == 3:
        from napari_ivae.core.detection.streaming import detect_lazy  # zarr/dask: frame by frame

        return detect_lazy(
            image,
            "particles",
            method=method,
            polarity=polarity,
            sigma=sigma,
            min_size=min_size,
            fill_holes=fill_holes,
            split=split,
            min_separation=min_separation,
            exclude_border=exclude_border,
            exclude=exclude,
            block_size=block_size,
            min_sigma=min_sigma,
            max_sigma=max_sigma,
            log_threshold=log_threshold,
            flatten=flatten,
        )
    prepared = prepare_image(image, channel=channel, frame_axis=frame_axis, flatten=flatten)
    frames, is_stack = split_frames(prepared)
    excluded = _exclusion_mask(exclude, frames.shape[1:])
    params = dict(
        method=method,
        polarity=polarity,
        sigma=float(sigma),
        min_size=min_size,
        fill_holes=bool(fill_holes),
        split=bool(split),
        min_separation=min_separation,
        exclude_border=bool(exclude_border),
        excluded_pixels=int(excluded.sum()),
        block_size=block_size,
        n_frames=len(frames),
        is_stack=is_stack,
    )
    if method == "log":
        params.update(
            min_sigma=float(min_sigma),
            log_threshold=float(log_threshold),
            max_sigma=float(max_sigma) if max_sigma else min(frames.shape[1:]) / 20.0,
        )
    labels = np.zeros(frames.shape, dtype=np.int32)
    tables, used = [], []
    for index, frame in enumerate(frames):
        if method == "auto":
            labels[index], frame_used, centres = _auto_blobs(frame, excluded, params)
            table = _measured(labels[index], frame, index)
            if len(table):
                table[["row", "col"]] = centres[table["label"].to_numpy().astype(int) - 1]
            tables.append(table)
            used.append(frame_used)
            continue
        frame_polarity = polarity
        if polarity == "auto":
            from napari_ivae.core.detection.particle_blobs import blob_polarity_and_scale

            frame_polarity = blob_polarity_and_scale(frame)[0]
        signal = frame if frame_polarity == "bright" else -frame
        if method == "log":
            labels[index], frame_used = _blobs(signal, excluded, params)
        else:
            labels[index], frame_used = _threshold_objects(signal, excluded, params)
        frame_used["polarity"] = frame_polarity
        tables.append(_measured(labels[index], frame, index))
        used.append(frame_used)
    params["resolved"] = used if is_stack else used[0]
    table = pd.concat(tables, ignore_index=True)
    labels_out = labels if is_stack else labels[0]
    if len(table) == 0:
        message = (
            f"No particles found with method={method!r}, polarity={polarity!r}: check "
            "the polarity (dark particles on a bright background need 'dark'), lower "
            "min_size, or try another method."
        )
        result = empty_detections(_COLUMNS, labels=labels_out, params=params, message=message)
    else:
        result = make_detections(table, labels=labels_out, params=params)
    from napari_ivae.core.detection.quality import assess

    result.quality = assess(result, "particles")
    return result


def _measured(labels, frame, index) -> pd.DataFrame:
    table = _measure(labels, frame)
    table.insert(0, "frame", index)
    return table


def _auto_blobs(frame, excluded, params):
    """Scale-space blobs with polarity, scale and threshold from the frame; disc labels."""
    from napari_ivae.core.detection import (
        particle_blobs,
        particle_candidates,
        particle_faint,
        particle_merge,
        particle_profiles,
        particle_surround,
        particle_threshold,
    )
    from napari_ivae.core.detection.overlays import annotation_mask
    from napari_ivae.core.detection.packed import weak_majority
    from napari_ivae.core.detection.peaks import flat_mask, smoothed_noise

    annotation = annotation_mask(frame)
    masked = annotation | excluded
    # constant areas (padding, blank vacuum) say nothing about texture, noise or scale
    skip = flat_mask(frame, FLAT_WINDOW) | masked
    filled = _filled(frame, masked, skip)
    polarity, sigma, choice_scales, choice_response, layer = (
        particle_blobs.polarity_scale_and_response(
            filled, skip if not skip.all() else masked, params["polarity"]
        )
    )
    core_scales = particle_candidates.candidate_scales(filled.shape, sigma)
    scales = particle_candidates.search_scales(filled.shape, sigma)
    large = particle_surround.aggregate_scales(filled.shape, sigma)
    large = np.concatenate([core_scales[-1:], large]) if len(large) else large
    # a flat area on the background's side (blank vacuum, padding) holds no particle; one on
    # the particles' side may be a particle's saturated or noise-free top
    signal = filled if polarity == "bright" else -filled
    background_side = signal <= np.median(signal[~masked]) if (~masked).any() else signal < 0
    candidate_skip = masked | (skip & background_side)
    large_response = (
        _scale_space(filled, large, choice_scales, choice_response) if len(large) else None
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
    cut, mixture = particle_threshold.particle_cut(core_strength, floor)
    other_side = particle_threshold.opposite_strengths(response, polarity, skip)
    background = particle_threshold.background_strengths(
        response, scales, polarity, skip, core_scales
    )
    floors = np.full(len(scales), floor)
    if smaller:  # white noise searched at the smaller scales too reaches higher there
        floors[:smaller] = max(
            floor, particle_threshold.noise_floor(pixel_noise, area, scales, polarity)
        )
    # a pooled cut at the noise floor means the mixture found no background population below
    # the particles (one population, or the support's texture taken for the strong one): then
    # what the background reaches at each scale decides, never less than the floor
    pooled = cut > floor
    if pooled and layer is not None and layer[0] == polarity and weak_majority(mixture):
        pooled = False  # on a layer the mixture split the particles' own strengths in two
    scale_cut = np.maximum(
        np.minimum(np.minimum(cut if pooled else np.inf, other_side), background), floors
    )
    packed = None if pooled else layer
    if packed is not None and packed[0] == polarity:
        # a packed layer: the other side at each scale is the network of gaps between the
        # particles, the response's spread their own profile; neither is what the background
        # reaches, and the candidates are the particles: the floor decides
        scale_cut = floors.copy()
    # a smaller blob inside a larger kept one, or inside an aggregate too large to be a
    # particle, is judged against its interior, not its ring
    aggregates = particle_surround.aggregate_blobs(
        signal, large_response, large, polarity, float(scale_cut[-1]), candidate_skip
    )
    del large_response
    keep, not_above_surround, not_above_larger = _judged(
        signal,
        points,
        blob_sigma,
        strength,
        strength >= scale_cut[np.searchsorted(scales, blob_sigma)],
        aggregates,
        pixel_noise,
    )
    # the background far from the kept particles may reach less than the whole frame's
    # bounds (gaps and rings between packed particles): candidates on it pass from there
    background_added = 0
    if keep.sum() >= 3:
        kept_points, kept_radius = points[keep], np.sqrt(2.0) * blob_sigma[keep]
        lowered = np.maximum(
            np.minimum(
                scale_cut,
                particle_faint.background_levels(
                    response, scales, polarity, kept_points, kept_radius, skip
                ),
            ),
            floors,
        )
        if (lowered < scale_cut).any():
            level = np.searchsorted(scales, blob_sigma)
            clear = particle_faint.FAINT_CLEAR * float(np.median(kept_radius))
            on_kept = particle_faint.within_discs(filled.shape, kept_points, kept_radius + clear)[
                points[:, 0], points[:, 1]
            ]
            before = int(keep.sum())
            passed = (strength >= scale_cut[level]) | ((strength >= lowered[level]) & ~on_kept)
            scale_cut = lowered
            keep, not_above_surround, not_above_larger = _judged(
                signal, points, blob_sigma, strength, passed, aggregates, pixel_noise
            )
            background_added = int(keep.sum()) - before
    # particles beside kept ones, whose larger responses swallowed theirs in scale space, found
    # with the kept particles' measured profiles taken out; they pass the same tests
    radius = np.sqrt(2.0) * blob_sigma
    drawn = particle_profiles.profile_model(  # the particles' polarity positive, as ``signal``
        signal, _blob_centres(signal, points[keep], radius[keep]), blob_sigma[keep]
    )
    model = particle_blobs.scale_space(drawn, scales)
    if polarity == "dark":
        response = np.negative(response, out=response)
    residual = np.subtract(response, model, out=response)  # in place: the response goes
    more, more_sigma, more_strength = particle_profiles.beside_kept(
        residual, model, scales, points[keep], blob_sigma[keep], scale_cut, candidate_skip
    )
    del response, residual, model
    beside = 0
    if len(more):
        # beside the kept particles as drawn (its centre outside every drawn profile), its
        # surround with them taken out: in a dense layer touching kept neighbours fill three
        # or four of its sectors, and it stands above what they leave. Inside a drawn
        # profile (lattice fringes, facets, a shell: what a radial profile leaves of a
        # particle's own structure) the frame's surround, as the others'
        beside_drawn = drawn[more[:, 0], more[:, 1]] <= 0
        share = np.empty(len(more))  # each blob's share is its own: judged on one frame each
        inside = ~beside_drawn
        share[inside] = particle_surround.surround_share(signal, more[inside], more_sigma[inside])
        if beside_drawn.any():
            share[beside_drawn] = particle_surround.surround_share(
                np.subtract(signal, drawn), more[beside_drawn], more_sigma[beside_drawn]
            )
        use = share >= particle_surround.SURROUND_SHARE
        use[use] = particle_candidates.strongest_of_overlaps(
            more[use], more_sigma[use], more_strength[use]
        )
        judged = particle_surround.above_larger(
            signal,
            np.concatenate([more[use], points[keep]]),
            np.concatenate([more_sigma[use], blob_sigma[keep]]),
            aggregates,
            pixel_noise,
        )
        use[use] = judged[: int(use.sum())]
        beside = int(use.sum())
        points = np.concatenate([points, more[use]])
        blob_sigma = np.concatenate([blob_sigma, more_sigma[use]])
        strength = np.concatenate([strength, more_strength[use]])
        keep = np.concatenate([keep, np.ones(beside, dtype=bool)])
    radius = np.sqrt(2.0) * blob_sigma
    # particles fainter than the cut, away from the kept ones, against the background there
    faint, faint_used = particle_faint.faint_particles(signal, points[keep], radius[keep], skip)
    if len(faint):
        points = np.concatenate([points, faint])
        blob_sigma = np.concatenate(
            [blob_sigma, np.full(len(faint), faint_used["faint_radius"] / np.sqrt(2.0))]
        )
        keep = np.concatenate([keep, np.ones(len(faint), dtype=bool)])
        radius = np.sqrt(2.0) * blob_sigma
    if params["exclude_border"]:
        keep &= _clear_of_edge(points, radius, frame.shape)
    labels = _disc_labels(signal, points[keep], radius[keep])
    centres = _blob_centres(signal, points[keep], radius[keep])
    # blobs along one elongated particle (a rod) are one particle: no dip or waist between
    # them; not on a packed layer, whose overlapping neighbours keep both
    on_layer = layer is not None and layer[0] == polarity
    groups = (
        np.arange(int(keep.sum()))
        if on_layer
        else particle_merge.merge_groups(signal, points[keep], radius[keep])
    )
    labels, centres = particle_merge.merged(labels, centres, groups)
    if params["min_size"]:
        labels, centres = _drop_small(labels, params["min_size"], centres)
    used = {
        "polarity": polarity,
        "scale_sigma": round(float(sigma), 3),
        "candidates": int(len(core_strength)),
        "strength_cut": float(cut),
        "pooled_cut": bool(pooled),
        "packed_cut": packed is not None and packed[0] == polarity,
        "smaller_candidates": int(len(strength) - len(core_strength)),
        "search_sigmas": [round(float(scales[0]), 3), round(float(scales[-1]), 3)],
        "not_above_surround": not_above_surround,
        "not_above_larger": not_above_larger,
        "background_cut": background_added,
        "beside_kept": beside,
        "aggregates": int(len(aggregates[0])),
        "merged": int(len(groups) - (groups.max() + 1 if len(groups) else 0)),
        "scale_cuts": [round(float(x), 4) for x in scale_cut],
        "annotation_pixels": int(annotation.sum()),
        "noise_floor": float(floor),
        "mixture": mixture,
        **faint_used,
    }
    return labels, used, centres


def _filled(frame, masked, skip) -> np.ndarray:
    """``frame`` (float32) with the ``masked`` pixels (a scale bar, its label, ``exclude``)
    replaced by the background around them: the frame's average over the unmasked pixels
    nearby (a Gaussian as wide as twice the mask's thickness, at least 2 px). One value for
    the whole mask (the frame's median) stood out of a vignetted or tilted background as a
    patch of its own, whose rim gave particles of the other polarity along the bar's edges."""
    from scipy import ndimage

    frame = np.asarray(frame, dtype=np.float32)
    if not masked.any():
        return frame.copy()
    if masked.all():
        return np.zeros_like(frame)
    width = 2.0 * max(float(ndimage.distance_transform_edt(masked).max()), 1.0)
    weight = (~masked).astype(np.float32)
    total = ndimage.gaussian_filter(np.where(masked, 0.0, frame).astype(np.float32), width)
    share = ndimage.gaussian_filter(weight, width)
    level = float(np.median(frame[~skip])) if (~skip).any() else 0.0
    nearby = np.divide(total, share, out=np.full_like(total, level), where=share > 1e-3)
    return np.where(masked, nearby, frame).astype(np.float32)


def _scale_space(frame, scales, known_scales, known):
    """The scale space of ``frame`` at ``scales``: a slice of ``known`` (the response at
    ``known_scales``, or None) where that holds them, else computed."""
    from napari_ivae.core.detection import particle_blobs

    if known is not None and len(scales):
        start = int(np.searchsorted(known_scales, scales[0]))
        stop = start + len(scales)
        if stop <= len(known_scales) and np.array_equal(known_scales[start:stop], scales):
            return known[start:stop].copy()  # not a view: the rest of ``known`` can go
    return particle_blobs.scale_space(frame, scales)


def _clear_of_edge(points, radius, shape) -> np.ndarray:
    """Blobs whose centre is at least half their radius from the frame's edge."""
    margin = 0.5 * radius
    return (
        (points[:, 0] >= margin)
        & (points[:, 0] <= shape[0] - 1 - margin)
        & (points[:, 1] >= margin)
        & (points[:, 1] <= shape[1] - 1 - margin)
    )


def _judged(signal, points, sigma, strength, passed, aggregates, pixel_noise=None):
    """The candidates ``passed`` (mask over ``points``) that stand above their surround, are
    the strongest of overlapping ones and stand above the interior of any larger kept blob or
    aggregate they lie in (a ridge-like one by a noise margin, given ``pixel_noise``). Returns
    the kept mask and the numbers dropped by the surround and by the nesting test."""
    from napari_ivae.core.detection import particle_candidates, particle_surround

    keep = passed.copy()
    above_surround = (
        particle_surround.surround_share(signal, points[keep], sigma[keep])
        >= particle_surround.SURROUND_SHARE
    )
    keep[keep] = above_surround
    keep[keep] = particle_candidates.strongest_of_overlaps(
        points[keep], sigma[keep], strength[keep]
    )
    nested = particle_surround.above_larger(
        signal, points[keep], sigma[keep], aggregates, pixel_noise
    )
    keep[keep] = nested
    return keep, int((~above_surround).sum()), int((~nested).sum())


def _disc_labels(signal, centres, radii) -> np.ndarray:
    """One label per blob: its disc, shared out between touching blobs by a watershed."""
    from skimage import segmentation

    from napari_ivae.core.detection import particle_faint

    labels = np.zeros(signal.shape, dtype=np.int32)
    if len(centres) == 0:
        return labels
    markers = np.zeros(signal.shape, dtype=np.int32)
    rows, cols = np.asarray(centres).T
    markers[rows, cols] = np.arange(1, len(centres) + 1)
    discs = particle_faint.within_discs(signal.shape, centres, radii)
    return segmentation.watershed(-signal, markers, mask=discs).astype(np.int32)


def _blob_centres(signal, points, radii) -> np.ndarray:
    """Sub-pixel blob centres: centre of mass of the signal above a plane fitted around it,
    within half a blob radius (at least 1.5 px) of each scale-space maximum."""
    from napari_ivae.core.detection.refine import refine_centre_of_mass

    if len(points) == 0:
        return np.zeros((0, 2))
    centres = points.astype(np.float64)
    for radius in np.unique(radii):
        same = radii == radius
        centres[same], _ = refine_centre_of_mass(
            signal, centres[same], max(0.5 * radius, 1.5), iterations=1
        )
    return centres


def _drop_small(labels, min_size, centres):
    """Remove labels smaller than ``min_size`` pixels (and their centres); renumber."""
    from skimage import segmentation

    areas = np.bincount(labels.ravel(), minlength=len(centres) + 1)
    small = np.flatnonzero(areas[1:] < min_size) + 1
    labels = np.where(np.isin(labels, small), 0, labels)
    kept = np.setdiff1d(np.arange(1, len(centres) + 1), small)
    return (segmentation.relabel_sequential(labels)[0].astype(np.int32), centres[kept - 1])


def _exclusion_mask(exclude, shape) -> np.ndarray:
    from napari_ivae.core.validation import exclusion_mask

    mask = exclusion_mask(exclude, shape)
    return np.zeros(shape, dtype=bool) if mask is None else mask


def _threshold_objects(signal, excluded, params):
    from scipy import ndimage
    from skimage import filters, segmentation

    smoothed = ndimage.gaussian_filter(signal, params["sigma"]) if params["sigma"] > 0 else signal
    valid = smoothed[~excluded]
    if valid.size == 0 or valid.min() == valid.max():
        return np.zeros(signal.shape, dtype=np.int32), {"threshold": None}
    used: dict = {}
    if params["method"] == "local":
        block = params["block_size"] or (max(15, min(signal.shape) // 8) | 1)
        if block % 2 == 0 or block < 3:
            raise InputError(f"block_size must be an odd integer >= 3, got {block}.")
        foreground = smoothed > filters.threshold_local(smoothed, block, method="mean")
        foreground &= smoothed > filters.threshold_otsu(valid) - 0.5 * valid.std()
        used["block_size"] = int(block)
    else:
        threshold_fn = (
            filters.threshold_otsu if params["method"] == "otsu" else filters.threshold_li
        )
        used["threshold"] = float(threshold_fn(valid))
        foreground = smoothed > used["threshold"]
    foreground &= ~excluded
    if params["fill_holes"]:
        foreground = ndimage.binary_fill_holes(foreground)
    objects, _ = ndimage.label(foreground)
    areas = np.bincount(objects.ravel())[1:]
    min_size = params["min_size"]
    if min_size is None:
        min_size = max(10, int(0.02 * np.median(areas))) if len(areas) else 10
    used["min_size"] = int(min_size)
    big_enough = np.concatenate([[False], areas >= min_size])
    foreground = big_enough[objects]
    if params["split"] and foreground.any():
        labels, used["min_separation"] = _watershed_split(foreground, params["min_separation"])
    else:
        labels = ndimage.label(foreground)[0]
    if params["exclude_border"]:
        touching = excluded.copy()
        touching[[0, -1], :] = touching[:, [0, -1]] = True
        edge = np.unique(labels[ndimage.binary_dilation(touching) & (labels > 0)])
        labels[np.isin(labels, edge)] = 0
        labels = segmentation.relabel_sequential(labels)[0]
    return labels.astype(np.int32), used


def _watershed_split(foreground, min_separation):
    from scipy import ndimage
    from skimage import feature, segmentation

    distance = ndimage.distance_transform_edt(foreground)
    objects, n_objects = ndimage.label(foreground)
    if min_separation is None:
        areas = np.bincount(objects.ravel())[1:]
        radius = np.sqrt(np.median(areas) / np.pi)
        min_separation = max(2.0, 0.5 * radius)
    peaks = feature.peak_local_max(
        ndimage.gaussian_filter(distance, 1.0),
        min_distance=max(1, int(round(min_separation))),
        labels=objects,
        exclude_border=False,
    )
    markers = np.zeros(foreground.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # every object keeps at least one marker (tiny objects may have no distance peak)
    unmarked = np.setdiff1d(np.arange(1, n_objects + 1), np.unique(objects[markers > 0]))
    if len(unmarked):
        centres = ndimage.maximum_position(distance, objects, unmarked)
        for offset, centre in enumerate(centres):
            markers[centre] = len(peaks) + 1 + offset
    labels = segmentation.watershed(-distance, markers, mask=foreground)
    return labels, float(min_separation)


def _blobs(signal, excluded, params):
    from skimage import feature

    span = signal.max() - signal.min()
    scaled = (signal - signal.min()) / span if span > 0 else np.zeros_like(signal)
    blobs = feature.blob_log(
        scaled,
        min_sigma=params["min_sigma"],
        max_sigma=params["max_sigma"],
        num_sigma=10,
        threshold=params["log_threshold"],
        exclude_border=False,
    )
    labels = np.zeros(signal.shape, dtype=np.int32)
    rows, cols = np.indices(signal.shape)
    kept = 0
    for row, col, blob_sigma in sorted(blobs, key=lambda b: -b[2]):
        r, c = int(row), int(col)
        if excluded[r, c]:
            continue
        radius = np.sqrt(2.0) * blob_sigma
        if params["exclude_border"] and not (
            radius <= r < signal.shape[0] - radius and radius <= c < signal.shape[1] - radius
        ):
            continue
        kept += 1
        lo_r, hi_r = max(0, int(r - radius - 1)), min(signal.shape[0], int(r + radius + 2))
        lo_c, hi_c = max(0, int(c - radius - 1)), min(signal.shape[1], int(c + radius + 2))
        disc = (
            (rows[lo_r:hi_r, lo_c:hi_c] - row) ** 2 + (cols[lo_r:hi_r, lo_c:hi_c] - col) ** 2
        ) <= radius**2
        window = labels[lo_r:hi_r, lo_c:hi_c]
        window[disc & (window == 0)] = kept
    return labels, {"n_blobs_raw": int(len(blobs))}


def _measure(labels, frame) -> pd.DataFrame:
    from skimage import measure

    if labels.max() == 0:
        return pd.DataFrame({name: np.zeros(0) for name in ("row", "col") + _COLUMNS})
    props = measure.regionprops_table(
        labels,
        intensity_image=frame,
        properties=(
            "label",
            "centroid",
            "area",
            "equivalent_diameter_area",
            "eccentricity",
            "orientation",
            "intensity_mean",
        ),
    )
    return pd.DataFrame(
        {
            "row": props["centroid-0"],
            "col": props["centroid-1"],
            "label": props["label"],
            "area": props["area"],
            "equivalent_diameter": props["equivalent_diameter_area"],
            "eccentricity": props["eccentricity"],
            "orientation": props["orientation"],
            "mean_intensity": props["intensity_mean"],
        }
    )


__all__ = ["Detections", "detect_particles"]
