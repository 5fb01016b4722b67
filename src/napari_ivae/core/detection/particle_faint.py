"""Faint particles, judged against the background far from the particles already kept.

Step 10 of :mod:`~napari_ivae.core.detection.particle_blobs` (the numbers below refer to its
overview): at the kept particles' median radius a difference of Gaussians, less the support's
level measured off the kept particles, for the faint particles away from them
(:func:`faint_particles`), cut at a false-discovery rate against the opposite side's maxima on
the background (:mod:`~.particle_faint_null`; by mass on a constant background,
:mod:`~.particle_faint_mass`). The ``FAINT_*`` distances and the tail's size are shared with
step 8 (:mod:`~napari_ivae.core.detection.particle_far_background`).
"""

from __future__ import annotations

import numpy as np

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
FAINT_FALSE = 0.75  # background maxima expected above the per-scale levels: at most this many
FAINT_DISCOVERY = 0.05  # faint particles: background maxima expected among the added, at most
FAINT_EDGE = 2.0  # faint particles lie this many median radii inside the frame's edge


def faint_particles(signal, points, radius, skip=None, sensitivity=1.0) -> tuple[np.ndarray, dict]:
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
    the background's spread) before it is compared with the null.

    At the kept particles' median radius ``r``, a Gaussian of ``FAINT_NARROW`` r (at least
    ``FAINT_PIXEL`` px where the background holds at least ``FAINT_TAIL[0]`` lone pixels
    below what its counting noise reaches,
    :func:`~.particle_faint_null.lone_low_pixels`: a camera's noisy pixels, whose symmetric
    spikes the power 2/3 leaves high but clips short on the null's side; a narrower Gaussian
    is the pixel itself and weighs them as particles) less the support's level: a Gaussian
    of ``FAINT_WIDE`` r over the pixels more than ``FAINT_CLEAR`` r beyond every kept
    particle's rim and outside the kept particles as drawn from their measured profiles
    (:func:`~napari_ivae.core.detection.particle_profiles.profile_model`) and outside the
    ``skip`` pixels (constant areas: a mosaic's zero border), normalised by their weight
    (the whole frame's, ``skip`` left out, where they weigh under 5 %). Over the whole frame
    that level holds the kept particles, which lowers the response of a particle beside
    them and rings every cluster with the opposite sign, the null's strongest maxima. Its
    maxima (``FAINT_APART`` r apart, among the pixels off the kept particles, see
    :func:`peaks_off`) in that area and more than ``FAINT_EDGE`` r inside the frame are the
    candidates.

    The background is what lies more than ``FAINT_NULL`` r beyond every rim (no kept
    particle's ring, no gap between packed ones): there a support's texture and noise reach
    as far on the opposite side as on the particles' side, so the opposite side's maxima are
    the null. If the particles' side is the stronger at the ``FAINT_SYMMETRY`` quantile of
    the background's maxima (of the difference of Gaussians over the whole frame: measured
    off the kept particles, the missed ones can lift that side), a one-sided population
    (out-of-focus objects, debris) lives there and nothing is added. Where most of the
    background is constant (``skip``:
    :func:`~napari_ivae.core.detection.field_noise.constant_share`, a rendered image's
    black, which holds no null) the maxima of mass above the valley between the frame's
    populations of mass are added instead (:func:`~.particle_faint_mass.faint_by_mass`).
    Otherwise the cut is the lowest at which the background maxima expected above it in the
    candidates' area (:func:`~.particle_faint_null.expected_background`) are at most
    ``FAINT_DISCOVERY`` of the candidates above it: a false-discovery rate, the same on a
    frame and on the same field cut into tiles. A candidate above the cut must stand above
    its surround (:func:`~napari_ivae.core.detection.particle_surround.surround_share`), or,
    where it does not, both with the kept particles as drawn taken out and with their pixels
    as no surround (a touching kept neighbour is no surround of it).

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
    sensitivity : float
        The user's: the false-discovery cut's strength is divided by it (1: as measured).

    Returns
    -------
    (numpy.ndarray, dict)
        ``(M, 2)`` integer centres of the faint particles (their radius is ``r``) and what
        was measured (``faint_*`` entries of the resolved parameters).
    """
    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.count_noise import count_noise_line, symmetrised
    from napari_ivae.core.detection.count_skew import opposite_levels, symmetrised_skew
    from napari_ivae.core.detection.particle_faint_mass import faint_by_mass
    from napari_ivae.core.detection.particle_faint_null import expected_background, robust_spread
    from napari_ivae.core.detection.particle_line_offsets import line_offsets
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
        "faint_lines": None,
    }
    if len(points) < 3:
        return none, info
    signal = np.asarray(signal, dtype=np.float32)
    r = float(np.median(radius))
    info["faint_radius"] = round(r, 3)
    # a disc from the blob's scale can end inside a large particle; its drawn profile does not
    model = profile_model(signal, points, radius / np.sqrt(2.0))
    drawn = model > 0
    off = _off_particles(signal.shape, points, radius, r, drawn, skip)
    line = count_noise_line(signal, off)
    if line is not None:
        info["faint_noise_line"] = [float(f"{value:.4g}") for value in line]
    values = signal if line is None else symmetrised(signal, line)
    narrow_width = _narrow_width(signal, off, line, r)
    info["faint_narrow"] = round(narrow_width, 3)
    narrow = gaussian_smooth(values, narrow_width)
    whole = _level_over(values, skip, FAINT_WIDE * r)
    # whether the background is two-sided is judged as the frame came (below)
    plain = narrow - whole
    # the off pixels' weight, the same for the levelled frame's support below
    off_weight = gaussian_smooth(off.astype(np.float32), FAINT_WIDE * r)
    support = _support_level(values, off, lambda: whole, off_weight, FAINT_WIDE * r)
    levelled, info["faint_lines"] = line_offsets(values, off, support, FAINT_TAIL[0])
    if info["faint_lines"] is not None:
        narrow = gaussian_smooth(levelled, narrow_width)
        support = _support_level(
            levelled,
            off,
            lambda: _level_over(levelled, skip, FAINT_WIDE * r),
            off_weight,
            FAINT_WIDE * r,
        )
    response = narrow - support
    usable = _inside_edge(signal.shape, r, skip)
    candidate_area = usable & off
    beyond = ~within_discs(signal.shape, points, radius + FAINT_NULL * r)
    # a mostly constant background holds no null (:func:`.field_noise.constant_share`)
    info["faint_constant"] = round(constant_share(beyond, skip), 3)
    if info["faint_constant"] > CONSTANT_NULL:
        return faint_by_mass(signal, points, radius, off & usable, skip, info), info
    background = usable & beyond
    size = 2 * int(np.ceil(FAINT_APART * r)) + 1
    if not background.any() or not candidate_area.any():
        return none, info
    null_rows, null_cols = peaks_off(-response, off, size)
    opposite = np.sort(-response[null_rows, null_cols][background[null_rows, null_cols]])
    # whether the background is two-sided is judged with the whole frame's slow variation:
    # with the support's level measured off the kept particles, the missed ones among the
    # background's maxima lift its particles' side past the other at the symmetry quantile
    # (bright n150 r6 low dose)
    if not _two_sided(plain, background, size, len(opposite), info):
        return none, info
    rows, cols = peaks_off(response, off, size)
    inside = candidate_area[rows, cols]
    rows, cols = rows[inside], cols[inside]
    strength = response[rows, cols]
    order = np.argsort(-strength, kind="stable")
    rows, cols, strength = rows[order], cols[order], strength[order]
    tail = max(FAINT_TAIL[0], int(FAINT_TAIL[1] * len(opposite)))
    spread = robust_spread(response[background])
    # the candidates as the opposite side reads them, where counting noise shared between
    # neighbouring pixels leaves the particles' side the longer tail (an exported map's
    # smoothing: the power 2/3 evens each pixel, not their filtered sums)
    skew = None
    if line is not None:
        widths = (narrow_width, FAINT_WIDE * r)
        skew = symmetrised_skew(signal, off, line, widths, spread)
    info["faint_skew"] = None if skew is None else round(skew, 4)
    read = opposite_levels(strength, 0.0 if skew is None else skew, spread)
    null = (opposite, tail, spread)
    areas = (background, candidate_area)
    expected = expected_background(read, strength, null, response, points, areas, r, info)
    # a share of the candidates taken, not a number a frame: a frame's number is stricter on
    # a large frame than on a small one (a low-dose 384 px field gave 4 faint particles, the
    # 768 px frame of it mirrored four times none), and a rate per background maximum lets
    # a large frame of small particles that holds no faint one take its noise's strongest
    # (stranger_particles.py bf_small300: 1-2 false points a frame)
    passing = np.flatnonzero(expected <= FAINT_DISCOVERY * np.arange(1, len(strength) + 1))
    if not len(passing):
        return none, info
    take = int(passing[-1]) + 1
    if sensitivity != 1.0:  # strength sorted descending: those at least the cut / sensitivity
        take = int(np.searchsorted(-strength, -strength[take - 1] / sensitivity, side="right"))
    info["faint_cut"] = round(float(strength[take - 1]), 6)
    found = np.stack([rows[:take], cols[:take]], axis=1).astype(np.int64)
    found = found[_above_surround(signal, found, r, model, drawn)]
    info["faint"] = int(len(found))
    return found, info


def _off_particles(shape, points, radius, r, drawn, skip) -> np.ndarray:
    """The pixels more than ``FAINT_CLEAR`` r beyond every kept particle's rim, outside the
    kept particles as drawn and outside ``skip``: where the support's level is measured and
    candidates are looked for."""
    # the support's slow variation measured there: taken over the whole frame it holds the
    # kept particles, which lowers the response beside them and rings every cluster with
    # the opposite sign, the null's strongest maxima
    off = ~within_discs(shape, points, radius + FAINT_CLEAR * r) & ~drawn
    # a constant area (zero padding round a mosaic) is no support: taken into the support's
    # level it pulls the level down as far as the wide Gaussian reaches into the data, and
    # the background's noise there passes for faint particles (stranger_fresh.py
    # mosaic_seams: 195 "faint" points 10-50 px inside a black border)
    if skip is not None:
        off &= ~np.asarray(skip, dtype=bool)
    return off


def _narrow_width(signal, off, line, r) -> float:
    """The narrow Gaussian's width: ``FAINT_NARROW`` r, at least ``FAINT_PIXEL`` px where
    the background holds a camera's lone noisy pixels."""
    from napari_ivae.core.detection.particle_faint_null import lone_low_pixels

    width = FAINT_NARROW * r
    # (the count, a full-frame median of eight, only where the floor would widen the filter)
    if (
        line is not None
        and width < FAINT_PIXEL
        and lone_low_pixels(signal, off, line) >= FAINT_TAIL[0]
    ):
        width = FAINT_PIXEL
    return width


def _support_level(values, off, whole, weight, sigma) -> np.ndarray:
    """The support's level: a Gaussian of ``sigma`` over the ``off`` pixels, normalised by
    their ``weight`` (that Gaussian of ``off`` itself); the frame's level (``whole()``, made
    only where some pixel reads it) where they weigh under 5 %."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    support = gaussian_smooth(np.where(off, values, 0.0), sigma)
    measured = weight > 0.05  # elsewhere too little background nearby: the whole frame's
    support[measured] /= weight[measured]
    unmeasured = ~measured
    if unmeasured.any():
        support[unmeasured] = whole()[unmeasured]
    return support


def _inside_edge(shape, r, skip) -> np.ndarray:
    """The pixels more than ``FAINT_EDGE`` r inside the frame's edge, ``skip`` left out."""
    # near the edge the support's window is half the frame's reflection, which folds a
    # vignetting or a gradient into a valley or a ridge along the edge and counts the edge's
    # noise twice; the background's maxima, mostly inside, understate what it reaches there
    # (stranger_particles.py bf_sparse26: faint "particles" 1-1.5 r from a vignetted edge)
    usable = np.zeros(shape, dtype=bool)
    margin = int(np.ceil(FAINT_EDGE * r))
    usable[margin : shape[0] - margin, margin : shape[1] - margin] = True
    if skip is not None:
        usable &= ~np.asarray(skip, dtype=bool)
    return usable


def _two_sided(plain, background, size, opposite_count, info) -> bool:
    """Whether both sides of the background's maxima (of ``plain``, the narrow Gaussian
    less the whole frame's slow variation) are long enough to compare, and the particles'
    side is not the stronger at the ``FAINT_SYMMETRY`` quantile (a one-sided background:
    the other side is no null for it)."""
    from napari_ivae.core.detection._filters import local_maxima

    sides = []
    for sign in (1.0, -1.0):
        at = local_maxima(sign * plain, size, 0.0)
        sides.append(sign * plain[at][background[at]])
    if min(opposite_count, *(len(side) for side in sides)) < FAINT_TAIL[0]:
        return False
    level = tuple(float(np.quantile(side, FAINT_SYMMETRY)) for side in sides)
    info["faint_symmetry"] = [round(x, 4) for x in level]
    return level[0] <= level[1]


def _above_surround(signal, found, r, model, drawn) -> np.ndarray:
    """Which faint particles (radius ``r``) stand above their surround, or, where one does
    not, both with the kept particles as drawn (``model``) taken out and with their pixels
    (``drawn``) as no surround."""
    sigma = np.full(len(found), r / np.sqrt(2.0))
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
    return above


def _level_over(values, skip, sigma) -> np.ndarray:
    """A Gaussian of ``sigma`` over ``values``, the ``skip`` pixels left out (each pixel's
    weighted mean of the others; the whole frame's Gaussian where none is skipped)."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    if skip is None or not np.any(skip):
        return gaussian_smooth(values, sigma)
    kept = ~np.asarray(skip, dtype=bool)
    weight = gaussian_smooth(kept.astype(np.float32), sigma)
    total = gaussian_smooth(np.where(kept, values, 0.0), sigma)
    measured = weight > 0.05
    # the whole frame's Gaussian only where some pixel reads it
    level = np.empty_like(total) if measured.all() else gaussian_smooth(values, sigma)
    np.divide(total, weight, out=level, where=measured)
    return level


def peaks_off(response, off, size):
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
    "peaks_off",
]
