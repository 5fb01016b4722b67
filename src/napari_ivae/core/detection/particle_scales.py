"""The auto particle method's search scales: their responses and how the background spreads.

:func:`scale_space_from` reuses a response already computed at the scales asked for;
:func:`weak_shift` says how much more the background's response spreads at each scale below
the candidates' than at theirs, which the pooled cut is multiplied by there;
:func:`beyond_top` judges a blob at the largest candidate scale whose response still grows
above it by the same rule, at the scale where its response peaks.
"""

from __future__ import annotations

import numpy as np


def weak_shift(response, scales, smaller: int, core_sigma, skip=None, known=None) -> np.ndarray:
    """Per search scale, how much more the background's response spreads than at the
    candidate scales: what a pooled cut found there is multiplied by at each smaller scale.

    The spread is the median absolute deviation of ``response`` at a scale over the pixels
    not in ``skip`` (particles are a minority of them: the support's texture and noise). At
    each of the first ``smaller`` ``scales``, its ratio to the candidate scales' spread (the
    mean over the candidates' scales ``core_sigma``, weighted by how many lie at each),
    never below 1; 1 at the candidate scales. ``known``: spreads already measured over the
    same pixels (layer index to value, as
    :func:`~napari_ivae.core.detection.particle_threshold.background_strengths` fills it).
    """
    shift = np.ones(len(scales))
    if not smaller or not len(core_sigma):
        return shift
    spread = _background_spread(response, skip, known)
    if spread is None:
        return shift
    counts = np.array([np.count_nonzero(core_sigma == scale) for scale in scales[smaller:]])
    reference = sum(count * spread(smaller + k) for k, count in enumerate(counts) if count) / max(
        counts.sum(), 1
    )
    if reference > 0:
        for index in range(smaller):
            shift[index] = max(1.0, spread(index) / reference)
    return shift


def _background_spread(response, skip, known=None):
    """``spread(index)``: the median absolute deviation of ``response[index]`` over the pixels
    not in ``skip`` (or ``known[index]``, measured over them already); None where every pixel
    is skipped."""
    from napari_ivae.core.detection._medians import _median

    use = np.ones(response.shape[1:], dtype=bool) if skip is None else ~np.asarray(skip, bool)
    if not use.any():
        return None

    def spread(index):
        if known is not None and index in known:
            return float(known[index])
        values = response[index][use]
        return float(_median(np.abs(values - _median(values))))

    return spread


def scale_space_from(frame, scales, known_scales, known):
    """The scale space of ``frame`` at ``scales``: a slice of ``known`` (the response at
    ``known_scales``, or None) where that holds them, else computed."""
    from napari_ivae.core.detection import particle_scale_space

    if known is not None and len(scales):
        start = int(np.searchsorted(known_scales, scales[0]))
        stop = start + len(scales)
        if stop <= len(known_scales) and np.array_equal(known_scales[start:stop], scales):
            return known[start:stop].copy()  # not a view: the rest of ``known`` can go
    return particle_scale_space.scale_space(frame, scales)


def beyond_top(
    strength, points, blob_sigma, response, scales, polarity: str, skip=None, known=None
):
    """The strengths the cut judges: a blob at ``scales[0]`` (the largest candidate scale)
    whose response still grows above it, judged where its response peaks.

    The search stops at the largest candidate scale, so a broad mound of the background (a
    thick support's smooth bump) answers there as a maximum in scale while its response still
    grows; the background's response spreads more at each larger scale. Such a blob's
    strength is its response at the scale where it stops growing (followed up ``scales`` at
    its pixel) divided by how much more the background spreads there than at ``scales[0]``
    (:func:`weak_shift`'s rule above the candidates), never more than its own strength: the
    test only removes.

    Parameters
    ----------
    strength, points, blob_sigma : numpy.ndarray
        The candidates' strengths, ``(N, 2)`` integer (row, col) and sigmas.
    response : numpy.ndarray or None
        ``(scales, Y, X)`` scale space of the frame (bright blobs positive).
    scales : numpy.ndarray
        Its sigmas, the largest candidate scale first.
    polarity : {"bright", "dark"}
        The particles' polarity.
    skip : numpy.ndarray of bool, optional
        Pixels left out of the background's spread.
    known : dict, optional
        The spreads of ``response``'s layers by index, from an earlier call on the same
        ``response`` and ``skip`` (a second search's: the aggregates' scale space is the
        first's); filled here.

    Returns
    -------
    numpy.ndarray
        ``strength``, lowered where a blob at the top scale grows on above it.
    """
    judged = np.array(strength, dtype=float)
    top = np.flatnonzero(blob_sigma == scales[0]) if len(scales) > 1 else np.empty(0, int)
    if response is None or not len(top):
        return judged
    values = response[:, points[top, 0], points[top, 1]] * (1.0 if polarity == "bright" else -1.0)
    peak = np.cumprod(values[1:] > values[:-1], axis=0).sum(axis=0)  # scales it grows on
    grows = peak > 0
    if not grows.any():
        return judged
    measure = _background_spread(response, skip, known)
    if measure is None:
        return judged

    def spread(index):
        value = measure(index)
        if known is not None:
            known[index] = value
        return value

    base = spread(0)
    if base <= 0:
        return judged
    shift = np.ones(len(scales))
    for index in range(1, int(peak.max()) + 1):
        shift[index] = max(1.0, spread(index) / base)
    index = top[grows]
    at_peak = values[peak[grows], np.flatnonzero(grows)] / shift[peak[grows]]
    judged[index] = np.minimum(judged[index], at_peak)
    return judged
