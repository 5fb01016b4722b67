"""The noise level a crowded packed layer's floors need: the frame's white-equivalent noise,
measured on blocks that span the noise's grain.

Every floor of the particle search is white-noise theory applied to the pixel noise
(:func:`~napari_ivae.core.detection.peaks.smoothed_noise`, from neighbouring pixels'
differences). A frame up-sampled from a coarser camera (a higher magnification, a smaller
pixel) has noise in grains of a few pixels: neighbours move together, their differences read
a fraction of the noise that survives smoothing at a particle's scale, and the floors let
the grains through. Only where that is visible in the result is it corrected: the points on
a packed layer outnumber its lattice's cells
(:func:`~napari_ivae.core.detection.packed_period.lattice_cells`,
``LAYER_CROWDED`` x as many), which a monolayer cannot hold.

The white-equivalent noise is the block-mean estimate of correlated noise's level: the mean
of ``b x b`` blocks holds ``1 / b`` of white noise's, and more where neighbours correlate;
``b`` x the blocks' own pixel noise is the level at the particles' scale once ``b`` spans the
grain (:func:`grain_block`). On in-situ Au monolayers it reads 2.44-2.51 x the pixel noise at
x1.5 (blocks of 3 px) and 4.0-4.1 at x2 (4 px), where the particles' blob strengths on the
benchmark's cubic up-sampled white noise are 2.40-2.46 and 4.15-4.22 x; 1.0 at x1.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.pixel_noise import trimmed_pixel_noise

MOST_LAG = 8  # px: the grain looked for up to this (a frame up-sampled up to ~4 x)
STALL = 0.05  # the grain's size: the first lag past which the spread rises less than this
SAMPLES = 50_000  # pairs along each axis at most


def lag_spread(frame: np.ndarray, lag: int, skip=None) -> float:
    """The one-pixel noise that the differences of pixels ``lag`` apart along rows and
    columns give (their trimmed root mean square, at most :data:`SAMPLES` pairs of each
    drawn at random: a regular stride would read one interpolation phase of an up-sampled
    frame); pairs touching a ``skip`` pixel are left out."""
    frame = np.asarray(frame)
    pieces = []
    rng = np.random.default_rng(lag)
    for axis in (0, 1):
        span = (frame.shape[0] - lag * (axis == 0), frame.shape[1] - lag * (axis == 1))
        count = span[0] * span[1]
        if count <= 0:
            continue
        flat = np.arange(count) if count <= SAMPLES else rng.integers(0, count, SAMPLES)
        rows, cols = flat // span[1], flat % span[1]
        ahead = (rows + lag, cols) if axis == 0 else (rows, cols + lag)
        values = frame[ahead].astype(np.float64) - frame[rows, cols]
        if skip is not None:
            values = values[~(skip[ahead] | skip[rows, cols])]
        pieces.append(values)
    differences = np.concatenate(pieces) if pieces else np.empty(0)
    if differences.size == 0:
        return 0.0
    return trimmed_pixel_noise(differences)


def grain_block(frame: np.ndarray, skip=None) -> int:
    """The side of the blocks that span the noise's grain: one more than the grain's size, the
    first lag (1 to :data:`MOST_LAG` px) past which the differences' spread rises by less than
    :data:`STALL` (white noise: 1, blocks of 2 px; cubic up-sampling x1.5: 2, x2: 3). The
    spread's later rise is the particles' structure, not the noise's."""
    previous = lag_spread(frame, 1, skip)
    for lag in range(1, MOST_LAG):
        spread = lag_spread(frame, lag + 1, skip)
        if spread <= (1.0 + STALL) * previous:
            return lag + 1
        previous = spread
    return MOST_LAG + 1


def white_equivalent_noise(frame: np.ndarray, skip=None) -> float:
    """The white noise level that, smoothed at a particle's scale, gives the noise ``frame``
    has there: ``b`` x the pixel noise of its ``b x b`` block means, ``b`` from
    :func:`grain_block`."""
    from napari_ivae.core.detection.particle_binning import binned, binned_mask
    from napari_ivae.core.detection.peaks import smoothed_noise

    block = grain_block(frame, skip)
    blocks_skip = None if skip is None else binned_mask(skip, block)
    if blocks_skip is not None and blocks_skip.all():
        return smoothed_noise(frame, 0.0, skip)
    return block * smoothed_noise(binned(frame, block), 0.0, blocks_skip)


def grained(filled, skip, cells, kept: int, shared) -> bool:
    """Whether a packed layer's search must run again on the frame's white-equivalent noise
    (:mod:`~napari_ivae.core.detection.layer_grain`): its ``kept`` points outnumber its
    lattice's ``cells`` ``LAYER_CROWDED`` x (a monolayer cannot hold them: the floors let
    the noise's grains through) and that noise is above the pixel noise the floors used. The
    pixel noise in ``shared``'s steps is replaced by it (for this frame's later searches too),
    once; the factor is kept as ``shared["grain"]``."""
    from napari_ivae.core.detection.packed_period import LAYER_CROWDED

    if not cells or kept < LAYER_CROWDED * cells or shared is None or "grain" in shared:
        return False
    steps = shared["steps"]
    pixel_noise = steps[5]
    level = white_equivalent_noise(filled, skip if skip.any() else None)
    shared["grain"] = round(level / pixel_noise, 3) if pixel_noise > 0 else 1.0
    if not level > pixel_noise:
        return False
    shared["steps"] = (*steps[:5], level, *steps[6:])
    return True


def layer_cells(filled, masked, shared) -> float | None:
    """:func:`~napari_ivae.core.detection.packed_period.lattice_cells` of the unmasked
    frame, once per frame (kept in ``shared``): the self-check's bound on a packed layer's
    count (:func:`~napari_ivae.core.detection.quality_particles.assess_particles`)."""
    from napari_ivae.core.detection.packed_period import lattice_cells

    if shared is not None and "layer_cells" in shared:
        return shared["layer_cells"]
    cells = lattice_cells(filled, ~masked)
    if shared is not None:
        shared["layer_cells"] = cells
    return cells
