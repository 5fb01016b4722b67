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


def clear_valleys(strength, bandwidth: float = BANDWIDTH) -> list[tuple[float, int]]:
    """Every clear valley of the log-strength density, lowest first: ``(strength, above)``.

    A valley is a local minimum of the density (:func:`log_density`) with at least
    ``MIN_ABOVE`` candidates above it, where the highest density on each side is at least
    ``VALLEY_DEPTH`` times the valley's; ``above`` is the number of candidates at or above it.
    """
    grid, density, above = log_density(strength, bandwidth)
    if len(grid) < 3:
        return []
    inner = density[1:-1]
    minima = np.flatnonzero((inner < density[:-2]) & (inner <= density[2:])) + 1
    minima = minima[above[minima] >= MIN_ABOVE]
    if not len(minima):
        return []
    peak_below = np.maximum.accumulate(density)[minima]
    peak_above = np.maximum.accumulate(density[::-1])[::-1][minima]
    clear = minima[np.minimum(peak_below, peak_above) >= VALLEY_DEPTH * density[minima]]
    return [(float(np.exp(grid[m])), int(above[m])) for m in clear]


def valley_cut(strength, bandwidth: float = BANDWIDTH) -> float | None:
    """The strength at the uppermost clear valley of the log-strength density, or None.

    The uppermost of :func:`clear_valleys` separates the strongest population (the particles)
    from the next one down (the background); a lower valley may split the background itself
    (a pile of near-zero maxima in flat areas).

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
    valleys = clear_valleys(strength, bandwidth)
    return valleys[-1][0] if valleys else None


def pooled_cut(strength, floor: float = 0.0, spots=None) -> tuple[float, dict]:
    """The pooled cut on the candidates' ``strength``, never below ``floor``, and the mixture.

    The two-Gaussian fit's cut and mixture
    (:func:`~napari_ivae.core.detection.particle_threshold.particle_cut`); where it found two
    populations and the density has a clear valley (:func:`clear_valleys`), the fit's cut stands
    where its strong population is the one above the uppermost valley (within ``SAME_SPLIT`` x
    its count either way). Where it is the one above a lower clear valley above ``floor``
    instead, its strong population centred beyond the weak one's ``NULL_Z`` tail, the uppermost
    valley splits the particles themselves (a few much brighter ones: dividing nuclei among a
    field of dimmer ones) and that lower valley is the cut, wherever the fit's own cut falls
    against ``floor`` (both mark where the noise's maxima end; which of the two is higher
    changes with the pixel size). Else the fit split the background in two, or
    took only the strongest few particles for the strong population, and the uppermost valley
    decides. ``spots`` (the candidates' ``(N, 2)`` positions and their sigmas) is needed for the
    lower valley: the blobs between it and the uppermost must lie apart as separate particles do
    (:func:`_apart`); without it the uppermost valley decides as before.

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
    valleys = clear_valleys(strength)
    if not valleys:
        return cut, mixture
    fitted = mixture["strong"][2] * len(strength)

    def same_split(valley):
        above = float(np.count_nonzero(strength >= valley))
        return above / SAME_SPLIT <= fitted <= above * SAME_SPLIT

    if same_split(valleys[-1][0]):
        return cut, mixture
    # a lower valley counts only above the white-noise floor (below it, it splits the
    # background itself: a pile of near-zero maxima in flat areas under the noise's maxima),
    # and only where the fit's strong population stands clear of the weak one
    # (:func:`_separated`), its blobs apart as particles are (:func:`_apart`): else its strong
    # population may be a bump of the noise's own (scan lines) or a texture's maxima crowded
    # round the particles (defocus halos, a halo's fringes), and the uppermost valley holds
    # the particles
    lower = [valley for valley, _ in valleys[:-1] if valley > floor and same_split(valley)]
    clear = lower and _separated(mixture) and spots is not None
    if clear and _apart(strength, lower[-1], valleys[-1][0], *spots):
        return lower[-1], mixture
    return max(valleys[-1][0], floor), mixture


def _separated(mixture) -> bool:
    """Whether the fit's strong population is centred beyond the weak one's ``NULL_Z`` tail:
    a population of its own, not a narrow bump inside the weak one's spread."""
    from napari_ivae.core.detection.particle_threshold import NULL_Z

    weak, strong = mixture["weak"], mixture["strong"]
    return strong[0] - weak[0] >= NULL_Z * weak[1]


def _apart(strength, low: float, top: float, points, sigma) -> bool:
    """Whether the blobs between the ``low`` and ``top`` valleys lie apart as separate particles
    do: their median distance to the nearest blob above ``low`` is at least two blob radii
    (``sqrt(2) sigma``; closer, their discs overlap). A defocused halo's fringes are many
    maxima round each ring, closer than that (1.8 radii on the rings' test scene)."""
    from scipy.spatial import cKDTree

    above = strength >= low
    between = above & (strength < top)
    if np.count_nonzero(between) < 2:
        return False
    points = np.asarray(points, dtype=np.float64)
    distance = cKDTree(points[above]).query(points[between], k=2)[0][:, 1]
    radius = np.sqrt(2.0) * np.asarray(sigma, dtype=np.float64)[between]
    return bool(np.median(distance / radius) >= 2.0)


__all__ = ["clear_valleys", "log_density", "pooled_cut", "valley_cut"]
