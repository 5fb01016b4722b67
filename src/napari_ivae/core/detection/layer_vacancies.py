"""A packed layer's vacancies: particles inside the layer that its particle scale's cut missed.

On a packed layer at a low dose each scale's cut is a false discovery rate over the candidates
whose maximum over the scales fell at that scale
(:func:`~napari_ivae.core.detection.packed.layer_floors`). The noise moves most particles'
maxima to smaller scales, so the particles' own scale may hold only a hundred of them and its
rate stands high, while the maxima that compete there
(:func:`~napari_ivae.core.detection.layer_candidates.layer_candidates`, a few thousand) are
judged against it. The same rate over those maxima stands lower; taken for the whole scale it
also admits the noise maxima of the layer's open patches and edges where every particle is
found already. :func:`with_vacancies` takes it only for a maximum in a vacancy of the layer: a
site no kept particle covers, surrounded by kept ones.
"""

from __future__ import annotations

import numpy as np

LAYER_SURROUNDED = 4  # a vacancy: at least this many of a packed site's six neighbours kept
LAYER_SITE = 0.75  # ... its site at least this x the layer's period from every kept centre
LAYER_WEAKEST = 10.0  # ... their median strength above this percentile of the kept particles'


def vacancy_level(every, scales, index: int, pixel_noise: float, area: float) -> float:
    """The false-discovery level (:func:`~napari_ivae.core.detection.packed.layer_floors`) over
    the maxima of ``every`` (points, sigmas, strengths) at ``scales[index]``."""
    from napari_ivae.core.detection.packed import layer_floors

    own = every[1] == scales[index]
    return float(
        layer_floors(every[2][own], every[1][own], pixel_noise, area, scales[index : index + 1])[0]
    )


def with_vacancies(candidates, every, scales, scale_cut, index: int, level: float, shape):
    """``candidates`` (points, sigmas, strengths), with the maxima of ``every`` at
    ``scales[index]`` (the particles' scale) that stand between ``level`` and that scale's cut
    in a vacancy of the layer, and each candidate's own cut: ``level`` for those, ``inf`` for
    the others (their scale's cut decides).

    A vacancy: no candidate passing its scale's cut lies within ``LAYER_SITE`` x the layer's
    period (their median nearest-neighbour distance) of the maximum, at least
    ``LAYER_SURROUNDED`` of them lie within ``LAYER_REACH`` x the period, their median strength
    above the ``LAYER_WEAKEST`` percentile of the kept, and that whole neighbourhood lies in
    the frame (``shape``: beyond its edge no neighbour is counted). Touching discs packed
    hexagonally give a site six neighbours there (the next ring lies at sqrt 3 x the period),
    one on a straight edge of the layer four; a noise maximum beyond the layer's edge or in an
    open patch two or fewer, and none as strong as the layer's particles where weak noise
    points passed in a patch. The vacancies found count as neighbours of the next ones (two
    missing side by side). Measured on the held-out-like liquid-cell films (x0.75 seed 0:
    369 of 3121 particles below the particle scale's cut of 15.9, at 8.9-15.7; the rate over
    the 3371 maxima at that scale 11.2): the particles missed had 4-7 kept neighbours (median
    6), the noise maxima between the two levels 0-6 (median 1); at x1, where every particle
    is found, the same rule adds none of the 24-51 noise maxima between the levels (seeds 7, 8).

    Parameters
    ----------
    candidates : tuple of numpy.ndarray
        ``(points, sigma, strength)``: the candidates, overlaps settled.
    every : tuple of numpy.ndarray
        The same search with overlaps kept and the maxima at the particles' scale
        (:func:`~napari_ivae.core.detection.layer_candidates.layer_candidates`).
    scales, scale_cut : numpy.ndarray
        The searched scales (ascending) and each one's cut.
    index : int
        The particles' scale in ``scales``.
    level : float
        :func:`vacancy_level`.
    shape : tuple of int
        The frame's shape.

    Returns
    -------
    candidates : tuple of numpy.ndarray
        ``candidates`` with the vacancies' maxima that were no candidate appended.
    own_cut : numpy.ndarray
        Each candidate's own cut: ``level`` in a vacancy, ``inf`` elsewhere.
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.packed import LAYER_REACH
    from napari_ivae.core.detection.particle_candidates import strongest_of_overlaps

    points, sigma, strength = candidates
    own_cut = np.full(len(points), np.inf)
    passing = np.flatnonzero(strength >= scale_cut[np.searchsorted(scales, sigma)])
    if not level < scale_cut[index] or len(passing) < 2 * LAYER_SURROUNDED:
        return candidates, own_cut
    kept = passing[strongest_of_overlaps(points[passing], sigma[passing], strength[passing])]
    more, more_sigma, more_strength = every
    band = np.flatnonzero(
        (more_sigma == scales[index])
        & (more_strength >= level)
        & (more_strength < scale_cut[index])
    )
    if not len(band):
        return candidates, own_cut
    sites, site_strength = points[kept].astype(np.float64), strength[kept]
    period = float(np.median(cKDTree(sites).query(sites, k=2)[0][:, 1]))
    # its neighbours all within the frame (``shape``), or their count says nothing
    reach = LAYER_REACH * period
    inside = ((more[band] >= reach) & (more[band] < np.asarray(shape) - reach)).all(axis=1)
    band = band[inside]
    place = more[band].astype(np.float64)
    weak = float(np.percentile(site_strength, LAYER_WEAKEST))
    found = np.zeros(len(band), dtype=bool)
    while True:  # a vacancy found counts as a neighbour of the next one
        tree, todo = cKDTree(sites), np.flatnonzero(~found)
        # a missing particle's site lies a period from its neighbours' centres; a maximum
        # within LAYER_SITE of one lies on that particle's disc or in the gap beside it
        free = tree.query(place[todo])[0] >= LAYER_SITE * period
        # surrounded by the layer: enough neighbours, as strong as the layer's particles
        # (their median above the weakest tenth of the kept; noise passing in an open patch
        # stands among the weakest)
        surrounded = np.array(
            [
                len(n) >= LAYER_SURROUNDED and np.median(site_strength[n]) >= weak
                for n in tree.query_ball_point(place[todo], reach)
            ],
            dtype=bool,
        )
        new = todo[free & surrounded]
        if not len(new):
            break
        found[new] = True
        sites = np.concatenate([sites, place[new]])
        site_strength = np.concatenate([site_strength, more_strength[band[new]]])
    vacant = band[found]
    if not len(vacant):
        return candidates, own_cut
    # a vacancy's maximum that is a candidate already takes the level as its own cut
    at, vacant_at = (np.ravel_multi_index(each.T, shape) for each in (points, more[vacant]))
    own_scale = sigma == scales[index]
    own_cut[np.isin(at, vacant_at) & own_scale] = level
    new = vacant[~np.isin(vacant_at, at[own_scale])]
    return (
        (
            np.concatenate([points, more[new]]),
            np.concatenate([sigma, more_sigma[new]]),
            np.concatenate([strength, more_strength[new]]),
        ),
        np.concatenate([own_cut, np.full(len(new), level)]),
    )


def off_vacancies(found, points, radius, vacancy) -> np.ndarray:
    """Which of ``found`` (faint particles, ``(M, 2)``) lie farther than its radius from every
    ``vacancy`` point of ``points`` (radii ``radius``): the faint pass looks for particles
    below the cut among the vacancies too (its false discovery rate counts them), and finds
    those taken here again."""
    from scipy.spatial import cKDTree

    if not len(found) or not vacancy.any():
        return np.ones(len(found), dtype=bool)
    distance, nearest = cKDTree(points[vacancy].astype(np.float64)).query(found)
    return distance > radius[vacancy][nearest]


__all__ = ["LAYER_SURROUNDED", "off_vacancies", "vacancy_level", "with_vacancies"]
