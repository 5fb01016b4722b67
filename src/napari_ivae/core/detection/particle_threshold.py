"""The blob strength a particle must reach: mixture cut, noise floor and background bounds.

Steps 3 to 5 of :mod:`~napari_ivae.core.detection.particle_blobs` (the numbers below refer to
its overview): the two-population cut on the candidates' log-strengths (:func:`particle_cut`),
the floor white noise of the image's own pixel noise sets (:func:`noise_floor`), and at each
scale what the background reaches, from the opposite polarity's strongest response
(:func:`opposite_strengths`) and from the response's robust spread
(:func:`background_strengths`).
"""

from __future__ import annotations

import functools

import numpy as np

from napari_ivae.core.detection._medians import _median, _quantile
from napari_ivae.core.detection.particle_candidates import blob_candidates

NULL_Z = 2.0  # standard deviations above the weak (texture and noise) population
NULL_SIDE = 1024  # the white-noise frame for the noise floor is at most this large
NULL_SEED = 20261130  # fixed: the same image always gets the same floor
NOISE_BLOBS = 0.1  # the floor: white noise would reach it this many times in the frame
TAIL_SHARE = 0.001  # the opposite side's tail is compared with a Gaussian's at this share
FILTER_REACH = 4.0  # sigmas: how far the response of an edge of a left-out area reaches
# the opposite side's TAIL_SHARE quantile needs this many pixels to be more than their maximum
MIN_MEASURED = round(1.0 / TAIL_SHARE)


def opposite_strengths(response, polarity: str, skip=None) -> np.ndarray:
    """Per scale, the strongest response of the *opposite* polarity (``inf`` if none).

    An upper bound on what the two-sided background (texture, noise) reaches at that scale:
    taken over every pixel, not only scale-space maxima, so it never understates it.

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` from
        :func:`~napari_ivae.core.detection.particle_scale_space.scale_space`.
    polarity : {"bright", "dark"}
        The particles' polarity; the opposite one is measured.
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels left out (masked or constant areas).

    Returns
    -------
    numpy.ndarray
        One strength per scale.
    """
    sign = -1.0 if polarity == "bright" else 1.0
    use = np.ones(response.shape[1:], dtype=bool) if skip is None else ~np.asarray(skip, bool)
    if not use.any():
        return np.full(len(response), np.inf)
    strongest = np.array(
        [sign * (layer[use].min() if sign < 0 else layer[use].max()) for layer in response]
    )
    return np.where(strongest > 0, strongest, np.inf)


def measured_pixels(shape, skip, scales) -> list:
    """Per scale, the pixels whose response is the background's: not in ``skip`` and farther
    than ``FILTER_REACH`` sigmas from it.

    A left-out area (a zero-filled corner of a rotated frame, blank vacuum, a masked scale
    bar) meets the frame in a step, and the response of a step reaches several sigmas into the
    frame on both sides: as strong as the step is high (50 x the carbon's texture beside the
    0 corners of stranger_scenes' rotated bright-field frame), it is no background. Where
    that would leave fewer than ``MIN_MEASURED`` pixels, ``skip`` alone is left out: a few
    pixels deep inside the largest objects of a frame that is mostly constant (a rendered
    localisation image's black) are no background, and their spread and tail say nothing
    of it (15 pixels inside clusters of stranger_optical's smlm_render set one scale's bound
    at a tenth of its neighbours', and each isolated molecule passed there).

    Returns
    -------
    list of numpy.ndarray
        One boolean ``shape`` mask per scale, True where measured.
    """
    use = np.ones(shape, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    if skip is None or not np.any(skip) or not use.any():
        return [use] * len(scales)
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(use)
    uses = []
    for sigma in scales:
        away = distance > FILTER_REACH * float(sigma)
        uses.append(away if away.sum() >= min(MIN_MEASURED, use.sum()) else use)
    return uses


def background_strengths(
    response, scales, polarity: str, skip=None, site_scales=None, spreads=None, known=None
) -> np.ndarray:
    """Per scale, what the background reaches judged by the response's robust spread.

    At each scale: a Gaussian of the response's robust spread (median absolute deviation over
    the frame, particles included) exceeded ``NOISE_BLOBS`` times over the independent blob
    sites (one per ``pi (2 sigma)^2`` pixels) of all ``scales`` together, times how much
    heavier than that Gaussian the *opposite* side's tail is (its ``1 - TAIL_SHARE``
    quantile over the Gaussian's; never less than 1). Particles do not reach the opposite
    side, so a heavy tail there is the background's own (compression blocks, fringes,
    particles' surrounds) and keeps the bound from understating it.

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` from
        :func:`~napari_ivae.core.detection.particle_scale_space.scale_space`.
    scales : array-like
        The sigmas of ``response``.
    polarity : {"bright", "dark"}
        The particles' polarity.
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels left out (masked or constant areas), with those within
        ``FILTER_REACH`` sigmas of them at each scale (see :func:`measured_pixels`).
    site_scales : array-like, optional
        The scales whose blob sites count (default ``scales``); smaller scales searched only
        for extra candidates do not raise the bound at the others.
    spreads : dict, optional
        Filled with each layer's median absolute deviation (index to value) where it was
        measured over every pixel not in ``skip`` (nothing skipped), for
        :func:`~napari_ivae.core.detection.particle_scales.weak_shift` to take (the same
        numbers).
    known : dict, optional
        Each layer's deviation and tail, by its sigma, the largest scale (which sets the
        transform's padding) and ``polarity``: filled here, and taken from here by a later
        call on the same frame and ``skip`` (a second search's layers that the first one
        measured are the same numbers).

    Returns
    -------
    numpy.ndarray
        One strength per scale (``inf`` where nothing is measured).
    """
    from statistics import NormalDist  # scipy.stats would cost a third of a second to import

    quantile = NormalDist().inv_cdf  # z = -quantile(p): exceeded with probability p
    use = np.ones(response.shape[1:], dtype=bool) if skip is None else ~np.asarray(skip, bool)
    area = float(use.sum())
    out = np.full(len(response), np.inf)
    if area == 0:
        return out
    uses = measured_pixels(response.shape[1:], skip, scales)
    sites = sum(
        area / (np.pi * (2.0 * sigma) ** 2)
        for sigma in (scales if site_scales is None else site_scales)
    )
    z = -quantile(NOISE_BLOBS / max(sites, 2.0 * NOISE_BLOBS))
    tail_z = -quantile(TAIL_SHARE)
    sign = -1.0 if polarity == "bright" else 1.0
    whole = skip is None or not np.any(skip)  # every layer measured where weak_shift is
    known, top = ({} if known is None else known), float(np.max(scales))
    for index, layer in enumerate(response):
        key = (float(scales[index]), top, polarity)
        if key not in known:
            values = layer[uses[index]]
            centred = values - _median(values)
            deviation = _median(np.abs(centred))
            spread = 1.4826 * deviation
            tail = None
            if spread > 0:
                tail = _quantile(sign * centred, 1.0 - TAIL_SHARE) / (tail_z * spread)
            known[key] = deviation, tail
        deviation, tail = known[key]
        if spreads is not None and whole:
            spreads[index] = deviation
        spread = 1.4826 * deviation
        if spread > 0:
            out[index] = spread * z * max(1.0, float(tail))
    return out


def noise_floor(pixel_noise: float, area: float, scales, polarity: str) -> float:
    """The blob strength that white noise of ``pixel_noise`` reaches ``NOISE_BLOBS`` times in
    ``area`` pixels (same scales, same candidate search): no particle is weaker than that."""
    if not pixel_noise > 0:
        return 0.0
    strength = _unit_noise_strengths(tuple(float(x) for x in scales), polarity)
    if len(strength) == 0:
        return 0.0
    side = _null_side(scales)
    expected = len(strength) * area / side**2  # noise blobs in a frame of that area
    rank = len(strength) / (expected / NOISE_BLOBS)  # the rank exceeded NOISE_BLOBS times
    if rank >= 1:
        return float(pixel_noise * strength[-int(rank)])
    # beyond the null frame's strongest blob: extend its exponential-like tail
    top = strength[-min(len(strength), 20) :]
    return float(
        pixel_noise
        * (top[-1] + (top[-1] - top[0]) * np.log(1.0 / rank) / max(np.log(len(top)), 1.0))
    )


def _null_side(scales) -> int:
    return int(min(NULL_SIDE, max(256, 24 * max(scales))))


@functools.lru_cache(maxsize=8)
def _unit_noise_strengths(scales: tuple, polarity: str) -> np.ndarray:
    """Sorted candidate strengths in unit white noise (strengths scale with the noise)."""
    side = _null_side(scales)
    noise = np.random.default_rng(NULL_SEED).standard_normal((side, side)).astype(np.float32)
    return np.sort(blob_candidates(noise, np.asarray(scales), polarity)[2])


def particle_cut(strength: np.ndarray, floor: float = 0.0) -> tuple[float, dict]:
    """The minimum blob strength of a particle (see the module docstring), and the mixture.

    ``floor`` (see :func:`noise_floor`) is a lower bound.

    Returns
    -------
    (float, dict)
        The cut and ``{"weak": (mean, sd, weight), "strong": ...}`` of the log-strengths.
    """
    strength = np.asarray(strength, dtype=np.float64)
    if len(strength) < 8:
        return floor, {}
    logs = np.log(np.maximum(strength, strength.max() * 1e-4))
    means, sds, weights = _two_gaussians(logs)
    if means[1] - means[0] < sds.min() or weights.min() * len(logs) < 2:
        return floor, {}  # one population: particles only, or noise only (the floor decides)
    grid = np.linspace(means[0], means[1], 512)
    weak = weights[0] / sds[0] * np.exp(-0.5 * ((grid - means[0]) / sds[0]) ** 2)
    strong = weights[1] / sds[1] * np.exp(-0.5 * ((grid - means[1]) / sds[1]) ** 2)
    crossing = grid[np.argmax(strong > weak)] if (strong > weak).any() else means[1]
    cut = min(means[0] + NULL_Z * sds[0], crossing)
    mixture = {
        "weak": tuple(float(x) for x in (means[0], sds[0], weights[0])),
        "strong": tuple(float(x) for x in (means[1], sds[1], weights[1])),
    }
    return max(float(np.exp(cut)), floor), mixture


def _two_gaussians(values, iterations: int = 100):
    """A 1D two-component Gaussian mixture by expectation-maximisation (low component first).

    Each component's densities and sums are kept in their own contiguous arrays: the same
    operations in the same order as on an ``(N, 2)`` array (the sums over the values run in
    their order, as that array's column sums do), 3-4 x faster on tens of thousands of values.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    means = np.array([np.median(values), np.percentile(values, 97)])
    sds = np.full(2, max(values.std() / 2.0, 1e-6))
    weights = np.array([0.9, 0.1])

    def in_order(terms):  # summed first to last, as an (N, 2) array's column sum
        return np.cumsum(terms)[-1]

    for _ in range(iterations):
        scaled = weights / sds
        density = [
            scaled[k] * np.exp(-0.5 * ((values - means[k]) / sds[k]) ** 2) + 1e-300 for k in (0, 1)
        ]
        whole = density[0] + density[1]
        share = [part / whole for part in density]
        total = np.array([in_order(part) for part in share]) + 1e-12
        weights = total / len(values)
        means = np.array([in_order(part * values) for part in share]) / total
        spread = [in_order(share[k] * (values - means[k]) ** 2) for k in (0, 1)]
        sds = np.sqrt(np.array(spread) / total) + 1e-6
    order = np.argsort(means)
    return means[order], sds[order], weights[order]


__all__ = [
    "background_strengths",
    "measured_pixels",
    "noise_floor",
    "opposite_strengths",
    "particle_cut",
]
