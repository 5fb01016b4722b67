"""The background far from the kept particles, and the candidates that pass against it.

Step 8 of :mod:`~napari_ivae.core.detection.particle_blobs` (the numbers below refer to its
overview): at each scale, what the background more than ``FAINT_NULL`` median radii from every
kept particle reaches (:func:`background_levels`); where that is below a scale's cut, the
candidates on the background pass from it (:func:`background_pass`), the kept particles to be
judged again.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_faint import FAINT_CLEAR, FAINT_NULL, FAINT_TAIL

FAINT_FALSE = 0.75  # background maxima expected above the per-scale levels: at most this many
FAINT_CARRY = 3  # the top measured scales whose levels must fall for a level to be carried up


def background_levels(response, scales, polarity: str, points, radius, skip=None, frame=None):
    """Per scale, what the background far from the kept particles reaches outside them (see 8.).

    At each scale the opposite polarity's maxima of ``response`` (a square of ``2 ceil(sigma)
    + 1`` px) more than ``FAINT_NULL`` median radii beyond every kept particle's rim are the
    background's: a support's texture and noise, not the gaps between packed particles or
    their rings. Their tail past the strongest max(``FAINT_TAIL``) of them, extended
    exponentially and scaled from their area to the area outside every kept particle, gives
    the level above which ``FAINT_FALSE / len(scales)`` background maxima are expected there
    (``inf`` where fewer than ``FAINT_TAIL[0]`` maxima were found). Where ``frame``'s noise is
    counting noise, skewed toward the particles' side at a few counts a pixel, that side
    reaches further than the opposite one: the level is carried over to it
    (:func:`skewed_levels`), less the level's own standard error (its tail's decay from
    ``tail`` maxima: the level's excess over the tail's base over ``sqrt(tail)``), so that a
    shift the opposite side cannot resolve (15 counts a pixel: 1-2 % of the level) leaves
    it as measured.

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` from
        :func:`~napari_ivae.core.detection.particle_scale_space.scale_space` (the frame's own
        sign).
    scales : numpy.ndarray
        The scales (sigmas, px) of ``response``.
    polarity : {"bright", "dark"}
        The particles' polarity; the opposite one is measured.
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept particles.
    radius : array-like
        ``(N,)`` their radii (pixels).
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where nothing is measured.
    frame : numpy.ndarray, optional
        ``(Y, X)`` the frame, the particles' polarity positive (its counting noise's skew; not
        measured where not given).

    Returns
    -------
    numpy.ndarray
        One level per scale.
    """
    from napari_ivae.core.detection._filters import local_maxima
    from napari_ivae.core.detection.field_noise import null_sample, tail_level

    levels = np.full(len(scales), np.inf)
    errors = np.zeros(len(scales))
    counts = np.zeros(len(scales), dtype=np.int64)
    background, area = null_sample(response.shape[1:], points, radius, FAINT_NULL, skip)
    if not area:
        return levels
    allowed = FAINT_FALSE / len(scales)
    sign = -1.0 if polarity == "bright" else 1.0
    for index, (layer, sigma) in enumerate(zip(response, scales)):
        opposite = sign * layer
        rows, cols = local_maxima(opposite, 2 * int(np.ceil(sigma)) + 1, 0.0)
        values = np.sort(opposite[rows, cols][background[rows, cols]])
        levels[index] = tail_level(values, area, allowed, *FAINT_TAIL)
        counts[index] = len(values)
        if len(values) >= FAINT_TAIL[0]:
            tail = max(FAINT_TAIL[0], int(FAINT_TAIL[1] * len(values)))
            errors[index] = (levels[index] - float(values[-tail])) / np.sqrt(tail)
    if frame is not None and np.isfinite(levels).any():
        # a shift within the level's own error is none the opposite side can resolve
        shifted = skewed_levels(levels, response, scales, frame, background)
        levels = np.where(np.isfinite(shifted), np.maximum(levels, shifted - errors), shifted)
    return carried_levels(levels, counts >= FAINT_TAIL[0])


def carried_levels(levels, measured):
    """``levels`` carried up to the larger scales whose background holds too few maxima to
    measure one, where the measured ones fall with scale at the top.

    Large particles packed over most of a frame leave too little background at the largest
    scales for a tail (fewer than ``FAINT_TAIL[0]`` maxima), though the smaller scales
    measure it. Noise and a texture finer than those scales reach less the larger the scale;
    a haze or a texture as coarse reaches more. Where the levels of the top
    ``FAINT_CARRY`` (at least 2) consecutive measured scales fall monotonically, the
    largest measured scale's level bounds the unmeasured scales above it and is carried
    there (up to the next scale measured: one whose level is ``inf`` for another reason
    stops it); otherwise (they rise: a haze growing with scale, or too few are measured) those
    scales keep ``inf``. Never below the noise floor: the caller bounds the levels by it.

    Parameters
    ----------
    levels : numpy.ndarray
        One level per scale, ascending scales (``inf`` where none).
    measured : numpy.ndarray of bool
        The scales whose background held enough maxima for a level.

    Returns
    -------
    numpy.ndarray
    """
    levels = np.array(levels, dtype=np.float64)
    valid = measured & np.isfinite(levels)
    if not valid.any():
        return levels
    top = int(np.flatnonzero(valid)[-1])
    end = top + 1  # the unmeasured scales right above it (none past a measured one)
    while end < len(levels) and not measured[end]:
        end += 1
    run = top
    while run > 0 and valid[run - 1] and top - run + 1 < FAINT_CARRY:
        run -= 1
    steps = np.diff(levels[run : top + 1])
    if end > top + 1 and len(steps) and (steps < 0.0).all():
        levels[top + 1 : end] = levels[top]
    return levels


def skewed_levels(levels, response, scales, frame, background):
    """``levels`` measured on the opposite side, carried over to the particles' side where
    ``frame``'s counting noise is skewed toward it.

    The skew ``g`` at each scale comes from the frame's counts
    (:func:`~napari_ivae.core.detection.count_skew.response_skews`). A gamma distribution of
    shape ``4 / g^2`` with the response's spread over the ``background`` pixels has that
    skew; the particles' side's level is the one it reaches as often as the opposite side's
    (equal probabilities through the Wilson-Hilferty cube root, which neither underflows nor
    needs the tail's own probability); ``inf`` where the opposite level lies past the gamma's
    bound (the noise reaches much further on the particles' side than the other side can
    show). Unchanged where the noise is skewed the other way; where no counting noise is
    measured, as far as the background's pixel noise, its tails fitted from moderate
    quantiles, reaches (:func:`~napari_ivae.core.detection.noise_tails.fitted_tail_levels`).
    """
    from napari_ivae.core.detection._medians import _median
    from napari_ivae.core.detection.count_skew import response_skews

    rows, cols = np.nonzero(background)
    step = max(1, len(rows) // 20000)
    rows, cols = rows[::step], cols[::step]
    spreads = np.zeros(len(response))
    for index, layer in enumerate(response):
        values = layer[rows, cols].astype(np.float64)
        spreads[index] = 1.4826 * float(_median(np.abs(values - _median(values))))
    skews = response_skews(frame, background, scales, spreads)
    if skews is None:
        from napari_ivae.core.detection.noise_tails import fitted_tail_levels

        return fitted_tail_levels(levels, scales, frame, background)
    levels = np.array(levels, dtype=np.float64)
    for index, (level, skew, spread) in enumerate(zip(levels, skews, spreads)):
        if not np.isfinite(level) or not skew > 0.0 or not spread > 0.0:
            continue
        shape = 4.0 / skew**2
        lowest = 1.0 - level / spread / np.sqrt(shape)  # the opposite level over the mean
        if lowest <= 0.0:  # past the noise's bound: that side is no null for this one
            levels[index] = np.inf
            continue
        third = 1.0 / (9.0 * shape)  # the cube root's variance
        normal = (1.0 - third - np.cbrt(lowest)) / np.sqrt(third)
        highest = (1.0 - third + normal * np.sqrt(third)) ** 3
        levels[index] = spread * (highest - 1.0) * np.sqrt(shape)
    return levels


def background_pass(signal, response, scales, polarity, candidates, keep, cuts, skips, cut_of):
    """The candidates that pass at the background's own levels far from the kept particles.

    The per-scale bounds are measured over the whole frame, where packed particles leave gaps
    and rings of the opposite polarity that no texture makes: :func:`background_levels` away
    from the kept particles and from particles of the other polarity
    (:func:`~napari_ivae.core.detection.particle_other_side.other_polarity_area`) may reach
    less. A candidate more than ``FAINT_CLEAR`` median radii beyond every kept rim passes from
    that lower level, never below the noise floor, when its peak is round
    (:func:`~napari_ivae.core.detection.particle_surround.round_peaks`: the opposite side holds
    no support's one-sided ridges, so the level does not bound them).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    response : numpy.ndarray
        ``(scales, Y, X)`` scale space of the frame (its own sign).
    scales : numpy.ndarray
        The scales (sigmas, px) of ``response``.
    polarity : {"bright", "dark"}
        The particles' polarity.
    candidates : tuple of numpy.ndarray
        ``(points, sigma, cut_by)``: the candidates' integer centres, scales and the strengths
        their cut is compared with.
    keep : numpy.ndarray of bool
        The candidates kept so far (at least 3).
    cuts : tuple of numpy.ndarray and int
        ``(scale_cut, floors, added)``: each scale's cut and noise floor, and how many of the
        smallest scales were added below the first search's floor (their cuts stay).
    skips : tuple of numpy.ndarray
        ``(skip, candidate_skip)``: pixels where nothing is measured, and where no candidate
        is (and no particle of the other polarity looked for).
    cut_of : callable
        Each candidate's cut from per-scale cuts.

    Returns
    -------
    lowered : numpy.ndarray
        The per-scale cuts at the far background's levels (never above ``scale_cut``).
    passed : numpy.ndarray of bool or None
        Which candidates pass at ``lowered``; ``None`` where no cut was lowered.
    other_pixels : int
        Pixels of the other polarity's particles, left out of the background.
    """
    from napari_ivae.core.detection import particle_other_side, particle_surround
    from napari_ivae.core.detection.particle_discs import within_discs

    points, sigma, cut_by = candidates
    scale_cut, floors, added = cuts
    skip, candidate_skip = skips
    kept_points, kept_radius = points[keep], np.sqrt(2.0) * sigma[keep]
    # particles of the other polarity (either side of focus) are no background either
    other_area = particle_other_side.other_polarity_area(
        signal, kept_points, kept_radius, candidate_skip
    )
    other_pixels = int(other_area.sum())
    lowered = np.maximum(
        np.minimum(
            scale_cut,
            background_levels(
                response,
                scales,
                polarity,
                kept_points,
                kept_radius,
                skip | other_area,
                frame=signal,
            ),
        ),
        floors,
    )
    lowered[:added] = scale_cut[:added]  # measured away from the first search's particles
    if not (lowered < scale_cut).any():
        return lowered, None, other_pixels
    clear = FAINT_CLEAR * float(np.median(kept_radius))
    on_kept = within_discs(signal.shape, kept_points, kept_radius + clear)[
        points[:, 0], points[:, 1]
    ]
    passed = (cut_by >= cut_of(scale_cut)) | ((cut_by >= cut_of(lowered)) & ~on_kept)
    # that level is measured on the opposite side, where a support's one-sided ridges
    # (strands of lacey carbon over its holes, edges) never reach: a candidate that
    # passes only there must be round
    lowered_only = np.flatnonzero(passed & (cut_by < cut_of(scale_cut)))
    passed[lowered_only] = particle_surround.round_peaks(
        signal, points[lowered_only], sigma[lowered_only]
    )
    return lowered, passed, other_pixels


__all__ = [
    "FAINT_FALSE",
    "background_levels",
    "background_pass",
    "carried_levels",
    "skewed_levels",
]
