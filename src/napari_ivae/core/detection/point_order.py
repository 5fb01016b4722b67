"""How regular a set of detected points is: the Bragg peaks of its structure factor.

Points on a 2D lattice give sharp peaks of the structure factor ``S(q) = |sum exp(2 pi i q.r)|^2
/ N`` in at least two directions (a lattice has two independent vectors); points along a single
set of fringes give peaks in one direction only (the fringes' normal); scattered points give
none (``S ~ 1`` everywhere).
"""

from __future__ import annotations

import numpy as np

WINDOW_SPACINGS = 40  # a window this many spacings wide around the points' median (~1600 sites)
BIN_FRACTION = 0.25  # histogram bin, in spacings: well below the Nyquist limit of 0.5
OTHER_DIRECTION_DEGREES = 25.0  # a peak this far in angle from the strongest: another direction


def bragg_peaks(points, spacing: float) -> tuple[float, float] | None:
    """The strongest peak of the points' structure factor near the lattice frequency, and the
    strongest in another direction, both divided by the number of points.

    Parameters
    ----------
    points : array_like
        ``(N, 2)`` positions (row, col) in pixels.
    spacing : float
        The expected nearest-neighbour distance in pixels; peaks are looked for between 0.4
        and 1.6 cycles per spacing.

    Returns
    -------
    tuple of float or None
        ``(strongest, other_direction)``: 1 for a perfect lattice, about ``1 / N`` for
        scattered points; ``None`` for fewer than 20 points or no usable spacing.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 20 or not np.isfinite(spacing) or spacing <= 0:
        return None
    centre = np.median(points, axis=0)
    half = WINDOW_SPACINGS * spacing / 2
    points = points[np.all(np.abs(points - centre) <= half, axis=1)]
    if len(points) < 20:
        return None
    step = BIN_FRACTION * spacing
    low = points.min(axis=0)
    size = np.ceil((points.max(axis=0) - low) / step).astype(int) + 1
    size = np.maximum(size, 8)
    grid = np.zeros(size)
    cells = np.floor((points - low) / step).astype(int)
    np.add.at(grid, (cells[:, 0], cells[:, 1]), 1.0)
    padded = 2 * size  # finer frequency samples: a peak between two still shows
    power = np.abs(np.fft.rfft2(grid, s=tuple(padded))) ** 2 / len(points)
    f_row = np.fft.fftfreq(padded[0], d=step)[:, None]
    f_col = np.fft.rfftfreq(padded[1], d=step)[None, :]
    frequency = np.hypot(f_row, f_col) * spacing
    power = np.where((frequency > 0.4) & (frequency < 1.6), power, 0.0)
    row, col = np.unravel_index(int(np.argmax(power)), power.shape)
    angle = np.arctan2(f_row, f_col)
    apart = np.abs((angle - angle[row, col] + np.pi / 2) % np.pi - np.pi / 2)
    other = np.where(apart > np.deg2rad(OTHER_DIRECTION_DEGREES), power, 0.0)
    count = len(points)
    return float(power[row, col]) / count, float(other.max()) / count


__all__ = ["bragg_peaks"]
