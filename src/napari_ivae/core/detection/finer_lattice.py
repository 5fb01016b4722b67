"""A lattice much finer than the spacing used, left in the frame by the atoms found.

A superstructure (a moire of a layer on a substrate, a charge-density wave, a reconstruction)
modulates a lattice's atoms with a period many times their spacing, and its envelope can
dominate the frame's autocorrelation: the spacing estimate then takes the superstructure's
maxima for the atoms and misses every atom. The frame's spectrum still shows the atoms' own
Bragg peaks, far out of the diffuse spectrum, at a period a fraction of the spacing used. A
lattice's own harmonics lie there too, but the atoms found share those (their structure
factor there is nearly theirs at the frame's strongest, coarser periodicity); the atoms of a
lattice the detection missed are not at the found points' harmonics, so the found points'
structure factor there is that of unrelated points. An up-sampled (interpolated) frame shows a
strong finer lattice too, the interpolation's images of its coarse peaks, but only where it
holds no other power: a peak counts only where the frame resolves its frequency.
"""

from __future__ import annotations

import numpy as np

FINER = 3.0  # a periodicity this many times finer than the spacing (a lattice's fundamental
# reflections lie at 0.87-1.5 spacings; its third-order ones at a third of that)
MIN_PERIOD = 2.5  # pixels: finer periodicities are pixel-level patterns, not atoms
MIN_RATIO = 1000.0  # power over its ring's diffuse level: far out of the noise
# the found points' structure factor there below this share of theirs at the frame's strongest
# coarser periodicity: not their harmonic (a harmonic keeps most of it, a polycrystal's grains
# lower both alike; points unrelated to it: about 2 / sqrt(N), 0.35 for 33 points)
UNSHARED = 0.5
# the diffuse spectrum at a peak this many times under the one at half its frequency: the
# frame does not resolve it (up-sampled frames measure 1e-10-1e-8 there, noisy ones 0.5-2)
BAND_DROP = 1e-3
MIN_ANGLE = np.deg2rad(20.0)  # two such peaks this far apart in direction: a 2-D lattice
CANDIDATES = 24  # strongest peaks looked at
MIN_POINTS = 8
SAMPLE = 2000  # points whose structure factor is measured (every n-th)
SUB_BIN = np.linspace(-0.5, 0.5, 5)  # frequency offsets tried, in periodogram samples
SUPERSTRUCTURE_SOURCE = "auto (a finer lattice under a superstructure)"


def finer_period(frame: np.ndarray, points: np.ndarray, spacing: float) -> float | None:
    """The period (pixels) of a strong 2-D periodicity much finer than ``spacing`` that the
    found ``points`` do not share, or ``None``.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame.
    points : numpy.ndarray
        ``(N, 2)`` (row, col) of the atoms found in it.
    spacing : float
        The spacing they were found at (pixels).

    Returns
    -------
    float or None
        The period of the strongest unshared Bragg peak, when at least two of them point in
        directions ``MIN_ANGLE`` apart; ``None`` otherwise (or when ``spacing`` leaves no
        room for a finer lattice).
    """
    from napari_ivae.core.detection import spacing as estimate

    if spacing < FINER * MIN_PERIOD or len(points) < MIN_POINTS:
        return None
    side = estimate._central_crop(np.asarray(frame), estimate.MAX_SIDE).shape  # a view's
    corner = (np.array(np.shape(frame)) - side) // 2  # the crop's (central_crop's)
    points = np.asarray(points, dtype=np.float64) - corner
    points = points[((points >= 0) & (points < side)).all(axis=1)]
    if len(points) < MIN_POINTS:
        return None
    crop, power, freq_sq, floor = estimate.crop_spectrum(frame)
    ratio = np.where(floor > 0, power / np.maximum(floor, np.finfo(np.float64).tiny), 0.0)
    band = (freq_sq >= (FINER / spacing) ** 2) & (freq_sq <= 1.0 / MIN_PERIOD**2)
    from scipy import ndimage

    # local maxima only: a strong peak's window leaks into its neighbours far above the ring
    peak = power == ndimage.maximum_filter(power, size=3, mode="wrap")
    rows, cols = np.nonzero(band & peak & (ratio >= MIN_RATIO))
    if len(rows) < 2:
        return None
    order = np.argsort(ratio[rows, cols])[::-1][:CANDIDATES]
    rows, cols = rows[order], cols[order]
    freq = np.stack(
        [np.fft.fftfreq(crop.shape[0])[rows], np.fft.rfftfreq(crop.shape[1])[cols]], axis=1
    )
    coarse = ~band & (freq_sq >= (estimate.PERIODS_SEEN / min(crop.shape)) ** 2)
    strongest = np.unravel_index(np.argmax(np.where(coarse, power, 0.0)), power.shape)
    fundamental = np.array(
        [
            [
                np.fft.fftfreq(crop.shape[0])[strongest[0]],
                np.fft.rfftfreq(crop.shape[1])[strongest[1]],
            ]
        ]
    )
    share = _structure_factor(points, fundamental, crop.shape)[0]
    unshared = _structure_factor(points, freq, crop.shape) < UNSHARED * share
    unshared &= _resolved(floor, rows, cols)
    unshared = freq[unshared]
    if len(unshared) < 2:
        return None
    angles = np.mod(np.arctan2(unshared[:, 0], unshared[:, 1]), np.pi)
    apart = np.abs(angles[:, None] - angles[None, :])
    apart = np.minimum(apart, np.pi - apart)
    if apart.max() < MIN_ANGLE:
        return None
    return float(1.0 / np.hypot(*unshared[0]))  # the strongest


def _resolved(floor: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether the frame resolves each periodogram sample: its diffuse spectrum there is not
    ``BAND_DROP`` times below the one at half its frequency (same direction). A detector's
    frame has its white noise out to the last frequency; an up-sampled (interpolated) frame
    has no power past its original band edge but the interpolation's images of its coarse
    peaks, copies of them that stand out of that empty band as a strong finer lattice."""
    half_rows = np.round(np.fft.fftfreq(floor.shape[0])[rows] / 2 * floor.shape[0]).astype(int)
    return floor[rows, cols] >= BAND_DROP * floor[half_rows, np.round(cols / 2).astype(int)]


def _structure_factor(points: np.ndarray, freq: np.ndarray, shape: tuple) -> np.ndarray:
    """The points' structure factor (1: every point at a maximum of the wave) at each
    frequency, the largest within half a periodogram sample of it: a harmonic's exact
    frequency lies between the samples, and across the frame half a sample turns the phase
    by half a turn."""
    points = np.asarray(points, dtype=np.float64)
    points = points[:: max(1, len(points) // SAMPLE)]
    steps = np.array([[r / shape[0], c / shape[1]] for r in SUB_BIN for c in SUB_BIN])
    best = np.zeros(len(freq))
    for step in steps:
        phases = np.exp(-2j * np.pi * (points @ (freq + step).T))
        best = np.maximum(best, np.abs(phases.mean(axis=0)))
    return best


def note_finer_lattice(frame, table, params) -> None:
    """``params["finer_period"]``: a strong lattice much finer than an automatic spacing that
    the atoms found do not share (a superstructure's maxima taken for the atoms; see
    :mod:`~napari_ivae.core.detection.finer_lattice`), for the self-check to warn about."""
    from napari_ivae.core.detection.point_columns import points_of, row_count

    if params.get("spacing_source") != "auto" or not row_count(table):
        return
    period = finer_period(frame, points_of(table), float(params["spacing"]))
    if period is not None:
        params["finer_period"] = round(period, 2)
        return
    # the frame's clearest lattice, under the spectrum's coarser one: searched, not warned
    # about (the points may share it: see finer_bragg); the search drops these keys
    from napari_ivae.core.detection.finer_bragg import finer_bragg_period

    coarse = max(float(params["spacing"]), float(params.get("lattice_spacing") or 0.0))
    period = finer_bragg_period(frame, coarse)
    if period is not None:
        params["finer_bragg_period"], params["finer_coarse"] = round(period, 2), coarse


def without_superstructure(frames: np.ndarray, period: float) -> np.ndarray:
    """The frames less their smoothing at half a superstructure's ``period`` (which keeps a
    much finer lattice)."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    return np.stack([frame - gaussian_smooth(frame, period / 2.0) for frame in frames])


def superstructure_note(coarse: float, spacing: float) -> str:
    """The note for atoms found under a superstructure of spacing ``coarse``."""
    return (
        f"the frame's strongest periodicity ({coarse:.1f} px) is a superstructure over a finer "
        f"lattice: it was taken out and the atoms searched at the finer lattice's spacing "
        f"({spacing:.2f} px)"
    )
