"""A frame whose clearest periodicity is a lattice far finer than the spacing found.

The autocorrelation weighs every frequency by its power. A superstructure's bands (the bright
and dark layers of a layered crystal, a moire's envelope) can carry most of it, and the
spacing estimate then takes their cell for the lattice; the atoms found are the bands'
maxima. Those sit on atoms too, so they share the atoms' reflections in part and
:func:`~napari_ivae.core.detection.finer_lattice.finer_period` (which asks for reflections the
points do not share) can miss the finer lattice. The atoms' own reflections still stand out of
the diffuse spectrum further than anything else (the frame's highest ratio to its ring), at a
period a fraction of that cell. Where the frame's strongest Bragg peak and another one in a
second direction (a 2-D lattice, not fringes) lie that far out, that is the finer lattice.
The thresholds are :mod:`~napari_ivae.core.detection.finer_lattice`'s: a lattice's own
third-order reflections lie at a third of its spacing and are not its strongest; pixel-level
patterns are no atoms.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.finer_lattice import (
    FINER,
    MIN_ANGLE,
    MIN_PERIOD,
    MIN_RATIO,
    _resolved,
)


def finer_bragg_period(frame: np.ndarray, spacing: float) -> float | None:
    """The period (pixels) of the frame's strongest Bragg peak when it lies ``FINER`` times
    finer than ``spacing`` (and above ``MIN_PERIOD``), stands ``MIN_RATIO`` times over its
    ring, and another such peak points at least ``MIN_ANGLE`` away; else ``None``.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame (its central ``MAX_SIDE`` crop is analysed, as for the spacing).
    spacing : float
        The lattice spacing the frame was searched at (pixels).

    Returns
    -------
    float or None
    """
    from scipy import ndimage

    from napari_ivae.core.detection import spacing as estimate

    if spacing < FINER * MIN_PERIOD:
        return None
    crop, power, freq_sq, floor = estimate.crop_spectrum(frame)
    ratio = np.where(floor > 0, power / np.maximum(floor, np.finfo(np.float64).tiny), 0.0)
    ratio[0, 0] = 0.0  # the mean
    fine = (freq_sq >= (FINER / spacing) ** 2) & (freq_sq <= 1.0 / MIN_PERIOD**2)
    peak = ratio == ndimage.maximum_filter(ratio, size=3, mode="wrap")
    rows, cols = np.nonzero(fine & peak & (ratio >= MIN_RATIO))
    resolved = _resolved(floor, rows, cols)  # not an up-sampled frame's images
    rows, cols = rows[resolved], cols[resolved]
    # the strongest of the frame (where the spacing estimate looks: periods of 2 px and more)
    if (
        len(rows) < 2
        or ratio[rows, cols].max() < ratio[freq_sq <= 1 / estimate.MIN_SPACING**2].max()
    ):
        return None
    freq = np.stack(
        [np.fft.fftfreq(crop.shape[0])[rows], np.fft.rfftfreq(crop.shape[1])[cols]], axis=1
    )
    angles = np.mod(np.arctan2(freq[:, 0], freq[:, 1]), np.pi)
    apart = np.abs(angles[:, None] - angles[None, :])
    if np.minimum(apart, np.pi - apart).max() < MIN_ANGLE:
        return None
    return float(1.0 / np.hypot(*freq[np.argmax(ratio[rows, cols])]))
