"""The lattice spacing of the part of a frame whose lattice stands out most.

:func:`~napari_ivae.core.detection.spacing.estimate_spacing` on half-overlapping tiles, for
a frame whose lattice covers only a small part of it (a few particles on an amorphous support).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.spacing import MIN_BRAGG_RATIO, _spectrum, estimate_spacing
from napari_ivae.core.errors import InputError

TILE_SIDE = 256  # tiles searched when the whole frame shows no lattice (tiled_spacing)
MIN_TILE_SIDE = 128  # ... half the frame's smaller side where that is less, down to this
MAX_TILES = 8  # per side


def tiled_spacing(image2d, *, return_details: bool = False):
    """:func:`estimate_spacing` of the part of the frame whose lattice stands out most: of the
    half-overlapping ``TILE_SIDE`` tiles (half the frame's smaller side where that is less,
    down to ``MIN_TILE_SIDE``) whose strongest Fourier peak stands at least
    ``MIN_BRAGG_RATIO`` over its ring, the strongest one whose autocorrelation shows a lattice.

    For a frame whose lattice covers only a small part (a few particles on an amorphous
    support): over the whole frame the support's diffuse spectrum and the particles' several
    orientations keep every Bragg peak below ``MIN_BRAGG_RATIO``, while a tile on a particle
    shows its lattice clearly. A sharp edge (an STM step, a crystal's border) also stands out
    of its rings, as a streak, but its autocorrelation is a ridge, not a lattice: such a tile
    is passed over for the next strongest. Raises :class:`InputError` ("no ... periodicity")
    when the frame is smaller than two ``MIN_TILE_SIDE`` tiles or no tile shows a lattice
    either.
    """
    image = np.asarray(image2d, dtype=np.float64)
    height, width = image.shape
    side = min(TILE_SIDE, min(height, width) // 2)
    if side < MIN_TILE_SIDE:
        raise InputError("No clear lattice periodicity found (the frame is too small to tile).")
    if not np.isfinite(image).all():
        image = np.where(np.isfinite(image), image, np.nanmedian(image))
    tiles = []
    for top in _tile_starts(height, side):
        for left in _tile_starts(width, side):
            part = image[top : top + side, left : left + side]
            if not np.ptp(part) > 0:
                continue
            ratio = _spectrum(part, side / 6.0)[3]
            if ratio >= MIN_BRAGG_RATIO:
                tiles.append((ratio, top, left))
    for _, top, left in sorted(tiles, reverse=True):
        part = image[top : top + side, left : left + side]
        try:
            return estimate_spacing(part, return_details=return_details)
        except InputError as error:
            if "periodicity" not in str(error):
                raise
    raise InputError(
        "No clear lattice periodicity found in any part of the frame; give the spacing explicitly."
    )


def _tile_starts(length: int, side: int = TILE_SIDE) -> np.ndarray:
    """Starts of ``side`` tiles across ``length``: half-overlapping, at most ``MAX_TILES``
    (spread evenly: a 4096 px side is not searched in 31 steps)."""
    count = min(MAX_TILES, 2 * (length // side) - 1)
    return np.unique(np.linspace(0, length - side, count).round().astype(int))
