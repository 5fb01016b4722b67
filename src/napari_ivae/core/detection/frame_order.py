"""How much of a frame its lattice is: the self-check's measures of the frame itself.

The points alone cannot tell a lattice of columns from a faint periodicity the detector was
led along: the lattice sites step (:mod:`~napari_ivae.core.detection.lattice_sites`) moves
the points onto the lattice the spacing search found, so their own order is that lattice's
whatever the frame shows. Two measures of the frame's spectrum (the central crop the spacing
search analyses, ``spacing.MAX_SIDE``) say whether the frame is that lattice:

``reflection_share``
    The share of the frame's detail (its power at periods from the longest searched down to
    2 px, smoothed as the detector smooths: a Gaussian of the atoms' sigma) in the samples
    that stand out of their ring (``spacing.KEEP_RATIO``, and their neighbours: what the
    spacing search's autocorrelation keeps; over a polycrystal's powder ring, as the search
    does, over the rings beside it). A lattice of columns over the whole frame is
    most of its detail (benchmark lattices over the whole frame, at every dose: 0.12-0.99;
    real HRSTEM and STM lattices 0.32-0.98); a faint periodicity (a scan pattern) over
    amorphous carbon carries 0.02 of it.
``second_share``
    The strongest sample off the line of the strongest peak, over that peak
    (:func:`~napari_ivae.core.detection.lattice_directions.second_direction`): every lattice
    measured 0.13-1.0 (``lattice_directions``); lattice fringes of one set of planes much less.
"""

from __future__ import annotations

import numpy as np


def frame_order(frame: np.ndarray, sigma: float) -> dict | None:
    """The frame's ``reflection_share`` and ``second_share`` (see the module's docstring).

    Parameters
    ----------
    frame : numpy.ndarray
        One prepared 2D frame (bright atoms).
    sigma : float
        The detector's smoothing in pixels.

    Returns
    -------
    dict or None
        ``{"reflection_share": float, "second_share": float}``; ``None`` where the frame's
        spectrum has no band to measure or nothing in it.
    """
    from scipy import ndimage

    from napari_ivae.core.detection import spacing as lattice
    from napari_ivae.core.detection.lattice_directions import second_direction

    if min(np.shape(frame)) < 16:  # (the crop is as small)
        return None
    crop, power, freq_sq, floor = lattice.crop_spectrum(frame)
    max_spacing = min(crop.shape) / lattice.PERIODS_SEEN
    band = lattice._band(freq_sq, max_spacing)
    ratio, strongest = lattice._peak_ratios(power, floor, band)
    if strongest < lattice.MIN_BRAGG_RATIO:  # a polycrystal's powder ring, as the search does
        from napari_ivae.core.detection.powder_ring import powder_floor

        powder = powder_floor(power, lattice._ring_index(power, freq_sq), floor, band)
        if powder is not None:
            ratio, strongest = lattice._peak_ratios(power, powder, band)
    smoothed = power * np.exp(-4.0 * np.pi**2 * sigma**2 * freq_sq)  # the blur's power
    total = float(smoothed[band].sum())
    if not (strongest > 0 and total > 0):
        return None
    kept = ndimage.binary_dilation(ratio > lattice.KEEP_RATIO, np.ones((3, 3), bool)) & band
    second, _ = second_direction(ratio, crop.shape, max_spacing, band)
    return {
        "reflection_share": round(float(smoothed[kept].sum()) / total, 4),
        "second_share": round(second / strongest, 4),
    }


__all__ = ["frame_order"]
