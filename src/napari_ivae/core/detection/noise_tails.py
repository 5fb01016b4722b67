"""One-sided pixel noise without a noise line: its tails read from moderate quantiles.

An EMCCD's gain or a photomultiplier's excess noise gives a flat background's pixels an
exponential tail toward the particles' side; with no line of variance against the mean
(:mod:`~napari_ivae.core.detection.count_noise`) the counting-noise skew cannot be read, so
the far background's levels, measured on the opposite side, are carried over by the pixels'
own distribution (:func:`fitted_tail_levels`), used by
:func:`~napari_ivae.core.detection.particle_far_background.skewed_levels`.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_faint import FAINT_TAIL

TAIL_SIDE = 256  # the background's noise drawn into a square this wide at most
TAIL_BLOCK = 8  # ... each less the mean of the background in its block of this many px
TAIL_BLUR = 0.5  # independent pixels: the noise's blur (px) under this
TAIL_FIT = (1.0, 2.0)  # the pixels' tails fitted between their quantiles at these normal deviates
TAIL_ERRORS = 2.0  # a side's reach further than the other's by more than this many standard errors


def fitted_tail_levels(levels, scales, frame, background):
    """``levels`` measured on the opposite side, carried over to the particles' side as far
    as the frame's own pixel noise, its tails fitted from moderate quantiles, reaches further
    there.

    Where no counting noise is measured (a flat background gives no line of variance against
    the mean), the pixel noise may still be one-sided: an EMCCD's gain or a photomultiplier's
    excess noise has an exponential tail toward the particles' side. The ``background``
    pixels less the background's mean in their block of ``TAIL_BLOCK`` px give that noise's
    distribution between its quantiles at ``TAIL_FIT[1]`` normal deviates, and each tail's
    exponential decay beyond them (:func:`_tail_quantiles`): faint particles missed in the
    background, sparse, barely reach those quantiles, but would lengthen the particles'
    side's tail if it were read from the pixels themselves (a dense fluorescence frame's far
    background). A square of at most ``TAIL_SIDE`` px is drawn from that distribution by
    one set of uniforms, and the other side from the same uniforms reflected, so that a
    symmetric noise gives both sides the same field. At each scale the particles' side's
    level over the other side's, each where the same count of maxima is expected over the
    frame (:func:`~napari_ivae.core.detection.field_noise.tail_level`), less ``TAIL_ERRORS``
    standard errors of the two (each side's tail from ``tail`` maxima), scales the level
    where it is over 1. The pixels are taken as independent: where the frame's noise is
    blurred by ``TAIL_BLUR`` px or more (the residual against pixels ``COUNT_REACH`` px away
    over the adjacent one's, on the frame's centre), or where too few pixels are left,
    ``levels`` are returned as they are.
    """
    from napari_ivae.core.detection._filters import local_maxima
    from napari_ivae.core.detection.count_noise import (
        COUNT_REACH,
        residual_ratio,
        residual_variance,
    )
    from napari_ivae.core.detection.field_noise import tail_level
    from napari_ivae.core.detection.particle_far_background import FAINT_FALSE
    from napari_ivae.core.detection.particle_scale_space import scale_space

    levels = np.array(levels, dtype=np.float64)
    values = _block_residuals(frame, background)
    side = min(TAIL_SIDE, int(np.sqrt(len(values))))
    if side < 32:
        return levels
    centre = tuple(
        slice(max(0, (n - 3 * TAIL_SIDE) // 2), (n + 3 * TAIL_SIDE) // 2) for n in background.shape
    )
    near, far = (
        residual_variance(frame[centre], background[centre], step) for step in (1, COUNT_REACH)
    )
    if not near > 0.0 or not far <= near * residual_ratio(TAIL_BLUR):
        return levels
    # one set of uniforms for both sides: the particles' side from them, the other reflected
    drawn = np.random.default_rng(0).random(side * side)
    fields = (_tail_quantiles(values, drawn), -_tail_quantiles(values, 1.0 - drawn))
    responses = [scale_space(field.reshape(side, side), scales) for field in fields]
    # the same expected count over the frame: its background's area over the square's
    area = float(background.sum()) / side**2
    for index, sigma in enumerate(scales):
        if not np.isfinite(levels[index]) or not levels[index] > 0.0:
            continue
        reach = []
        for response in responses:
            layer = response[index]
            rows, cols = local_maxima(layer, 2 * int(np.ceil(sigma)) + 1, 0.0)
            maxima = np.sort(layer[rows, cols])
            if len(maxima) < FAINT_TAIL[0]:
                break
            tail = max(FAINT_TAIL[0], int(FAINT_TAIL[1] * len(maxima)))
            level = tail_level(maxima, area, FAINT_FALSE / len(scales), *FAINT_TAIL)
            reach.append((level, (level - float(maxima[-tail])) / np.sqrt(tail)))
        if len(reach) < 2 or not reach[1][0] > 0.0:
            continue
        (up, up_error), (down, down_error) = reach
        ratio = (up - TAIL_ERRORS * np.hypot(up_error, down_error)) / down
        if ratio > 1.0:
            levels[index] *= ratio
    return levels


def _tail_quantiles(values, probabilities) -> np.ndarray:
    """``values``' quantiles at ``probabilities`` between those at ``TAIL_FIT[1]`` standard
    normal deviates each side of the median; beyond them, each tail exponential, its decay
    fitted between that quantile and the one at ``TAIL_FIT[0]`` deviates.

    Sparse faint particles in the sample barely reach these moderate quantiles, but would
    lengthen the particles' side's tail as sampled; an exponential tail is what a multiplied
    noise (an EMCCD's gain) has on that side, and longer than a normal noise's on either, so
    both sides' tails are drawn the same way and only their difference counts."""
    from scipy.special import ndtr

    inner, outer = (float(ndtr(x)) for x in TAIL_FIT)
    low, low_inner, high_inner, high = np.quantile(values, [1 - outer, 1 - inner, inner, outer])
    steps = np.log((1 - inner) / (1 - outer))
    probabilities = np.asarray(probabilities, dtype=np.float64)
    drawn = np.quantile(values, np.clip(probabilities, 1 - outer, outer))
    up, down = probabilities > outer, probabilities < 1 - outer
    drawn[up] = high + (high - high_inner) / steps * np.log((1 - outer) / (1 - probabilities[up]))
    drawn[down] = low - (low_inner - low) / steps * np.log((1 - outer) / probabilities[down])
    return drawn


def _block_residuals(frame, background) -> np.ndarray:
    """The ``background`` pixels of ``frame`` less the mean of the background in their block
    of ``TAIL_BLOCK`` px (blocks with under half their pixels in it are left out)."""
    size = TAIL_BLOCK
    height, width = (n // size * size for n in frame.shape)
    frame, background = frame[:height, :width], background[:height, :width]
    blocks = (height // size, size, width // size, size)
    count = background.reshape(blocks).sum(axis=(1, 3))
    total = np.where(background, frame, 0).reshape(blocks).sum(axis=(1, 3), dtype=np.float64)
    mean = total / np.maximum(count, 1)
    use = background & np.repeat(np.repeat(count >= size * size // 2, size, 0), size, 1)
    rows, cols = np.nonzero(use)
    return frame[rows, cols].astype(np.float64) - mean[rows // size, cols // size]


__all__ = ["fitted_tail_levels"]
