"""A packed layer at another magnification: the layer test taken at the period it was set on.

:func:`~napari_ivae.core.detection.packed.packed_phase` works in pixels: its smoothing
(``PACKED_SMOOTH``), its pieces' least area (``PACKED_MIN_AREA``) and its curvature scales
(``CURVATURE_SIGMAS``) were set on in-situ films of particles of radius 7-12 px. The same film
taken at half the magnification has gaps of a fraction of a pixel that the 1 px smoothing
closes (the particles merge into large pieces); at twice the magnification the noise, its
grain as large as the particles' detail there, crumbles the gaps' network. A monolayer's own
period says which magnification it was taken at: its particles on a (jittered) lattice give a
ring in the power spectrum at the spacing of the lattice's rows (:func:`ring_spacing`).
Where the frame holds no layer at its own sampling and its ring stands outside the spacings the
test was set on (``LAYER_SPACINGS``), :func:`rescaled_layer` resamples the frame to the
geometric middle of them and tests it again; the sigmas found scale back. Every pixel size of
the test then follows the particles' period, whatever the magnification.
"""

from __future__ import annotations

import numpy as np

# the lattice rows' spacing (sqrt 3 / 2 x the centres') of the films the test was set on:
# radius 7-12 px, gaps 0.5-3 px
LAYER_SPACINGS = (12.5, 23.4)
RING_LOW = 4  # the ring searched from this many periods across the crop (slower: the field)
RING_PROMINENT = 4.0  # ... its peak at least this x the spectrum's median about it
RESAMPLE_MOST = 2.5  # a frame up-sampled at most this much (sub-pixel spacings are no layer)
RESAMPLED_SIDE = 512  # the resampled test on the central part that gives at most this a side


def ring_spacing(frame: np.ndarray) -> tuple[float, float]:
    """The spacing (px) of the strongest ring of ``frame``'s power spectrum above its white
    level, and how prominent it is: its peak over the median within an octave about it, or
    over the white level's own power there where that is higher.

    The radial average of the Hann-windowed spectrum less its white level (the median of the
    highest quarter of frequencies), weighted by the frequency (the power per octave), peaks
    at the period of a packed layer's rows.
    """
    centred = np.asarray(frame, dtype=np.float32) - np.float32(np.mean(frame))
    rows, cols = centred.shape
    window = np.outer(np.hanning(rows), np.hanning(cols)).astype(np.float32)
    power = np.abs(np.fft.rfft2(centred * window)) ** 2
    side = min(rows, cols)
    radius = np.hypot(np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :]) * side
    ring = np.round(radius).astype(np.int64).ravel()
    counts = np.bincount(ring)
    spectrum = (np.bincount(ring, power.ravel()) / np.maximum(counts, 1))[: side // 2]
    if len(spectrum) < 4 * RING_LOW:
        return float("inf"), 0.0
    white = float(np.median(spectrum[-len(spectrum) // 4 :]))
    weighted = (spectrum - white) * np.arange(len(spectrum))
    peak = RING_LOW + int(np.argmax(weighted[RING_LOW:]))
    about = weighted[max(1, peak // 2) : min(len(weighted), 2 * peak + 1)]
    # (at least the white level's own power there: on noise alone the excess is noise)
    level = max(float(np.median(about)), white * peak)
    prominence = float(weighted[peak] / level) if level > 0 else 0.0
    return side / peak, prominence


LAYER_CROWDED = 1.5  # points per cell of the layer's own lattice above which it warns


def lattice_cells(frame: np.ndarray, use: np.ndarray | None = None) -> float | None:
    """How many particles a packed layer can hold on ``frame`` at most: one per cell of the
    hexagonal lattice whose rows' spacing ``d`` is its spectrum's ring (:func:`ring_spacing`),
    ``2 d^2 / sqrt 3`` px each, over the ``use`` pixels; None where the ring is not
    prominent.

    The ring is the particles' period whatever the noise and the magnification: in-situ Au
    monolayers read 3 772-4 123 cells (3 078-3 247 particles, vacancies and open patches)
    alike at x0.75, x1, x1.5, x2 and x2 with noise, where the blobs' floors admitted the
    up-sampled noise's grains (7 800-28 800 points).
    """
    use = np.ones(np.shape(frame), dtype=bool) if use is None else np.asarray(use, dtype=bool)
    if not use.any():
        return None
    spacing, prominence = ring_spacing(np.where(use, frame, np.mean(frame[use])))
    if prominence < RING_PROMINENT or not np.isfinite(spacing):
        return None
    return float(use.sum()) / (2.0 * spacing * spacing / np.sqrt(3.0))


def rescaled_layer(frame: np.ndarray, use: np.ndarray) -> tuple[str, float, float] | None:
    """:func:`~napari_ivae.core.detection.packed.packed_phase` of ``frame`` resampled so that
    its ring's spacing lies at the middle of ``LAYER_SPACINGS`` (its central part that gives
    at most ``RESAMPLED_SIDE`` px a side), its sigmas in ``frame``'s pixels; None where the
    ring is not prominent, already within those spacings, or would need more than
    ``RESAMPLE_MOST`` x up-sampling."""
    from scipy import ndimage

    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.packed import packed_phase

    spacing, prominence = ring_spacing(np.where(use, frame, np.mean(frame[use])))
    low, high = LAYER_SPACINGS
    if prominence < RING_PROMINENT or low <= spacing <= high:
        return None
    factor = float(np.sqrt(low * high)) / spacing
    if factor > RESAMPLE_MOST:
        return None
    # (about 900 cells of a layer at the middle spacing: medians enough for its two sigmas;
    # a crystal's fringes 2.5 x up-sampled whole cost 7 s, the central part 0.3 s)
    window = tuple(
        slice((n - m) // 2, (n - m) // 2 + m)
        for n in np.shape(frame)
        for m in [min(n, int(np.ceil(RESAMPLED_SIDE / factor)))]
    )
    source, use = np.asarray(frame, dtype=np.float32)[window], np.asarray(use)[window]
    if factor < 1:
        # anti-aliased: what falls between the new pixels averaged first
        source = gaussian_smooth(source, 0.5 * (1.0 / factor - 1.0))
    shape = tuple(max(1, int(round(n * factor))) for n in source.shape)
    scale = [n / m for n, m in zip(shape, source.shape, strict=True)]
    resampled = ndimage.zoom(source, scale, order=1, grid_mode=True, mode="nearest")
    kept = ndimage.zoom(use.astype(np.uint8), scale, order=0, grid_mode=True, mode="nearest") > 0
    found = packed_phase(resampled, kept, rescale=False)
    if found is None:
        return None
    return found[0], found[1] / factor, found[2] / factor
