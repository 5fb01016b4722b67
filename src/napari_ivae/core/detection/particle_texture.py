"""Particles against the frame's own texture: an empty film is no layer of particles.

An amorphous film (light atoms at random places, blurred by the probe) is a dense texture of
blobs; the particle search finds its strongest ones above the cut (hundreds to thousands of
"particles" on an empty carbon film). Where the candidates' strengths showed no separate
strong population (the cut was not pooled from a mixture, no packed layer), the kept
particles are compared with the maxima of the frame's texture surrogate
(:mod:`~napari_ivae.core.detection.texture_null`: the frame's spectrum and values, Fourier
phases redrawn) searched at the same scales and cut at the same levels. A film's kept blobs
are that texture's maxima: no more of them than the surrogate holds above each level (the
atom mode's count test, :func:`~napari_ivae.core.detection.atom_noise_null.excess_over_null`)
and no stronger than the surrogate's above the cut (their median strength is that of the
surrogate's maxima above the cut). Particles fail one or the other: low-dose particles outnumber the texture's
maxima (its values are mostly noise), clean ones are stronger than the maxima their values
make when spread over random phases. The verdict is a warning only
(:mod:`~napari_ivae.core.detection.quality`): two populations of particles (stranger_fresh
two_populations s2, 173 particles, unpooled) also came out no more (z 4.6) and no stronger
(median ratio 1.06) than their texture's maxima.
"""

from __future__ import annotations

import numpy as np

# the kept blobs' median strength over the surrogate's maxima's above the cut, at most this
# (measured: 0.99-1.07 on carbon films of 1.2-2 px blobs; unpooled particle frames 1.3-14)
STRONGER = 1.15
# judged only over this many kept: a film's texture gives hundreds, and below it the median's
# spread nears the margin (5 clean discs on a flat background, unpooled, were judged a film)
MIN_BLOBS = 20


def texture_only(filled, skip, polarity, scales, cuts, points, blob_sigma, strength, keep):
    """Whether the kept candidates are no more and no stronger than the texture's maxima.

    Parameters
    ----------
    filled : numpy.ndarray
        The frame searched (annotation filled).
    skip : numpy.ndarray of bool
        Pixels that say nothing about texture (flat areas, masks).
    polarity : {"bright", "dark"}
        The particles' polarity.
    scales, cuts : numpy.ndarray
        The searched scales and each scale's cut.
    points, blob_sigma, strength : numpy.ndarray
        The candidates (integer positions, scales, strengths).
    keep : numpy.ndarray of bool
        The kept candidates.

    Returns
    -------
    film : bool
        True where the kept candidates are the texture's own maxima.
    measured : dict
        ``texture_z`` (the count excess in spreads), ``texture_stronger`` (the kept blobs'
        median strength over the surrogate maxima's above the cut).
    """
    from napari_ivae.core.detection.atom_noise_null import (
        MIN_ABOVE_NOISE,
        MIN_SPREADS,
        excess_over_null,
    )

    level = strength[keep] / cuts[np.searchsorted(scales, blob_sigma[keep])]
    if len(level) < MIN_BLOBS:
        return False, {}
    drawn, null = _surrogate_levels(filled, skip, polarity, scales, cuts)
    area = float(filled.size if skip is None else max((~skip).sum(), 1))
    z, excess = excess_over_null(level, null, area, float(drawn))
    above = null[null >= 1.0]
    stronger = float(np.median(level)) / float(np.median(above)) if len(above) else np.inf
    measured = {"texture_z": round(float(z), 2), "texture_stronger": round(min(stronger, 1e6), 3)}
    outnumber = z >= MIN_SPREADS and excess >= MIN_ABOVE_NOISE
    return (not outnumber) and stronger < STRONGER, measured


def _surrogate_levels(filled, skip, polarity, scales, cuts):
    """The texture surrogate's pixel count and its candidates' strengths over their scale's
    cut."""
    from napari_ivae.core.detection.particle_candidates import blob_candidates
    from napari_ivae.core.detection.texture_null import textured_null_frame

    masked = skip if skip is not None and skip.any() and not skip.all() else None
    drawn = textured_null_frame(filled, masked)
    _, sigma, strength = blob_candidates(drawn, scales, polarity)
    return drawn.size, strength / cuts[np.searchsorted(scales, sigma)]


__all__ = ["MIN_BLOBS", "STRONGER", "texture_only"]
