"""The auto particle method's search scales: their responses and how the background spreads.

:func:`scale_space_from` reuses a response already computed at the scales asked for;
:func:`weak_shift` says how much more the background's response spreads at each scale below
the candidates' than at theirs, which the pooled cut is multiplied by there.
"""

from __future__ import annotations

import numpy as np


def weak_shift(response, scales, smaller: int, core_sigma, skip=None) -> np.ndarray:
    """Per search scale, how much more the background's response spreads than at the
    candidate scales: what a pooled cut found there is multiplied by at each smaller scale.

    The spread is the median absolute deviation of ``response`` at a scale over the pixels
    not in ``skip`` (particles are a minority of them: the support's texture and noise). At
    each of the first ``smaller`` ``scales``, its ratio to the candidate scales' spread (the
    mean over the candidates' scales ``core_sigma``, weighted by how many lie at each),
    never below 1; 1 at the candidate scales.
    """
    from napari_ivae.core.detection._medians import _median

    shift = np.ones(len(scales))
    if not smaller or not len(core_sigma):
        return shift
    use = np.ones(response.shape[1:], dtype=bool) if skip is None else ~np.asarray(skip, bool)
    if not use.any():
        return shift

    def spread(index):
        values = response[index][use]
        return float(_median(np.abs(values - _median(values))))

    counts = np.array([np.count_nonzero(core_sigma == scale) for scale in scales[smaller:]])
    reference = sum(count * spread(smaller + k) for k, count in enumerate(counts) if count) / max(
        counts.sum(), 1
    )
    if reference > 0:
        for index in range(smaller):
            shift[index] = max(1.0, spread(index) / reference)
    return shift


def scale_space_from(frame, scales, known_scales, known):
    """The scale space of ``frame`` at ``scales``: a slice of ``known`` (the response at
    ``known_scales``, or None) where that holds them, else computed."""
    from napari_ivae.core.detection import particle_blobs

    if known is not None and len(scales):
        start = int(np.searchsorted(known_scales, scales[0]))
        stop = start + len(scales)
        if stop <= len(known_scales) and np.array_equal(known_scales[start:stop], scales):
            return known[start:stop].copy()  # not a view: the rest of ``known`` can go
    return particle_blobs.scale_space(frame, scales)
