"""A periodic scan distortion (mains hum) recognised by its signature in the spectrum.

A scanned image (STEM, AFM, STM) whose beam or tip is pushed back and forth by a periodic
field shows every scan row shifted by ``a sin(2 pi row / P + phi)``. In the spectrum a lattice
reflection ``g`` then becomes a family ``g + n (1 / P, 0)`` along the slow-scan axis, with
amplitudes ``J_n(2 pi g . a)``: side peaks at one offset around every Bragg peak whose ``g``
is not perpendicular to the shift, but none around the origin (a shift changes no mean
intensity). A unit cell gives peaks in families along the slow-scan axis only when that axis
holds a reciprocal-lattice vector, and then that vector is itself a peak next to the origin.

On such an image the rows where the hum's phase is steepest smear each column diagonally, and
neighbouring rows squeeze together: a first detection pass finds atoms closer than the lattice
spacing, though the spacing (from the autocorrelation, which averages over the rows) is right.
:func:`scan_hum_period` tells the detector not to take that closer separation for the atoms'.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection import spacing as spectra

HUM_SIDE = 512  # the spectrum of a central crop at most this large (its rows: the slow scan)
# Most reflections carry side peaks: on a hexagonal lattice at most one of the three
# directions is perpendicular to the shift (no side peaks); a square one's side peaks have
# their parents as partners. Two thirds of all peaks have a partner at the hum's offset.
PARTNERED = 2.0 / 3.0
# A partner at least this many samples away: the Hann window spreads a peak over +-2 samples
# (a smeared or drifting lattice's peaks are chains of neighbouring samples), and a partner is
# looked for within +-1 of the offset.
MIN_OFFSET = 6
# Enough peaks to see a family: a lattice's first and second orders in the half plane (3 + 3
# on a hexagonal one) each with a side peak.
MIN_PEAKS = 12


def scan_hum_period(frame: np.ndarray, max_spacing: float | None = None) -> float | None:
    """The period (rows) of a periodic scan distortion, or ``None`` when the frame shows none.

    Peaks of the spectrum (samples ``KEEP_RATIO`` times their ring's diffuse level, local
    maxima, beyond ``max_spacing``) are paired along the slow-scan axis: the offset ``k`` that
    pairs the most of them (each with a peak ``k +- 1`` samples above or below it) is the hum's
    when it pairs at least ``PARTNERED`` of at least ``MIN_PEAKS`` peaks, lies at least
    ``MIN_OFFSET`` samples from them, and the spectrum next to the origin at that offset stands
    below ``KEEP_RATIO`` (no frequency of the image itself: a reciprocal-lattice vector would
    be one).

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame (rows: the slow scan).
    max_spacing : float, optional
        Peaks closer to the origin than ``1 / max_spacing`` (the slow background) are left out;
        default a sixth of the crop's side.

    Returns
    -------
    float or None
        The hum's period in rows.
    """
    from scipy import ndimage

    crop = spectra._central_crop(np.asarray(frame), HUM_SIDE).astype(np.float64)
    if not np.isfinite(crop).all() or min(crop.shape) < 4 * MIN_OFFSET:
        return None
    max_spacing = max_spacing or min(crop.shape) / spectra.PERIODS_SEEN
    power, freq_sq = spectra._periodogram(crop)
    floor = spectra._ring_medians(power, freq_sq)
    ratio, _ = spectra._peak_ratios(power, floor, spectra._band(freq_sq, max_spacing))
    peaks = (
        (ratio > spectra.KEEP_RATIO)
        & (ratio == ndimage.maximum_filter(ratio, 3, mode="wrap"))
        & (freq_sq >= 1.0 / max_spacing**2)
    )
    count = int(peaks.sum())
    rows = crop.shape[0]
    if count < MIN_PEAKS:
        return None
    near = ndimage.binary_dilation(peaks, np.ones((3, 1), bool))  # a partner within +-1 sample
    # a separate peak, not a streak: the spectrum halfway to the partner is below a peak's
    dip = ratio < spectra.KEEP_RATIO
    hits = [
        (int((peaks & _partnered(near, dip, k)).sum()), k) for k in range(MIN_OFFSET, rows // 4)
    ]
    if not hits:
        return None
    paired, offset = max(hits)
    if paired < PARTNERED * count:
        return None
    at_origin = ratio[np.arange(offset - 1, offset + 2) % rows, 0]
    if at_origin.max() >= spectra.KEEP_RATIO:
        return None
    return rows / offset


def spacing_under_hum(
    frame: np.ndarray, lattice_spacing: float, closer: float
) -> tuple[float, float | None]:
    """The spacing for the second pass, and the hum's period (``None`` when the frame shows
    none): the lattice spacing where a first pass found atoms ``closer`` than it on a frame
    with a scan hum (its squeezed rows, not a cell with several atoms, put them there), else
    ``closer``."""
    if not closer < lattice_spacing:
        return closer, None
    period = scan_hum_period(frame)
    return (closer, None) if period is None else (lattice_spacing, period)


def _partnered(near: np.ndarray, dip: np.ndarray, k: int) -> np.ndarray:
    """Samples with a peak ``k +- 1`` samples above or below them along the slow-scan axis
    (rows) and the spectrum halfway to it below a peak's level."""
    half = k // 2
    above = np.roll(near, k, axis=0) & np.roll(dip, half, axis=0)
    below = np.roll(near, -k, axis=0) & np.roll(dip, -half, axis=0)
    return above | below


__all__ = ["scan_hum_period", "spacing_under_hum"]
