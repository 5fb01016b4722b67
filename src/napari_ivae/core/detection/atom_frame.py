"""One frame's atoms at given parameters: band-pass peaks, contrast cut, sub-pixel refinement.

The detection :func:`~napari_ivae.core.detection.atoms.detect_atoms` runs on every frame once
its parameters are resolved (and the first pass and the polarity check run on a crop):
maxima of the smoothed frame less its slow background (:func:`smoothed_band_peaks`), the
search area and the crystalline region, the contrast cut (automatic or given;
:func:`select_by_contrast`), a weaker sub-lattice's sites
(:mod:`~napari_ivae.core.detection.atom_sites`), and centre of mass or Gaussian refinement
with close points merged (:func:`refine_peaks`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.atom_region import allowed_candidates, rim_atoms, search_area
from napari_ivae.core.detection.atom_rim_cut import rim_contrast_cut
from napari_ivae.core.detection.atom_sites import (
    _sublattice_places,
    judged_at_sites,
    judges_sites,
    maxima_at_places,
    wanted_places,
)
from napari_ivae.core.detection.atom_threshold import contrast_cut
from napari_ivae.core.detection.peaks import (
    find_peaks,
    flat_mask,
    merge_close_points,
    ring_mean,
    smoothed_noise,
)
from napari_ivae.core.detection.point_columns import as_frame, points_of, taken
from napari_ivae.core.detection.ring_floor import empty_places


def _detect_frame(frame, params, excluded):
    """:func:`frame_atoms` with the table as a :class:`pandas.DataFrame`."""
    table, counts = frame_atoms(frame, params, excluded)
    return as_frame(table), counts


def frame_atoms(frame, params, excluded, final=False) -> tuple[dict, dict]:
    """One frame's atoms at the resolved parameters ``params``, none where ``excluded``;
    ``final`` (the detection itself, not a first pass or a check): with the automatic cut, no
    empty places between ringed atoms (:mod:`~napari_ivae.core.detection.ring_floor`).

    Returns
    -------
    table : dict
        Column arrays (:mod:`~napari_ivae.core.detection.point_columns`): ``row, col,
        intensity, prominence, snr, refine_shift, fit_ok``.
    counts : dict
        The detector's bookkeeping (:func:`select_by_contrast`'s, ``merged``, ``at_border``
        and ``found``).
    """
    flat = flat_mask(frame)
    skip = flat if flat.any() else None
    smoothed, band, candidates = smoothed_band_peaks(frame, params, skip)
    allowed = allowed_candidates(frame, candidates, params, excluded)
    n_peaks, n_excluded = len(candidates), int(allowed["excluded"].sum())
    usable = ~(allowed["excluded"] | allowed["outside"])
    candidates, at_edge = candidates[usable], allowed["edge"][usable]
    noise = smoothed_noise(frame, params["sigma"], skip)
    peak_values = smoothed[candidates[:, 0], candidates[:, 1]]
    prominence = peak_values - ring_mean(smoothed, candidates, params["spacing"])
    rim_cut = None  # the rim's own cut, from its surroundings' noise (atom_rim_cut)
    if params["threshold"] == "auto":
        area = search_area(flat, excluded, allowed["mask"])
        masked = _masked(skip, excluded)
        cut = contrast_cut(
            prominence,
            smoothed_noise(frame, 0.0, skip),
            noise,
            area,
            params,
            _null_contrasts,
            frame=frame,
            masked=masked,
            points=candidates,
        )
        edge = {**allowed, "edge": at_edge}
        rim_cut = rim_contrast_cut(prominence, edge, cut, params, masked, noise, band)
    else:
        cut = _manual_cut(prominence, params["threshold"])
    keep, counts = select_by_contrast(
        candidates, prominence, at_edge, cut, params, allowed, noise, n_peaks, n_excluded, rim_cut
    )
    if final and params["threshold"] == "auto" and keep.any():
        over = np.flatnonzero(keep)
        spacing, sigma = params["spacing"], params["sigma"]
        empty = empty_places(frame, band, candidates[over], spacing, sigma)
        keep[over[empty]] = False
        counts["empty_places"] = int(empty.sum())
        counts["empty_at"] = candidates[over[empty]]  # (popped by the caller: no count)
    if judges_sites(params):
        places = _sublattice_places(candidates, prominence, keep & ~at_edge, params)
        extra = _peaks_at_places(band, candidates, places, params, skip, excluded, allowed)
        if len(extra):
            values = smoothed[extra[:, 0], extra[:, 1]]
            candidates = np.concatenate([candidates, extra])
            peak_values = np.concatenate([peak_values, values])
            contrast = values - ring_mean(smoothed, extra, params["spacing"])
            prominence = np.concatenate([prominence, contrast])
            keep = np.concatenate([keep, np.zeros(len(extra), dtype=bool)])
        keep = judged_at_sites(candidates, prominence, keep, places, params, counts, len(extra))
    candidates, prominence = candidates[keep], prominence[keep]
    peak_values = peak_values[keep]

    start = candidates.astype(np.float64)
    refined, fit_ok = refine_peaks(smoothed, frame, start, params)
    table = {
        "row": refined[:, 0],
        "col": refined[:, 1],
        "intensity": peak_values,
        "prominence": prominence,
        "snr": prominence / noise if noise > 0 else np.full(len(prominence), np.inf),
        "refine_shift": np.hypot(*(refined - start).T),
        "fit_ok": fit_ok,
    }
    table, n_merged = merge_close_points(table, params["merge_distance"])
    inside = _inside_border(points_of(table), frame.shape, params["border"])
    counts.update(merged=n_merged, at_border=int((~inside).sum()), found=int(inside.sum()))
    return taken(table, inside), counts


def _peaks_at_places(band, candidates, places, params, skip, excluded, allowed) -> np.ndarray:
    """Local maxima (3 x 3) of the band-passed frame ``band``, the highest within ``SITE_TOLERANCE``
    spacings of each sub-lattice site and control place that no candidate is near yet: a
    weak atom next to strong ones is often no maximum over the minimum distance (the strong
    atoms' flanks reach over it). Sites and controls are searched alike."""
    wanted = wanted_places(candidates, places, params)
    if len(wanted) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    is_max = local_maxima(band)
    for mask in (skip, excluded):
        if mask is not None:
            is_max &= ~mask
    if allowed["mask"] is not None:
        is_max &= allowed["mask"]
    rows, cols = np.nonzero(is_max)
    if len(rows) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    chosen = maxima_at_places(np.column_stack([rows, cols]), band[rows, cols], wanted, params)
    return np.column_stack([rows[chosen], cols[chosen]]).astype(np.int64).reshape(-1, 2)


def smoothed_band_peaks(frame, params, skip=None):
    """The smoothed frame, it band-passed (:func:`band_passed`) and the band's peaks (integer
    row, col; at least ``min_distance`` apart, none where ``skip``)."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    smoothed = gaussian_smooth(frame, params["sigma"])
    band = band_passed(smoothed, params)
    return smoothed, band, find_peaks(band, params["min_distance"], skip=skip)


def band_passed(smoothed, params) -> np.ndarray:
    """The smoothed frame less its Gaussian blur of width ``background`` (peaks are its maxima)."""
    from napari_ivae.core.detection._filters import smooth_background

    if params["background"] > 0:
        return smoothed - smooth_background(smoothed, params["background"])
    return smoothed


def local_maxima(band) -> np.ndarray:
    """Where ``band`` is the maximum of its 3 x 3 neighbourhood (edges: nearest value)."""
    from scipy import ndimage

    return band == ndimage.maximum_filter(band, size=3, mode="nearest")


def _null_contrasts(frame, params):
    """Contrasts of every peak the detector finds in ``frame`` (a frame of pure noise)."""
    smoothed, _, peaks = smoothed_band_peaks(frame, params)
    return smoothed[peaks[:, 0], peaks[:, 1]] - ring_mean(smoothed, peaks, params["spacing"])


def _masked(skip, excluded):
    """Flat areas (padding, blanking) and the excluded mask together; ``None`` without both."""
    masks = [mask for mask in (skip, excluded) if mask is not None]
    return np.logical_or.reduce(masks) if masks else None


def _manual_cut(prominence, threshold) -> float:
    """A given threshold: ``>= 1`` absolute, ``< 1`` a fraction of the 90th percentile."""
    if len(prominence) == 0 or threshold == 0:
        return 0.0
    return threshold if threshold >= 1 else threshold * float(np.percentile(prominence, 90))


def _inside_border(points, shape, border):
    if border <= 0:
        return np.ones(len(points), dtype=bool)
    return (
        (points[:, 0] >= border)
        & (points[:, 0] <= shape[0] - 1 - border)
        & (points[:, 1] >= border)
        & (points[:, 1] <= shape[1] - 1 - border)
    )


def select_by_contrast(
    candidates: np.ndarray,
    prominence: np.ndarray,
    at_edge: np.ndarray,
    cut: float,
    params: dict,
    allowed: dict,
    noise: float,
    n_peaks: int,
    n_excluded: int,
    rim_cut: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Which candidate peaks are atoms: contrast at least ``cut``, and peaks at the crystal
    region's edge only where they sit on the lattice of the kept inner peaks.

    ``rim_cut`` (automatic threshold only): the edge's own cut, measured against the noise
    beyond it (:func:`~napari_ivae.core.detection.atom_rim_cut.rim_contrast_cut`); where it lies
    below ``cut`` the surroundings are quiet, and the edge's rows continue the lattice row by
    row without the outer rows' contrast floor (:func:`rim_atoms`).

    Returns
    -------
    keep : (N,) bool array
    counts : dict
        The detector's bookkeeping (candidates, below threshold, cut, noise, excluded, outside
        the crystal, the region's description).
    """
    keep = prominence >= cut if cut > 0 else np.ones(len(prominence), dtype=bool)
    quiet = rim_cut is not None and rim_cut < cut
    if quiet:
        keep |= at_edge & (prominence >= rim_cut)
    off_lattice = at_edge & keep
    if off_lattice.any():
        off_lattice &= ~rim_atoms(candidates, prominence, keep, at_edge, params, quiet)
    counts = {
        "candidates": int(n_peaks),
        "below_threshold": int((~keep).sum()),
        "contrast_cut": float(cut),
        "noise": float(noise),
        "excluded": n_excluded,
        "outside_crystal": int(allowed["outside"].sum() + off_lattice.sum()),
        "crystal_region": allowed["region"],
    }
    return keep & ~off_lattice, counts


def refine_peaks(
    smoothed: np.ndarray, frame: np.ndarray, start: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel positions of integer peaks by the detector's ``params["refine"]`` method.

    Parameters
    ----------
    smoothed, frame : numpy.ndarray
        The smoothed frame (centre of mass) and the frame itself (Gaussian fit).
    start : (N, 2) float array
        Integer peak positions.
    params : dict
        The detector's resolved parameters (``refine``, ``refine_radius``,
        ``com_iterations``, ``spacing``).

    Returns
    -------
    refined : (N, 2) float array
    fit_ok : (N,) bool array
        True where a Gaussian fit converged (all False unless ``refine="gaussian"``).
    """
    refined, fit_ok = start, np.zeros(len(start), dtype=bool)
    if params["refine"] in ("com", "gaussian") and len(start):
        from napari_ivae.core.detection.refine import refine_centre_of_mass

        refined, _ = refine_centre_of_mass(
            smoothed, start, params["refine_radius"], iterations=params["com_iterations"]
        )
        if params["refine"] == "gaussian":
            from napari_ivae.core.detection.refine import refine_gaussian

            # a slightly larger window than the centre of mass: the fit uses the atom's flanks
            refined, fit_ok, _ = refine_gaussian(
                frame,
                refined,
                1.4 * params["refine_radius"],
                sigma_guess=max(0.15 * params["spacing"], 0.7),
            )
    return refined, fit_ok


__all__ = [
    "band_passed",
    "local_maxima",
    "refine_peaks",
    "select_by_contrast",
    "smoothed_band_peaks",
]
