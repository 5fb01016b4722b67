"""Where the image shows a lattice: a crystalline-region mask from Bragg-reflection amplitudes.

A nanoparticle, a flake or a grain sits next to vacuum, amorphous support or a contamination
rim that can be as bright as the crystal and full of atom-sized bumps. What tells them apart is
periodicity. As in geometric phase analysis, each Bragg reflection ``g`` of the image is
demodulated (``image * exp(-2 pi i g.x)``, then a Gaussian low-pass of ``0.7`` lattice spacing):
the modulus is the local amplitude of that lattice fringe. Summed in quadrature over the
reflections, it is high wherever atoms sit on a lattice and falls to the noise level elsewhere.
Reflections are the significant peaks of the power spectrum averaged over tiles of about 32
spacings (weak but present everywhere) together with those of single tiles (a minor grain
dominates its own tiles), so every grain orientation contributes its own.

The crystal's amplitude level is the median above Otsu's threshold. Pixels below half of it
are non-crystalline (a smoothed step is at half height on the step, so edge atoms stay inside);
a morphological opening with a disc one spacing across removes thin strips of them (an
antiphase boundary, a row of vacancies). A region is reported only when that non-crystalline
part covers at least ``MIN_OUTSIDE_AREA`` of the frame and sinks below a quarter of the
crystal level: an image that is lattice everywhere, or nowhere, gets no mask and nothing is
dropped.

The same demodulation of a spectrum without Bragg peaks (the diffuse power on each
reflection's ring) gives the amplitude's floor, what noise and an amorphous film reach. When
the bulk of the frame sits at that floor (a few small particles on a support, a few % of the
frame), Otsu's split falls inside the support's own spread: the level is then the median of
the samples two floors high or more, and half and a quarter of the level are measured from the
floor up (``_decide``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# a peak's power over the typical power at its spatial frequency. Averaged spectrum: ratio to
# the ring median, 20 is far beyond noise (a single exponential periodogram: p = 1e-6). Single
# tiles: ratio to the ring's geometric mean, 40 keeps p below 1e-9 per frequency sample
MIN_PEAK_RATIO = 20.0
MIN_TILE_PEAK_RATIO = 40.0
MAX_REFLECTIONS = 24  # half-plane reflections used
SAMPLES_PER_SPACING = 4.0  # the analysis runs on an image binned to about this resolution
LOWPASS_SPACINGS = 0.7  # Gaussian sigma of the fringe-amplitude low-pass, in spacings
EDGE_LEVEL = 0.5  # region edge: this fraction of the crystal's amplitude level
OUTSIDE_LEVEL = 0.25  # a real non-crystalline part sinks below this fraction (and DEEP_FLOOR)...
MIN_OUTSIDE_AREA = 0.05  # ...over at least this fraction of the frame
# the floor: the rms fringe amplitude of the diffuse spectrum (noise, an amorphous film). A
# frame whose median amplitude lies within FLOOR_BAND of it is mostly non-crystalline (noise
# alone: 0.9-1.0); a chi-distributed amplitude of >= 2 reflections is above FLOOR_LEVEL x
# its rms in under 2 % of the samples
FLOOR_BAND = (0.75, 1.25)
FLOOR_LEVEL = 2.0
# a non-crystalline part sinks to the floor: its deep samples stay below this many floors
# (vacuum, amorphous films: medians 0-1 floor; the faint parts of a lattice under a bending
# contour at 0.1 of the columns' intensity: 2.3-2.5, none of them below 1.5 but 0.2-0.6 %)
DEEP_FLOOR = 1.5


@dataclass(frozen=True)
class CrystalRegion:
    """The crystalline-region analysis of one frame.

    Attributes
    ----------
    amplitude : numpy.ndarray
        Lattice-fringe amplitude on a coarse grid (``scale`` frame pixels per sample along
        rows and columns, sample ``(0, 0)`` at frame position ``origin``).
    inside : numpy.ndarray
        Boolean region on the same grid (all True when no region was found).
    scale : tuple of float
        Frame pixels per sample along rows and columns.
    origin : tuple of float
        Frame ``(row, col)`` position of sample ``(0, 0)``.
    reflections : numpy.ndarray
        ``(n, 2)`` Bragg vectors used, in cycles per frame pixel (row, col).
    level : float
        The crystal's amplitude level (median above Otsu's threshold; ``nan`` without
        reflections).
    outside_area : float
        Fraction of the frame judged non-crystalline (before the decision).
    found : bool
        True when the frame has a distinct crystalline region next to a non-crystalline part.
    shape : tuple of int
        The frame's shape.
    """

    amplitude: np.ndarray
    inside: np.ndarray
    scale: tuple
    origin: tuple
    reflections: np.ndarray
    level: float
    outside_area: float
    found: bool
    shape: tuple

    def contains(self, points, margin: float = 0.0) -> np.ndarray:
        """Whether each ``(row, col)`` point lies in the region (all True when none found).

        ``margin`` (frame pixels) grows the region by that distance first.
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if not self.found:
            return np.ones(len(points), dtype=bool)
        inside = self.inside
        radius = int(round(margin / float(np.mean(self.scale))))
        if radius > 0:
            from scipy import ndimage

            disc = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius
            inside = ndimage.binary_dilation(inside, disc)
        return self._sample(inside.astype(np.float32), points) >= 0.5

    def mask(self) -> np.ndarray:
        """Boolean mask with the frame's shape (all True when no region was found)."""
        if not self.found:
            return np.ones(self.shape, dtype=bool)
        rows = np.arange(self.shape[0], dtype=np.float64)
        cols = np.arange(self.shape[1], dtype=np.float64)
        grid = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
        return self.contains(grid).reshape(self.shape)

    def _sample(self, grid, points):
        from scipy import ndimage

        coarse = (points - np.asarray(self.origin)) / np.asarray(self.scale, dtype=np.float64)
        return ndimage.map_coordinates(grid, coarse.T, order=1, mode="nearest")

    def summary(self) -> dict:
        """Plain-number description (for a result's parameters)."""
        return {
            "found": bool(self.found),
            "reflections": int(len(self.reflections)),
            "outside_area": round(float(self.outside_area), 4),
            "level": float(self.level),
        }


def crystal_region(frame, spacing: float) -> CrystalRegion:
    """Find the part of a frame that shows a lattice with the given spacing.

    Parameters
    ----------
    frame : array-like
        2D image (bright or dark atoms: only the periodicity matters).
    spacing : float
        Nearest-neighbour distance in pixels.

    Returns
    -------
    CrystalRegion
        The amplitude map and the decision; ``region.found`` is False when the image has no
        significant Bragg reflection or is (un)crystalline everywhere.
    """
    from napari_ivae.core.detection._filters import block_mean, gaussian_smooth

    frame = np.asarray(frame, dtype=np.float32)
    factor = max(1, int(round(spacing / SAMPLES_PER_SPACING)))
    binned = block_mean(frame, factor)
    step = spacing / factor  # the spacing on the binned grid
    # remove the slow background (a particle's envelope) so only lattice fringes remain
    detail = binned - gaussian_smooth(binned, 0.5 * step)
    reflections = _bragg_reflections(detail, step)
    if len(reflections) == 0:
        none = np.zeros((1, 1), np.float32)
        return CrystalRegion(
            none,
            none > 0,
            (float(frame.shape[0]), float(frame.shape[1])),
            (0.0, 0.0),
            reflections,
            float("nan"),
            0.0,
            False,
            frame.shape,
        )
    amplitude, coarse_step, coarse_origin, floor = _fringe_amplitude(
        detail, reflections, LOWPASS_SPACINGS * step
    )
    scale = (coarse_step[0] * factor, coarse_step[1] * factor)
    # binned pixel k is the block centred on frame pixel k * factor + (factor - 1) / 2
    origin = tuple(o * factor + (factor - 1) / 2.0 for o in coarse_origin)
    level, inside, outside_area, found = _decide(amplitude, spacing / np.mean(scale), floor)
    if found:
        # is the "non-crystalline" part a grain whose reflections were too weak overall?
        extra = _outside_reflections(detail, inside, coarse_step, coarse_origin, step, reflections)
        if len(extra):
            reflections = np.concatenate([reflections, extra])
            amplitude, _, _, floor = _fringe_amplitude(detail, reflections, LOWPASS_SPACINGS * step)
            level, inside, outside_area, found = _decide(amplitude, spacing / np.mean(scale), floor)
    return CrystalRegion(
        amplitude,
        inside,
        scale,
        origin,
        reflections / factor,
        level,
        outside_area,
        found,
        frame.shape,
    )


def _bragg_reflections(
    detail: np.ndarray, spacing: float, tile_spacings: float = 32.0
) -> np.ndarray:
    """Significant power-spectrum peaks between 0.4 and 1.6 cycles per spacing (half plane)."""
    from scipy import fft, ndimage

    tiles = _tile_periodograms(detail, int(min(128, tile_spacings * spacing)))
    size = tiles.shape[1:]
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
    tiles, ring, band = tiles[(slice(None),) + crop], ring[crop], band[crop]
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


def _outside_reflections(detail, inside, coarse_step, coarse_origin, spacing, known) -> np.ndarray:
    """Significant reflections of the part judged non-crystalline that are not yet used."""
    rows, cols = (
        np.clip(np.rint((np.arange(n) - o) / s).astype(int), 0, m - 1)
        for n, o, s, m in zip(detail.shape, coarse_origin, coarse_step, inside.shape)
    )
    outside = ~inside[np.ix_(rows, cols)]
    found = _bragg_reflections(
        np.where(outside, detail, 0.0).astype(np.float32), spacing, tile_spacings=1e9
    )  # one periodogram of the whole part
    if len(found) == 0 or len(known) == 0:
        return found
    resolution = 2.0 / min(detail.shape)  # two frequency steps of the whole frame
    distance = np.hypot(*(found[:, None, :] - known[None, :, :]).transpose(2, 0, 1))
    return found[distance.min(axis=1) > resolution]


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


def _tile_periodograms(detail: np.ndarray, tile: int) -> np.ndarray:
    """Periodograms (fftshifted) of Hann-windowed tiles overlapping by half."""
    from scipy import fft

    tile_rows, tile_cols = min(tile, detail.shape[0]), min(tile, detail.shape[1])
    starts_r = _tile_starts(detail.shape[0], tile_rows)
    starts_c = _tile_starts(detail.shape[1], tile_cols)
    tiles = np.stack(
        [detail[r : r + tile_rows, c : c + tile_cols] for r in starts_r for c in starts_c]
    )
    window = np.outer(np.hanning(tile_rows), np.hanning(tile_cols)).astype(np.float32)
    spectra = fft.fft2(tiles * window, axes=(1, 2), workers=1)
    power = spectra.real.astype(np.float64) ** 2 + spectra.imag.astype(np.float64) ** 2
    return fft.fftshift(power, axes=(1, 2))


def _tile_starts(length: int, tile: int) -> list[int]:
    if tile >= length:
        return [0]
    starts = list(range(0, length - tile + 1, max(tile // 2, 1)))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def _fringe_amplitude(detail, reflections, sigma):
    """Local fringe amplitude for each reflection, combined in quadrature, on a coarse grid.

    Returns the amplitude over the frame, the input pixels per sample and the input position
    of sample ``(0, 0)``.

    Demodulation and the Gaussian low-pass happen in Fourier space: the band around ``g`` is
    cut out, zero padded to twice its size (a finer output grid for free) and inverse
    transformed. The frame is zero padded and the result divided by the low-passed support
    (normalised convolution), so the amplitude does not sag at the image edges.
    """
    from scipy import fft

    pad = int(np.ceil(3.0 * sigma))
    shape = tuple(fft.next_fast_len(n + 2 * pad) for n in detail.shape)
    padded = np.zeros(shape, dtype=np.float32)
    padded[pad : pad + detail.shape[0], pad : pad + detail.shape[1]] = detail
    spectrum = fft.fft2(padded, workers=1)
    # the low-pass keeps |f| < 3 / (2 pi sigma) (Gaussian below 1.1 %): cut that band out
    half = [min(int(np.ceil(3.0 / (2.0 * np.pi * sigma) * n)), (n - 1) // 2) for n in shape]
    offsets = [np.arange(-h, h + 1) for h in half]
    gauss = np.exp(
        -2.0
        * np.pi**2
        * sigma**2
        * ((offsets[0][:, None] / shape[0]) ** 2 + (offsets[1][None, :] / shape[1]) ** 2)
    )
    fine = tuple(min(2 * len(o), n) for o, n in zip(offsets, shape))
    place = tuple(
        slice((f - len(o)) // 2, (f - len(o)) // 2 + len(o)) for f, o in zip(fine, offsets)
    )
    total = np.zeros(fine, dtype=np.float64)
    rings = np.rint(
        np.hypot(fft.fftfreq(shape[0])[:, None], fft.fftfreq(shape[1])[None, :]) * max(shape)
    ).astype(np.int64)
    diffuse = 0.0
    for g_row, g_col in reflections:
        centre = (int(round(g_row * shape[0])), int(round(g_col * shape[1])))
        band = spectrum.take(centre[0] + offsets[0], axis=0, mode="wrap").take(
            centre[1] + offsets[1], axis=1, mode="wrap"
        )
        # the diffuse power on the reflection's ring (exponential periodogram: mean = median
        # / ln 2; the few Bragg samples on the ring do not move the median)
        on_ring = rings == int(round(np.hypot(g_row, g_col) * max(shape)))
        diffuse += float(np.median(np.abs(spectrum[on_ring]) ** 2)) / np.log(2.0)
        grid = np.zeros(fine, dtype=np.complex128)
        grid[place] = band * gauss
        field = fft.ifft2(fft.ifftshift(grid), workers=1)
        total += field.real**2 + field.imag**2
    amplitude = np.sqrt(total) * (np.prod(fine) / np.prod(shape))
    # what the same demodulation gives where nothing is periodic (the rms amplitude of the
    # diffuse spectrum: noise, an amorphous film), on the same scale
    floor = float(np.sqrt(diffuse * np.sum(gauss**2)) / np.prod(shape))
    step = (shape[0] / fine[0], shape[1] / fine[1])  # padded px per sample
    amplitude = amplitude / np.maximum(
        _smoothed_support(detail.shape, pad, fine, step, sigma), 0.05
    )
    # keep the samples that fall on the frame
    first = [int(np.ceil(pad / s)) for s in step]
    last = [int(np.floor((pad + n - 1) / s)) for n, s in zip(detail.shape, step)]
    cropped = amplitude[first[0] : last[0] + 1, first[1] : last[1] + 1].astype(np.float32)
    return cropped, step, tuple(f * s - pad for f, s in zip(first, step)), floor


def _smoothed_support(size, pad, samples, step, sigma):
    """Gaussian-smoothed indicator of the unpadded frame, at the coarse sample positions."""
    from scipy.special import erf

    profiles = []
    for n, count, s in zip(size, samples, step):
        x = np.arange(count) * s
        scale = np.sqrt(2.0) * sigma
        profiles.append(0.5 * (erf((pad + n - 0.5 - x) / scale) - erf((pad - 0.5 - x) / scale)))
    return np.outer(profiles[0], profiles[1])


def _decide(amplitude, spacing_samples, floor=0.0) -> tuple[float, np.ndarray, float, bool]:
    """Crystal level, region (coarse grid), non-crystalline area and whether it is distinct.

    ``floor``: the amplitude the diffuse spectrum gives where nothing is periodic (noise, an
    amorphous film). When the bulk of the frame sits at that floor (the median amplitude
    within ``FLOOR_BAND`` of it: a few small particles on a support), Otsu's split falls
    inside the support's own spread and the support's amplitude is not small next to the
    crystal's: the level is then taken over the samples at least ``FLOOR_LEVEL`` floors high,
    and the edge and the deep part are measured from the floor up. A blank part (vacuum,
    zero padding) sits below the floor, a faint lattice everywhere above it: the plain rule.
    Either way the deep part must lie below ``DEEP_FLOOR`` floors: where a lattice only fades
    (a bending contour, a thickness wedge) its amplitude stays above the floor."""
    from skimage.filters import threshold_otsu

    everywhere = np.ones(amplitude.shape, dtype=bool)
    if not np.ptp(amplitude) > 0:
        return float(amplitude.max()), everywhere, 0.0, False
    otsu = threshold_otsu(amplitude)
    base = 0.0
    if floor > 0 and FLOOR_BAND[0] <= np.median(amplitude) / floor <= FLOOR_BAND[1]:
        base = floor
        otsu = max(otsu, FLOOR_LEVEL * floor)
    level = float(np.median(amplitude[amplitude >= otsu]))
    deep_below = base + OUTSIDE_LEVEL * (level - base)
    if floor > 0:  # a lattice that only fades (thickness, a bending contour) stays above it
        deep_below = min(deep_below, DEEP_FLOOR * floor)
    outside, deep = _outside(
        amplitude, spacing_samples, base + EDGE_LEVEL * (level - base), deep_below
    )
    area = float(outside.mean())
    if deep.mean() < MIN_OUTSIDE_AREA:
        return level, everywhere, area, False
    return level, ~outside, area, True


def _outside(amplitude, spacing_samples, edge, deep_below) -> tuple[np.ndarray, np.ndarray]:
    """The part below ``edge`` less its thin strips (an opening with a disc one spacing
    across; beyond the frame counts as outside, so a vacuum strip at the edge survives), and
    the part of it below ``deep_below``."""
    from scipy import ndimage

    radius = max(1, int(round(0.5 * spacing_samples)))
    disc = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius
    low = amplitude < edge
    outside = ndimage.binary_dilation(ndimage.binary_erosion(low, disc, border_value=1), disc) & low
    return outside, outside & (amplitude < deep_below)


__all__ = ["CrystalRegion", "crystal_region"]
