"""The noise of a smoothed frame where it holds no particle, and the maxima it reaches.

After a Gaussian or a difference of Gaussians the noise is correlated: its level is not the
pixel noise times a constant unless the pixel noise is white (a support's texture, scan
lines, JPEG blocks are not). It is measured instead on the smoothed frame itself, over a
sample that holds no kept particle (:func:`scale_noise`): its spread from the lower side of
the sample's distribution only, since the particles the sample still holds (the faint ones
not yet found) lift only its upper side; its roughness from the variance of its gradient. A
Gaussian field of that level and roughness has a known number of maxima above a level
(:func:`field_maxima`, the Gaussian kinematic formula's Euler characteristic in 2D), which
needs no tail of the sample's own strongest maxima (on a dense frame only 90-120 of them).
Where such a tail is used (the opposite side's maxima as a null), :func:`tail_level` extends
it exponentially to the level a given number of them is expected above.
"""

from __future__ import annotations

import numpy as np

# the lower quantiles whose distance below the median gives the spread: one-sided, so that
# the faint particles the sample still holds do not widen it (measured against the noise
# the synthetic frames were drawn with, benchmarks/particle_snr.py's nuisance, on the
# low-dose rows at five seeds: the median absolute deviation reads up to 1.13 x the truth on
# a dense frame, these quantiles up to 1.09 x)
LOW_QUANTILES = (0.02, 0.05, 0.1, 0.16, 0.25)
# a tile's own level needs ten of its sample's pixels below the lowest of those quantiles
TILE_SAMPLE = int(round(10 / LOW_QUANTILES[0]))
# a background more than this share constant holds no null (:func:`constant_share`)
CONSTANT_NULL = 0.5


def scale_noise(response, where) -> tuple[float, float]:
    """The noise level and roughness of a smoothed frame over a particle-free sample.

    Parameters
    ----------
    response : numpy.ndarray
        2D smoothed frame (the particles' polarity positive).
    where : numpy.ndarray
        ``(Y, X)`` boolean: the sample (pixels far from every kept particle).

    Returns
    -------
    (float, float)
        The standard deviation ``s``: the median over ``LOW_QUANTILES`` ``p`` of the sample's
        median less its ``p`` quantile, over the standard normal's ``1 - p`` quantile; and
        the roughness ``l``: the variance of the gradient along one axis (the mean of both
        axes'). ``(0.0, 0.0)`` for a sample of fewer than 2 pixels.
    """
    from scipy.special import ndtri

    where = np.asarray(where, dtype=bool)
    if where.sum() < 2:
        return 0.0, 0.0
    values = np.asarray(response, dtype=np.float64)
    return _noise(values, np.gradient(values), where, ndtri)


def _noise(values, gradient, where, ndtri) -> tuple[float, float]:
    """:func:`scale_noise` of ``values`` with their ``gradient`` (rows', columns')."""
    rows, cols = (np.asarray(g) for g in gradient)
    return _level(values[where], ndtri), float(np.mean(rows[where] ** 2 + cols[where] ** 2) / 2.0)


def _level(values, ndtri) -> float:
    """The spread of ``values`` from their lower quantiles (see :func:`scale_noise`)."""
    quantiles = np.asarray(LOW_QUANTILES)
    below = float(np.median(values)) - np.quantile(values, quantiles)
    return float(np.median(below / ndtri(1.0 - quantiles)))


def local_field_maxima(values, response, where, area, tile: int) -> np.ndarray:
    """:func:`field_maxima` in ``area``, counted tile by tile at each tile's own noise.

    A frame's noise level is seldom one number: counting noise grows with the illumination,
    a support thickens. A Gaussian field whose level varies reaches further than one of its
    mean level (the count falls as ``exp(-z^2 / 2)``, steepest where the level is lowest), so
    each square of ``tile`` px counts its part of ``area`` with the level and roughness of its
    own part of the sample ``where``, or the whole sample's where it holds fewer than
    ``TILE_SAMPLE`` pixels (a dense frame's tiles).

    Parameters
    ----------
    values : array-like
        The levels.
    response : numpy.ndarray
        2D smoothed frame.
    where, area : numpy.ndarray
        ``(Y, X)`` boolean: the sample (particle-free pixels) and the pixels counted in.
    tile : int
        The tiles' side (px).

    Returns
    -------
    numpy.ndarray
        One expected count per value.
    """
    from scipy.special import ndtri

    response = np.asarray(response, dtype=np.float64)
    where, area = np.asarray(where, dtype=bool), np.asarray(area, dtype=bool)
    values = np.asarray(values, dtype=np.float64)
    rows, cols = np.gradient(response)
    slope = (rows**2 + cols**2) / 2.0
    whole = _noise(response, (rows, cols), where, ndtri) if where.sum() >= 2 else (0.0, 0.0)
    tile = max(int(tile), 1)
    # every tile's pixels as one row (row-major inside the tile, tiles row-major), the frame
    # padded to whole tiles with pixels that are neither sample nor area
    pixels = _tiled(area, tile, False).sum(axis=1)
    sample = _tiled(where, tile, False)
    counts = sample.sum(axis=1)
    levels = [whole] * len(counts)
    own = np.flatnonzero(counts >= TILE_SAMPLE)
    if len(own):
        sample = sample[own]
        tiles = _tiled(response, tile, np.inf)[own]
        spreads = _tile_levels(tiles, sample, counts[own], ndtri)
        # np.median and np.quantile of a sample that holds NaN are NaN: those tiles alone
        for row in np.flatnonzero(np.isnan(tiles).any(axis=1)):
            spreads[row] = _level(tiles[row][sample[row]], ndtri)
        # each tile's mean in the order of its own pixels, as the mean of that tile alone
        slopes = _tiled(slope, tile, 0.0)[own][sample]
        ends = np.cumsum(counts[own])
        for index, spread, start, end in zip(own, spreads, ends - counts[own], ends):
            levels[index] = (float(spread), float(slopes[start:end].mean()))
    total = np.zeros(values.shape)
    counted: dict = {}  # tiles of one level, roughness and area count the same (whole tiles)
    for index in np.flatnonzero(pixels):
        key = (*levels[index], int(pixels[index]))
        if key not in counted:
            counted[key] = field_maxima(values, *key)
        total += counted[key]
    return total


def _tiled(image, tile: int, fill) -> np.ndarray:
    """``image`` cut into squares of ``tile`` px: one row per square (its pixels row-major),
    the squares row-major; the last squares padded with ``fill``."""
    height, width = image.shape
    rows, cols = -(-height // tile), -(-width // tile)
    padded = np.full((rows * tile, cols * tile), fill, dtype=image.dtype)
    padded[:height, :width] = image
    return padded.reshape(rows, tile, cols, tile).swapaxes(1, 2).reshape(rows * cols, -1)


def _tile_levels(values, sample, counts, ndtri) -> np.ndarray:
    """:func:`_level` of each row of ``values`` over its ``sample`` pixels (``counts`` of
    them): the rows sorted once, the order statistics that ``np.median`` and
    ``np.quantile``'s linear interpolation read, combined as they combine them."""
    ordered = np.sort(np.where(sample, values, np.inf), axis=1)  # the padding sorts last
    at = np.arange(len(ordered))[:, None]
    half = counts // 2
    # np.median: the middle value, or the mean of the two middle ones
    middle = np.where(
        counts % 2 == 1,
        ordered[at[:, 0], half],
        (ordered[at[:, 0], half - 1] + ordered[at[:, 0], half]) / 2.0,
    )
    quantiles = np.asarray(LOW_QUANTILES)
    virtual = (counts[:, None] - 1) * quantiles[None, :]
    previous = np.floor(virtual)
    gamma = virtual - previous
    lower = ordered[at, previous.astype(np.intp)]
    upper = ordered[at, np.minimum(previous.astype(np.intp) + 1, counts[:, None] - 1)]
    # np.quantile's lerp: from the lower value, or back from the upper one from half way on
    step = upper - lower
    quantile = np.where(gamma >= 0.5, upper - step * (1 - gamma), lower + step * gamma)
    below = middle[:, None] - quantile
    return np.median(below / ndtri(1.0 - quantiles)[None, :], axis=1)


def field_maxima(values, spread: float, roughness: float, area: float) -> np.ndarray:
    """Expected number of a Gaussian field's maxima above each of ``values`` in ``area``.

    For a stationary Gaussian field of standard deviation ``s`` and gradient variance ``l``
    per axis, the expected Euler characteristic of the set above ``u`` (the number of maxima
    above a high ``u``) is ``area l / s^2 (2 pi)^(-3/2) z exp(-z^2 / 2)``, ``z = u / s``. Below
    ``z = 1`` that expression falls (there it counts holes, not maxima): it is held at its
    peak, so that the count never falls as the level does.

    Parameters
    ----------
    values : array-like
        The levels.
    spread, roughness : float
        ``s`` and ``l`` (:func:`scale_noise`).
    area : float
        Pixels.

    Returns
    -------
    numpy.ndarray
        One count per value; ``inf`` for a field without spread.
    """
    values = np.asarray(values, dtype=np.float64)
    if not spread > 0.0:
        return np.full(values.shape, np.inf)
    z = np.maximum(values / spread, 1.0)
    density = roughness / spread**2 / (2.0 * np.pi) ** 1.5
    return float(area) * density * z * np.exp(-0.5 * z * z)


def tail_level(values, area: float, allowed: float, least: int, share: float) -> float:
    """The level above which ``allowed`` of a null's maxima are expected over ``area`` times
    the area they were counted on: their strongest max(``least``, ``share`` x all) extended
    exponentially (``inf`` with fewer than ``least`` values).

    Parameters
    ----------
    values : numpy.ndarray
        The null's maxima, sorted ascending.
    area : float
        The area the level applies to over the area the maxima were counted on.
    allowed : float
        Expected number of maxima above the level.
    least, share : int, float
        The tail: at least ``least`` maxima, or ``share`` of them.

    Returns
    -------
    float
    """
    if len(values) < least:
        return float("inf")
    tail = max(least, int(share * len(values)))
    base = float(values[-tail])
    decay = max(float(np.mean(values[-tail:] - base)), 1e-12)
    return base + decay * float(np.log(tail * area / allowed))


def constant_share(beyond, skip) -> float:
    """The share of the pixels ``beyond`` the kept particles that are constant (``skip``).

    Where it exceeds ``CONSTANT_NULL`` the background holds no null: no noise and no texture,
    on either side. Its other pixels are one-sided deposits (a single molecule's few
    localisations on a rendered image's black, a stray photon on a detector's clipped black),
    and the constant area's edges ring them with the opposite sign: that side then reaches
    nothing the deposits do (stranger_optical.py smlm_render: 1100-1500 isolated molecules
    passed as faint particles or below the search's floor).
    """
    total = int(np.count_nonzero(beyond))
    if skip is None or total == 0:
        return 0.0
    return float(np.count_nonzero(beyond & np.asarray(skip, dtype=bool))) / total


def null_sample(shape, points, radius, reach: float, skip=None):
    """Where a null is measured beside kept particles, and the area it stands for.

    The null's pixels lie more than ``reach`` median radii beyond every kept particle's rim
    (a support's texture and noise, not the gaps between packed particles or their rings);
    the levels it gives apply to the whole area outside every kept particle. None where that
    area is mostly constant (:func:`constant_share`).

    Parameters
    ----------
    shape : tuple of int
        ``(Y, X)``.
    points : array-like
        ``(N, 2)`` integer centres of the kept particles.
    radius : array-like
        ``(N,)`` their radii (pixels).
    reach : float
        How far beyond the rims the null starts, in median radii.
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where nothing is measured.

    Returns
    -------
    background : numpy.ndarray
        ``(Y, X)`` boolean: the null's pixels.
    area : float
        The area outside every kept particle over the null's area (0 where the null is empty
        or no particle is kept).
    """
    from napari_ivae.core.detection.particle_discs import within_discs

    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    if not len(points):
        return np.zeros(shape, dtype=bool), 0.0
    beyond = ~within_discs(shape, points, radius + reach * float(np.median(radius)))
    if constant_share(beyond, skip) > CONSTANT_NULL:
        return np.zeros(shape, dtype=bool), 0.0
    measured = np.ones(shape, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    background = measured & beyond
    if not background.any():
        return background, 0.0
    outside = measured & ~within_discs(shape, points, radius)
    return background, float(outside.sum()) / float(background.sum())


__all__ = [
    "CONSTANT_NULL",
    "LOW_QUANTILES",
    "TILE_SAMPLE",
    "constant_share",
    "field_maxima",
    "local_field_maxima",
    "null_sample",
    "scale_noise",
    "tail_level",
]
