"""The pooled cut between background and particles at the density minimum of their strengths.

The candidates' log-strengths hold the background's maxima (noise, a support's texture) and,
above them, the particles'. Where the two populations are separated by a valley of the
density, the cut is that valley (:func:`valley_cut`): the strength below which a candidate is
more likely the background's than a particle's. Unlike a two-Gaussian fit
(:func:`~napari_ivae.core.detection.particle_threshold.particle_cut`), it does not depend on
the background population's shape: that shape changes with the pixel size (where the smallest
candidate scale falls, how resampling smoothed the noise) and the dose, the particles'
strengths do not, and neither does the valley above the background.
:func:`pooled_cut` keeps the two-Gaussian cut where the fit describes the same split.
"""

from __future__ import annotations

import numpy as np

BANDWIDTH = 0.15  # log units: the density is resolved to ~15 % in strength
VALLEY_DEPTH = 1.4  # each side's peak stands this many times above the valley
MIN_ABOVE = 8  # candidates above a valley: fewer are no population of their own
STEPS_PER_BANDWIDTH = 8
SAME_SPLIT = 2.0  # the fit's strong population holds within this factor of those above the valley


def log_density(strength, bandwidth: float = BANDWIDTH):
    """A Gaussian kernel density of ``log(strength)`` (positive strengths) on a regular grid.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        The grid of log-strengths, the density there (counts per grid step, smoothed) and the
        number of candidates at or above each grid step.
    """
    strength = np.asarray(strength, dtype=np.float64)
    logs = np.log(strength[strength > 0])
    if len(logs) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    step = bandwidth / STEPS_PER_BANDWIDTH
    reach = 4.0 * bandwidth
    low, high = logs.min() - reach, logs.max() + reach
    bins = max(int(np.ceil((high - low) / step)), 1)
    counts, edges = np.histogram(logs, bins=bins, range=(low, low + bins * step))
    offsets = np.arange(-reach, reach + 0.5 * step, step)
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    density = np.convolve(counts, kernel / kernel.sum(), mode="same")
    above = np.cumsum(counts[::-1])[::-1]
    return 0.5 * (edges[1:] + edges[:-1]), density, above


def valley_cut(strength, bandwidth: float = BANDWIDTH) -> float | None:
    """The strength at the uppermost clear valley of the log-strength density, or None.

    A valley is a local minimum of the density (:func:`log_density`) with at least
    ``MIN_ABOVE`` candidates above it, where the highest density on each side is at least
    ``VALLEY_DEPTH`` times the valley's. The uppermost such valley separates the strongest
    population (the particles) from the next one down (the background); a lower valley may
    split the background itself (a pile of near-zero maxima in flat areas).

    Parameters
    ----------
    strength : array-like
        The candidates' blob strengths.
    bandwidth : float
        The kernel's standard deviation in log-strength.

    Returns
    -------
    float or None
        The cut, or None where the density has no such valley (one population).
    """
    grid, density, above = log_density(strength, bandwidth)
    if len(grid) < 3:
        return None
    inner = density[1:-1]
    minima = np.flatnonzero((inner < density[:-2]) & (inner <= density[2:])) + 1
    minima = minima[above[minima] >= MIN_ABOVE]
    if not len(minima):
        return None
    peak_below = np.maximum.accumulate(density)[minima]
    peak_above = np.maximum.accumulate(density[::-1])[::-1][minima]
    clear = np.minimum(peak_below, peak_above) >= VALLEY_DEPTH * density[minima]
    if not clear.any():
        return None
    return float(np.exp(grid[minima[clear][-1]]))


def pooled_cut(strength, floor: float = 0.0) -> tuple[float, dict]:
    """The pooled cut on the candidates' ``strength``, never below ``floor``, and the mixture.

    The two-Gaussian fit's cut and mixture
    (:func:`~napari_ivae.core.detection.particle_threshold.particle_cut`); where it found two
    populations and the density has a clear valley (:func:`valley_cut`), the fit's cut stands
    where its strong population is the one above the valley (within ``SAME_SPLIT`` x its
    count either way); else the fit split the background in two, or took only the strongest
    few particles for the strong population, and the valley decides.

    Returns
    -------
    (float, dict)
        The cut and the fit's ``{"weak": (mean, sd, weight), "strong": ...}`` (unchanged).
    """
    from napari_ivae.core.detection.particle_threshold import particle_cut

    strength = np.asarray(strength, dtype=np.float64)
    cut, mixture = particle_cut(strength, floor)
    if not mixture:
        return cut, mixture
    valley = valley_cut(strength)
    if valley is None:
        return cut, mixture
    above = float(np.count_nonzero(strength >= valley))
    fitted = mixture["strong"][2] * len(strength)
    if above / SAME_SPLIT <= fitted <= above * SAME_SPLIT:
        return cut, mixture
    return max(valley, floor), mixture


__all__ = ["log_density", "pooled_cut", "valley_cut"]
