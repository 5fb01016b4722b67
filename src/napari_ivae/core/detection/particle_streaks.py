"""Faint "particles" on a streak along the scan lines that leads to a kept particle.

A scanned frame (SEM, STEM, AFM) is written row by row. A particle that charges (SEM) or that
the feedback overshoots (AFM, a tip change) leaves a bright streak that starts at its edge and
runs along the rows for many particle widths. The faint pass
(:func:`~napari_ivae.core.detection.particle_faint.faint_particles`) finds that streak's noise
maxima as particles: each is as strong as a faint particle, but its excess continues along
the row on both sides, reaches a kept particle, and is gone a few pixels above and below.
A faint particle of any shape (a rod, an irregular blob) ends within a few of its radii; one
touching a kept particle does not continue on its other side; a rod across the rows has its
excess above and below; a rod's middle found faint between its two found ends lies on a short
stretch between them.

A streak that runs into the next particle on its row leaves a short stretch between two kept
particles too, as high all the way to both, with no free side to follow. Alone it reads as a
rod's middle; where the same frame holds streaks the full test marks (at least
``STREAK_CONFIRMED``), its scan charges, and a thin maximum gone across the row that joins two
kept particles so is on one of its streaks.

:func:`on_scan_streaks` marks those maxima.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

STREAK_ALONG = 0.5  # along the row, the excess stays at least this share of the centre's
STREAK_ACROSS = 0.35  # above and below (r to 3 r), the excess is at most this share
STREAK_REACH = 3.0  # on its free side, the row's excess continues this many radii past r
STREAK_SPAN = 4.0  # the row's free stretch between kept particles is at least this many radii
STREAK_THIN = 0.6  # half a radius to a radius above and below, the excess is under this share
STREAK_SMOOTH = 0.5  # the frame is smoothed by a Gaussian of this x the faint radius
STREAK_CONFIRMED = 2  # marked streaks that show a frame's scan charges (more than one chance)


def on_scan_streaks(signal, faint, faint_radius, kept_points, kept_radius) -> np.ndarray:
    """Which ``faint`` points lie on a streak along the rows that leads to a kept particle.

    The kept particles' discs are grown by ``r`` (``faint_radius``: a bright rim, the
    smoothing reach past a blob's radius); a faint point inside them is not judged. The frame
    is smoothed by a Gaussian of ``STREAK_SMOOTH`` r; a faint point's excess is its value less
    the median of the ring ``2 r`` to ``4 r`` around it off the discs (one whose ring the
    discs half cover lies in a crowd and is not judged). It is on a streak where
    (i) along its row, on a side free of the discs from ``r`` to ``r + STREAK_REACH r``, the
    mean excess there is at least ``STREAK_ALONG`` of its own, (ii) on a side the row reaches a disc with
    every window of ``r`` pixels on the way at least that high, (iii)
    the mean excess from ``r`` to ``3 r`` above and below it, along the column and both
    diagonals, off the discs (a line half covered by them is not read), is at most
    ``STREAK_ACROSS`` of its own, and (iv) the row's stretch between the discs (or
    the frame's edge) on either side is at least ``STREAK_SPAN`` r long. Where at least
    ``STREAK_CONFIRMED`` points are so marked, a point that passes (iii), whose row reaches a
    disc on both sides as high all the way (ii), is marked too, crowded or not (a streak
    between two particles on its row).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    faint : numpy.ndarray
        ``(M, 2)`` integer centres of the faint particles.
    faint_radius : float
        Their radius (pixels).
    kept_points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept particles.
    kept_radius : array-like
        ``(N,)`` their radii (pixels).

    Returns
    -------
    numpy.ndarray of bool
        ``(M,)``: True for a point on such a streak.
    """
    from napari_ivae.core.detection.particle_discs import within_discs

    faint = np.asarray(faint, dtype=np.int64).reshape(-1, 2)
    streak = np.zeros(len(faint), dtype=bool)
    if not len(faint) or not len(kept_points) or not faint_radius or faint_radius <= 0:
        return streak
    r = float(faint_radius)
    reach = int(np.ceil(4 * r))
    # a kept particle's edge reaches past its blob radius (a bright rim, the smoothing)
    cover = within_discs(signal.shape, kept_points, np.asarray(kept_radius) + r)
    judged = np.flatnonzero(~cover[faint[:, 0], faint[:, 1]])
    # row by row: the points of one row share its smoothed band (a dense frame's thousands
    # of faint points lie on far fewer rows)
    judged = judged[np.argsort(faint[judged, 0], kind="stable")]
    band_row, band, top = -1, None, 0
    between = np.zeros(len(faint), dtype=bool)
    for k in judged.tolist():
        i, j = int(faint[k, 0]), int(faint[k, 1])
        if i != band_row:
            top, bottom = max(i - reach - 1, 0), min(i + reach + 2, signal.shape[0])
            band = ndimage.gaussian_filter(
                np.asarray(signal[top:bottom], dtype=np.float64), STREAK_SMOOTH * r
            )
            band_row = i
        streak[k], between[k] = _on_streak(band, cover[top:bottom], i - top, j, r)
    if int(streak.sum()) >= STREAK_CONFIRMED:
        streak |= between
    return streak


def without_streaks(signal, faint, faint_used, kept_points, kept_radius):
    """``faint`` less the points :func:`on_scan_streaks` marks, and ``faint_used`` (the faint
    pass's resolved parameters) with ``faint`` recounted and ``faint_streaks`` (those
    dropped) added."""
    streaks = on_scan_streaks(
        signal, faint, faint_used.get("faint_radius"), kept_points, kept_radius
    )
    kept = np.asarray(faint).reshape(-1, 2)[~streaks]
    return kept, {**faint_used, "faint": int(len(kept)), "faint_streaks": int(streaks.sum())}


def _on_streak(band, cover, i, j, r) -> tuple[bool, bool]:
    """Tests (i)-(iv) of :func:`on_scan_streaks` at ``(i, j)`` of the smoothed ``band``, and
    whether the point is thin, gone across and joins two discs on its row as high (a streak
    between two particles where the frame's scan charges)."""
    if cover[i, j]:
        return False, False  # by a kept particle's edge: no streak of its own to judge
    reach = int(np.ceil(4 * r))
    left, right = max(j - reach, 0), min(j + reach + 1, band.shape[1])
    rows, cols = np.ogrid[: band.shape[0], left:right]
    distance = np.hypot(rows - i, cols - j)
    ring = (distance >= 2 * r) & (distance <= 4 * r)
    crowded = 2 * int((ring & ~cover[:, left:right]).sum()) < int(ring.sum())
    ring &= ~cover[:, left:right]
    if not ring.any():
        return False, False
    level = float(np.median(band[:, left:right][ring]))
    excess = float(band[i, j]) - level
    if excess <= 0:
        return False, False
    near, far = int(np.ceil(r)), int(np.ceil(3 * r))
    half = np.arange(max(int(round(r / 2)), 1), near + 1)
    for sign in (1, -1):
        # (v) thinner than a faint particle: half its radius to its radius above and below
        at_i = i + sign * half
        at_i = at_i[(at_i >= 0) & (at_i < band.shape[0])]
        if len(at_i) and float(np.mean(band[at_i, j])) - level > STREAK_THIN * excess:
            return False, False
    steps = np.arange(near, far + 1)
    for di, dj in ((1, 0), (1, 1), (1, -1)):
        # (iii) gone across the row (the column, the diagonals) on both sides; a kept
        # particle there is none of its own excess, and a line it mostly fills says nothing
        for sign in (1, -1):
            at_i, at_j = i + sign * di * steps, j + sign * dj * steps
            inside = (at_i >= 0) & (at_i < band.shape[0]) & (at_j >= 0) & (at_j < band.shape[1])
            at_i, at_j = at_i[inside], at_j[inside]
            free_line = ~cover[at_i, at_j]
            if 2 * int(free_line.sum()) < len(steps):
                continue
            line = band[at_i[free_line], at_j[free_line]]
            if float(np.mean(line)) - level > STREAK_ACROSS * excess:
                return False, False
    window = max(int(round(r)), 1)
    length = int(np.ceil(STREAK_REACH * r))
    reached = free = False
    stretch, joined = 1, 0
    for row, row_cover in (
        (band[i, j + 1 :], cover[i, j + 1 :]),
        (band[i, :j][::-1], cover[i, :j][::-1]),
    ):
        ends = np.flatnonzero(row_cover)
        stop = int(ends[0]) if len(ends) else len(row)
        stretch += stop
        if stop >= near + length:  # (i) past its own radius, free of kept particles
            beyond = row[near : near + length]
            free = free or float(np.mean(beyond)) - level >= STREAK_ALONG * excess
        if len(ends):  # (ii) a side that reaches a kept particle as high all the way
            way = row[:stop] - level
            if len(way) > window:
                way = np.convolve(way, np.ones(window) / window, mode="valid")
            high = not len(way) or float(way.min()) >= STREAK_ALONG * excess
            reached, joined = reached or high, joined + int(high)
    # (iv) a faint stretch shorter than that between two kept particles on the row is a
    # particle between them (a rod's middle between its found ends)
    between = joined == 2
    if crowded:  # among kept particles: a crowd's gaps, no open background to streak on
        return False, between
    return free and reached and stretch >= STREAK_SPAN * r, between
