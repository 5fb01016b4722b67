"""Whether a blob stands out from what is around it: its surround, a larger blob, an aggregate.

Steps 6 and 7 of :mod:`~napari_ivae.core.detection.particle_blobs` (the numbers below refer to
its overview): a particle stands above its surround in most directions
(:func:`surround_share`); a blob inside a clearly larger one stands above that one's interior
(:func:`above_larger`); blobs too large to be particles, aggregates (:func:`aggregate_scales`,
:func:`aggregate_blobs`), judge the blobs inside them in the same way.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _group_medians
from napari_ivae.core.detection.gaussian_points import gaussian_at
from napari_ivae.core.detection.particle_candidates import blob_candidates, candidate_scales
from napari_ivae.core.detection.particle_peak_shape import RIDGE, curvature_ratio
from napari_ivae.core.detection.particle_scale_space import blob_scales
from napari_ivae.core.detection.particle_threshold import NOISE_BLOBS

SECTORS = 8  # directions around a blob in which its surround is judged
SURROUND_SHARE = 0.75  # a particle stands above its surround in this share of them
TOP = 0.7  # a blob's top: the mean within this many of its radii of its centre
RING = (1.3, 2.3)  # its surround: the ring between these many of its radii
NESTED_RATIO = 1.5  # a blob at least this many times larger may hold a smaller one (above_larger)
AGGREGATE_RANGE = 4.0  # blobs above the candidate scales up to this x the scale: aggregates
WINDOW_PIXELS = 4_000_000  # round_peaks filters at most this many window pixels at once


def _around(centre, reach: int, shape) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The window of a frame of ``shape`` within ``reach`` pixels of ``centre`` (clipped to the
    frame), and its pixels' row offsets (a column) and column offsets (a row) from the centre."""
    row, col = int(centre[0]), int(centre[1])
    r0, r1 = max(row - reach, 0), min(row + reach + 1, shape[0])
    c0, c1 = max(col - reach, 0), min(col + reach + 1, shape[1])
    rows, cols = np.arange(r0, r1)[:, None] - row, np.arange(c0, c1)[None, :] - col
    return (slice(r0, r1), slice(c0, c1)), rows, cols


def blob_top(signal, centre, radius) -> tuple[float, int]:
    """The top of a blob of ``radius`` at ``centre`` (integer row, col): the mean of ``signal``
    within ``TOP`` of its radius, and how many pixels that mean is over."""
    area, dy, dx = _around(centre, int(np.ceil(radius)), signal.shape)
    disc = dy**2 + dx**2 <= (TOP * radius) ** 2
    return float(signal[area][disc].mean()), int(disc.sum())


def surround_share(signal, points, sigma) -> np.ndarray:
    """Per blob, the share of directions in which its surround lies below its top.

    The top is the mean of ``signal`` (particles positive) within ``TOP`` blob radii (radius
    ``sqrt(2) sigma``) of the centre; the surround is the ``RING`` (1.3 to 2.3 radii),
    cut into ``SECTORS`` equal sectors, each judged by its median. A particle stands above its
    surround on every side but where a neighbour touches it; a bump on the rim of a larger
    dark (bright) area, or a patch of the support's texture, has its own level or a higher one
    on several sides.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer (row, col) blob centres.
    sigma : array-like
        ``(N,)`` blob sigmas (pixels).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` shares between 0 and 1 (1 where no ring pixel lies in the frame).
    """
    signal = np.asarray(signal, dtype=np.float32)
    points = np.asarray(points).reshape(-1, 2)
    sigma = np.asarray(sigma).reshape(-1)
    out = np.ones(len(points))
    for blob_sigma in np.unique(sigma):
        radius = np.sqrt(2.0) * blob_sigma
        reach = int(np.ceil(RING[1] * radius))
        group = np.flatnonzero(sigma == blob_sigma)
        centres = points[group].astype(np.int64)
        whole = np.all((centres >= reach) & (centres < np.array(signal.shape) - reach), axis=1)
        if not whole.all():  # windows the frame's edge cuts, each alone: a cut of the square's
            offsets = np.arange(-reach, reach + 1)
            square = _surround_rings(offsets[:, None], offsets[None, :], radius, every=True)
        for index in group[~whole]:
            area, dy, dx = _around(points[index], reach, signal.shape)
            if not (dy.size and dx.size):
                continue  # no pixel of the frame around it: no ring pixel
            cut = (
                slice(int(dy[0, 0]) + reach, int(dy[-1, 0]) + reach + 1),
                slice(int(dx[0, 0]) + reach, int(dx[0, -1]) + reach + 1),
            )
            top_pixels, ring, sector = (part[cut] for part in square)
            share = _surround_share_in(signal[area], (top_pixels, ring, sector[ring]))
            out[index] = out[index] if share is None else share
        if whole.any():
            out[group[whole]] = _surround_shares_whole(signal, centres[whole], radius, reach)
    return out


def _surround_rings(dy, dx, radius, every=False):
    """The top's pixels, the ring's pixels and the ring pixels' sectors (see surround_share);
    ``every``: the sectors of every pixel (a window cut from this one takes its own)."""
    from napari_ivae.core.detection.particle_offsets import sector_of  # (it imports SECTORS)

    distance = np.hypot(dy, dx) / radius
    ring = (distance >= RING[0]) & (distance <= RING[1])
    sector = sector_of(dy, dx)
    return distance <= TOP, ring, (sector if every else sector[ring])


def _surround_share_in(window, rings):
    """:func:`surround_share` of one blob from its window and its :func:`_surround_rings`
    (None: no ring pixel)."""
    top_pixels, ring, sector = rings
    values = window[ring]
    if not len(values):
        return None
    return float(np.mean(_group_medians(values, sector) < window[top_pixels].mean()))


def _surround_shares_whole(signal, centres, radius, reach):
    """:func:`surround_share` of blobs of one radius whose windows lie inside the frame, all at
    once: the same window geometry for every blob, the same numbers as one by one."""
    offsets = np.arange(-reach, reach + 1)
    top_pixels, ring, sector = _surround_rings(offsets[:, None], offsets[None, :], radius)
    top_pixels, ring_pixels = np.flatnonzero(top_pixels), np.flatnonzero(ring)
    groups = [ring_pixels[sector == label] for label in np.unique(sector)]
    flat = signal.ravel()
    offsets = (offsets[:, None] * signal.shape[1] + offsets[None, :]).ravel()
    starts = centres[:, 0] * signal.shape[1] + centres[:, 1]
    shares = np.empty(len(centres))
    step = max(1, (1 << 21) // len(offsets))  # windows of at most 2 M pixels at a time
    for first in range(0, len(centres), step):
        windows = flat[starts[first : first + step, None] + offsets[None, :]]
        top = windows[:, top_pixels].mean(axis=1)
        medians = np.empty((len(windows), len(groups)), dtype=windows.dtype)
        for column, pixels in enumerate(groups):  # as _group_medians: the middle two's mean
            values = np.sort(windows[:, pixels], axis=1)
            low, high = values[:, (len(pixels) - 1) // 2], values[:, len(pixels) // 2]
            medians[:, column] = (low + high) / windows.dtype.type(2)
        shares[first : first + step] = (medians < top[:, None]).mean(axis=1)
    return shares


def above_larger(signal, points, sigma, aggregates=None, pixel_noise=None) -> np.ndarray:
    """Per blob, whether it stands above the interior of every clearly larger blob it lies in.

    A blob whose centre lies within the radius (``sqrt(2) sigma``) of a blob at least
    ``NESTED_RATIO`` times larger is judged against that blob's interior rather than its
    own surround ring: its top (mean of ``signal`` within ``TOP`` of its radius) must lie
    above the median of the larger blob's interior (within ``TOP`` of that one's radius,
    the smaller blob's own disc left out). A bump on the rim or the top of a larger particle
    is part of it; a particle lying on one stands above it.

    On a flat top (a saturated or thresholded particle) the interior is one level and the
    response below the particle's scale peaks along its inner rim, where the noise places the
    peak: such a top beats the interior's median by chance. So, given ``pixel_noise``, a
    nested blob whose response peak is a ridge
    (:func:`~napari_ivae.core.detection.particle_peak_shape.curvature_ratio` of its own scale's
    ``-sigma^2 LoG`` below ``RIDGE``: an edge, not a blob) must beat it by ``z`` x
    ``pixel_noise`` / sqrt(pixels of its top), ``z`` the normal quantile that the ``M`` nested
    blobs of the call pass ``NOISE_BLOBS`` times in all by chance; a round one as before.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer (row, col) blob centres.
    sigma : array-like
        ``(N,)`` blob sigmas (pixels).
    aggregates : (numpy.ndarray, array-like), optional
        ``(points, sigma)`` of further larger blobs that judge the others but are not judged
        themselves (see :func:`aggregate_blobs`).
    pixel_noise : float, optional
        The frame's pixel noise (standard deviation); without it no ridge margin.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` bool, False for a blob that does not stand above a larger one it lies in.
    """
    signal = np.asarray(signal, dtype=np.float32)
    points = np.asarray(points).reshape(-1, 2)
    count = len(points)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    if aggregates is not None:
        points = np.concatenate([points, np.asarray(aggregates[0]).reshape(-1, 2)])
        sigma = np.concatenate([sigma, np.asarray(aggregates[1], dtype=np.float64).reshape(-1)])
    radius = np.sqrt(2.0) * sigma
    keep = np.ones(count, dtype=bool)
    if not count:
        return keep
    from scipy.spatial import cKDTree

    # the judged blobs within each blob's own radius, from one tree (not all N x N
    # distances; within the largest radius of each, a few aggregates made 30 pairs a blob)
    near = cKDTree(points[:count]).query_ball_point(points, radius * (1 + 1e-9))
    others = np.repeat(np.arange(len(points)), [len(owners) for owners in near])
    owner = np.concatenate([np.asarray(each, dtype=np.int64) for each in near])
    larger = (radius[others] >= NESTED_RATIO * radius[owner]) & (
        np.hypot(*(points[others] - points[owner]).T) <= radius[others]
    )
    # every (blob, larger one) pair at once, each blob's larger ones in ascending order
    owner, others = owner[larger], others[larger]
    order = np.lexsort((others, owner))
    owner, others = owner[order], others[order]
    bounds = np.flatnonzero(np.diff(owner)) + 1
    nested = [
        (int(blob[0]), larger_ones)
        for blob, larger_ones in zip(np.split(owner, bounds), np.split(others, bounds))
        if len(blob)
    ]
    z = 0.0
    if pixel_noise is not None and nested:
        from statistics import NormalDist  # scipy.stats would cost a third of a second to import

        z = NormalDist().inv_cdf(1.0 - NOISE_BLOBS / len(nested))
    for index, larger in nested:
        top, top_pixels = blob_top(signal, points[index], radius[index])
        level = -np.inf  # the highest interior median of the larger blobs
        for other in larger:
            area, dy, dx = _around(points[other], int(np.ceil(TOP * radius[other])), signal.shape)
            shift = points[other] - points[index]
            own_sq = (dy + shift[0]) ** 2 + (dx + shift[1]) ** 2
            interior = (dy**2 + dx**2 <= (TOP * radius[other]) ** 2) & (own_sq > radius[index] ** 2)
            if interior.any():
                level = max(level, float(np.median(signal[area][interior])))
        margin = z * float(pixel_noise) / np.sqrt(top_pixels) if z > 0 else 0.0
        # the peak's shape only where the margin decides (a filter per blob costs)
        keep[index] = top > level and (
            top - margin > level or _peak_ratio(signal, points[index], sigma[index]) >= RIDGE
        )
    return keep


def round_peaks(signal, points, sigma) -> np.ndarray:
    """Per blob, whether its response peak is round: the
    :func:`~napari_ivae.core.detection.particle_peak_shape.curvature_ratio` of ``-sigma^2 LoG`` of
    ``signal`` at its centre, at its own scale, at least ``RIDGE``.

    A particle's peak is round (ratio near 1); a ridge (a strand of lacey carbon over a hole,
    the edge of a support) peaks along a line (ratio near 0). The background level measured on
    the opposite side of the response (:func:`~napari_ivae.core.detection.particle_far_background.
    background_levels`) does not see one-sided ridges, so a candidate that passes only on that
    level must be round (``haadf_lacey`` of benchmarks/stranger_particles.py, 3 seeds: the 32
    false points had ratios of 0.8 or less, 19 of them below ``RIDGE``; the particles' tenth
    percentile 0.88-0.92).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer (row, col) blob centres.
    sigma : array-like
        ``(N,)`` blob sigmas (pixels).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` bool.
    """
    points = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    ratio = np.zeros(len(points))
    for s in np.unique(sigma).tolist():
        group = np.flatnonzero(sigma == s)
        reach = int(np.ceil(4.0 * s)) + 2
        whole = (points[group] >= reach).all(axis=1) & (
            points[group] + reach < np.asarray(signal.shape)
        ).all(axis=1)
        inner = group[whole]
        # a few million window pixels at a time bounds the stack's memory (~100 MB)
        step = max(1, WINDOW_PIXELS // (2 * reach + 1) ** 2)
        for start in range(0, len(inner), step):
            chunk = inner[start : start + step]
            ratio[chunk] = _window_ratios(signal, points[chunk], s, reach)
        for index in group[~whole].tolist():
            ratio[index] = _peak_ratio(signal, points[index], s)
    return ratio >= RIDGE


def _window_ratios(signal, points, sigma: float, reach: int) -> np.ndarray:
    """:func:`_peak_ratio` of every point whose window the frame's edge does not cut, their
    windows filtered as one stack (each window's rows and columns filtered as alone, so the
    numbers are the same to the bit), on the 3 x 3 pixels round each centre only
    (:func:`~napari_ivae.core.detection.gaussian_points.gaussian_at`: the curvature reads
    nothing else: real PtCo1's :func:`round_peaks` 0.095 -> 0.037 s of CPU)."""
    if not len(points):
        return np.zeros(0)
    offsets = np.arange(-reach, reach + 1)
    rows = points[:, 0, None, None] + offsets[None, :, None]
    cols = points[:, 1, None, None] + offsets[None, None, :]
    windows = np.asarray(signal[rows, cols], dtype=np.float64)
    near_rows = reach + np.repeat([-1, 0, 1], 3)
    near_cols = reach + np.tile([-1, 0, 1], 3)
    laplace = gaussian_at(windows, sigma, (2, 0), near_rows, near_cols)
    laplace += gaussian_at(windows, sigma, (0, 2), near_rows, near_cols)
    layer = -(sigma**2) * laplace  # (N, 9): each centre's 3 x 3, row by row
    centres = np.arange(len(points)) * 3 + 1
    return curvature_ratio(layer.reshape(-1, 3), centres, np.ones(len(points), dtype=np.int64))


def _peak_ratio(signal, point, sigma: float) -> float:
    """:func:`~napari_ivae.core.detection.particle_peak_shape.curvature_ratio` of ``-sigma^2
    LoG`` of ``signal`` at ``point``, computed on a window of 4 sigma + 2 around it (mirrored at
    the frame's edge), on the 3 x 3 pixels the curvature reads only (``ndimage.gaussian_laplace``
    's two second derivatives, :func:`~napari_ivae.core.detection.gaussian_points.gaussian_at`)."""
    reach = int(np.ceil(4.0 * sigma)) + 2
    low = np.maximum(np.asarray(point) - reach, 0)
    window = np.asarray(
        signal[low[0] : point[0] + reach + 1, low[1] : point[1] + reach + 1], dtype=np.float64
    )
    centre = np.asarray(point) - low
    # the rows and columns the curvature reads, the window's edge repeated (as it does)
    rows, cols = (
        np.clip(centre[axis] + np.arange(-1, 2), 0, window.shape[axis] - 1) for axis in (0, 1)
    )
    near_rows, near_cols = np.repeat(rows, 3), np.tile(cols, 3)
    laplace = gaussian_at(window, sigma, (2, 0), near_rows, near_cols)
    laplace += gaussian_at(window, sigma, (0, 2), near_rows, near_cols)
    layer = (-(sigma**2) * laplace).reshape(3, 3)
    return float(curvature_ratio(layer, [1], [1])[0])


def aggregate_scales(shape, sigma: float) -> np.ndarray:
    """The scales above :func:`~napari_ivae.core.detection.particle_candidates.candidate_scales` up to
    ``AGGREGATE_RANGE`` x ``sigma``."""
    scales = blob_scales(shape)
    top = candidate_scales(shape, sigma)[-1]
    return scales[(scales > top) & (scales <= AGGREGATE_RANGE * sigma)]


def aggregate_blobs(signal, response, scales, polarity: str, cut: float, skip=None):
    """Blobs larger than any particle: aggregates whose rim and top are not particles.

    Scale-space maxima of ``response`` above its first scale (the largest candidate scale,
    there only to compare with), at least ``cut`` strong and standing above their surround
    as a particle must (:func:`surround_share`). They are not particles themselves (too
    large for the measured scale); :func:`above_larger` judges the blobs inside them.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    response : numpy.ndarray
        ``(scales, Y, X)`` from
        :func:`~napari_ivae.core.detection.particle_scale_space.scale_space` of the frame (bright
        blobs positive).
    scales : array-like
        Its sigmas: the largest candidate scale, then :func:`aggregate_scales`.
    polarity : {"bright", "dark"}
        The particles' polarity.
    cut : float
        The cut of the largest candidate scale.
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where no aggregate is centred.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(M, 2)`` integer (row, col) and sigmas.
    """
    scales = np.asarray(scales, dtype=np.float64)
    if len(scales) < 2:
        return np.zeros((0, 2), dtype=int), np.zeros(0)
    points, sigma, strength = blob_candidates(
        None, scales, polarity, skip, response=response, overlaps=False
    )
    keep = (sigma > scales[0]) & (strength >= cut)
    points, sigma = points[keep], sigma[keep]
    if len(points):
        keep = surround_share(signal, points, sigma) >= SURROUND_SHARE
        points, sigma = points[keep], sigma[keep]
    return points, sigma


__all__ = [
    "above_larger",
    "aggregate_blobs",
    "aggregate_scales",
    "round_peaks",
    "surround_share",
]
