"""Faint particles, judged against the background far from the particles already kept.

Step 10 of :mod:`~napari_ivae.core.detection.particle_blobs` (the numbers below refer to its
overview): at the kept particles' median radius a difference of Gaussians, less the support's
level measured off the kept particles, for the faint particles away from them
(:func:`faint_particles`), cut at a false-discovery rate against the opposite side's maxima on
the background (:func:`null_tail` where that tail is a Gaussian field's). The ``FAINT_*``
distances and the tail's size are shared with step 8
(:mod:`~napari_ivae.core.detection.particle_far_background`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.field_noise import CONSTANT_NULL, constant_share
from napari_ivae.core.detection.particle_discs import within_discs
from napari_ivae.core.detection.particle_surround import SURROUND_SHARE, surround_share

FAINT_NARROW = 0.35  # faint particles: a Gaussian of this x the kept particles' median radius
FAINT_PIXEL = 1.0  # ... at least this many px where lone pixels reach below the counts
FAINT_WIDE = 3.0  # ... less one of this x that radius (the support's slow variation)
FAINT_APART = 0.6  # faint maxima at least this many median radii apart
FAINT_CLEAR = 0.6  # a faint particle lies this many median radii beyond every kept one's rim
FAINT_NULL = 1.5  # the background is measured this many median radii beyond every kept rim
FAINT_SYMMETRY = 0.9  # the quantile of the background's maxima at which both sides are compared
FAINT_TAIL = (20, 0.05)  # the other side's tail: the strongest max(20, 5 %) of its maxima
FAINT_DECAY_ERRORS = 2.0  # faint pass: the tail's decay this many standard errors above its mean
FAINT_FALSE = 0.75  # background maxima expected above the per-scale levels: at most this many
FAINT_DISCOVERY = 0.05  # faint particles: background maxima expected among the added, at most
# the Gaussian tail's count taken this many times over: at its word, the 5 % rate took one
# false point too many on a sparse low-dose frame (dark n40 r5 low dose P 0.971 -> 0.949)
FAINT_MODEL_MARGIN = 2.5
FAINT_SHAPE_ERRORS = 1.0  # a tail's mean excess this many standard errors over a Gaussian's
FAINT_SHARE = 0.25  # the Gaussian tail: candidates of at least this x the kept ones' 10th pct
FAINT_EDGE = 2.0  # faint particles lie this many median radii inside the frame's edge


def faint_particles(signal, points, radius, skip=None) -> tuple[np.ndarray, dict]:
    """Particles fainter than the scale-space cut, away from the kept ones (see 10.).

    Where the noise is counting noise (its variance follows a line in the mean,
    :func:`~napari_ivae.core.detection.count_noise.count_noise_line`, measured off the kept
    particles), the frame is first made counts to the power 2/3
    (:func:`~napari_ivae.core.detection.count_noise.symmetrised`): at a few counts a pixel
    Poisson noise is skewed toward the counts' high side, so that one side of the background
    reaches further than the other and the other is no null for it. The power evens each
    pixel's counts, not the filtered sums of pixels that share their events (an element
    map's exported 3 x 3 sum) or of well under a count a pixel: the skew left in the
    response (:func:`~napari_ivae.core.detection.count_skew.symmetrised_skew`) is taken out
    by reading each candidate at the level the opposite side reaches as often
    (:func:`~napari_ivae.core.detection.count_skew.opposite_levels`, a gamma of that skew and
    the background's spread) before it is compared with the null. At the kept particles'
    median radius ``r``, a Gaussian of ``FAINT_NARROW`` r (at least ``FAINT_PIXEL`` px where
    the background holds at least ``FAINT_TAIL[0]`` lone pixels below what its counting noise
    reaches, :func:`lone_low_pixels`: a camera's noisy pixels, whose symmetric spikes the
    power 2/3 leaves high but clips short on the null's side; a narrower Gaussian is the
    pixel itself and weighs them as particles) less the
    support's level: a Gaussian of ``FAINT_WIDE`` r over the pixels more than ``FAINT_CLEAR`` r
    beyond every kept particle's rim and outside the kept particles as drawn from their
    measured profiles (:func:`~napari_ivae.core.detection.particle_profiles.profile_model`)
    and outside the
    ``skip`` pixels (constant areas: a mosaic's zero border), normalised by their weight (the
    whole frame's, ``skip`` left out, where they weigh under 5 %). Over the whole frame that level
    holds the kept particles, which lowers the response of a particle beside them and rings
    every cluster with the opposite sign, the null's strongest maxima. Its maxima
    (``FAINT_APART`` r apart, among the pixels off the kept particles, see :func:`_peaks`) in
    that area and more than ``FAINT_EDGE`` r inside the frame are the candidates. The
    background is what lies more than ``FAINT_NULL`` r beyond every rim (no kept particle's
    ring, no gap between packed ones): there a support's texture and noise reach as far on
    the opposite side as on the particles' side, so the opposite side's maxima are the null.
    If the particles' side is the stronger at the ``FAINT_SYMMETRY`` quantile of the
    background's maxima (of the difference of Gaussians over the whole frame: measured off
    the kept particles, the missed ones can lift that side), a one-sided population
    (out-of-focus objects, debris) lives there and nothing is added. Where most of the
    background is constant (``skip``: :func:`~napari_ivae.core.detection.field_noise.constant_share`,
    a rendered image's black, which holds no null) the maxima of mass above the valley
    between the frame's populations of mass are added instead (:func:`_faint_by_mass`).
    Otherwise the cut is the
    lowest at which the background maxima expected above it in the candidates' area (the
    opposite side's count, its tail extended exponentially from its strongest ``FAINT_TAIL``
    maxima with the decay ``FAINT_DECAY_ERRORS`` standard errors above its estimate, or
    where that tail is a Gaussian field's, the fewer that field's maxima reach, see
    :func:`null_tail`, or one of the background's own level and roughness, tile by tile,
    :mod:`~napari_ivae.core.detection.field_noise`; for candidates of at least ``FAINT_SHARE``
    of the kept particles' 10th percentile; scaled by the areas) are at most ``FAINT_DISCOVERY``
    of the candidates above it: a false-discovery rate, the same on a frame and on the same field cut into
    tiles. A candidate above the cut must stand above its surround
    (:func:`~napari_ivae.core.detection.particle_surround.surround_share`), or, where it does not,
    both with the kept particles as drawn taken out and with their pixels as no surround (a
    touching kept neighbour is no surround of it).

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
    from napari_ivae.core.detection.count_noise import count_noise_line, symmetrised
    from napari_ivae.core.detection.count_skew import opposite_levels, symmetrised_skew
    from napari_ivae.core.detection.field_noise import local_field_maxima
    from napari_ivae.core.detection.particle_profiles import profile_model

    none = np.zeros((0, 2), dtype=np.int64)
    points = np.asarray(points).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    info: dict = {
        "faint_radius": None,
        "faint_noise_line": None,
        "faint_symmetry": None,
        "faint_constant": None,
        "faint_cut": None,
        "faint_null_tail": None,
        "faint": 0,
    }
    if len(points) < 3:
        return none, info
    signal = np.asarray(signal, dtype=np.float32)
    r = float(np.median(radius))
    info["faint_radius"] = round(r, 3)
    # the support's slow variation measured off the kept particles (beyond FAINT_CLEAR r of
    # their rims and outside their drawn profiles, where candidates are looked for): taken
    # over the whole frame it holds the kept particles, which lowers the response beside
    # them and rings every cluster with the opposite sign, the null's strongest maxima. A
    # disc from the blob's scale can end inside a large particle; its drawn profile does not
    model = profile_model(signal, points, radius / np.sqrt(2.0))
    drawn = model > 0
    off = ~within_discs(signal.shape, points, radius + FAINT_CLEAR * r) & ~drawn
    # a constant area (zero padding round a mosaic) is no support: taken into the support's
    # level it pulls the level down as far as the wide Gaussian reaches into the data, and
    # the background's noise there passes for faint particles (stranger_fresh.py
    # mosaic_seams: 195 "faint" points 10-50 px inside a black border)
    if skip is not None:
        off &= ~np.asarray(skip, dtype=bool)
    line = count_noise_line(signal, off)
    if line is not None:
        info["faint_noise_line"] = [float(f"{value:.4g}") for value in line]
    values = signal if line is None else symmetrised(signal, line)
    narrow_width = FAINT_NARROW * r
    # (the count, a full-frame median of eight, only where the floor would widen the filter)
    if (
        line is not None
        and narrow_width < FAINT_PIXEL
        and lone_low_pixels(signal, off, line) >= FAINT_TAIL[0]
    ):
        narrow_width = FAINT_PIXEL
    info["faint_narrow"] = round(narrow_width, 3)
    narrow = gaussian_smooth(values, narrow_width)
    whole = _level_over(values, skip, FAINT_WIDE * r)
    weight = gaussian_smooth(off.astype(np.float32), FAINT_WIDE * r)
    support = gaussian_smooth(np.where(off, values, 0.0), FAINT_WIDE * r)
    measured = weight > 0.05  # elsewhere too little background nearby: the whole frame's
    support[measured] /= weight[measured]
    support[~measured] = whole[~measured]
    response = narrow - support
    # near the edge the support's window is half the frame's reflection, which folds a
    # vignetting or a gradient into a valley or a ridge along the edge and counts the edge's
    # noise twice; the background's maxima, mostly inside, understate what it reaches there
    # (stranger_particles.py bf_sparse26: faint "particles" 1-1.5 r from a vignetted edge)
    usable = np.zeros(signal.shape, dtype=bool)
    margin = int(np.ceil(FAINT_EDGE * r))
    usable[margin : signal.shape[0] - margin, margin : signal.shape[1] - margin] = True
    if skip is not None:
        usable &= ~np.asarray(skip, dtype=bool)
    candidate_area = usable & off
    beyond = ~within_discs(signal.shape, points, radius + FAINT_NULL * r)
    # a mostly constant background holds no null (:func:`.field_noise.constant_share`)
    info["faint_constant"] = round(constant_share(beyond, skip), 3)
    if info["faint_constant"] > CONSTANT_NULL:
        return _faint_by_mass(signal, points, radius, off & usable, skip, info), info
    background = usable & beyond
    size = 2 * int(np.ceil(FAINT_APART * r)) + 1
    if not background.any() or not candidate_area.any():
        return none, info
    null_rows, null_cols = _peaks(-response, off, size)
    opposite = np.sort(-response[null_rows, null_cols][background[null_rows, null_cols]])
    rows, cols = _peaks(response, off, size)
    # whether the background is two-sided is judged with the whole frame's slow variation:
    # with the support's level measured off the kept particles, the missed ones among the
    # background's maxima lift its particles' side past the other at the symmetry quantile
    # (bright n150 r6 low dose)
    plain = narrow - whole
    sides = []
    for sign in (1.0, -1.0):
        at = local_maxima(sign * plain, size, 0.0)
        sides.append(sign * plain[at][background[at]])
    if min(len(opposite), *(len(side) for side in sides)) < FAINT_TAIL[0]:
        return none, info
    level = tuple(float(np.quantile(side, FAINT_SYMMETRY)) for side in sides)
    info["faint_symmetry"] = [round(x, 4) for x in level]
    if level[0] > level[1]:  # one-sided background: the other side is no null for it
        return none, info
    inside = candidate_area[rows, cols]
    rows, cols = rows[inside], cols[inside]
    strength = response[rows, cols]
    order = np.argsort(-strength, kind="stable")
    rows, cols, strength = rows[order], cols[order], strength[order]
    scale = float(candidate_area.sum()) / float(background.sum())
    tail = max(FAINT_TAIL[0], int(FAINT_TAIL[1] * len(opposite)))
    base = float(opposite[-tail])
    spread = _robust_spread(response[background])
    # the candidates as the opposite side reads them, where counting noise shared between
    # neighbouring pixels leaves the particles' side the longer tail (an exported map's
    # smoothing: the power 2/3 evens each pixel, not their filtered sums)
    skew = None
    if line is not None:
        widths = (narrow_width, FAINT_WIDE * r)
        skew = symmetrised_skew(signal, off, line, widths, spread)
    info["faint_skew"] = None if skew is None else round(skew, 4)
    read = opposite_levels(strength, 0.0 if skew is None else skew, spread)
    # the background maxima expected above each candidate's value, in the candidates' area
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
    expected = scale * np.where(read > base, above, count.astype(np.float64))
    # a share of the candidates taken, not a number a frame: a frame's number is stricter on
    # a large frame than on a small one (a low-dose 384 px field gave 4 faint particles, the
    # 768 px frame of it mirrored four times none), and a rate per background maximum lets
    # a large frame of small particles that holds no faint one take its noise's strongest
    # (stranger_particles.py bf_small300: 1-2 false points a frame)
    passing = np.flatnonzero(expected <= FAINT_DISCOVERY * np.arange(1, len(strength) + 1))
    if not len(passing):
        return none, info
    take = int(passing[-1]) + 1
    info["faint_cut"] = round(float(strength[take - 1]), 6)
    found = np.stack([rows[:take], cols[:take]], axis=1).astype(np.int64)
    sigma = np.full(take, r / np.sqrt(2.0))
    above = surround_share(signal, found, sigma) >= SURROUND_SHARE
    if not above.all():
        # a kept neighbour touching a faint particle fills sectors of its ring (the low-dose
        # rows of the robustness table: 33 of 565 missed particles, nearly all touching one):
        # it stands above its surround with the kept particles as drawn taken out, and also
        # where their pixels are no surround at all (taken out, the drawn profile of a
        # particle on the rim of a larger area lowers that area's side: PtCo1, a false point)
        beside = ~above
        clear = surround_share(np.subtract(signal, model), found[beside], sigma[beside])
        free = surround_share(np.where(drawn, signal.min(), signal), found[beside], sigma[beside])
        above[beside] = (clear >= SURROUND_SHARE) & (free >= SURROUND_SHARE)
    found = found[above]
    info["faint"] = int(len(found))
    return found, info


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


def _level_over(values, skip, sigma) -> np.ndarray:
    """A Gaussian of ``sigma`` over ``values``, the ``skip`` pixels left out (each pixel's
    weighted mean of the others; the whole frame's Gaussian where none is skipped)."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    if skip is None or not np.any(skip):
        return gaussian_smooth(values, sigma)
    kept = ~np.asarray(skip, dtype=bool)
    weight = gaussian_smooth(kept.astype(np.float32), sigma)
    total = gaussian_smooth(np.where(kept, values, 0.0), sigma)
    level = gaussian_smooth(values, sigma)
    np.divide(total, weight, out=level, where=weight > 0.05)
    return level


def _robust_spread(values) -> float:
    """The standard deviation of ``values`` from their median absolute deviation."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return 0.0
    return 1.4826 * float(_median(np.abs(values - _median(values))))


def _faint_by_mass(signal, points, radius, area, skip, info) -> np.ndarray:
    """On a mostly constant background: the maxima away from the kept particles whose mass
    lies above the valley between the frame's two populations of mass.

    A constant background holds no noise, so no null to cut a response against; but it adds
    nothing to a blob's mass (its sum over the constant level), and a Laplacian's ring weighs a
    diffuse blob below a compact one of less mass (a nanocluster of 15 localisations spread
    over 3.5 px reads no stronger than a molecule's 5 repeats within 2 px). The mass at the
    kept particles' median scale, ``r / sqrt(2)``, gives two populations where the frame holds
    particles and lesser objects; the valley between them
    (:func:`~napari_ivae.core.detection.particle_valley.valley_cut`) is the cut, where the
    kept particles lie above it.

    Returns
    -------
    numpy.ndarray
        ``(M, 2)`` integer centres of the particles added.
    """
    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.particle_valley import valley_cut

    none = np.zeros((0, 2), dtype=np.int64)
    constant = np.asarray(skip, dtype=bool)
    if not constant.any() or not area.any():
        return none
    sigma = float(np.median(radius)) / np.sqrt(2.0)
    level = _median(signal[constant])
    mass = gaussian_smooth(signal - level, sigma) * (2.0 * np.pi * sigma**2)
    size = 2 * int(np.ceil(FAINT_APART * np.sqrt(2.0) * sigma)) + 1
    rows, cols = _peaks(mass, ~constant, size)
    cut = valley_cut(mass[rows, cols])
    kept = mass[points[:, 0], points[:, 1]]
    if cut is None or float(np.median(kept)) < cut:
        return none
    info["faint_cut"] = round(cut, 6)
    take = (mass[rows, cols] >= cut) & area[rows, cols]
    info["faint"] = int(take.sum())
    return np.stack([rows[take], cols[take]], axis=1).astype(np.int64)


def _peaks(response, off, size):
    """Maxima of ``response`` over its ``size`` square among the ``off`` pixels, which are
    also maxima of their 3 x 3 neighbourhood in the whole response. Over the whole frame a
    touching kept neighbour's flank within the square swallows a faint particle's maximum;
    among the ``off`` pixels alone a kept particle's flank would end in a maximum at the
    edge of its mask (not a maximum of its neighbourhood)."""
    from napari_ivae.core.detection._filters import local_maxima

    rows, cols = local_maxima(np.where(off, response, -np.inf), size, 0.0)
    padded = np.pad(response, 1, mode="edge")
    value = response[rows, cols]
    top = np.ones(len(rows), dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            top &= padded[rows + 1 + dy, cols + 1 + dx] <= value
    return rows[top], cols[top]


__all__ = [
    "faint_particles",
    "lone_low_pixels",
    "null_tail",
]
