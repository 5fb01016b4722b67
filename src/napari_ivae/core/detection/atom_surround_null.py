"""Noise peaks measured against the atoms' own surround: a null for the noise count among atoms.

The contrast cut's noise count (:func:`~napari_ivae.core.detection.atom_threshold.contrast_cut`,
Storey's: twice the candidates below the null's median) takes the null from white noise on an
empty frame. Between atoms a noise peak is measured against a ring that passes over the atoms'
flanks, so its contrast is lower than white noise gives: on a polycrystal at 0.3-0.5 counts an
atom, 56-69 % of the noise peaks fall below the white null's median, and the count takes twice
too many. Here the null is drawn on the frame's own surround: the confident atoms are rendered
as Gaussian blobs of the width their mean profile shows, at the level and height that fit the
frame best, white noise of the frame's level is added, and the detector's peaks away from the
rendered atoms are the noise peaks, measured against the surround the candidates have.
"""

from __future__ import annotations

import numpy as np

SURROUND_SIDE = 384  # the null is drawn on a central crop of at most this side...
SURROUND_PEAKS = 1500  # ... repeated (fresh noise) until about this many noise peaks are drawn
SURROUND_DRAWS = 4  # ... at most this many times
SURROUND_SEED = 20261204
MIN_ATOMS = 30  # fewer confident atoms in the crop do not show a surround
# the rendered atoms must explain at least this share of the crop's variance beyond its noise
# (pairs of columns, bridging atoms and shoulders that no confident atom stands for are
# structure, not noise: the null drawn without them would take them for noise)
EXPLAINED = 0.5
APART = (
    0.35  # a drawn peak this many spacings from a rendered atom is that atom's (the matching rule)
)


def surround_null(frame, atoms, params: dict, pixel_noise: float) -> np.ndarray:
    """Sorted contrasts of noise peaks drawn over the frame's atoms ``atoms`` (row, col).

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame.
    atoms : numpy.ndarray
        ``(N, 2)`` positions of the confident atoms.
    params : dict
        The detector's parameters (``sigma``, ``background``, ``min_distance``, ``spacing``).
    pixel_noise : float
        Standard deviation of the frame's pixel noise.

    Returns
    -------
    numpy.ndarray
        The contrasts, sorted; empty where the crop holds fewer than ``MIN_ATOMS`` atoms or
        the rendered atoms explain less than ``EXPLAINED`` of its variance beyond the noise.
    """
    from napari_ivae.core.detection.atom_frame import smoothed_band_peaks
    from napari_ivae.core.detection.peaks import ring_mean

    crop, atoms = _central_crop(np.asarray(frame, dtype=np.float32), np.asarray(atoms, float))
    if len(atoms) < MIN_ATOMS or not pixel_noise > 0:
        return np.zeros(0)
    width = atom_width(crop, atoms, params)
    model = rendered(crop, atoms, width)
    if explained(crop, model, pixel_noise) < EXPLAINED:
        return np.zeros(0)
    spacing = params["spacing"]
    rng = np.random.default_rng(SURROUND_SEED)
    drawn: list[np.ndarray] = []
    for _ in range(SURROUND_DRAWS):
        noisy = (model + pixel_noise * rng.standard_normal(crop.shape)).astype(np.float32)
        smoothed, _, peaks = smoothed_band_peaks(noisy, params)
        contrast = smoothed[peaks[:, 0], peaks[:, 1]] - ring_mean(smoothed, peaks, spacing)
        drawn.append(contrast[_away(peaks, atoms, APART * spacing)])
        if sum(map(len, drawn)) >= SURROUND_PEAKS:
            break
    return np.sort(np.concatenate(drawn))


def explained(frame, model, pixel_noise: float) -> float:
    """The share of ``frame``'s variance beyond its pixel noise that ``model`` accounts for."""
    values = np.asarray(frame, dtype=np.float64)
    signal = float(values.var()) - pixel_noise**2
    if not signal > 0:
        return 1.0
    return (float(values.var()) - float((values - model).var())) / signal


def atom_width(frame, atoms, params: dict) -> float:
    """The atoms' Gaussian width (px) from their mean profile in ``frame`` smoothed by the
    detector's ``sigma``: the drops from the centre to 1 and to 2 px, whose ratio does not
    depend on the background, give the smoothed width, less the smoothing in quadrature."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    smoothed = gaussian_smooth(frame, params["sigma"]).astype(np.float64)
    at = np.clip(np.rint(atoms).astype(np.intp), 2, np.array(frame.shape) - 3)
    centre = smoothed[at[:, 0], at[:, 1]].mean()
    drops = []
    for radius in (1, 2):
        ring = [(radius, 0), (-radius, 0), (0, radius), (0, -radius)]
        values = np.mean([smoothed[at[:, 0] + dr, at[:, 1] + dc] for dr, dc in ring], axis=0)
        drops.append(centre - float(values.mean()))
    sigma = float(params["sigma"])
    smoothed_width = _width_from_drops(drops[0], drops[1], upper=float(params["spacing"]))
    return float(np.sqrt(max(smoothed_width**2 - sigma**2, 0.25)))


def _width_from_drops(near: float, far: float, upper: float) -> float:
    """The width ``w`` of a Gaussian whose drops from its centre to 1 and 2 px are in the
    ratio ``near / far``: ``(1 - exp(-1 / 2w^2)) / (1 - exp(-2 / w^2))`` rises from 1/4 to 1
    as ``w`` shrinks, so bisect (``upper``: no drop at all)."""
    if not (far > 0 and near > 0):
        return upper
    ratio = near / far
    low, high = 0.3, upper
    for _ in range(40):
        mid = 0.5 * (low + high)
        model = -np.expm1(-0.5 / mid**2) / -np.expm1(-2.0 / mid**2)
        low, high = (mid, high) if model > ratio else (low, mid)
    return 0.5 * (low + high)


def rendered(frame, atoms, width: float) -> np.ndarray:
    """Gaussian blobs of ``width`` at ``atoms`` (each split over its four nearest pixels) on a
    flat level, the level and the blobs' height fitted to ``frame`` by least squares."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    deltas = np.zeros(frame.shape, dtype=np.float32)
    base = np.floor(atoms).astype(np.intp)
    frac = atoms - base
    for dr in (0, 1):
        for dc in (0, 1):
            weight = np.abs(1 - dr - frac[:, 0]) * np.abs(1 - dc - frac[:, 1])
            rows = np.clip(base[:, 0] + dr, 0, frame.shape[0] - 1)
            cols = np.clip(base[:, 1] + dc, 0, frame.shape[1] - 1)
            np.add.at(deltas, (rows, cols), weight.astype(np.float32))
    blobs = gaussian_smooth(deltas, width).astype(np.float64)
    values = np.asarray(frame, dtype=np.float64)
    spread = blobs - blobs.mean()
    height = float((spread * (values - values.mean())).sum() / max((spread**2).sum(), 1e-300))
    return values.mean() + height * spread


def _central_crop(frame, atoms):
    """The frame's central ``SURROUND_SIDE`` square (all of a smaller frame), its atoms."""
    start = [max(0, (n - SURROUND_SIDE) // 2) for n in frame.shape]
    stop = [s + min(n, SURROUND_SIDE) for s, n in zip(start, frame.shape)]
    crop = frame[start[0] : stop[0], start[1] : stop[1]]
    inside = np.all((atoms >= start) & (atoms <= np.array(stop) - 1), axis=1)
    return crop, atoms[inside] - start


def _away(peaks, atoms, distance: float) -> np.ndarray:
    """Which ``peaks`` lie farther than ``distance`` from every atom."""
    from scipy.spatial import cKDTree

    if len(peaks) == 0:
        return np.zeros(0, dtype=bool)
    return cKDTree(atoms).query(peaks, distance_upper_bound=distance)[0] > distance


__all__ = ["atom_width", "rendered", "surround_null"]
