"""Particles as blobs of the scale-normalised Laplacian of Gaussian, every setting from the image.

Supported catalysts, colloids and nanoparticle films differ in almost every respect a fixed
default could hold on to: particles bright or dark, 3 or 50 pixels across, sparse or packed, on
vacuum, on a flat film or on a support whose own texture is as strong as the particles. What
they share is that a particle is a compact blob of one polarity at one scale. So:

1. **Polarity and scale.** ``-sigma^2 LoG`` responds to bright blobs of about ``sqrt(2) sigma``
   radius, ``+sigma^2 LoG`` to dark ones. For each sign and scale the mean of the strongest blob
   peaks (local maxima of the response; as many as blobs of that scale could cover 2 % of the
   frame), over the response's robust spread, says how blob-like that sign and scale are; the best
   pair wins. Constant pixels are left out of the spread, but where they are most of the frame (a
   rendered localisation image's black) they are still its area: the peaks counted cover 2 % of the
   whole frame, not 2 % of the few non-constant pixels (the objects themselves, whose largest few
   would decide at every scale). Counting peaks, not pixels, keeps one large blob from filling the
   count by itself (its neighbouring pixels are nearly as strong as its peak). A support's texture
   is as bright as it is dark; particles are one-sided. Flat-topped particles (a saturated
   detector, a thresholded image) add a trap: an edge's response is as strong at every scale below
   the particle's, and where most of the frame is flat the small scales' spread is the noise alone,
   so their edges win. An edge's peaks lie on a ridge (one principal curvature near 0), a blob's
   are round: when the winning pair's strongest peaks are ridges (median curvature ratio below
   ``RIDGE``), the scale is the best larger one of that polarity whose strongest peaks are round
   and centred. An outline curves, so below a large particle's scale its ridge turns round at the
   outline's ends (an ellipse's) while still lying on the frame's slope inside the rim: where the
   frame's slope there, ``sigma |grad|`` over the response, is a quarter of a straight edge's or
   more (:func:`~napari_ivae.core.detection.particle_peak_shape.off_centre`), that scale is the
   outline's, and the best larger round one whose peaks sit at blob centres is taken (any round one
   where none does). An edge has a ridge on both sides, though (the concave foot of a tip-broadened
   AFM dome is the strongest dark one), so the other polarity's best round scale is taken instead
   when, at its strongest peaks, the frame (its plane taken out, smoothed at half the scale) lies
   further beyond its median level toward that polarity: a particle lies beyond the background,
   while the round gaps between close domes lie at the substrate's level. Tight clusters of
   touching particles are blobs too, and at their scale the support's texture is smoothed away:
   when most of the winning scale's strongest blobs each hold two or more smaller blobs at least as
   strong in the scale-normalised response (:mod:`.particle_groups`), they are groups, and the best
   smaller scale of that polarity is the particles'.
2. **Candidates.** Maxima of the signed response in scale and space, from half to twice the
   chosen scale (a size spread), outside constant areas (padding, a burned-in scale bar);
   overlapping blobs keep the strongest.
3. **Threshold.** The candidates' log-strengths hold two populations: the support's texture
   and noise (weak, many when particles are sparse) and the particles. A two-component
   Gaussian mixture finds them; a candidate is a particle when it stands ``NULL_Z`` standard
   deviations above the weak component (or beyond the point where the strong component
   dominates, whichever is lower). Sparse or dense, the weak population is what is measured.
   Whatever the mixture says, no particle is weaker than what white noise of the image's own
   pixel noise reaches in one frame of ten of its size. When the mixture's cut does not stand
   above that floor, it found no background population below the particles (the candidates
   form a single population: a few particles on a clean background, nothing but noise, or a
   support's texture that the mixture took for its strong component); then no pooled cut is
   used and what the background reaches at each scale (4. and 5.) decides, never less than
   the floor.
4. **The other side at each scale.** The mixture pools every scale, and the noise crowds the
   smallest. At each scale the strongest response of the *opposite* sign anywhere in the
   frame (a support's texture and noise are two-sided, particles are not) is what that
   scale's background reaches; a candidate stronger than that is a particle even below the
   pooled cut (never below the noise floor). This only ever lowers the cut: where the other
   side is as strong (bright gaps between packed dark particles, fringes), the pooled cut
   stands.
5. **The background's spread at each scale.** The same bound from the response's robust spread at
   that scale (texture, shot noise and particles together): what a Gaussian of that spread reaches
   ``NOISE_BLOBS`` times over the independent blob sites of every searched scale, raised by as much
   as the opposite side's tail is heavier than a Gaussian's
   (:func:`~napari_ivae.core.detection.particle_threshold.background_strengths`). It also only
   lowers the cut, never below the noise floor: the other side's maximum is one sample of the
   background's extreme, this is its expectation, and each is the lower one on different images.
6. **Smaller particles, and the shape of a particle.** A size spread puts the small particles below
   half the chosen scale (which the large ones set), so candidates are also searched down to
   ``SEARCH_FROM`` x that scale. Those smaller scales only add candidates: the mixture (3.), the
   noise floor and the blob sites that set the spread bound (5.) come from the candidate scales
   alone (a support's fine texture there would otherwise be a population of its own and pull the cut
   down to it); at the smaller scales the floor is what white noise reaches when they are searched
   too, and their maxima settle overlaps with the others only once both have passed their cuts.
   Every candidate above its scale's cut must then stand above its surround in ``SURROUND_SHARE`` of
   ``SECTORS`` directions (:func:`~napari_ivae.core.detection.particle_surround.surround_share`; two
   sectors may hold a touching neighbour): a bump on the rim of a larger aggregate, or a diffuse
   patch of the support, has its own level or a higher one on several sides. A blob whose centre
   lies inside a clearly larger kept blob has that blob's interior as its surround instead
   (:func:`~napari_ivae.core.detection.particle_surround.above_larger`): it must stand above it, or
   it is a bump on the larger particle's rim or top. On a flat top the noise decides that; a nested
   blob whose peak is a ridge (an inner rim) must beat the interior by a noise margin.
7. **Aggregates.** Blobs above the candidate scales (up to ``AGGREGATE_RANGE`` x the chosen scale),
   as strong as the largest candidate scale's cut and standing above their surround, are too large
   to be particles of the measured size but judge the blobs inside them as a larger particle does
   (:func:`~napari_ivae.core.detection.particle_surround.aggregate_blobs`): a bump on an aggregate's
   rim, or a brighter patch of a thick support, does not stand above its interior. The scales come
   from the scale space the polarity and scale were chosen on (no extra cost where the frame fits in
   that crop).
8. **The background far from the kept particles.** The per-scale bounds of 4. and 5. are measured
   over the whole frame, where packed particles leave gaps and rings of the opposite polarity that
   no texture makes; on a dense frame the pooled cut then stands above small particles that the
   background never reaches. Once the particles are kept, at each scale the opposite side's maxima
   more than ``FAINT_NULL`` median radii beyond every kept rim are the background's own
   (:func:`~napari_ivae.core.detection.particle_far_background.background_levels`): their tail,
   extended exponentially from the strongest ``FAINT_TAIL`` of them and scaled from that area to the
   area outside the kept particles, gives the level above which at most ``FAINT_FALSE`` background
   maxima are expected over all searched scales; at the larger scales where too few maxima give
   none (large particles packed over most of the frame), the largest measured scale's level is
   carried up where the measured levels fall with scale at the top (a haze reaches more the larger
   the scale: then nothing is carried;
   :func:`~napari_ivae.core.detection.particle_far_background.carried_levels`). Where that level
   is below a scale's cut, a
   candidate on the background (more than ``FAINT_CLEAR`` median radii beyond every kept rim: the
   top of a bright particle carries more shot noise than the background) passes from it, never below
   the noise floor, and the kept particles are judged again (surround, overlaps, nested); where
   the noise is skewed toward the particles (counting noise at a few counts a pixel, or, on a flat
   background without a noise line, independent pixels of one-sided noise such as an EMCCD's
   gain: :func:`~napari_ivae.core.detection.particle_far_background.fitted_tail_levels`), the
   level is carried over to that side first; such a candidate must have a round peak
   (:func:`~napari_ivae.core.detection.particle_surround.round_peaks`): the opposite side never
   holds a support's one-sided ridges (strands of lacey carbon over its holes), so this level does
   not bound them. The lowered cuts also serve 9.
9. **Particles beside kept ones.** A small particle touching a larger one is a maximum in space at
   its own scale, but the larger one's response grows over it towards the larger scale, so it is no
   scale-space maximum and never a candidate. The kept particles are drawn from their own measured
   radial profiles (:func:`~napari_ivae.core.detection.particle_profiles.profile_model`; a Gaussian
   of the blob's scale does not fit a flat-topped particle and leaves a ring at its rim) and their
   response taken out; the maxima of what remains that the kept ones had hidden, that stand above
   their misfit and have no twin at their mirror image
   (:func:`~napari_ivae.core.detection.particle_profiles.beside_kept`) pass the same cut, overlap
   and nested tests as the others, and the surround test on the frame less the drawn kept
   particles (in a dense layer touching kept neighbours fill three or four of its sectors).
10. **Faint particles away from the kept ones.** On a textured support at a low dose the small
    particles are also the faint ones, and at the LoG scales the texture reaches as high as they do.
    At the kept particles' median radius a difference of Gaussians
    (:func:`~napari_ivae.core.detection.particle_faint.faint_particles`), less the support's level
    measured off the kept particles, separates them better; its cut comes from the background far
    from every kept particle (no particle's ring, no gap between packed particles), where a
    two-sided texture reaches as far on the opposite side as on the particles' side: the lowest
    cut at which at most 5 % of the added ones are expected from the background. Counting noise
    (its variance following a line in the mean, measured from the frame:
    :mod:`~napari_ivae.core.detection.count_noise`) is skewed toward the counts' high side at a
    few counts a pixel; such a frame is made counts to the power 2/3 first, near symmetric, and
    what skew that leaves in the filter's sums (pixels sharing their events: an element map's
    export) is read from the frame's counting noise and taken out of the candidates. A
    background whose particles' side is the stronger in bulk (out-of-focus objects, debris) gives
    no null, and nothing is added there.
11. **Rods.** A rod (any elongated particle) gives a row of round blobs along its axis, each a
    particle of the rod's width to every test above. Two kept blobs closer than 4.5 x the sum
    of their radii are one particle where the frame between them neither dips (height at least
    0.95 of the lower end's, or within the frame's noise over the gap between their discs)
    nor narrows (width at least 0.9 of the narrower end's) and their ends are alike
    (:func:`~napari_ivae.core.detection.particle_merge.merge_groups`); touching or overlapping
    particles dip, narrow to a waist, or differ in size. Not on a packed layer.

This module holds step 1 (the choice of polarity and scale); the scale space is
:mod:`~napari_ivae.core.detection.particle_scale_space`'s and the peaks' shape (round or a ridge)
:mod:`~napari_ivae.core.detection.particle_peak_shape`'s. The other steps live in
:mod:`~napari_ivae.core.detection.particle_candidates` (2., 6.: candidates and overlaps),
:mod:`~napari_ivae.core.detection.particle_threshold` (3.-5.: the cuts and the noise floor),
:mod:`~napari_ivae.core.detection.particle_surround` (6., 7.: surround, nested blobs,
aggregates), :mod:`~napari_ivae.core.detection.particle_far_background` (8.: the background far
from kept particles), :mod:`~napari_ivae.core.detection.particle_profiles` (9.: particles beside
kept ones), :mod:`~napari_ivae.core.detection.particle_faint` (10.: faint particles) and
:mod:`~napari_ivae.core.detection.particle_merge` (11.: rods);
:func:`~napari_ivae.core.detection.particle_auto.auto_blobs` runs them in order for
:func:`~napari_ivae.core.detection.particles.detect_particles`.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.particle_peak_shape import off_centre, ridge_like, signed_peaks
from napari_ivae.core.detection.particle_scale_space import blob_scales, scale_space

CHOICE_SIDE = 1024  # polarity and scale are measured on a central crop at most this large
COVER = 0.02  # the strongest responses averaged: as many blobs as would cover this share


def blob_polarity_and_scale(
    frame: np.ndarray, skip=None, polarity: str = "auto"
) -> tuple[str, float]:
    """Polarity (``"bright"``/``"dark"``) and blob sigma (pixels) of a frame.

    Measured on a central crop of at most ``CHOICE_SIDE`` pixels (speed).

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame.
    skip : numpy.ndarray, optional
        Pixels to leave out of the statistics (constant areas, an annotation).
    polarity : {"auto", "bright", "dark"}
        ``"auto"`` decides; otherwise only the scale is chosen.

    Returns
    -------
    (str, float)
        Polarity and sigma.
    """
    polarity, sigma, _, _, _ = polarity_scale_and_response(frame, skip, polarity)
    return polarity, sigma


def choice_window(shape) -> tuple[slice, ...]:
    """The central crop of at most ``CHOICE_SIDE`` pixels a side the choice is measured on."""
    return tuple(
        slice(max((n - CHOICE_SIDE) // 2, 0), max((n - CHOICE_SIDE) // 2, 0) + CHOICE_SIDE)
        for n in shape
    )


def polarity_scale_and_response(
    frame: np.ndarray,
    skip=None,
    polarity: str = "auto",
    no_data=None,
    largest=None,
    bounded: bool = False,
) -> tuple[str, float, np.ndarray, np.ndarray | None, tuple[str, float, float] | None]:
    """:func:`blob_polarity_and_scale`, the scale space it was measured on, and the packed
    layer it found. ``no_data`` (optional mask): pixels holding no data (padding filled with
    the data's mirror image), where no peak counts. ``largest`` (optional): the largest scale
    measured (the grid's smallest always is), or the pair (smallest, largest). ``bounded``:
    ``largest`` bounds the particles themselves (the binning found them no larger), not only
    the scales searched: a packed layer whose pieces and cells are both larger is not theirs.

    Returns
    -------
    (str, float, numpy.ndarray, numpy.ndarray or None, tuple or None)
        Polarity, sigma, the scales measured and their
        :func:`~napari_ivae.core.detection.particle_scale_space.scale_space` response over
        the whole frame (``None`` instead of the response when the frame is larger than the
        crop the choice was made on), and the crop's
        :func:`~napari_ivae.core.detection.packed.packed_phase` (measured once per frame:
        the detector's cut asks it again; ``None`` where the crop is no packed layer).
    """
    from napari_ivae.core.detection.detection_memo import remembered
    from napari_ivae.core.detection.field_noise import CONSTANT_NULL
    from napari_ivae.core.detection.packed import _packed_choice, packed_phase

    window = choice_window(frame.shape)
    crop = np.asarray(frame, dtype=np.float32)[window]
    scales = blob_scales(frame.shape)
    scales = scales[scales <= max(1.5, min(crop.shape) / 8.0)]
    if isinstance(largest, tuple):  # the smallest and largest scale
        smallest, largest = largest
        scales = scales[min(int(np.searchsorted(scales, smallest)), len(scales) - 1) :]
    if largest is not None:
        scales = scales[: max(1, int(np.searchsorted(scales, largest, side="right")))]
    response = scale_space(crop, scales)
    use = np.ones(crop.shape, dtype=bool) if skip is None else ~np.asarray(skip)[window]
    every = bool(use.all())  # then a layer's values are the layer itself (no copy)
    data = None if no_data is None or not np.any(no_data) else ~np.asarray(no_data)[window]
    # a background mostly constant (a rendered localisation image's black) holds no blob, but
    # it is the frame's area: counted over the non-constant pixels alone (the objects), the
    # strongest 2 % would be a few of the largest objects' cores at every scale
    area = use.size if 1.0 - float(use.mean()) > CONSTANT_NULL else int(use.sum())
    # (strength, polarity, scale index) of every measured pair, and its strongest peaks
    measured: list[tuple[float, str, int]] = []
    strongest: dict[tuple[str, int], np.ndarray] = {}
    for index, sigma in enumerate(scales):
        layer = response[index]
        values = layer.ravel() if every else layer[use]
        if values.size == 0:
            continue
        spread = 1.4826 * _median(np.abs(values - _median(values)))
        if not spread > 0:
            continue
        count = max(4, int(COVER * area / (np.pi * (2 * sigma) ** 2)))
        for name in ("bright", "dark"):
            if polarity not in ("auto", name):
                continue
            # one value per blob (its peak), not the peak's neighbouring pixels over again; a
            # peak may sit on a flat top (a saturated or noise-free particle), so not `use`
            peaks_at = signed_peaks(layer, name)
            if data is not None:
                peaks_at &= data
            flat = np.flatnonzero(peaks_at)
            top = min(count, flat.size)
            if not top:
                measured.append((-np.inf, name, index))
                continue
            peaks = layer.ravel()[flat]
            peaks = peaks if name == "bright" else np.negative(peaks)
            chosen = np.argpartition(peaks, peaks.size - top)[-top:]
            measured.append((float(peaks[chosen].mean() / spread), name, index))
            strongest[name, index] = flat[chosen]
    whole = crop.shape == tuple(frame.shape)
    best = max(measured, key=lambda item: item[0], default=(-np.inf, "", 0))  # the first of equals
    # the same crop's test in the binning's choice and each search's (the active memo's)
    packed = remembered("packed_phase", packed_phase, crop, use)
    if bounded and packed is not None and largest is not None and min(packed[1:]) > largest:
        # a layer whose pieces and cells are larger than the particles may be is not theirs:
        # a support's clumps over fine particles (:mod:`.particle_binning`'s clump guard)
        packed = None
    if best[0] == -np.inf:
        return (
            "bright" if polarity == "auto" else polarity,
            float(scales[0]),
            scales,
            (response if whole else None),
            packed,
        )
    if packed is not None and polarity in ("auto", packed[0]):
        # a packed layer (most of the frame particles, the background a network of thin gaps):
        # the statistic above measures how sparse the strongest blobs are against the bulk of
        # the response, and there the particles are the bulk; the gaps' phase and the sizes
        # of the particles' own pieces decide instead
        best = _packed_choice(best, measured, scales, *packed)
        return best[1], float(scales[best[2]]), scales, response if whole else None, packed
    if ridge_like(response, best, strongest):
        # the strongest peaks are an edge's ridge (flat-topped particles: the edges' response
        # is as strong at every scale below theirs, and most of the frame is flat there), not
        # blobs: the scale is the best one above it whose strongest peaks are blobs
        blobs = [
            item
            for item in measured
            if item[1] == best[1]
            and item[2] > best[2]
            and item[0] > -np.inf
            and not ridge_like(response, item, strongest)
        ]
        # an outline curves, so its peaks turn round at scales below the particle's while
        # still lying on its inner slope (an ellipse's ends): round and centred is a blob
        centred = [
            item for item in blobs if not off_centre(crop, response, scales, item, strongest)
        ]
        if centred or blobs:
            best = max(centred or blobs, key=lambda item: item[0])
        if polarity == "auto":
            best = _deeper_side(crop, use, scales, best, measured, response, strongest)
    best = _ungrouped(response, scales, best, measured, strongest, crop, use)
    return best[1], float(scales[best[2]]), scales, response if whole else None, packed


def _deeper_side(crop, use, scales, best, measured, response, strongest):
    """``best`` (the ridge fallback's item: round, or a ridge where no larger scale is round),
    or the other side's best round item when its strongest peaks lie further beyond the level.

    An edge has a ridge on both sides, so which side's ridge is the stronger says nothing about
    the particles: the concave foot of a tip-broadened AFM cone is the strongest dark ridge, and
    the best larger round dark blobs are the gaps between close cones, at the substrate's level;
    the vacuum between support spheres, a ridge at every scale. A particle lies further beyond.
    """
    others = [
        item
        for item in measured
        if item[1] != best[1] and item[0] > -np.inf and not ridge_like(response, item, strongest)
    ]
    if not others:
        return best
    other = max(others, key=lambda item: item[0])
    flat = _levelled(crop)
    level = _median(flat[use]) if not use.all() else _median(flat.ravel())
    if _depth(flat, level, scales, other, strongest) > _depth(flat, level, scales, best, strongest):
        return other
    return best


def _levelled(crop):
    """``crop`` less its least-squares plane (a sample's tilt)."""
    rows, cols = np.indices(crop.shape)
    design = np.stack([np.ones(crop.size), rows.ravel(), cols.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(design, crop.ravel().astype(np.float64), rcond=None)
    return crop - (design @ coef).reshape(crop.shape)


def _depth(flat, level, scales, item, strongest):
    """How far the frame, smoothed at half ``item``'s scale, lies beyond ``level`` toward
    ``item``'s polarity at its strongest peaks (their median; image units)."""
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(flat, scales[item[2]] / 2)
    depth = float(_median(smooth.ravel()[strongest[item[1], item[2]]]) - level)
    return depth if item[1] == "bright" else -depth


def _ungrouped(response, scales, best, measured, strongest, crop, use):
    """``best`` (strength, polarity, scale index), or, while its strongest blobs are groups
    of stronger smaller ones (touching particles in clusters, :func:`.particle_groups.grouped`),
    the best smaller scale of that polarity whose strongest peaks are round. ``crop``: the
    frame measured, ``use`` its pixels that say what its noise is."""
    from napari_ivae.core.detection.particle_groups import SUB_SCALE, grouped
    from napari_ivae.core.detection.peaks import smoothed_noise

    noise = smoothed_noise(crop, 0.0, None if use.all() else ~use)

    while grouped(response, scales, best[2], best[1], strongest[best[1], best[2]], noise):
        limit = SUB_SCALE * scales[best[2]]
        smaller = [
            item
            for item in measured
            if item[1] == best[1]
            and scales[item[2]] <= limit
            and item[0] > -np.inf
            and not ridge_like(response, item, strongest)
        ]
        if not smaller:
            break
        best = max(smaller, key=lambda item: item[0])
    return best


__all__ = [
    "blob_polarity_and_scale",
    "choice_window",
    "polarity_scale_and_response",
]
