"""The automatic contrast threshold for atom peaks: a false-discovery bound against noise.

Which contrast does a peak of pure noise reach? That depends on everything the detector does:
the smoothing, the background removal, the minimum distance between peaks and the ring that
the contrast is measured against. Rather than a fixed multiple of a noise level, the detector
is run on a frame of white noise of the image's own pixel noise (estimated from pixel
differences), with the same parameters, which gives the null distribution of peak contrasts
and how many noise peaks an area of that size holds.

The cut is then the lowest contrast ``c`` from which up the noise could explain at most
``FALSE_DISCOVERY`` of the peaks at or above each level (Benjamini-Hochberg style): on a clean
lattice, where nearly every peak is an atom, weak columns well within the noise's reach stay;
on an image that is mostly vacuum, where most peaks are noise, the cut rises until they go.
Noise peaks are counted over the part of the frame that the peaks above ``c`` leave free (no
other peak can lie within the minimum distance of one).

Where atoms stand everywhere, that area is no free room for noise: a noise peak between
columns is measured against a ring that passes near them, and its contrast stays low. So the
noise peaks are also counted from the candidates themselves (Storey's estimate): atoms stand
above the null's median contrast, noise falls below it half the time, so twice the candidates
below it are the noise peaks among them, and that many times the null's share above ``c`` are
expected above ``c``. At a low dose the weakest atoms fall below that median too (a
polycrystal at 0.5 counts an atom: 147 of the 261 there, the noise counted 2.6x): those that a
fit of the contrasts (the null's shape for the noise, a normal one for the atoms) puts below
it are not counted, at most half of the candidates there (:func:`atoms_below`). Where the
fit finds such atoms (more than the count below the median varies by chance), the noise peaks
among them are measured against the atoms' flanks and lie lower than white noise's (on a
polycrystal at 0.3-0.5 counts, 56-69 % of them below its median): the count is taken again
against a null drawn over the frame's confident atoms
(:mod:`~napari_ivae.core.detection.atom_surround_null`).
The lower of the two counts is taken: on a lattice at low dose, where half the columns are
weaker than the cut that the free-area count asks for, the data's own count lets them stay;
in vacuum, where most candidates are noise, the two agree.

Two floors catch what white Gaussian noise does not model: a relative cut
(``RELATIVE_CONTRAST`` of the 90th percentile of contrasts) for correlated scan noise and
amorphous bumps, and a minimum signal-to-noise ratio (``MIN_SNR``) for the heavy tail of
low-count noise. ``params["confident"]`` (the first pass, which measures the atoms' geometry)
asks for the free-area count alone and the stricter ``CONFIDENT_SNR``.
"""

from __future__ import annotations

import math

import numpy as np

from napari_ivae.core.detection.atom_surround_null import surround_null

FALSE_DISCOVERY = 0.1
RELATIVE_CONTRAST = 0.1
# white Gaussian noise underrates the tail of low-count (Poisson) noise at light smoothing, so
# no peak below this signal-to-noise ratio is kept whatever the statistics say
MIN_SNR = 2.0
CONFIDENT_SNR = 2.5  # the first pass's floor: its atoms measure the geometry
NULL_PEAKS = 3000  # the white-noise frame is made large enough to hold about this many peaks
NULL_SIDE = 1024  # ...but no larger (its counts are scaled to the frame's area)
NULL_SEED = 20261130  # fixed: the same image always gets the same threshold
MIXTURE_ROUNDS = 200  # rounds of the noise-and-atoms fit at most...
MIXTURE_SETTLED = 1e-6  # ... until the noise share moves less than this in a round
MIXTURE_GRID = 2048  # the null's density is evaluated at this many levels and interpolated
KERNEL_PAD_LIMIT = 1 << 16  # grid steps beyond each end that the null's values are binned on
# a frame whose peaks do not stand out from its shuffled pixels is looked at again as if the
# spacing were this many times larger before it is called noise
LARGER_SCALES = (2.0, 4.0)
_SCALED = ("spacing", "sigma", "background", "min_distance")


def contrast_cut(
    prominence: np.ndarray,
    pixel_noise: float,
    smoothed_noise: float,
    area: float,
    params: dict,
    contrast_of,
    frame: np.ndarray | None = None,
    masked: np.ndarray | None = None,
    points: np.ndarray | None = None,
) -> float:
    """The automatic minimum contrast for a frame's candidate peaks.

    Parameters
    ----------
    prominence : numpy.ndarray
        Contrasts of the frame's candidate peaks.
    pixel_noise : float
        Standard deviation of the frame's pixel noise (``0``: only the relative cut).
    smoothed_noise : float
        Its standard deviation after the detector's smoothing (for the ``MIN_SNR`` floor).
    area : float
        Pixels over which the candidates were searched.
    params : dict
        The detector's parameters (``sigma``, ``background``, ``min_distance``, ``spacing``;
        ``confident``: the free-area count alone and the ``CONFIDENT_SNR`` floor).
    contrast_of : callable
        ``contrast_of(frame, params) -> prominences`` of a frame's peaks, with the same
        detector the candidates came from.
    frame : numpy.ndarray, optional
        The 2D frame: when its candidates are no more than its own pixels shuffled within
        small blocks give (:mod:`~napari_ivae.core.detection.atom_noise_null`), the cut is at
        least :func:`noise_floor` (above every candidate when nothing stands out from the
        noise; above every shuffled peak for a few lone atoms).
    masked : numpy.ndarray, optional
        ``frame``'s pixels to leave out of the shuffle (flat areas, the excluded mask).
    points : numpy.ndarray, optional
        The candidates' positions (row, col) in ``frame``: where the fit finds atoms among
        the noise, the noise count is taken again against a null drawn over the atoms above
        the cut (:func:`~napari_ivae.core.detection.atom_surround_null.surround_null`).

    Returns
    -------
    float
        The cut (keep peaks with ``prominence >= cut``).
    """
    prominence = np.asarray(prominence, dtype=np.float64)
    if len(prominence) == 0:
        return 0.0
    floor = 0.0  # a few lone atoms: only those far above the shuffled null's strongest peak
    if frame is not None:
        floor = noise_floor(prominence, frame, masked, area, params, contrast_of)
        if floor > prominence.max():
            return float(np.nextafter(prominence.max(), np.inf))
    confident = bool(params.get("confident"))
    relative = max(
        RELATIVE_CONTRAST * float(np.percentile(prominence, 90)),
        (CONFIDENT_SNR if confident else MIN_SNR) * smoothed_noise,
    )
    if not pixel_noise > 0:
        return relative
    side = _null_side(params)
    null = pixel_noise * _unit_null_contrasts(side, params, contrast_of)
    if len(null) == 0:
        return relative
    null_area = float(side**2)
    levels = np.sort(prominence)
    found_above = len(levels) - np.arange(len(levels))
    # expected noise peaks at or above each candidate's contrast, over the part of the frame
    # that the peaks found above it leave free (no other peak within min_distance of one)
    free = np.maximum(area - found_above * np.pi * params["min_distance"] ** 2, 0.0)
    null_above = len(null) - np.searchsorted(null, levels, side="left")
    free_count = null_above * (free / null_area)
    if confident:
        return float(max(_lowest_passing(levels, free_count), relative, floor))
    noise_made, weak, below = storey_count(levels, null)
    cut = max(_lowest_passing(levels, np.minimum(free_count, noise_made)), relative, floor)
    sure = prominence >= cut
    if points is not None and frame is not None and _among_noise(levels, null, weak, below, sure):
        # the noise peaks between the atoms are measured against their surround; count them
        # against a null drawn there (atom_surround_null)
        atoms = np.asarray(points, dtype=np.float64)[:, :2][sure]
        surround = surround_null(frame, atoms, params, pixel_noise)
        if len(surround):
            noise_made = storey_count(levels, surround)[0]
            cut = max(_lowest_passing(levels, np.minimum(free_count, noise_made)), relative, floor)
    return float(cut)


def _among_noise(levels, null, weak: float, below: float, sure) -> bool:
    """Whether the atoms are within the noise's reach: the fit puts more weak atoms below the
    null's median than the count there varies by chance, and the weakest quarter of the
    atoms above the cut lies below the largest of as many noise peaks as there are
    candidates (at a high dose the fit's weak atoms are the tails of a spread of strong
    columns, and what lies below the median is structure, not noise)."""
    if not (weak > np.sqrt(below) and sure.any()):
        return False
    reach = float(np.quantile(null, 1.0 - 1.0 / len(levels)))
    return float(np.percentile(levels[-int(sure.sum()) :], 25)) <= reach


def storey_count(levels: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Noise peaks expected at or above each of the sorted candidates ``levels``, from the
    candidates themselves (Storey); the weak atoms the fit put below the null's median, and
    the candidates there.

    Twice the candidates below the null's median, less the weak atoms among those as a
    two-component fit puts them there (:func:`atoms_below`; at most half of them: noise
    measured between atoms lies lower than the null's, and a fit that puts more atoms there
    than noise takes depressed noise for atoms), times the null's share above each level.
    """
    middle = float(np.median(null))
    below = float(np.searchsorted(levels, middle, side="right"))
    weak = min(atoms_below(levels, null, middle), 0.5 * below) if below else 0.0
    null_above = len(null) - np.searchsorted(null, levels, side="left")
    return 2.0 * (below - weak) * null_above / len(null), float(weak), below


def _lowest_passing(levels: np.ndarray, noise_above: np.ndarray) -> float:
    """The lowest level from which up every level holds at most ``FALSE_DISCOVERY`` noise (at
    the very bottom, where the peaks would fill the frame, the free area's count vanishes)."""
    found_above = len(levels) - np.arange(len(levels))
    failing = np.flatnonzero(noise_above > FALSE_DISCOVERY * found_above)
    first = failing[-1] + 1 if len(failing) else 0
    return float(levels[first]) if first < len(levels) else np.inf


def atoms_below(levels: np.ndarray, null: np.ndarray, level: float) -> float:
    """How many of the candidates ``levels`` below ``level`` are atoms, from a two-component fit.

    The candidates' contrasts are fitted (expectation-maximisation, at most
    ``MIXTURE_ROUNDS`` rounds) as the null's distribution (its kernel density) for the noise
    peaks plus one normal distribution for the atoms (at a low dose an atom's contrast is its
    signal plus the noise); the atoms' component's count below ``level``. ``0`` where the fit
    cannot be made or its component lies below ``level`` (no atoms: those stand above the
    noise).
    """
    levels = np.asarray(levels, dtype=np.float64)
    if len(levels) < 3 or len(null) < 3 or np.ptp(null) <= 0 or np.ptp(levels) <= 0:
        return 0.0
    # the null's density on a fine grid (a large frame holds tens of thousands of candidates)
    grid = np.linspace(levels[0], levels[-1], MIXTURE_GRID)
    noise_density = np.interp(levels, grid, _kernel_density(np.asarray(null, float), grid))
    share, centre, width = 0.5, float(np.percentile(levels, 75)), float(levels.std())
    # the rounds in place on three buffers (a large frame has 10^5-10^6 candidates): each
    # step is the same operation on the same numbers as written out plainly
    value, noise_part, weight = (np.empty_like(levels) for _ in range(3))
    scale = np.sqrt(2.0 * np.pi)
    for _ in range(MIXTURE_ROUNDS):
        # the atoms' density, exp(-0.5 ((levels - centre) / width)^2) / width, in ``value``
        np.divide(np.subtract(levels, centre, out=value), width, out=value)
        np.exp(np.multiply(np.square(value, out=value), -0.5, out=value), out=value)
        np.divide(value, width, out=value)
        np.multiply(noise_density, share, out=noise_part)
        # the total density, noise + (1 - share) atoms / sqrt(2 pi), in ``value``
        np.divide(np.multiply(value, 1.0 - share, out=value), scale, out=value)
        np.add(noise_part, value, out=value)
        weight.fill(1.0)  # the noise's weight
        np.divide(noise_part, value, out=weight, where=value > 0)
        noise_share = float(weight.mean())
        settled = abs(noise_share - share) < MIXTURE_SETTLED
        share = noise_share
        atom_weight = np.subtract(1.0, weight, out=weight)
        atom_sum = atom_weight.sum()
        if atom_sum <= 0:
            return 0.0
        centre = float(np.multiply(atom_weight, levels, out=value).sum() / atom_sum)
        np.square(np.subtract(levels, centre, out=value), out=value)
        width = float(np.sqrt(np.multiply(atom_weight, value, out=value).sum() / atom_sum))
        if not width > 0:
            return 0.0
        if settled:
            break
    if not centre > level:
        return 0.0
    below = 0.5 * (1.0 + math.erf((level - centre) / (width * math.sqrt(2.0))))
    return (1.0 - share) * len(levels) * below


def _kernel_density(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``values`` at the evenly spaced ``grid`` (Scott's bandwidth).

    The values are binned linearly onto the grid, extended by four bandwidths on each side, and
    the bins convolved with the kernel by FFT: milliseconds for any number of values, where
    evaluating every value at every level took a fifth of a second on a 512 px frame (and
    scipy.stats would cost a third of a second to import).
    """
    width = float(values.std(ddof=1)) * len(values) ** -0.2
    step = float(grid[1] - grid[0])
    pad = int(min(np.ceil(4.0 * width / step), KERNEL_PAD_LIMIT)) + 1
    position = (values - grid[0]) / step + pad
    size = len(grid) + 2 * pad
    inside = (position >= 0) & (position <= size - 1)
    low = np.floor(position[inside]).astype(np.intp)
    upper = position[inside] - low
    counts = np.bincount(low, 1.0 - upper, minlength=size + 1)
    counts += np.bincount(low + 1, upper, minlength=size + 1)
    taps = np.exp(-0.5 * (np.arange(-pad, pad + 1) * step / width) ** 2)
    length = 1 << int(np.ceil(np.log2(size + 2 * pad + 1)))
    smoothed = np.fft.irfft(np.fft.rfft(counts[:size], length) * np.fft.rfft(taps, length), length)
    density = smoothed[2 * pad : 2 * pad + len(grid)]
    return np.maximum(density, 0.0) / (len(values) * width * np.sqrt(2.0 * np.pi))


def noise_floor(prominence, frame, masked, area: float, params: dict, contrast_of) -> float:
    """The lowest contrast the frame's own noise allows.

    ``0`` when the candidates outnumber the peaks of the frame's own pixels shuffled within
    small blocks (:mod:`~napari_ivae.core.detection.atom_noise_null`) by more than chance, at
    the detector's scale or at ``LARGER_SCALES`` times it (atoms blurred wider than the
    spacing estimate says). Else, where a candidate stands ``LONE_FACTOR`` times above the
    null's strongest peak at one of those scales (a few lone atoms, which no count shows),
    that peak's level at the detector's scale: only candidates above every shuffled peak are
    kept. Else ``inf``: nothing stands out from the noise.
    """
    from napari_ivae.core.detection import atom_noise_null as shuffle

    lone, first_null = False, None
    for contrasts, null, z, excess in _against_null(
        prominence, frame, masked, area, params, contrast_of
    ):
        if z >= shuffle.MIN_SPREADS and excess >= shuffle.MIN_ABOVE_NOISE:
            return 0.0
        first_null = null if first_null is None else first_null
        if len(null) and len(contrasts):
            lone |= float(np.max(contrasts)) >= shuffle.LONE_FACTOR * float(np.max(null))
    if lone and first_null is not None and len(first_null):
        return float(np.max(first_null))
    return np.inf


def _against_null(prominence, frame, masked, area, params, contrast_of):
    """Per scale (the detector's, then ``LARGER_SCALES`` times it, lazily): the candidates'
    contrasts, the shuffled null's, and the count excess ``(z, excess)`` between them."""
    from napari_ivae.core.detection import atom_noise_null as shuffle

    for factor in (1.0, *LARGER_SCALES):
        if factor != 1.0 and factor * params["spacing"] > max(frame.shape):
            break  # no atom that wide fits the frame
        scaled, contrasts, searched = params, prominence, area
        if factor != 1.0:
            scaled = {**params, **{key: params[key] * factor for key in _SCALED}}
            scaled["scaled_by"] = factor  # (the frame's own spacing is the unscaled one)
            filled = shuffle.filled(frame, masked)
            contrasts, searched = contrast_of(filled, scaled), float(filled.size)
        null, null_area = shuffle.shuffled_null(frame, masked, scaled, contrast_of)
        z, excess = shuffle.excess_over_null(contrasts, null, searched, null_area)
        yield np.asarray(contrasts, dtype=np.float64), null, z, excess


def _null_side(params: dict) -> int:
    # a peak occupies about 2 min_distance^2; the background blur needs room, too
    side = np.sqrt(2.0 * NULL_PEAKS) * max(params["min_distance"], 1.0)
    return int(min(NULL_SIDE, max(128, side, 8 * params["background"])))


def _unit_null_contrasts(side: int, params: dict, contrast_of) -> np.ndarray:
    """Sorted peak contrasts of unit white noise (contrasts scale with the noise level)."""
    key = (
        side,
        params["sigma"],
        params["background"],
        params["min_distance"],
        params["spacing"],
        contrast_of,
    )
    values = _NULL_CACHE.get(key)
    if values is None:
        noise = np.random.default_rng(NULL_SEED).standard_normal((side, side))
        values = np.sort(
            np.asarray(contrast_of(noise.astype(np.float32), params), dtype=np.float64)
        )
        _NULL_CACHE.clear()  # one entry: a stack's frames share their parameters
        _NULL_CACHE[key] = values
    # the local value, not the cache's: another thread (a live re-detection) may clear it
    return values


_NULL_CACHE: dict = {}


__all__ = [
    "CONFIDENT_SNR",
    "FALSE_DISCOVERY",
    "MIN_SNR",
    "RELATIVE_CONTRAST",
    "atoms_below",
    "contrast_cut",
    "noise_floor",
]
