"""The contrast cut for a crystal's rim atoms, from the noise of the part that holds no crystal.

The frame's cut (:mod:`~napari_ivae.core.detection.atom_threshold`) has a floor at a tenth of
the 90th-percentile contrast, for what white noise of the pixel-difference level does not model:
correlated scan noise and amorphous bumps. Where the frame has a crystalline region
(:mod:`~napari_ivae.core.detection.crystal`), the part beyond its rim shows what that noise
is: the spread of the detector's band-passed frame there (robust: the median absolute
deviation, so a few lone columns do not count) is the spread of everything the detector would
call a peak that is no lattice, correlations and bumps included. White noise scaled to give
that spread through the same filter is the rim's null, and the rim (within ``RIM_ROWS``
spacings outside the region) is judged against it as the frame is judged against white noise:
the lowest contrast from which up the null's peaks, scaled to the rim's area, are at most
``FALSE_DISCOVERY`` of the rim's candidates above it. A particle on vacuum, whose outermost
columns are thin and faint but whose surroundings are quiet, keeps them; a particle on an
amorphous support or in a bright halo, whose surroundings are as bumpy as its rim, keeps the
frame's cut (the rim's never rises above it). The rim's candidates must still continue the
crystal's lattice (:func:`~napari_ivae.core.detection.atom_region.rim_atoms`).
"""

from __future__ import annotations

import numpy as np

MAD_TO_SD = 1.4826  # a Gaussian's standard deviation over its median absolute deviation
# independent samples of the smoothed noise beyond the rim needed to measure its spread (the
# median absolute deviation of 10 is within about a third of the truth)
MIN_SAMPLES = 10


def rim_contrast_cut(prominence, allowed, cut: float, params: dict, masked, noise: float, band):
    """The cut for candidates on the region's rim (``allowed["edge"]``), at most ``cut``.

    Parameters
    ----------
    prominence : numpy.ndarray
        Contrasts of the rim's candidates (``allowed["edge"]`` indexes them).
    allowed : dict
        :func:`~napari_ivae.core.detection.atom_region.allowed_candidates`' flags (``edge``,
        ``mask``: the region, ``crystal``: the region's analysis).
    cut : float
        The frame's cut.
    params : dict
        The detector's parameters.
    masked : numpy.ndarray or None
        Pixels where no peak may be found (flat, excluded); ``None``: none.
    noise : float
        The smoothed frame's noise: the cut is at least ``MIN_SNR`` of it.
    band : numpy.ndarray
        The detector's band-passed frame (its peaks are the candidates).

    Returns
    -------
    float
    """
    from napari_ivae.core.detection.atom_frame import _null_contrasts
    from napari_ivae.core.detection.atom_region import RIM_ROWS
    from napari_ivae.core.detection.atom_threshold import (
        FALSE_DISCOVERY,
        MIN_SNR,
        _null_side,
        _unit_null_contrasts,
    )

    edge = np.asarray(allowed["edge"], dtype=bool)
    if params.get("confident") or allowed.get("crystal") is None or not edge.any():
        return cut
    region, grown = allowed["mask"], allowed["crystal"].mask(margin=RIM_ROWS * params["spacing"])
    usable = np.ones(region.shape, dtype=bool) if masked is None else ~masked
    rim_area = float((grown & ~region & usable).sum())
    beyond = band[~grown & usable]
    # white noise smoothed by a Gaussian of sigma is correlated over 4 pi sigma^2 pixels
    independent = beyond.size / (4.0 * np.pi * max(params["sigma"], 0.5) ** 2)
    if rim_area <= 0 or independent < MIN_SAMPLES:  # too little beyond the rim to measure
        return cut
    spread = MAD_TO_SD * float(np.median(np.abs(beyond - np.median(beyond))))
    level = spread / unit_band_spread(params)
    side = _null_side(params)
    null = level * _unit_null_contrasts(side, params, _null_contrasts)
    judged = np.sort(np.asarray(prominence, dtype=np.float64)[edge])
    above = len(judged) - np.arange(len(judged))
    null_above = len(null) - np.searchsorted(null, judged, side="left")
    failing = np.flatnonzero(null_above * (rim_area / side**2) > FALSE_DISCOVERY * above)
    first = failing[-1] + 1 if len(failing) else 0
    found = judged[first] if first < len(judged) else np.inf
    return float(min(cut, max(found, MIN_SNR * noise)))


def unit_band_spread(params: dict) -> float:
    """Standard deviation of unit white noise after the detector's smoothing and band-pass:
    the root sum of squares of the filter's impulse response."""
    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.atom_frame import band_passed

    half = int(np.ceil(4 * max(params["background"], params["sigma"], 1.0))) + 1
    impulse = np.zeros((2 * half + 1, 2 * half + 1), dtype=np.float32)
    impulse[half, half] = 1.0
    response = band_passed(gaussian_smooth(impulse, params["sigma"]), params)
    return float(np.sqrt(np.sum(np.asarray(response, dtype=np.float64) ** 2)))


__all__ = ["rim_contrast_cut", "unit_band_spread"]
