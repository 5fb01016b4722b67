"""Blobs in the wake of a saturated particle along the fast scan: no particles.

A scanned frame is written line by line. Where a particle charges (SEM) or the detector lags
(afterglow), the signal stays high after the particle along the fast scan and decays over
several particle widths, each line with an amplitude of its own. The noise on that wake holds
maxima as strong as a faint particle's, which the scale-space search, the particles beside kept
ones and the faint pass all keep; the faint pass's streak test
(:mod:`~napari_ivae.core.detection.particle_streaks`) judges only its own points, and only
where the streak is thin.

:func:`in_wakes` reads the wakes from the frame itself. The sources are the kept particles
saturated over at least ``SATURATED`` of their disc (the frame's maximum held as a plateau:
a charging particle clips the detector). The fast scan's direction is the side of the sources
(right, left, down or up) where the signal past their edge stands highest above the
background, at least ``WAKE_SIDE`` x as high as on any other side; a frame whose saturated
particles show no such side has no wake. A kept blob is in a wake where it lies in a source's
lines past its edge (on its own line: a line near the source's top starts the wake sooner) on
that side, the signal along its lines from the source's edge to the blob stays, every window
of its radius, at least ``WAKE_SHARE`` of the blob's own excess over the background (the
frame's median off the kept discs), and just past the blob's far side (a window of its radius)
still at least ``WAKE_ON`` of it: a wake goes on past its maxima, a particle in it stands above
it and ends at its edge.

Where the wake fades along the blob (its level before the blob well above its level past it),
the share test above misses its maxima. Given the frame's pixel noise, a blob in a source's
lines past its edge, the wake reaching it (above the level, every window of its radius, from
the source's edge to the blob), is in the wake too where its height over the wake's level interpolated
across it (the mean of the windows of its radius just before and just past it, on its lines)
is no more than white noise's: the standard errors of that difference that white noise
reaches ``NOISE_BLOBS`` times in the frame, one try per patch the blob's disc's size
(:mod:`~napari_ivae.core.detection.particle_threshold`'s floor). A particle in a wake stands
on it by far more.

Measured on benchmarks/stranger_blind.py's sem_shadow_charging (spheres r 6-20, one in six
charging: saturated, its lines after it bright by 0.3-0.6 of the substrate's level, decaying
over 20-60 px): the wake's blobs stand 0.36-0.94 of their excess past their far side (a few
0.05-0.22), a sphere in a wake 0.22 and 0.48; sources saturated over 0.5-1.0 of their disc
(the other spheres' bright rims reach the maximum over up to 0.25 of theirs, sometimes more).
With the pixel noise (22), the fading wakes' maxima the share test kept, the wake reaching
them, stand 2.4-5.2 standard errors over the wake's level across them (white noise's floor at
their size 4.4-4.7: 5 of 6 go), the spheres in a wake 7.7 or more, their rims' blobs 5.5.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median

SATURATED = 0.5  # a source's disc is at the frame's maximum over at least this share
WAKE_SIDE = 3.0  # the wake's side stands at least this x above any other side
WAKE_SHARE = 0.5  # the wake stays at least this share of the blob's excess all the way
WAKE_ON = 0.3  # just past the blob's far side the wake still stands this share of its excess
SIDES = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (rows, columns) steps: right, left, down, up


def in_wakes(signal, points, radius, pixel_noise=None) -> np.ndarray:
    """Which kept blobs lie in the wake of a saturated particle along the fast scan.

    Parameters
    ----------
    signal : numpy.ndarray
        ``(Y, X)`` frame with the particles' polarity positive.
    points : numpy.ndarray
        ``(N, 2)`` integer centres of the kept blobs.
    radius : numpy.ndarray
        ``(N,)`` their radii (pixels).
    pixel_noise : float, optional
        The frame's pixel noise (standard deviation): where given, a blob standing over the
        wake's level across it by no more than white noise's does too (:func:`_within_noise`).

    Returns
    -------
    numpy.ndarray of bool
        ``(N,)``: True for a blob in a wake (never a source itself).
    """
    from napari_ivae.core.detection.particle_discs import within_discs

    points = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    wake = np.zeros(len(points), dtype=bool)
    if len(points) < 2 or min(signal.shape) < 3:
        return wake
    signal = np.asarray(signal, dtype=np.float64)
    sources = _saturated(signal, points, radius)
    if not len(sources):
        return wake
    cover = within_discs(signal.shape, points, radius + 1)
    level = float(_median(signal[~cover])) if (~cover).any() else float(_median(signal))
    side = _wake_side(signal, points[sources], radius[sources], level)
    if side is None:
        return wake
    # a blob is judged against the sources whose lines it lies in, past their centre
    judged: dict[int, list[int]] = {}
    for q in sources.tolist():
        along, off = _along_off(points - points[q], side)
        for k in np.flatnonzero((along > 0) & (off <= radius[q])).tolist():
            judged.setdefault(k, []).append(q)
    chosen = set(sources.tolist())
    for k, near in judged.items():
        if k not in chosen:
            wake[k] = _in_wake(signal, points, radius, near, k, side, level, pixel_noise)
    return wake


def _saturated(signal, points, radius) -> np.ndarray:
    """The blobs whose disc is at the frame's maximum over ``SATURATED`` of its pixels."""
    at_top = signal >= float(signal.max())
    # the saturated pixels in each blob's bounding box (the integral image): a disc holding
    # its share of them needs at least that many there, which most blobs lack
    total = np.pad(at_top.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    reach = np.floor(radius).astype(np.int64)
    top = np.clip(points[:, 0] - reach, 0, signal.shape[0])
    bottom = np.clip(points[:, 0] + reach + 1, 0, signal.shape[0])
    left = np.clip(points[:, 1] - reach, 0, signal.shape[1])
    right = np.clip(points[:, 1] + reach + 1, 0, signal.shape[1])
    boxed = total[bottom, right] - total[top, right] - total[bottom, left] + total[top, left]
    found = []
    for k in np.flatnonzero(boxed >= SATURATED * np.pi * radius**2 / 2).tolist():
        disc = _disc(signal.shape, int(points[k, 0]), int(points[k, 1]), float(radius[k]))
        if disc is not None and float(np.mean(at_top[disc])) >= SATURATED:
            found.append(k)
    return np.asarray(found, dtype=np.int64)


def _disc(shape, y, x, r):
    """The pixels within ``r`` of ``(y, x)`` as index arrays, or None when there are none."""
    reach = max(int(np.floor(r)), 0)
    rows, cols = np.mgrid[
        max(y - reach, 0) : min(y + reach + 1, shape[0]),
        max(x - reach, 0) : min(x + reach + 1, shape[1]),
    ]
    inside = (rows - y) ** 2 + (cols - x) ** 2 <= r * r
    if not inside.any():
        return None
    return rows[inside], cols[inside]


def _band(y, x, r, side, start, stop):
    """The frame indices (rows, columns; ``(steps, lines)`` each) of the lines within ``r / 2``
    of the blob's, ``start`` to ``stop`` pixels past ``(y, x)`` towards ``side``."""
    dy, dx = side
    steps = np.arange(start, stop)
    across = np.arange(-int(r / 2), int(r / 2) + 1)
    rows = y + dy * steps[:, None] + abs(dx) * across[None, :]
    cols = x + dx * steps[:, None] + abs(dy) * across[None, :]
    return rows, cols


def _in_frame(shape, rows, cols) -> np.ndarray:
    """Which of the pixels ``(rows, cols)`` lie within a frame of ``shape``."""
    return (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])


def _wake_side(signal, sources, radius, level):
    """The side whose signal past the sources' edges (``r`` to ``3 r``) stands highest above
    ``level``, at least ``WAKE_SIDE`` x any other side's; None when no side does."""
    heights = []
    for side in SIDES:
        values = []
        for (y, x), r in zip(sources.tolist(), radius.tolist()):
            rows, cols = _band(y, x, r, side, int(r) + 2, int(3 * r) + 2)
            inside = _in_frame(signal.shape, rows, cols)
            if inside.any():
                values.append(float(np.median(signal[rows[inside], cols[inside]])) - level)
        heights.append(float(np.median(values)) if values else 0.0)
    best = int(np.argmax(heights))
    others = max(abs(h) for i, h in enumerate(heights) if i != best)
    if heights[best] <= 0 or heights[best] < WAKE_SIDE * others:
        return None
    return SIDES[best]


def _along_off(offsets, side):
    """How far ``offsets`` (``(N, 2)`` rows, columns) lie along ``side`` and how far off its
    line (absolute)."""
    dy, dx = side
    along = offsets[:, 0] * dy + offsets[:, 1] * dx
    return along, np.abs(offsets[:, 0] * dx + offsets[:, 1] * dy)


def _in_wake(signal, points, radius, sources, k, side, level, pixel_noise=None) -> bool:
    """Whether blob ``k`` lies past a source's edge on ``side``, in its lines, with the wake
    from that edge to the blob at least ``WAKE_SHARE`` of the blob's excess all the way, or
    (given ``pixel_noise``) the wake above the level all the way and the blob standing over
    its level across it (the window before it past that edge) by no more than white noise's
    (:func:`_within_noise`)."""
    y, x = points[k]
    r = float(radius[k])
    disc = _disc(signal.shape, int(y), int(x), max(r / 2, 1.0))
    excess = float(np.mean(signal[disc])) - level if disc is not None else 0.0
    if excess <= 0:
        return False
    dy, dx = side
    window = max(int(round(r)), 1)
    for q in sources:
        qy, qx = points[q]
        rq = float(radius[q])
        # in_wakes passes only the sources whose lines hold the blob, past their centre
        along, off = (float(v[0]) for v in _along_off((points[k] - points[q])[None], side))
        # the source's edge on the blob's line (a line near its top starts the wake sooner)
        start = int(np.ceil(np.sqrt(rq * rq - off * off))) + 1
        # a blob against the source's edge: the wake up to its centre
        stop = max(int(along - r), min(int(along), start + window))
        if stop - start < 1:
            continue
        rows, cols = _band(int(qy), int(qx), r, side, start, stop)
        rows, cols = rows + abs(dx) * (y - qy), cols + abs(dy) * (x - qx)
        inside = _in_frame(signal.shape, rows, cols)
        # the lines within the frame (the wake's other blobs count: they are its maxima)
        lines = inside.all(axis=1)
        if not lines.any():
            continue
        line = signal[rows[lines], cols[lines]].mean(axis=1) - level
        if len(line) >= window:
            line = np.convolve(line, np.ones(window) / window, mode="valid")
        if float(line.min()) >= WAKE_SHARE * excess and _continues(
            signal, (y, x), r, side, window, WAKE_ON * excess + level
        ):
            return True
        # a fading wake that reaches the blob (above the level all the way), its window
        # before the blob past the source's edge: the blob's height over it
        before = along - (int(np.ceil(r)) + 1) - window + 1
        if (
            pixel_noise is not None
            and float(line.min()) > 0
            and before >= start
            and _within_noise(signal, (y, x), r, side, float(pixel_noise))
        ):
            return True
    return False


def _continues(signal, at, r, side, window, floor) -> bool:
    """Whether the blob's lines, in the window of ``window`` pixels just past its far side
    on ``side``, stay at ``floor`` on average (a wake goes on past its maxima; a particle in
    it ends at its edge). A window past the frame's edge says nothing against it."""
    rows, cols = _band(
        int(at[0]), int(at[1]), r, side, int(np.ceil(r)) + 1, int(np.ceil(r)) + 1 + window
    )
    inside = _in_frame(signal.shape, rows, cols)
    if not inside.any():
        return True
    return float(np.mean(signal[rows[inside], cols[inside]])) >= floor


def _within_noise(signal, at, r, side, pixel_noise) -> bool:
    """Whether the blob at ``at`` (radius ``r``) stands over the wake's level interpolated across
    it (the mean of the windows of its radius just before and just past its disc, on its lines)
    by no more than white noise reaches ``NOISE_BLOBS`` times in the frame, in standard errors
    of that difference (one try per patch the blob's disc's size)."""
    from scipy.special import ndtri

    from napari_ivae.core.detection.particle_threshold import NOISE_BLOBS

    y, x = int(at[0]), int(at[1])
    disc = _disc(signal.shape, y, x, max(r / 2, 1.0))
    if disc is None or pixel_noise <= 0:
        return False
    window = max(int(round(r)), 1)
    edge = int(np.ceil(r)) + 1
    means, counts = [], []
    for start in (-edge - window + 1, edge):
        rows, cols = _band(y, x, r, side, start, start + window)
        inside = _in_frame(signal.shape, rows, cols)
        if not inside.any():
            return False
        means.append(float(np.mean(signal[rows[inside], cols[inside]])))
        counts.append(int(inside.sum()))
    height = float(np.mean(signal[disc])) - float(np.mean(means))
    # the disc's mean less the two windows' mean: its standard error under white noise
    error = pixel_noise * np.sqrt(1.0 / len(disc[0]) + (1.0 / counts[0] + 1.0 / counts[1]) / 4)
    tries = signal.size / len(disc[0])
    return height <= float(ndtri(1.0 - NOISE_BLOBS / tries)) * error


def wake_warning(dropped: int, measures: dict) -> list:
    """Blobs were dropped in the bright wake of saturated particles along the fast scan
    (:func:`in_wakes`): the wake's other maxima, and particles in it, are uncertain."""
    if not dropped:
        return []
    measures["wakes"] = dropped
    return [
        f"saturated particles leave bright streaks along the fast scan (charging, detector "
        f"lag): {dropped} blobs in them were not counted, but more of the streaks' maxima "
        "may be counted as particles and particles in them may be missed; look at the overlay; "
        "a lower beam current charges the sample less"
    ]
