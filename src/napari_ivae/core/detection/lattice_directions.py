"""Whether a periodicity is a lattice: Bragg peaks along two directions, not one.

A crystal projected onto the image plane is periodic along two directions, so its power
spectrum holds Bragg peaks off the line through the origin and its strongest peak. Lattice
fringes of one set of planes (a particle tilted off its zone axis) and scan-line offsets are
periodic along one direction only: every peak they give (the fringes' harmonics, the scan's
column of frequencies) lies on that line, and off it the spectrum is the diffuse noise's.

Off the line means at least ``1 / max_spacing`` from it (the longest period searched): a
lattice's other reciprocal vectors lie ``1 / b`` from the line, ``b`` its period along the
fringes, so every lattice the search can see has one there; nearer, the strongest peak's own
spread (a particle's envelope, the window's leakage) is all a periodicity in one direction
gives. The second direction must stand out of the noise as no periodogram value of noise does
over as many samples (:func:`second_direction`: 13-20 x its ring from 40 to 1024 px). Measured
on ~460 benchmark frames: every lattice's second direction stands 0.13-1.0 of its first and at
least 30 x its ring (the weakest: four particles on carbon at low dose, 30-32 x; a 4-cell crop,
35 x), while fringes and scan lines leave only noise there (9-16 x, their first 1 300-48 000 x).
A frame so refused is searched with that periodicity taken out (:func:`without_line`).
"""

from __future__ import annotations

import numpy as np

# the spacing source of a frame periodic along one direction only, and what the spacing
# estimate's refusal of such a frame says
ONE_DIRECTION = "periodic along one direction only, taken out: no lattice"
ONE_DIRECTION_SIGN = "one direction only"
# the chance that noise alone puts one periodogram value off the line above the threshold
SECOND_FALSE_ALARM = 1e-3


def second_direction(ratio: np.ndarray, shape, max_spacing: float, band: np.ndarray) -> tuple:
    """The strongest spectral peak off the strongest one's line, and what noise would reach.

    Parameters
    ----------
    ratio : numpy.ndarray
        The real FFT's power over its ring's diffuse level (``spacing._spectrum``).
    shape : tuple of int
        The analysed image's shape (sets the frequencies of ``ratio``'s samples).
    max_spacing : float
        The longest period searched (pixels).
    band : numpy.ndarray of bool
        The samples searched (periods between ``max_spacing`` and ``MIN_SPACING``).

    Returns
    -------
    (float, float)
        The largest ``ratio`` in ``band`` at least ``1 / max_spacing`` from the line through
        the origin and the strongest peak in ``band``, and the threshold noise exceeds there
        with probability ``SECOND_FALSE_ALARM`` (periodogram values of noise over their mean
        are exponential: the largest of ``n`` exceeds ``ln(n / alpha)`` with probability
        about ``alpha``). 0 and the threshold when nothing is off the line.
    """
    from scipy import fft

    ky = fft.fftfreq(shape[0])[:, None]
    kx = fft.rfftfreq(shape[1])[None, :]
    along = _strongest_direction(ratio, band, shape)
    off = band & (np.abs(ky * along[1] - kx * along[0]) >= 1.0 / max_spacing)
    count = int(off.sum())
    threshold = float(np.log(max(count, 1) / SECOND_FALSE_ALARM))
    return (float(ratio[off].max()) if count else 0.0), threshold


def without_line(frame: np.ndarray) -> np.ndarray:
    """``frame`` with its periodicity along one direction taken out: every Fourier sample on
    the line through the origin and the spectrum's strongest peak (within ``1 / max_spacing``
    of it, at periods up to ``max_spacing``: the band searched for a lattice) that stands
    ``KEEP_RATIO`` over its ring, and its neighbours, brought down to its ring's diffuse level
    (its phase kept).

    Lattice fringes or scan-line offsets hold no atom position, but against a surrogate of the
    frame's texture they stand out as structure (a particle's fringes are localised, the
    surrogate spreads them over the frame; a surrogate's values blur a scan's row offsets):
    on such a frame the detector finds hundreds to tens of thousands of maxima along them. With
    the line taken out, what is left (noise, a support, an isolated atom) is searched as on any
    frame without a lattice. The direction is the frame's own, on the central crop the spacing
    estimate analyses (``spacing.MAX_SIDE``); the frame keeps its mean and slow variation.
    """
    from scipy import fft, ndimage

    from napari_ivae.core.detection import spacing as lattice

    values = np.asarray(frame, dtype=np.float64)
    if not np.isfinite(values).all():  # a prepared frame has none; nothing to take out then
        return np.asarray(frame, dtype=np.float32)
    crop = lattice._central_crop(values, lattice.MAX_SIDE)
    max_spacing = min(crop.shape) / 6.0
    _, freq_sq, ratio, _ = lattice._spectrum(crop, max_spacing)
    along = _strongest_direction(ratio, lattice._band(freq_sq, max_spacing), crop.shape)
    spectrum = fft.rfft2(values - values.mean(), workers=1)
    power = np.abs(spectrum) ** 2
    ky = fft.fftfreq(values.shape[0])[:, None]
    kx = fft.rfftfreq(values.shape[1])[None, :]
    freq_sq = ky**2 + kx**2
    floor = lattice._ring_medians(power, freq_sq)
    strong = power > lattice.KEEP_RATIO * floor
    line = np.abs(ky * along[1] - kx * along[0]) < 1.0 / max_spacing
    line &= freq_sq >= 1.0 / max_spacing**2
    taken = ndimage.binary_dilation(strong & line, np.ones((3, 3), bool)) & line
    scale = np.sqrt(floor / np.maximum(power, np.finfo(np.float64).tiny))
    spectrum = np.where(taken & (scale < 1.0), spectrum * scale, spectrum)
    out = fft.irfft2(spectrum, values.shape, workers=1) + values.mean()
    return out.astype(np.float32)


def _strongest_direction(ratio: np.ndarray, band: np.ndarray, shape) -> np.ndarray:
    """The unit frequency vector (row, column) of the largest ``ratio`` sample in ``band``,
    on the real FFT's grid of a frame of ``shape``."""
    from scipy import fft

    top = np.unravel_index(int(np.argmax(np.where(band, ratio, 0.0))), ratio.shape)
    first = np.array([fft.fftfreq(shape[0])[top[0]], fft.rfftfreq(shape[1])[top[1]]])
    return first / max(float(np.hypot(*first)), np.finfo(np.float64).tiny)
