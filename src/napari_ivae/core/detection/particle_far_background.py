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


def background_levels(response, scales, polarity: str, points, radius, skip=None):
    """Per scale, what the background far from the kept particles reaches outside them (see 8.).

    At each scale the opposite polarity's maxima of ``response`` (a square of ``2 ceil(sigma)
    + 1`` px) more than ``FAINT_NULL`` median radii beyond every kept particle's rim are the
    background's: a support's texture and noise, not the gaps between packed particles or
    their rings. Their tail past the strongest max(``FAINT_TAIL``) of them, extended
    exponentially and scaled from their area to the area outside every kept particle, gives
    the level above which ``FAINT_FALSE / len(scales)`` background maxima are expected there
    (``inf`` where fewer than ``FAINT_TAIL[0]`` maxima were found).

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

    Returns
    -------
    numpy.ndarray
        One level per scale.
    """
    from napari_ivae.core.detection._filters import local_maxima
    from napari_ivae.core.detection.field_noise import null_sample, tail_level

    levels = np.full(len(scales), np.inf)
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
                response, scales, polarity, kept_points, kept_radius, skip | other_area
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


__all__ = ["FAINT_FALSE", "background_levels", "background_pass"]
