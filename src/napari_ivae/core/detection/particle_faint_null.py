"""The faint pass's null: how many of the background's maxima lie above a faint candidate.

For :func:`~napari_ivae.core.detection.particle_faint.faint_particles` (step 10 of
:mod:`~napari_ivae.core.detection.particle_blobs`): the opposite side's maxima on the
background far from the kept particles, their tail extended exponentially
(:func:`expected_background`), or the fewer a Gaussian field reaches where that tail is one
(:func:`null_tail`, and one of the background's own level and roughness tile by tile); and
a camera's lone noisy pixels, which the narrow filter must not take for particles
(:func:`lone_low_pixels`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median

FAINT_DECAY_ERRORS = 2.0  # faint pass: the tail's decay this many standard errors above its mean
# the Gaussian tail's count taken this many times over: at its word, the 5 % rate took one
# false point too many on a sparse low-dose frame (dark n40 r5 low dose P 0.971 -> 0.949)
FAINT_MODEL_MARGIN = 2.5
FAINT_SHAPE_ERRORS = 1.0  # a tail's mean excess this many standard errors over a Gaussian's
FAINT_SHARE = 0.25  # the Gaussian tail: candidates of at least this x the kept ones' 10th pct


def expected_background(read, strength, null, response, points, areas, r, info) -> np.ndarray:
    """The background maxima expected above each candidate in the candidates' area.

    Above the opposite side's ``tail`` strongest maxima the count is their tail extended
    exponentially, its decay ``FAINT_DECAY_ERRORS`` standard errors above its estimate;
    where that tail is a Gaussian field's (:func:`null_tail`), for candidates of at least
    ``FAINT_SHARE`` of the kept particles' 10th percentile, the fewer of ``FAINT_MODEL_MARGIN``
    times that field's count and what a field of the background's own level and roughness
    reaches tile by tile (:mod:`~napari_ivae.core.detection.field_noise`). Below the tail,
    the maxima counted. Scaled from the background's area to the candidates'.

    Parameters
    ----------
    read : numpy.ndarray
        ``(M,)`` the candidates' levels as the opposite side reads them.
    strength : numpy.ndarray
        ``(M,)`` their responses.
    null : tuple
        ``(opposite, tail, spread)``: the opposite side's maxima on the background
        (ascending), how many of the strongest make its tail, the background's spread.
    response : numpy.ndarray
        The faint pass's response (narrow Gaussian less the support's level).
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept particles.
    areas : tuple of numpy.ndarray
        ``(background, candidate_area)`` boolean masks.
    r : float
        The kept particles' median radius.
    info : dict
        Receives ``faint_null_tail``.

    Returns
    -------
    numpy.ndarray
        ``(M,)`` expected counts.
    """
    from napari_ivae.core.detection.field_noise import local_field_maxima
    from napari_ivae.core.detection.particle_faint import FAINT_WIDE

    opposite, tail, spread = null
    background, candidate_area = areas
    scale = float(candidate_area.sum()) / float(background.sum())
    base = float(opposite[-tail])
    count = len(opposite) - np.searchsorted(opposite, read, side="left")
    # the tail's decay at its upper bound: measured from ``tail`` maxima, an exponential's
    # mean has a standard error of itself over sqrt(tail); at the top of the candidates,
    # several decays past the strongest null maximum, an underestimate lets the support's
    # own extremes through (stranger_particles.py haadf_fringes80 seed 1: two false points)
    decay = max(float(np.mean(opposite[-tail:] - base)), 1e-12)
    decay *= 1.0 + FAINT_DECAY_ERRORS / np.sqrt(tail)
    above = tail * np.exp(-(read - base) / decay)
    gaussian = null_tail(read, opposite[-tail:], spread)
    info["faint_null_tail"] = "exponential" if gaussian is None else "gaussian"
    if gaussian is not None:
        # a Gaussian field's tail only for a candidate of the kept particles' kind: those two
        # bright spots of haadf_fringes80 seed 1 read 0.05-0.06 of the kept particles' 10th
        # percentile (the faint particles found on the benchmark's rows 0.5-0.95): a support's
        # rare structure under particles far above it, which no model of its pixels foresees
        kept_level = float(np.quantile(response[points[:, 0], points[:, 1]], 0.1))
        comparable = (strength >= FAINT_SHARE * kept_level) & (kept_level > 0.0)
        above = np.where(comparable, np.minimum(FAINT_MODEL_MARGIN * gaussian, above), above)
        # ... or fewer: what a Gaussian field of the background's own level and roughness
        # reaches in the candidates' area, which needs no tail of a dense frame's few maxima;
        # the level tile by tile, tiles of the support's scale (a sparse frame's illumination)
        tile = int(np.ceil(3.0 * FAINT_WIDE * r))
        field = local_field_maxima(read, response, background, candidate_area, tile)
        above = np.where(comparable, np.minimum(field / scale, above), above)
    return scale * np.where(read > base, above, count.astype(np.float64))


def lone_low_pixels(signal, use, line) -> int:
    """How many ``use`` pixels lie below the median of their eight neighbours by more than
    the counting noise ``line`` (``a + b x`` at that median) reaches once over them.

    Counting noise's low side is short (no fewer than no counts); a pixel that far below
    its neighbours is one of a camera's noisy pixels (an sCMOS's few with read noise many
    times the rest's), whose spikes are as strong on the high side, where nothing in the
    noise line foresees them.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame (not symmetrised).
    use : numpy.ndarray of bool
        The pixels judged (the background).
    line : tuple of float
        The noise line ``(a, b)`` measured over ``use``.

    Returns
    -------
    int
        The number of such pixels.
    """
    from scipy import special

    frame = np.asarray(signal, dtype=np.float32)
    padded = np.pad(frame, 1, mode="reflect")
    height, width = frame.shape
    ring = np.stack(
        [
            padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if dy or dx
        ]
    )
    ring.partition((3, 4), axis=0)  # the median of 8: the mean of the 4th and 5th
    use = np.asarray(use, dtype=bool)
    neighbours = 0.5 * (ring[3][use].astype(np.float64) + ring[4][use])
    a, b = line
    # the residual against a median of 8: the pixel's variance and about pi / 16 of it
    noise = np.sqrt(np.maximum(a + b * neighbours, 0.0) * (1.0 + np.pi / 16.0))
    reach = special.ndtri(1.0 - 0.5 / max(int(use.sum()), 2))
    return int(np.count_nonzero(frame[use] - neighbours < -reach * noise))


def null_tail(values, tail, spread) -> np.ndarray | None:
    """How many of the background's maxima lie above each of ``values``, from its
    strongest ``tail`` maxima and the spread of its pixels, where the tail is Gaussian.

    A Gaussian field of standard deviation ``s`` has about ``u exp(-u^2 / 2 s^2)`` maxima
    above a high level ``u`` (the leading term of its Euler characteristic's density in
    2D); counted from the tail's lowest value ``b`` (``len(tail)`` maxima above it), the
    number above ``u`` is ``len(tail) (u / b) exp(-(u^2 - b^2) / 2 s^2)``, whose mean excess
    over ``b`` is ``s^2 / b``. The spread comes from thousands of pixels where the tail's
    exponential decay came from ``len(tail)`` maxima: several decays past the strongest
    maximum the exponential expects far more than a Gaussian field reaches (dark n400 r7
    low dose +4000: nothing added of 70 missed). A tail heavier than the Gaussian one (its
    mean excess ``FAINT_SHAPE_ERRORS`` standard errors above ``s^2 / b``: a support's
    structure, strands, the bright clouds of Ru1's support at 1.3 x) is no Gaussian field's.

    Parameters
    ----------
    values : numpy.ndarray
        The levels asked about.
    tail : numpy.ndarray
        The background's strongest maxima, ascending.
    spread : float
        The standard deviation of the background's pixels (same response).

    Returns
    -------
    numpy.ndarray or None
        The expected count above each value (meaningful above ``tail[0]``); None where the
        tail is not Gaussian (heavier, or too low for the formula: ``b`` under ``s``).
    """
    tail = np.asarray(tail, dtype=np.float64)
    base = float(tail[0])
    if not spread > 0.0 or base <= spread:
        return None
    excess = float(np.mean(tail - base))
    if excess > spread**2 / base * (1.0 + FAINT_SHAPE_ERRORS / np.sqrt(len(tail))):
        return None
    values = np.maximum(np.asarray(values, dtype=np.float64), base)
    return len(tail) * (values / base) * np.exp(-(values**2 - base**2) / (2.0 * spread**2))


def robust_spread(values) -> float:
    """The standard deviation of ``values`` from their median absolute deviation."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return 0.0
    return 1.4826 * float(_median(np.abs(values - _median(values))))


__all__ = [
    "expected_background",
    "lone_low_pixels",
    "null_tail",
    "robust_spread",
]
