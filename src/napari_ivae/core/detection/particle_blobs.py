"""Particles as blobs of the scale-normalised Laplacian of Gaussian, every setting from the image.

Supported catalysts, colloids and nanoparticle films differ in almost every respect a fixed
default could hold on to: particles bright or dark, 3 or 50 pixels across, sparse or packed, on
vacuum, on a flat film or on a support whose own texture is as strong as the particles. What
they share is that a particle is a compact blob of one polarity at one scale. So:

1. **Polarity and scale.** ``-sigma^2 LoG`` responds to bright blobs of about ``sqrt(2) sigma``
   radius, ``+sigma^2 LoG`` to dark ones. For each sign and scale the mean of the strongest
   blob peaks (local maxima of the response; as many as blobs of that scale could cover 2 %
   of the frame), over the response's robust spread, says how blob-like that sign and scale
   are; the best pair wins. Counting peaks, not pixels, keeps one large blob from filling
   the count by itself (its neighbouring pixels are nearly as strong as its peak). A
   support's texture is as bright as it is dark; particles are one-sided. Flat-topped
   particles (a saturated detector, a thresholded image) add a trap: an edge's response is
   as strong at every scale below the particle's, and where most of the frame is flat the
   small scales' spread is the noise alone, so their edges win. An edge's peaks lie on a
   ridge (one principal curvature near 0), a blob's are round: when the winning pair's
   strongest peaks are ridges (median curvature ratio below ``RIDGE``), the scale is the best
   larger one of that polarity whose strongest peaks are round.
2. **Candidates.** Maxima of the signed response in scale and space, from half to twice the
   chosen scale (a size spread), outside constant areas (padding, a burned-in scale bar);
   overlapping blobs keep the strongest.
3. **Threshold.** The candidates' log-strengths hold two populations: the support's texture
   and noise (weak, many when particles are sparse) and the particles. A two-component
   Gaussian mixture finds them; a candidate is a particle when it stands ``NULL_Z`` standard
   deviations above the weak component (or beyond the point where the strong component
   dominates, whichever is lower). Sparse or dense, the weak population is what is measured.
   Whatever the mixture says, no particle is weaker than what white noise of the image's own
   pixel noise reaches in one frame of ten of its size. When the mixture's cut does not stand
   above that floor, it found no background population below the particles (the candidates
   form a single population: a few particles on a clean background, nothing but noise, or a
   support's texture that the mixture took for its strong component); then no pooled cut is
   used and what the background reaches at each scale (4. and 5.) decides, never less than
   the floor.
4. **The other side at each scale.** The mixture pools every scale, and the noise crowds the
   smallest. At each scale the strongest response of the *opposite* sign anywhere in the
   frame (a support's texture and noise are two-sided, particles are not) is what that
   scale's background reaches; a candidate stronger than that is a particle even below the
   pooled cut (never below the noise floor). This only ever lowers the cut: where the other
   side is as strong (bright gaps between packed dark particles, fringes), the pooled cut
   stands.
5. **The background's spread at each scale.** The same bound from the response's robust
   spread at that scale (texture, shot noise and particles together): what a Gaussian of
   that spread reaches ``NOISE_BLOBS`` times over the independent blob sites of every
   searched scale, raised by as much as the opposite side's tail is heavier than a
   Gaussian's (:func:`background_strengths`). It also only lowers the cut, never below the
   noise floor: the other side's maximum is one sample of the background's extreme, this is
   its expectation, and each is the lower one on different images.
6. **Smaller particles, and the shape of a particle.** A size spread puts the small particles
   below half the chosen scale (which the large ones set), so candidates are also searched
   down to ``SEARCH_FROM`` x that scale. Those smaller scales only add candidates: the mixture
   (3.), the noise floor and the blob sites that set the spread bound (5.) come from the
   candidate scales alone (a support's fine texture there would otherwise be a population of
   its own and pull the cut down to it); at the smaller scales the floor is what white noise
   reaches when they are searched too, and their maxima settle overlaps with the others only
   once both have passed their cuts. Every candidate above its scale's cut must then stand above its
   surround in ``SURROUND_SHARE`` of ``SECTORS`` directions (:func:`surround_share`; two
   sectors may hold a touching neighbour): a bump on the rim of a larger aggregate, or a
   diffuse patch of the support, has its own level or a higher one on several sides.
   A blob whose centre lies inside a clearly larger kept blob has that blob's interior as
   its surround instead (:func:`above_larger`): it must stand above it, or it is a bump on
   the larger particle's rim or top. On a flat top the noise decides that; a nested blob
   whose peak is a ridge (an inner rim) must beat the interior by a noise margin.
7. **Aggregates.** Blobs above the candidate scales (up to ``AGGREGATE_RANGE`` x the chosen
   scale), as strong as the largest candidate scale's cut and standing above their surround,
   are too large to be particles of the measured size but judge the blobs inside them as a
   larger particle does (:func:`aggregate_blobs`): a bump on an aggregate's rim, or a
   brighter patch of a thick support, does not stand above its interior. The scales come
   from the scale space the polarity and scale were chosen on (no extra cost where the
   frame fits in that crop).
8. **The background far from the kept particles.** The per-scale bounds of 4. and 5. are
   measured over the whole frame, where packed particles leave gaps and rings of the opposite
   polarity that no texture makes; on a dense frame the pooled cut then stands above small
   particles that the background never reaches. Once the particles are kept, at each scale
   the opposite side's maxima more than ``FAINT_NULL`` median radii beyond every kept rim are
   the background's own (:func:`background_levels`): their tail, extended exponentially
   from the strongest ``FAINT_TAIL`` of them and scaled from that area to the area outside
   the kept particles, gives the level above which at most ``FAINT_FALSE`` background maxima
   are expected over all searched scales. Where that level is below a scale's cut, a
   candidate on the background (more than ``FAINT_CLEAR`` median radii beyond every kept
   rim: the top of a bright particle carries more shot noise than the background) passes
   from it, never below the noise floor, and the kept particles are judged again (surround,
   overlaps, nested). The lowered cuts also serve 9.
9. **Particles beside kept ones.** A small particle touching a larger one is a maximum in
   space at its own scale, but the larger one's response grows over it towards the larger
   scale, so it is no scale-space maximum and never a candidate. The kept particles are
   drawn from their own measured radial profiles (:func:`profile_model`; a Gaussian of the
   blob's scale does not fit a flat-topped particle and leaves a ring at its rim) and their
   response taken out; the maxima of what remains that the kept ones had hidden, that stand
   above their misfit and have no twin at their mirror image (:func:`beside_kept`) pass the
   same cut, surround, overlap and nested tests as the others.
10. **Faint particles away from the kept ones.** On a textured support at a low dose the
    small particles are also the faint ones, and at the LoG scales the texture reaches as
    high as they do. At the kept particles' median radius a difference of Gaussians
    (:func:`faint_particles`) separates them better; its cut comes from the background far
    from every kept particle (no particle's ring, no gap between packed particles), where a
    two-sided texture reaches as far on the opposite side as on the particles' side: the
    lowest cut at which under one background maximum is expected among the added ones. A
    background whose particles' side is the stronger in bulk (out-of-focus objects, debris)
    gives no null, and nothing is added there.
"""

from __future__ import annotations

import functools

import numpy as np

CHOICE_SIDE = 1024  # polarity and scale are measured on a central crop at most this large
SCALES = 16  # scales searched, geometrically from 1 px to a sixteenth of the frame
COVER = 0.02  # the strongest responses averaged: as many blobs as would cover this share
RIDGE = 0.4  # strongest peaks whose principal curvatures' median ratio is below this: an edge
SCALE_RANGE = (0.5, 2.0)  # candidates from half to twice the chosen scale
SEARCH_FROM = 0.35  # candidates also from this many times the chosen scale (see 6.)
SECTORS = 8  # directions around a blob in which its surround is judged
SURROUND_SHARE = 0.75  # a particle stands above its surround in this share of them
NULL_Z = 2.0  # standard deviations above the weak (texture and noise) population
NULL_SIDE = 1024  # the white-noise frame for the noise floor is at most this large
NULL_SEED = 20261130  # fixed: the same image always gets the same floor
NOISE_BLOBS = 0.1  # the floor: white noise would reach it this many times in the frame
TAIL_SHARE = 0.001  # the opposite side's tail is compared with a Gaussian's at this share
NESTED_RATIO = 1.5  # a blob at least this many times larger may hold a smaller one (above_larger)
AGGREGATE_RANGE = 4.0  # blobs above the candidate scales up to this x the scale: aggregates
OVERLAP = 0.9  # a weaker blob whose centre lies within this many radii of a stronger one goes
PROFILE_REACH = 2.3  # a kept blob's profile is measured out to this many radii (the surround's)
RECENTRE = 2  # the profile's centre is moved this many times to its half-height area's centre
HIDDEN = 0.5  # a blob beside kept ones: their response lowered it by this x its scale's cut
FAINT_NARROW = 0.35  # faint particles: a Gaussian of this x the kept particles' median radius
FAINT_WIDE = 3.0  # ... less one of this x that radius (the support's slow variation)
FAINT_APART = 0.6  # faint maxima at least this many median radii apart
FAINT_CLEAR = 0.6  # a faint particle lies this many median radii beyond every kept one's rim
FAINT_NULL = 1.5  # the background is measured this many median radii beyond every kept rim
FAINT_SYMMETRY = 0.9  # the quantile of the background's maxima at which both sides are compared
FAINT_TAIL = (20, 0.05)  # the other side's tail: the strongest max(20, 5 %) of its maxima
FAINT_FALSE = 0.75  # background maxima expected among the faint particles: at most this many
FAINT_SHARE = 0.05  # ... and at most this share of all particles


def blob_scales(shape) -> np.ndarray:
    """The scales searched for a frame of this shape: 1 px to a sixteenth of its smaller side."""
    return np.geomspace(1.0, max(1.5, min(shape) / 16.0), SCALES)


def scale_space(frame: np.ndarray, scales) -> np.ndarray:
    """``(scales, Y, X)`` responses ``-sigma^2 LoG`` (bright blobs positive).

    One Fourier transform of the frame (mirrored at its edges, as ``ndimage`` does) serves
    every scale: ``-sigma^2 LoG`` is ``4 pi^2 sigma^2 |f|^2 exp(-2 pi^2 sigma^2 |f|^2)`` there.
    """
    from scipy import fft

    frame = np.asarray(frame, dtype=np.float32)
    height, width = frame.shape
    pad = int(np.ceil(4.0 * max(scales)))
    padded_shape = [fft.next_fast_len(n + 2 * pad, real=True) for n in frame.shape]
    padded = np.pad(
        frame,
        [(pad, size - n - pad) for n, size in zip(frame.shape, padded_shape)],
        mode="symmetric",
    )
    spectrum = fft.rfft2(padded, workers=1)
    # rows k and n - k have the same |f|^2: the transfer is computed on rows 0 ... n / 2 only
    half = padded_shape[0] // 2 + 1
    mirrored = slice(padded_shape[0] - half, 0, -1)  # rows half ... n - 1 as rows of the half
    freq_sq = (
        fft.fftfreq(padded_shape[0])[:half, None] ** 2 + fft.rfftfreq(padded_shape[1])[None, :] ** 2
    ).astype(np.float32)
    out = np.empty((len(scales), height, width), dtype=np.float32)
    for index, sigma in enumerate(scales):
        transfer = (
            (4.0 * np.pi**2 * sigma**2) * freq_sq * np.exp(-2.0 * np.pi**2 * sigma**2 * freq_sq)
        )
        filtered = np.empty(spectrum.shape, dtype=np.result_type(spectrum, transfer))
        np.multiply(spectrum[:half], transfer, out=filtered[:half])
        np.multiply(spectrum[half:], transfer[mirrored], out=filtered[half:])
        # irfft2 as pocketfft computes it (the columns' inverse transform, then the rows'), the
        # rows' transform and the 1 / size factor on the rows kept only: the same numbers
        columns = fft.ifft(filtered, axis=0, norm="forward", workers=1)
        rows = fft.irfft(
            columns[pad : pad + height], padded_shape[1], axis=1, norm="forward", workers=1
        )
        rows *= rows.dtype.type(1) / rows.dtype.type(padded_shape[0] * padded_shape[1])
        out[index] = rows[:, pad : pad + width]
    return out


def blob_polarity_and_scale(
    frame: np.ndarray, skip=None, polarity: str = "auto"
) -> tuple[str, float]:
    """Polarity (``"bright"``/``"dark"``) and blob sigma (pixels) of a frame.

    Measured on a central crop of at most ``CHOICE_SIDE`` pixels (speed).

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame.
    skip : numpy.ndarray, optional
        Pixels to leave out of the statistics (constant areas, an annotation).
    polarity : {"auto", "bright", "dark"}
        ``"auto"`` decides; otherwise only the scale is chosen.

    Returns
    -------
    (str, float)
        Polarity and sigma.
    """
    polarity, sigma, _, _, _ = polarity_scale_and_response(frame, skip, polarity)
    return polarity, sigma


def choice_window(shape) -> tuple[slice, ...]:
    """The central crop of at most ``CHOICE_SIDE`` pixels a side the choice is measured on."""
    return tuple(
        slice(max((n - CHOICE_SIDE) // 2, 0), max((n - CHOICE_SIDE) // 2, 0) + CHOICE_SIDE)
        for n in shape
    )


def polarity_scale_and_response(
    frame: np.ndarray, skip=None, polarity: str = "auto"
) -> tuple[str, float, np.ndarray, np.ndarray | None, tuple[str, float, float] | None]:
    """:func:`blob_polarity_and_scale`, the scale space it was measured on, and the packed
    layer it found.

    Returns
    -------
    (str, float, numpy.ndarray, numpy.ndarray or None, tuple or None)
        Polarity, sigma, the scales measured and their :func:`scale_space` response over
        the whole frame (``None`` instead of the response when the frame is larger than the
        crop the choice was made on), and the crop's
        :func:`~napari_ivae.core.detection.packed.packed_phase` (measured once per frame:
        the detector's cut asks it again; ``None`` where the crop is no packed layer).
    """
    from napari_ivae.core.detection._filters import maximum_filter3
    from napari_ivae.core.detection.packed import _packed_choice, packed_phase

    window = choice_window(frame.shape)
    crop = np.asarray(frame, dtype=np.float32)[window]
    scales = blob_scales(frame.shape)
    scales = scales[scales <= max(1.5, min(crop.shape) / 8.0)]
    response = scale_space(crop, scales)
    use = np.ones(crop.shape, dtype=bool) if skip is None else ~np.asarray(skip)[window]
    # (strength, polarity, scale index) of every measured pair, and its strongest peaks
    measured: list[tuple[float, str, int]] = []
    strongest: dict[tuple[str, int], np.ndarray] = {}
    for index, sigma in enumerate(scales):
        layer = response[index]
        values = layer[use]
        if values.size == 0:
            continue
        spread = 1.4826 * _median(np.abs(values - _median(values)))
        if not spread > 0:
            continue
        count = max(4, int(COVER * values.size / (np.pi * (2 * sigma) ** 2)))
        for name, signed in (("bright", layer), ("dark", -layer)):
            if polarity not in ("auto", name):
                continue
            # one value per blob (its peak), not the peak's neighbouring pixels over again; a
            # peak may sit on a flat top (a saturated or noise-free particle), so not `use`
            flat = np.flatnonzero((signed == maximum_filter3(signed)) & (signed > 0))
            top = min(count, flat.size)
            if not top:
                measured.append((-np.inf, name, index))
                continue
            peaks = signed.ravel()[flat]
            chosen = np.argpartition(peaks, peaks.size - top)[-top:]
            measured.append((float(peaks[chosen].mean() / spread), name, index))
            strongest[name, index] = flat[chosen]
    whole = crop.shape == tuple(frame.shape)
    best = max(measured, key=lambda item: item[0], default=(-np.inf, "", 0))  # the first of equals
    packed = packed_phase(crop, use)
    if best[0] == -np.inf:
        return (
            "bright" if polarity == "auto" else polarity,
            float(scales[0]),
            scales,
            (response if whole else None),
            packed,
        )
    if packed is not None and polarity in ("auto", packed[0]):
        # a packed layer (most of the frame particles, the background a network of thin gaps):
        # the statistic above measures how sparse the strongest blobs are against the bulk of
        # the response, and there the particles are the bulk; the gaps' phase and the sizes
        # of the particles' own pieces decide instead
        best = _packed_choice(best, measured, scales, *packed)
        return best[1], float(scales[best[2]]), scales, response if whole else None, packed
    if _ridge_like(response, best, strongest):
        # the strongest peaks are an edge's ridge (flat-topped particles: the edges' response
        # is as strong at every scale below theirs, and most of the frame is flat there), not
        # blobs: the scale is the best one above it whose strongest peaks are blobs
        blobs = [
            item
            for item in measured
            if item[1] == best[1]
            and item[2] > best[2]
            and item[0] > -np.inf
            and not _ridge_like(response, item, strongest)
        ]
        if blobs:
            best = max(blobs, key=lambda item: item[0])
    return best[1], float(scales[best[2]]), scales, response if whole else None, packed


def _ridge_like(response, item, strongest) -> bool:
    """Whether the strongest peaks of ``item`` (strength, polarity, scale index) lie on ridges:
    the median of their :func:`curvature_ratio` is below ``RIDGE``."""
    _, name, index = item
    layer = response[index] if name == "bright" else -response[index]
    rows, cols = np.unravel_index(strongest[name, index], layer.shape)
    return bool(np.median(curvature_ratio(layer, rows, cols)) < RIDGE)


def curvature_ratio(layer, rows, cols) -> np.ndarray:
    """The smaller over the larger principal curvature of ``layer`` at its peaks ``(rows,
    cols)``: about 1 at a blob's (round) peak, about 0 on a ridge (an edge's response), 0 where
    the peak is no maximum in both directions. Second differences of the 3 x 3 neighbourhood,
    the frame's edge repeated."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    above, below = np.maximum(rows - 1, 0), np.minimum(rows + 1, layer.shape[0] - 1)
    left, right = np.maximum(cols - 1, 0), np.minimum(cols + 1, layer.shape[1] - 1)

    def at(row, col):
        return np.asarray(layer[row, col], dtype=np.float64)

    centre = at(rows, cols)
    d_yy = at(below, cols) - 2 * centre + at(above, cols)
    d_xx = at(rows, right) - 2 * centre + at(rows, left)
    d_xy = 0.25 * (at(below, right) - at(below, left) - at(above, right) + at(above, left))
    half_trace = 0.5 * (d_xx + d_yy)
    root = np.sqrt(np.maximum(half_trace**2 - (d_xx * d_yy - d_xy**2), 0.0))
    steep, shallow = half_trace - root, half_trace + root  # at a maximum both below 0
    return np.where(steep < 0, shallow / np.where(steep < 0, steep, -1.0), 0.0)


def candidate_scales(shape, sigma: float) -> np.ndarray:
    """The searched scales from ``SCALE_RANGE[0]`` to ``SCALE_RANGE[1]`` times ``sigma``."""
    scales = blob_scales(shape)
    low = int(np.searchsorted(scales, sigma * SCALE_RANGE[0]))
    high = int(np.searchsorted(scales, sigma * SCALE_RANGE[1], side="right")) - 1
    high = min(max(high, low), len(scales) - 1)
    return scales[low : high + 1]


def search_scales(shape, sigma: float) -> np.ndarray:
    """:func:`candidate_scales` and below them the scales down to ``SEARCH_FROM`` x ``sigma``.

    The smaller scales add candidates only: the cut is measured on the candidate scales.
    """
    scales = blob_scales(shape)
    core = candidate_scales(shape, sigma)
    low = min(
        int(np.searchsorted(scales, sigma * SEARCH_FROM)), int(np.searchsorted(scales, core[0]))
    )
    return scales[low : int(np.searchsorted(scales, core[-1])) + 1]


def blob_candidates(frame, scales, polarity, skip=None, response=None, overlaps=True):
    """Scale-space maxima of the signed response over ``scales``, overlaps removed.

    ``response`` (``scale_space(frame, scales)``, optional) saves computing it again;
    ``overlaps=False`` keeps overlapping maxima (see :func:`strongest_of_overlaps`).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(N, 2)`` integer (row, col), their sigmas and strengths.
    """
    from napari_ivae.core.detection._filters import maximum_filter3

    if response is None:
        response = scale_space(frame, scales)
    signed = (1.0 if polarity == "bright" else -1.0) * response
    is_max = (signed == maximum_filter3(signed)) & (signed > 0)
    found = np.argwhere(is_max)
    points, blob_sigma = found[:, 1:], np.asarray(scales)[found[:, 0]]
    strength = signed[tuple(found.T)]
    if skip is not None and len(points):
        keep = ~skip[points[:, 0], points[:, 1]]
        points, blob_sigma, strength = points[keep], blob_sigma[keep], strength[keep]
    if not overlaps:
        return points, blob_sigma, strength
    keep = strongest_of_overlaps(points, blob_sigma, strength)
    return points[keep], blob_sigma[keep], strength[keep]


def opposite_strengths(response, polarity: str, skip=None) -> np.ndarray:
    """Per scale, the strongest response of the *opposite* polarity (``inf`` if none).

    An upper bound on what the two-sided background (texture, noise) reaches at that scale:
    taken over every pixel, not only scale-space maxima, so it never understates it.

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` from :func:`scale_space`.
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


def background_strengths(
    response, scales, polarity: str, skip=None, site_scales=None
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
        ``(scales, Y, X)`` from :func:`scale_space`.
    scales : array-like
        The sigmas of ``response``.
    polarity : {"bright", "dark"}
        The particles' polarity.
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels left out (masked or constant areas).
    site_scales : array-like, optional
        The scales whose blob sites count (default ``scales``); smaller scales searched only
        for extra candidates do not raise the bound at the others.

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
    sites = sum(
        area / (np.pi * (2.0 * sigma) ** 2)
        for sigma in (scales if site_scales is None else site_scales)
    )
    z = -quantile(NOISE_BLOBS / max(sites, 2.0 * NOISE_BLOBS))
    tail_z = -quantile(TAIL_SHARE)
    sign = -1.0 if polarity == "bright" else 1.0
    for index, layer in enumerate(response):
        values = layer[use]
        centred = values - _median(values)
        spread = 1.4826 * _median(np.abs(centred))
        if spread > 0:
            tail = np.quantile(sign * centred, 1.0 - TAIL_SHARE) / (tail_z * spread)
            out[index] = spread * z * max(1.0, float(tail))
    return out


def _around(centre, reach: int, shape) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The window of a frame of ``shape`` within ``reach`` pixels of ``centre`` (clipped to the
    frame), and its pixels' row offsets (a column) and column offsets (a row) from the centre."""
    row, col = int(centre[0]), int(centre[1])
    r0, r1 = max(row - reach, 0), min(row + reach + 1, shape[0])
    c0, c1 = max(col - reach, 0), min(col + reach + 1, shape[1])
    rows, cols = np.arange(r0, r1)[:, None] - row, np.arange(c0, c1)[None, :] - col
    return (slice(r0, r1), slice(c0, c1)), rows, cols


def surround_share(signal, points, sigma) -> np.ndarray:
    """Per blob, the share of directions in which its surround lies below its top.

    The top is the mean of ``signal`` (particles positive) within ``0.7`` blob radii (radius
    ``sqrt(2) sigma``) of the centre; the surround is the ring from ``1.3`` to ``2.3`` radii,
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
        reach = int(np.ceil(2.3 * radius))
        group = np.flatnonzero(sigma == blob_sigma)
        centres = points[group].astype(np.int64)
        whole = np.all((centres >= reach) & (centres < np.array(signal.shape) - reach), axis=1)
        for index in group[~whole]:  # a window the frame's edge cuts: alone
            area, dy, dx = _around(points[index], reach, signal.shape)
            share = _surround_share_in(signal[area], dy, dx, radius)
            out[index] = out[index] if share is None else share
        if whole.any():
            out[group[whole]] = _surround_shares_whole(signal, centres[whole], radius, reach)
    return out


def _surround_rings(dy, dx, radius):
    """The top's pixels, the ring's pixels and the ring pixels' sectors (see surround_share)."""
    distance = np.hypot(dy, dx) / radius
    ring = (distance >= 1.3) & (distance <= 2.3)
    sector = (np.floor((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * SECTORS).astype(int) % SECTORS)[
        ring
    ]
    return distance <= 0.7, ring, sector


def _surround_share_in(window, dy, dx, radius):
    """:func:`surround_share` of one blob from its window (None: no ring pixel)."""
    top_pixels, ring, sector = _surround_rings(dy, dx, radius)
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


def _median(values: np.ndarray):
    """``np.median`` of a 1D array, the same number, 3-5 x faster on a large one.

    The middle values are selected among those between two bounds taken from a sorted sample
    (most values lie outside them and are only counted); where the bounds miss them, or a
    value is NaN, by a partition of the whole.

    Parameters
    ----------
    values : numpy.ndarray
        1D array.

    Returns
    -------
    numpy scalar
        The median, of ``values``' dtype (NaN if any value is NaN).
    """
    values = np.asarray(values)
    size = values.size
    if values.ndim != 1 or size == 0 or values.dtype not in (np.float32, np.float64):
        return np.median(values)
    ranks = [size // 2] if size % 2 else [size // 2 - 1, size // 2]
    middle = _order_statistics(values, ranks)
    if middle is None:  # a NaN
        return np.median(values)
    if size % 2:
        return middle[0]
    return (middle[0] + middle[1]) / values.dtype.type(2)  # as np.median


def _order_statistics(values: np.ndarray, ranks: list) -> list | None:
    """The values of the given (ascending, 0-based) ranks in sorted order; None if any is NaN."""
    size = values.size
    if size >= 1 << 14:
        sample = np.sort(values[:: size // 2048])
        at = [rank * len(sample) // size for rank in ranks]
        low = sample[max(at[0] - 64, 0)]
        high = sample[min(at[-1] + 64, len(sample) - 1)]
        below = np.count_nonzero(values < low)
        inside = values[(values >= low) & (values <= high)]
        counted = below + len(inside) + np.count_nonzero(values > high) == size  # no NaN
        if counted and below <= ranks[0] and ranks[-1] < below + len(inside):
            part = np.partition(inside, [rank - below for rank in ranks])
            return [part[rank - below] for rank in ranks]
    part = np.partition(values, ranks)
    if np.isnan(part[ranks[-1] :].max()):  # NaN sorts last
        return None
    return [part[rank] for rank in ranks]


def _group_medians(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``np.median`` of ``values`` in each group (integer labels), groups in ascending order:
    one sort instead of a call per group."""
    order = np.lexsort((values, groups))
    values, groups = values[order], groups[order]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    counts = np.diff(np.r_[starts, len(values)])
    low = values[starts + (counts - 1) // 2]
    high = values[starts + counts // 2]
    return (low + high) / values.dtype.type(2)  # as np.median: the two middle values' mean


def above_larger(signal, points, sigma, aggregates=None, pixel_noise=None) -> np.ndarray:
    """Per blob, whether it stands above the interior of every clearly larger blob it lies in.

    A blob whose centre lies within the radius (``sqrt(2) sigma``) of a blob at least
    ``NESTED_RATIO`` times larger is judged against that blob's interior rather than its
    own surround ring: its top (mean of ``signal`` within ``0.7`` of its radius) must lie
    above the median of the larger blob's interior (within ``0.7`` of that one's radius,
    the smaller blob's own disc left out). A bump on the rim or the top of a larger particle
    is part of it; a particle lying on one stands above it.

    On a flat top (a saturated or thresholded particle) the interior is one level and the
    response below the particle's scale peaks along its inner rim, where the noise places the
    peak: such a top beats the interior's median by chance. So, given ``pixel_noise``, a
    nested blob whose response peak is a ridge (:func:`curvature_ratio` of its own scale's
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

    # the blobs within the largest radius of each, from one tree (not all N x N distances)
    near = cKDTree(points).query_ball_point(points[:count], float(radius.max()) * (1 + 1e-9))
    nested = []
    for index in range(count):
        others = np.sort(np.asarray(near[index], dtype=np.int64))
        larger = others[
            (radius[others] >= NESTED_RATIO * radius[index])
            & (np.hypot(*(points[others] - points[index]).T) <= radius[others])
        ]
        if len(larger):
            nested.append((index, larger))
    z = 0.0
    if pixel_noise is not None and nested:
        from statistics import NormalDist  # scipy.stats would cost a third of a second to import

        z = NormalDist().inv_cdf(1.0 - NOISE_BLOBS / len(nested))
    for index, larger in nested:
        area, dy, dx = _around(points[index], int(np.ceil(radius[index])), signal.shape)
        top_disc = dy**2 + dx**2 <= (0.7 * radius[index]) ** 2
        top = float(signal[area][top_disc].mean())
        level = -np.inf  # the highest interior median of the larger blobs
        for other in larger:
            area, dy, dx = _around(points[other], int(np.ceil(0.7 * radius[other])), signal.shape)
            shift = points[other] - points[index]
            own_sq = (dy + shift[0]) ** 2 + (dx + shift[1]) ** 2
            interior = (dy**2 + dx**2 <= (0.7 * radius[other]) ** 2) & (own_sq > radius[index] ** 2)
            if interior.any():
                level = max(level, float(np.median(signal[area][interior])))
        margin = z * float(pixel_noise) / np.sqrt(top_disc.sum()) if z > 0 else 0.0
        # the peak's shape only where the margin decides (a filter per blob costs)
        keep[index] = top > level and (
            top - margin > level or _peak_ratio(signal, points[index], sigma[index]) >= RIDGE
        )
    return keep


def _peak_ratio(signal, point, sigma: float) -> float:
    """:func:`curvature_ratio` of ``-sigma^2 LoG`` of ``signal`` at ``point``, computed on a
    window of 4 sigma + 2 around it (mirrored at the frame's edge)."""
    from scipy import ndimage

    reach = int(np.ceil(4.0 * sigma)) + 2
    low = np.maximum(np.asarray(point) - reach, 0)
    window = np.asarray(
        signal[low[0] : point[0] + reach + 1, low[1] : point[1] + reach + 1], dtype=np.float64
    )
    layer = -(sigma**2) * ndimage.gaussian_laplace(window, sigma, mode="reflect")
    return float(curvature_ratio(layer, [point[0] - low[0]], [point[1] - low[1]])[0])


def aggregate_scales(shape, sigma: float) -> np.ndarray:
    """The scales above :func:`candidate_scales` up to ``AGGREGATE_RANGE`` x ``sigma``."""
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
        ``(scales, Y, X)`` from :func:`scale_space` of the frame (bright blobs positive).
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


def strongest_of_overlaps(points, sigma, strength) -> np.ndarray:
    """Keep a blob unless a stronger kept one's centre lies within ``OVERLAP`` radii of it."""
    from scipy.spatial import cKDTree

    kept = np.ones(len(points), dtype=bool)
    if len(points) == 0:
        return kept
    radius = np.sqrt(2.0) * sigma
    order = np.argsort(-strength, kind="stable")  # the strongest first; ties by position
    rank = np.empty(len(points), dtype=np.int64)
    rank[order] = np.arange(len(points))
    # the overlapping pairs, each from a search a little wider than the test that decides
    reach = OVERLAP * float(np.max(radius))
    pairs = cKDTree(points.astype(np.float64)).query_pairs(
        reach * (1.0 + 1e-9) + 1e-9, output_type="ndarray"
    )
    first, second = pairs[:, 0], pairs[:, 1]
    distance = np.hypot(*(points[first] - points[second]).T)
    overlap = distance < OVERLAP * np.maximum(radius[first], radius[second])
    first, second = first[overlap], second[overlap]
    first_leads = rank[first] < rank[second]
    stronger = np.where(first_leads, first, second)
    weaker_rank = rank[np.where(first_leads, second, first)]
    # a blob no stronger one overlaps is kept; the others in order of strength, each after
    # every stronger one it overlaps has been decided
    by = np.argsort(weaker_rank, kind="stable")
    stronger, weaker_rank = stronger[by], weaker_rank[by]
    judged = np.unique(weaker_rank)
    starts = np.searchsorted(weaker_rank, judged).tolist()
    ends = np.searchsorted(weaker_rank, judged, side="right").tolist()
    for blob, start, end in zip(order[judged].tolist(), starts, ends):
        kept[blob] = not kept[stronger[start:end]].any()
    return kept


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
    """A 1D two-component Gaussian mixture by expectation-maximisation (low component first)."""
    means = np.array([np.median(values), np.percentile(values, 97)])
    sds = np.full(2, max(values.std() / 2.0, 1e-6))
    weights = np.array([0.9, 0.1])
    for _ in range(iterations):
        density = weights / sds * np.exp(-0.5 * ((values[:, None] - means) / sds) ** 2) + 1e-300
        share = density / density.sum(axis=1, keepdims=True)
        total = share.sum(axis=0) + 1e-12
        weights = total / len(values)
        means = (share * values[:, None]).sum(axis=0) / total
        sds = np.sqrt((share * (values[:, None] - means) ** 2).sum(axis=0) / total) + 1e-6
    order = np.argsort(means)
    return means[order], sds[order], weights[order]


def profile_model(signal, centres, sigma) -> np.ndarray:
    """The kept particles drawn from their own measured radial profiles.

    Around each centre the frame is cut into 1 px rings out to ``PROFILE_REACH`` blob radii
    (``sqrt(2) sigma``) and ``SECTORS`` sectors; a ring's level is the median of its sectors'
    means (a touching neighbour fills one or two sectors, not the median), the background
    the median of the sectors' means from ``1.3`` radii out. The profile above that
    background, up to where it first reaches it, is the particle: flat tops, sharp rims and
    spheres' projections alike, so no rim ring is left when it is taken out (a Gaussian of
    the blob's scale leaves one). The centre is first moved ``RECENTRE`` times to the centre
    of the pixels above half the particle's height within 1.25 x the radius where the
    profile falls below it (an off-centre profile leaves a crescent).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    centres : numpy.ndarray
        ``(N, 2)`` (row, col) centres (sub-pixel allowed).
    sigma : array-like
        ``(N,)`` blob sigmas (pixels).

    Returns
    -------
    numpy.ndarray
        The model frame (``signal``'s shape, float32, 0 away from the particles).
    """
    signal = np.asarray(signal, dtype=np.float32)
    height, width = signal.shape
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    flat_model = np.zeros(signal.size, dtype=np.float64)
    for blob_sigma in np.unique(sigma):
        group = np.flatnonzero(sigma == blob_sigma)
        radius = np.sqrt(2.0) * blob_sigma
        outer = PROFILE_REACH * radius
        reach = int(np.ceil(outer)) + 1
        dy, dx = (g.ravel() for g in np.mgrid[-reach : reach + 1, -reach : reach + 1])
        rings = int(np.floor(outer)) + 1
        at = centres[group]
        for step in range(RECENTRE + 1):
            anchor = np.rint(at).astype(np.int64)
            rows, cols = anchor[:, :1] + dy, anchor[:, 1:] + dx
            off_y, off_x = rows - at[:, :1], cols - at[:, 1:]
            distance = np.hypot(off_y, off_x)
            valid = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
            valid &= distance <= outer
            index = np.clip(rows, 0, height - 1) * width + np.clip(cols, 0, width - 1)
            values = signal.ravel()[index]
            ring = np.minimum(distance.astype(np.int64), rings - 1)
            if step == RECENTRE:  # the profile drawn: every ring's median pixel
                profile, level = _ring_medians(values, valid, ring, rings, distance >= 1.3 * radius)
                profile, level = _filled(profile, level)
                break
            sector = (  # of the pixels counted only (the arc tangent is the costly step)
                np.floor(
                    (np.arctan2(off_y[valid], off_x[valid]) + np.pi) / (2 * np.pi) * SECTORS
                ).astype(np.int64)
                % SECTORS
            )
            cell = ((np.arange(len(group))[:, None] * rings + ring) * SECTORS)[valid] + sector
            size = len(group) * rings * SECTORS
            total = np.bincount(cell, values[valid], minlength=size)
            count = np.bincount(cell, minlength=size)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (total / count).reshape(len(group), rings, SECTORS)
            means[count.reshape(means.shape) == 0] = np.nan
            outside = np.arange(rings) + 0.5 >= 1.3 * radius
            profile, level = _filled(
                _median_of_numbers(means),  # cells with no pixel (centre, edge): NaN
                _median_of_numbers(means[:, outside].reshape(len(group), -1)),
            )
            half = 0.5 * (profile[:, :1] + level[:, None])
            below = profile < half
            fall = np.where(below.any(axis=1), np.argmax(below, axis=1) + 0.5, outer)
            part = valid & (values > half) & (distance <= 1.25 * fall[:, None])
            pixels = part.sum(axis=1)
            shift = (
                np.stack([(off_y * part).sum(axis=1), (off_x * part).sum(axis=1)], axis=1)
                / np.maximum(pixels, 1)[:, None]
            )
            moves = (pixels >= 3) & (np.hypot(*shift.T) <= radius)
            at = np.where(moves[:, None], at + shift, at)
        height_above = profile - level[:, None]
        reached = height_above <= 0
        end = np.where(reached.any(axis=1), np.argmax(reached, axis=1), rings)
        height_above[np.arange(rings)[None, :] >= end[:, None]] = 0.0
        # linear between the rings' mid-radii, 0 from the ring where the profile ends
        position = np.clip(distance - 0.5, 0.0, rings - 1.0)
        lower = np.minimum(position.astype(np.int64), rings - 1)
        upper = np.minimum(lower + 1, rings - 1)
        weight = position - lower
        take = np.take_along_axis
        drawn = (1.0 - weight) * take(height_above, lower, axis=1) + weight * take(
            height_above, upper, axis=1
        )
        drawn[distance >= end[:, None] + 0.5] = 0.0
        use = valid & (drawn > 0)
        flat_model += np.bincount(index[use], drawn[use], minlength=signal.size)
    return flat_model.reshape(signal.shape).astype(np.float32)


def _filled(profile, level):
    """A profile's rings with no pixel at the background ``level``, and a background with no
    pixel at the profile's lowest ring."""
    level = np.where(np.isnan(level), np.nanmin(profile, axis=1), level)
    return np.where(np.isnan(profile), level[:, None], profile), level


def _ring_medians(values, valid, ring, rings, outside):
    """Per row: the median of each ring's pixels, and of the pixels ``outside``."""
    low = values.min(axis=1, keepdims=True)
    span = values.max(axis=1, keepdims=True) - low
    unit = np.clip((values - low) / np.where(span > 0, span, 1.0), 0.0, 0.999)
    key = np.where(valid, ring + unit, rings + 1.0)
    order = np.argsort(key, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    rows = len(values)
    count = np.bincount(
        (np.arange(rows)[:, None] * rings + ring)[valid], minlength=rows * rings
    ).reshape(rows, rings)
    start = np.cumsum(count, axis=1) - count
    lower = np.clip(start + (count - 1) // 2, 0, values.shape[1] - 1)
    upper = np.clip(start + count // 2, 0, values.shape[1] - 1)
    take = np.take_along_axis
    profile = 0.5 * (take(ordered, lower, axis=1) + take(ordered, upper, axis=1))
    profile = np.where(count > 0, profile, np.nan)
    return profile, _median_of_numbers(np.where(valid & outside, values, np.nan))


def _median_of_numbers(values) -> np.ndarray:
    """``numpy.nanmedian`` over the last axis (NaN where a row holds none), by one sort."""
    ordered = np.sort(values, axis=-1)  # NaN last
    count = (~np.isnan(values)).sum(axis=-1, keepdims=True)
    lower = np.maximum((count - 1) // 2, 0)
    take = np.take_along_axis
    middle = 0.5 * (
        take(ordered, lower, axis=-1) + take(ordered, count // 2 - (count == 0), axis=-1)
    )
    return np.where(count > 0, middle, np.nan)[..., 0]


def beside_kept(residual, model, scales, points, sigma, cuts, skip=None):
    """Blobs that the kept blobs' larger responses swallowed in scale space.

    A small particle beside a larger one is a maximum in space at its own scale, but the
    larger one's response grows over it towards the larger scale, so it is no scale-space
    maximum and never a candidate. With the kept particles taken out (``model``, the
    response of :func:`profile_model`), the scale-space maxima of what remains are blobs
    when they reach their scale's cut and

    - the kept blobs' response had lowered them by at least ``HIDDEN`` x that cut (they
      were hidden; a blob the kept ones did not touch was judged by the first search);
    - they stand higher than the residual falls anywhere within ``PROFILE_REACH`` radii of
      a kept blob near them (what a kept particle's profile misses there: a misfit);
    - the residual at their mirror image through the nearest kept blob's centre stays below
      the cut (an elongated particle leaves a lobe at both ends; a neighbour is one-sided).

    Parameters
    ----------
    residual : numpy.ndarray
        ``(scales, Y, X)`` response with the particles' polarity positive, less ``model``.
    model : numpy.ndarray
        The same response of the kept particles alone (``scale_space(profile_model(...))``).
    scales : array-like
        Their sigmas.
    points, sigma : array-like
        The kept blobs: ``(N, 2)`` integer centres and ``(N,)`` sigmas.
    cuts : array-like
        One strength cut per scale.
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where no blob is looked for.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(M, 2)`` integer (row, col), their sigmas and residual strengths.
    """
    import itertools

    scales = np.asarray(scales, dtype=np.float64)
    cuts = np.asarray(cuts, dtype=np.float64)
    points = np.asarray(points).reshape(-1, 2)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    shape = residual.shape[1:]
    none = (np.zeros((0, 2), dtype=int), np.zeros(0), np.zeros(0))
    if not len(points):
        return none
    found = np.argwhere(
        (residual >= cuts.astype(np.float32)[:, None, None])
        & (model <= -HIDDEN * cuts.astype(np.float32)[:, None, None])
    )
    if skip is not None and len(found):
        found = found[~np.asarray(skip, bool)[found[:, 1], found[:, 2]]]
    # the scale-space maxima among them (as maximum_filter(size=3), but only where it counts)
    padded = np.pad(residual, 1, constant_values=-np.inf)
    value = residual[tuple(found.T)]
    for step in itertools.product((-1, 0, 1), repeat=3):
        if any(step):  # each comparison on the candidates still standing only
            stands = value >= padded[tuple((found + 1 + np.array(step)).T)]
            found, value = found[stands], value[stands]
    if not len(found):
        return none
    kept_radius = np.sqrt(2.0) * sigma
    distance = np.hypot(*(found[:, None, 1:] - points[None]).transpose(2, 0, 1))
    # the mirror image through the nearest kept blob (nearest to its rim)
    host = points[np.argmin(distance - kept_radius[None], axis=1)]
    mirror = np.clip(2 * host - found[:, 1:], 0, np.array(shape) - 1)
    twin = np.full(len(found), -np.inf, dtype=np.float32)
    for step in itertools.product((-1, 0, 1), repeat=2):  # its 3 x 3 neighbourhood
        twin = np.maximum(
            twin, padded[found[:, 0] + 1, mirror[:, 0] + 1 + step[0], mirror[:, 1] + 1 + step[1]]
        )
    one_sided = twin < cuts[found[:, 0]]
    found, value, distance = found[one_sided], value[one_sided], distance[one_sided]
    # the misfit of each kept blob near one of them: the deepest its residual falls around it
    reach = np.ceil(PROFILE_REACH * kept_radius)
    near = distance <= reach[None]
    bar = np.zeros(len(found))
    for blob in np.flatnonzero(near.any(axis=0)):
        area, _, _ = _around(points[blob], int(reach[blob]), shape)
        misfit = -residual[:, area[0], area[1]].min(axis=(1, 2))
        close = near[:, blob]
        bar[close] = np.maximum(bar[close], misfit[found[close, 0]])
    above = value > bar
    found, value = found[above], value[above]
    return found[:, 1:], scales[found[:, 0]], value.astype(np.float64)


__all__ = [
    "above_larger",
    "aggregate_blobs",
    "aggregate_scales",
    "background_strengths",
    "beside_kept",
    "blob_candidates",
    "blob_polarity_and_scale",
    "blob_scales",
    "candidate_scales",
    "noise_floor",
    "opposite_strengths",
    "particle_cut",
    "polarity_scale_and_response",
    "profile_model",
    "scale_space",
    "search_scales",
    "strongest_of_overlaps",
    "surround_share",
    "within_discs",
]


def faint_particles(signal, points, radius, skip=None) -> tuple[np.ndarray, dict]:
    """Particles fainter than the scale-space cut, away from the kept ones (see 10.).

    At the kept particles' median radius ``r``, a Gaussian of ``FAINT_NARROW`` r less one of
    ``FAINT_WIDE`` r; its maxima (``FAINT_APART`` r apart) on the particles' side more than
    ``FAINT_CLEAR`` r beyond every kept particle's rim are the candidates. The background is
    what lies more than ``FAINT_NULL`` r beyond every rim (no kept particle's ring, no gap
    between packed ones): there a support's texture and noise reach as far on the opposite
    side as on the particles' side, so the opposite side's maxima are the null. If the
    particles' side is the stronger at the ``FAINT_SYMMETRY`` quantile of the background's
    maxima, a one-sided population (out-of-focus objects, debris) lives there and nothing is
    added. Otherwise the cut is the lowest at which the background maxima expected above it
    in the candidates' area (the opposite side's count, its tail extended exponentially from
    its strongest ``FAINT_TAIL`` maxima, scaled by the areas) stay at most ``FAINT_FALSE``
    and at most ``FAINT_SHARE`` of all particles. A candidate above the cut must stand above
    its surround (:func:`surround_share`).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept particles.
    radius : array-like
        ``(N,)`` their radii (pixels).
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where nothing is looked for or measured.

    Returns
    -------
    (numpy.ndarray, dict)
        ``(M, 2)`` integer centres of the faint particles (their radius is ``r``) and what
        was measured (``faint_*`` entries of the resolved parameters).
    """
    from napari_ivae.core.detection._filters import gaussian_smooth, local_maxima

    none = np.zeros((0, 2), dtype=np.int64)
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    info: dict = {"faint_radius": None, "faint_symmetry": None, "faint_cut": None, "faint": 0}
    if len(points) < 3:
        return none, info
    signal = np.asarray(signal, dtype=np.float32)
    r = float(np.median(radius))
    info["faint_radius"] = round(r, 3)
    response = gaussian_smooth(signal, FAINT_NARROW * r)
    response -= gaussian_smooth(signal, FAINT_WIDE * r)
    usable = np.zeros(signal.shape, dtype=bool)
    margin = int(np.ceil(r))
    usable[margin : signal.shape[0] - margin, margin : signal.shape[1] - margin] = True
    if skip is not None:
        usable &= ~np.asarray(skip, dtype=bool)
    candidate_area = usable & ~within_discs(signal.shape, points, radius + FAINT_CLEAR * r)
    background = usable & ~within_discs(signal.shape, points, radius + FAINT_NULL * r)
    size = 2 * int(np.ceil(FAINT_APART * r)) + 1
    if not background.any() or not candidate_area.any():
        return none, info
    null_rows, null_cols = local_maxima(-response, size, 0.0)
    opposite = np.sort(-response[null_rows, null_cols][background[null_rows, null_cols]])
    rows, cols = local_maxima(response, size, 0.0)
    same = response[rows, cols][background[rows, cols]]
    if len(opposite) < FAINT_TAIL[0] or len(same) < FAINT_TAIL[0]:
        return none, info
    level = float(np.quantile(same, FAINT_SYMMETRY)), float(np.quantile(opposite, FAINT_SYMMETRY))
    info["faint_symmetry"] = [round(x, 4) for x in level]
    if level[0] > level[1]:  # one-sided background: the other side is no null for it
        return none, info
    inside = candidate_area[rows, cols]
    rows, cols = rows[inside], cols[inside]
    values = response[rows, cols]
    order = np.argsort(-values, kind="stable")
    rows, cols, values = rows[order], cols[order], values[order]
    scale = float(candidate_area.sum()) / float(background.sum())
    tail = max(FAINT_TAIL[0], int(FAINT_TAIL[1] * len(opposite)))
    base = float(opposite[-tail])
    decay = max(float(np.mean(opposite[-tail:] - base)), 1e-12)
    # the background maxima expected above each candidate's value, in the candidates' area
    count = len(opposite) - np.searchsorted(opposite, values, side="left")
    expected = scale * np.where(
        values > base, tail * np.exp(-(values - base) / decay), count.astype(np.float64)
    )
    allowed = np.minimum(FAINT_FALSE, FAINT_SHARE * (len(points) + np.arange(1, len(values) + 1)))
    passing = np.flatnonzero(expected <= allowed)
    if not len(passing):
        return none, info
    take = int(passing[-1]) + 1
    info["faint_cut"] = round(float(values[take - 1]), 6)
    found = np.stack([rows[:take], cols[:take]], axis=1).astype(np.int64)
    above = surround_share(signal, found, np.full(take, r / np.sqrt(2.0))) >= SURROUND_SHARE
    found = found[above]
    info["faint"] = int(len(found))
    return found, info


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
        ``(scales, Y, X)`` from :func:`scale_space` (the frame's own sign).
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

    levels = np.full(len(scales), np.inf)
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    if not len(points):
        return levels
    shape = response.shape[1:]
    r = float(np.median(radius))
    measured = np.ones(shape, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    background = measured & ~within_discs(shape, points, radius + FAINT_NULL * r)
    outside = measured & ~within_discs(shape, points, radius)
    if not background.any():
        return levels
    area = float(outside.sum()) / float(background.sum())
    allowed = FAINT_FALSE / len(scales)
    sign = -1.0 if polarity == "bright" else 1.0
    for index, (layer, sigma) in enumerate(zip(response, scales)):
        opposite = sign * layer
        rows, cols = local_maxima(opposite, 2 * int(np.ceil(sigma)) + 1, 0.0)
        values = np.sort(opposite[rows, cols][background[rows, cols]])
        if len(values) < FAINT_TAIL[0]:
            continue
        tail = max(FAINT_TAIL[0], int(FAINT_TAIL[1] * len(values)))
        base = float(values[-tail])
        decay = max(float(np.mean(values[-tail:] - base)), 1e-12)
        levels[index] = base + decay * np.log(tail * area / allowed)
    return levels


def within_discs(shape, centres, radii) -> np.ndarray:
    """True within ``radii`` (one per centre) of any of the integer ``centres``."""
    near = np.zeros(shape, dtype=bool)
    rows, cols = np.indices(shape, sparse=True)
    for (row, col), extent in zip(np.asarray(centres).tolist(), np.asarray(radii).tolist()):
        span = int(np.ceil(extent))
        top, left = max(row - span, 0), max(col - span, 0)
        bottom, right = min(row + span + 1, shape[0]), min(col + span + 1, shape[1])
        near[top:bottom, left:right] |= (rows[top:bottom] - row) ** 2 + (
            cols[:, left:right] - col
        ) ** 2 <= extent**2
    return near
