"""The polarity and scale choice's measure at each scale: how blob-like its strongest peaks are.

Step 1 of :mod:`~napari_ivae.core.detection.particle_blobs`: at each scale and sign, the mean
of the strongest peaks of the response (as many as blobs of that scale could cover ``COVER``
of the frame) over the response's robust spread. The scales are measured side by side on a
command's main thread (:func:`~napari_ivae.core.detection._threads.shared_out`), each as on
one thread, and gathered in their order.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._medians import _median

COVER = 0.02  # the strongest responses averaged: as many blobs as would cover this share


def scale_peaks(response, scales, use, polarity: str) -> tuple[list, dict]:
    """Each scale's and sign's strength, and its strongest peaks.

    Parameters
    ----------
    response : numpy.ndarray
        ``(scales, Y, X)`` from :func:`~napari_ivae.core.detection.particle_blobs.scale_space`.
    scales : numpy.ndarray
        Its sigmas.
    use : numpy.ndarray of bool
        ``(Y, X)`` the pixels the spread is measured on.
    polarity : {"auto", "bright", "dark"}
        The signs measured (``"auto"``: both).

    Returns
    -------
    (list, dict)
        ``(strength, polarity, scale index)`` of every measured pair, in scale order and
        bright before dark (``-inf`` for a sign with no peak), and each such pair's strongest
        peaks (flat indices into a layer), keyed by ``(polarity, scale index)``.
    """
    from napari_ivae.core.detection._threads import detection_threads, shared_out

    found: list = [()] * len(scales)

    def measure(indices):
        for index in indices:
            found[index] = _one_scale(response[index], float(scales[index]), use, polarity)

    shared_out(measure, len(scales), detection_threads())
    measured: list[tuple[float, str, int]] = []
    strongest: dict[tuple[str, int], np.ndarray] = {}
    for index, pairs in enumerate(found):
        for strength, name, chosen in pairs:
            measured.append((strength, name, index))
            if chosen is not None:
                strongest[name, index] = chosen
    return measured, strongest


def _one_scale(layer, sigma: float, use, polarity: str) -> list:
    """``(strength, polarity, strongest peaks or None)`` of each sign measured at one scale."""
    from napari_ivae.core.detection._filters import maximum_filter3

    values = layer[use]
    if values.size == 0:
        return []
    spread = 1.4826 * _median(np.abs(values - _median(values)))
    if not spread > 0:
        return []
    count = max(4, int(COVER * values.size / (np.pi * (2 * sigma) ** 2)))
    pairs: list[tuple[float, str, np.ndarray | None]] = []
    for name, signed in (("bright", layer), ("dark", -layer)):
        if polarity not in ("auto", name):
            continue
        # one value per blob (its peak), not the peak's neighbouring pixels over again; a
        # peak may sit on a flat top (a saturated or noise-free particle), so not `use`
        flat = np.flatnonzero((signed == maximum_filter3(signed)) & (signed > 0))
        top = min(count, flat.size)
        if not top:
            pairs.append((-np.inf, name, None))
            continue
        peaks = signed.ravel()[flat]
        chosen = np.argpartition(peaks, peaks.size - top)[-top:]
        pairs.append((float(peaks[chosen].mean() / spread), name, flat[chosen]))
    return pairs


__all__ = ["COVER", "scale_peaks"]
