"""Particles beside kept ones, whose larger responses swallowed theirs in scale space.

The kept particles' measured radial profiles are drawn
(:func:`~napari_ivae.core.detection.particle_profiles.profile_model`) and their scale space
taken from the frame's; the maxima of what is left are the candidates
(:func:`beside_candidates`). They pass the same tests as the others (:func:`judged_beside`):
above their surround, no corner of their host
(:func:`~napari_ivae.core.detection.particle_corners.host_corners`), the strongest of
overlapping ones, above the interior of any larger
kept blob or aggregate they lie in.
"""

from __future__ import annotations

import numpy as np


def beside_candidates(
    signal, response, polarity, scales, kept_points, kept_sigma, scale_cut, candidate_skip
):
    """Maxima of the scale space with the kept particles' drawn profiles taken out.

    Parameters
    ----------
    signal : numpy.ndarray
        The frame, particles positive.
    response : numpy.ndarray
        The frame's scale space at ``scales``; overwritten (the residual is taken in place).
    polarity : {"bright", "dark"}
        The particles' polarity.
    scales : numpy.ndarray
        The search scales (sigma, pixels).
    kept_points, kept_sigma : numpy.ndarray
        The kept blobs' integer positions and scales.
    scale_cut : numpy.ndarray
        The cut at each scale.
    candidate_skip : numpy.ndarray of bool
        Pixels where no candidate may lie.

    Returns
    -------
    points, sigma, strength : numpy.ndarray
        The candidates.
    drawn : numpy.ndarray
        The kept particles' drawn profiles (particles positive, as ``signal``).
    """
    from napari_ivae.core.detection import particle_labels, particle_profiles, particle_scale_space

    radius = np.sqrt(2.0) * kept_sigma
    drawn = particle_profiles.profile_model(
        signal, particle_labels.blob_centres(signal, kept_points, radius), kept_sigma
    )
    model = particle_scale_space.scale_space(drawn, scales)
    if polarity == "dark":
        response = np.negative(response, out=response)
    residual = np.subtract(response, model, out=response)
    more, more_sigma, more_strength = particle_profiles.beside_kept(
        residual, model, scales, kept_points, kept_sigma, scale_cut, candidate_skip
    )
    return more, more_sigma, more_strength, drawn


def judged_beside(
    signal, drawn, more, more_sigma, more_strength, kept_points, kept_sigma, aggregates, noise
) -> np.ndarray:
    """The candidates ``more`` that pass (a mask over them).

    Beside the kept particles as drawn (its centre outside every drawn profile), a candidate's
    surround is measured with them taken out: in a dense layer touching kept neighbours fill
    three or four of its sectors, and it stands above what they leave; and it stands above
    the frame's own surround outside the drawn profiles (:func:`above_background`). Inside a drawn profile
    (lattice fringes, facets, a shell: what a radial profile leaves of a particle's own
    structure) the frame's surround, as the others'. Then no corner of the kept particle it
    sits on (:func:`~napari_ivae.core.detection.particle_corners.host_corners`: a faceted
    particle's corners reach past its radial profile), the strongest of overlapping ones,
    and above the interior of any larger kept blob or aggregate (``aggregates``; a ridge-like
    one by a margin of the pixel ``noise``).
    """
    from napari_ivae.core.detection import particle_candidates, particle_corners, particle_surround

    beside_drawn = drawn[more[:, 0], more[:, 1]] <= 0
    share = np.empty(len(more))  # each blob's share is its own: judged on one frame each
    inside = ~beside_drawn
    share[inside] = particle_surround.surround_share(signal, more[inside], more_sigma[inside])
    if beside_drawn.any():
        share[beside_drawn] = particle_surround.surround_share(
            np.subtract(signal, drawn), more[beside_drawn], more_sigma[beside_drawn]
        )
    use = share >= particle_surround.SURROUND_SHARE
    check = use & beside_drawn
    use[check] = above_background(signal, drawn, more[check], more_sigma[check], noise)
    use[use] = ~particle_corners.host_corners(
        signal, drawn, more[use], more_sigma[use], kept_points, kept_sigma
    )
    use[use] = particle_candidates.strongest_of_overlaps(
        more[use], more_sigma[use], more_strength[use]
    )
    judged = particle_surround.above_larger(
        signal,
        np.concatenate([more[use], kept_points]),
        np.concatenate([more_sigma[use], kept_sigma]),
        aggregates,
        noise,
    )
    use[use] = judged[: int(use.sum())]
    return use


BACKGROUND_ERRORS = 3.0  # a top above its surround by this many standard errors of its mean


def above_background(signal, drawn, points, sigma, noise) -> np.ndarray:
    """Per candidate, whether its top in the frame itself stands above its surround there.

    A kept particle's radial profile is round; drawn for an elongated one (a saturated bead's
    bloom streak) it is too wide across the particle, and taking it out leaves a maximum of
    the residual on the plain background beside it, where the drawn profile made the surround
    low. The top (the mean of ``signal`` within ``TOP`` of the radius) must stand above the
    median of the surround ring's pixels outside every drawn profile by ``BACKGROUND_ERRORS``
    standard errors of that mean (the pixel ``noise`` over the root of its pixel count). With
    no ring pixel outside the drawn profiles (a packed layer) there is nothing to compare:
    passed.

    On stranger_fresh's blooming CCD (seed 6), five discs at the background's level 15 px
    beside saturated beads stood 0.3-0.6 pixel noises above it (1.6-4.5 errors).
    """
    from napari_ivae.core.detection.particle_surround import RING, TOP, _around

    out = np.ones(len(points), dtype=bool)
    scale = float(np.mean(noise))
    for index, point in enumerate(np.asarray(points).reshape(-1, 2)):
        radius = np.sqrt(2.0) * float(sigma[index])
        window, dy, dx = _around(point, int(np.ceil(RING[1] * radius)), signal.shape)
        distance = np.hypot(dy, dx) / radius
        ring = (distance >= RING[0]) & (distance <= RING[1]) & (drawn[window] <= 0)
        inner = distance <= TOP
        if not ring.any() or not inner.any():
            continue
        error = scale / np.sqrt(np.count_nonzero(inner))
        level = float(np.median(signal[window][ring]))
        out[index] = float(signal[window][inner].mean()) - level > BACKGROUND_ERRORS * error
    return out
