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
    three or four of its sectors, and it stands above what they leave. Inside a drawn profile
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
