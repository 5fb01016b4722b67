"""Bragg reflections of a lattice: the significant peaks of tiled power spectra.

Reflections are the significant peaks of the power spectrum averaged over Hann-windowed tiles
of about 32 spacings (weak but present everywhere) together with those of single tiles (a minor
grain dominates its own tiles), so every grain orientation contributes its own. Used by
:mod:`napari_ivae.core.detection.crystal` to demodulate each lattice fringe.
"""

from __future__ import annotations

import numpy as np

# a peak's power over the typical power at its spatial frequency. Averaged spectrum: ratio to
# the ring median, 20 is far beyond noise (a single exponential periodogram: p = 1e-6). Single
# tiles: ratio to the ring's geometric mean, 40 keeps p below 1e-9 per frequency sample
MIN_PEAK_RATIO = 20.0
MIN_TILE_PEAK_RATIO = 40.0
MAX_REFLECTIONS = 24  # half-plane reflections used
SMALL_GRAIN_TILE = 16.0  # spacings: the tiles a grain outside the region is looked for in
TILE_BATCH = 64  # tiles transformed at once: 8 MB arrays of 128 px tiles, reused, not mapped anew


def bragg_reflections(
    detail: np.ndarray, spacing: float, tile_spacings: float = 32.0
) -> np.ndarray:
    """Significant power-spectrum peaks between 0.4 and 1.6 cycles per spacing (half plane).

    Parameters
    ----------
    detail : numpy.ndarray
        2D image with its slow background removed.
    spacing : float
        Nearest-neighbour distance in pixels of ``detail``.
    tile_spacings : float
        Tile side in spacings (at most 128 pixels; a huge value: one periodogram of the
        whole image).

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` Bragg vectors in cycles per pixel (row, col), strongest first, at most
        ``MAX_REFLECTIONS``.
    """
    from scipy import fft, ndimage

    tile = int(min(128, tile_spacings * spacing))
    size = (min(tile, detail.shape[0]), min(tile, detail.shape[1]))
    freq_rows = fft.fftshift(fft.fftfreq(size[0]))[:, None]
    freq_cols = fft.fftshift(fft.fftfreq(size[1]))[None, :]
    radius = np.hypot(freq_rows, freq_cols)
    ring = np.rint(radius * max(size)).astype(np.int64)
    upper_half = (freq_rows > 0) | ((freq_rows == 0) & (freq_cols > 0))
    band = (radius >= 0.4 / spacing) & (radius <= 1.6 / spacing) & upper_half
    if not band.any():  # a spacing near the tile size: no frequency to look at
        return np.zeros((0, 2))
    # only the rings through the band matter: crop to them (plus the 3 x 3 peak test's margin)
    crop = _band_box(np.isin(ring, np.unique(ring[band])))
    tiles = _tile_periodograms(detail, tile, crop)
    ring, band = ring[crop], band[crop]
    freq_rows, freq_cols = freq_rows[crop[0]], freq_cols[:, crop[1]]

    average = tiles.mean(axis=0)
    level = ndimage.median(average, labels=ring, index=np.arange(ring.max() + 1))
    ratio = average / np.maximum(level[ring], np.finfo(np.float64).tiny)
    is_peak = average == ndimage.maximum_filter(average, size=3, mode="wrap")
    found = [
        (ratio[r, c], r, c) for r, c in zip(*np.nonzero(is_peak & band & (ratio >= MIN_PEAK_RATIO)))
    ]
    if len(tiles) > 1:
        found += _tile_peaks(tiles, ring, band)
    chosen: list[tuple[int, int]] = []
    for _, r, c in sorted(found, reverse=True):
        if all(max(abs(r - r0), abs(c - c0)) > 1 for r0, c0 in chosen):
            chosen.append((r, c))
        if len(chosen) == MAX_REFLECTIONS:
            break
    return np.array([[freq_rows[r, 0], freq_cols[0, c]] for r, c in chosen]).reshape(-1, 2)


def _band_box(needed: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of ``needed`` grown by one pixel; an axis it would not fit stays whole
    (the peak test wraps around the spectrum's edges there)."""
    box = []
    for axis in (0, 1):
        index = np.flatnonzero(needed.any(axis=1 - axis))
        first, last = index[0] - 1, index[-1] + 2
        box.append(slice(first, last) if first >= 0 and last <= needed.shape[axis] else slice(None))
    return box[0], box[1]


def outside_reflections(detail, inside, coarse_step, coarse_origin, spacing, known) -> np.ndarray:
    """Significant reflections of the part judged non-crystalline that are not yet used.

    Parameters
    ----------
    detail : numpy.ndarray
        The background-free image the region was found on.
    inside : numpy.ndarray
        Boolean crystalline region on the coarse grid.
    coarse_step, coarse_origin : tuple of float
        ``detail`` pixels per coarse sample and the ``detail`` position of sample ``(0, 0)``.
    spacing : float
        Nearest-neighbour distance in pixels of ``detail``.
    known : numpy.ndarray
        ``(m, 2)`` reflections already used.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` reflections of the outside part (its whole periodogram, and tiles of
        ``SMALL_GRAIN_TILE`` spacings) more than two frequency steps from every known one.
    """
    rows, cols = (
        np.clip(np.rint((np.arange(n) - o) / s).astype(int), 0, m - 1)
        for n, o, s, m in zip(detail.shape, coarse_origin, coarse_step, inside.shape)
    )
    outside = ~inside[np.ix_(rows, cols)]
    part = np.where(outside, detail, 0.0).astype(np.float32)
    found = _new(bragg_reflections(part, spacing, tile_spacings=1e9), known, min(detail.shape))
    # a grain a few spacings across is lost in the whole part's spectrum, not in tiles of
    # about its own size
    tile = min(128, int(SMALL_GRAIN_TILE * spacing), *detail.shape)  # as bragg_reflections tiles
    small = bragg_reflections(part, spacing, tile_spacings=SMALL_GRAIN_TILE)
    return np.concatenate([found, _new(small, np.concatenate([known, found]), tile)])


def _new(found, known, size) -> np.ndarray:
    """The reflections of ``found`` more than two frequency steps of a ``size`` px
    periodogram from every ``known`` one."""
    if len(found) == 0 or len(known) == 0:
        return found
    distance = np.hypot(*(found[:, None, :] - known[None, :, :]).transpose(2, 0, 1))
    return found[distance.min(axis=1) > 2.0 / size]


def _tile_peaks(tiles, ring, band) -> list:
    """Peaks of single tiles against their own rings' geometric-mean power."""
    from scipy import ndimage

    n_rings = ring.max() + 1
    logs = np.log(np.maximum(tiles, np.finfo(np.float64).tiny))
    labels = ring[None] + n_rings * np.arange(len(tiles))[:, None, None]
    counts = np.bincount(labels.ravel(), minlength=n_rings * len(tiles))
    sums = np.bincount(labels.ravel(), weights=logs.ravel(), minlength=n_rings * len(tiles))
    ratio = np.exp(logs - (sums / np.maximum(counts, 1))[labels])
    is_peak = tiles == ndimage.maximum_filter(tiles, size=(1, 3, 3), mode="wrap")
    keep = is_peak & band[None] & (ratio >= MIN_TILE_PEAK_RATIO)
    # one candidate per frequency (its best tile): a clean lattice whose period does not fit
    # the tiles leaks into many side peaks in every tile, which would swamp the selection
    best = np.where(keep, ratio, 0.0).max(axis=0)
    rows, cols = np.nonzero(best)
    return list(zip(best[rows, cols], rows, cols))


def _tile_periodograms(detail: np.ndarray, tile: int, crop=(slice(None), slice(None))):
    """Periodograms (fftshifted, then cut to ``crop``) of Hann-windowed tiles overlapping by
    half, ``TILE_BATCH`` tiles at a time: a 4096² frame's 3 969 tiles of 128 px at once
    held ~0.5 GB an array (each tile's periodogram is the same either way)."""
    from scipy import fft

    tile_rows, tile_cols = min(tile, detail.shape[0]), min(tile, detail.shape[1])
    starts = [
        (r, c)
        for r in _tile_starts(detail.shape[0], tile_rows)
        for c in _tile_starts(detail.shape[1], tile_cols)
    ]
    window = np.outer(np.hanning(tile_rows), np.hanning(tile_cols)).astype(np.float32)
    parts = []
    for first in range(0, len(starts), TILE_BATCH):
        tiles = np.stack(
            [
                detail[r : r + tile_rows, c : c + tile_cols]
                for r, c in starts[first : first + TILE_BATCH]
            ]
        )
        spectra = fft.fft2(tiles * window, axes=(1, 2), workers=1)
        power = spectra.real.astype(np.float64) ** 2 + spectra.imag.astype(np.float64) ** 2
        parts.append(fft.fftshift(power, axes=(1, 2))[(slice(None),) + tuple(crop)])
    return np.concatenate(parts)


def _tile_starts(length: int, tile: int) -> list[int]:
    """Tile starts along one axis, overlapping by half, the last one flush with the end."""
    if tile >= length:
        return [0]
    starts = list(range(0, length - tile + 1, max(tile // 2, 1)))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


__all__ = ["bragg_reflections", "outside_reflections"]
