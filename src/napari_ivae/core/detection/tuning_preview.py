"""A quick preview of atom columns at a new spacing, from an earlier detection of the frame.

While the Detect dock's spacing (or smoothing) is dragged, the exact detection
(:func:`~napari_ivae.core.detection.atoms.detect_atoms`) redoes nearly every step: the
polarity check, the crystalline region, the first pass and the column width all depend on
the spacing, 0.2-0.4 s of CPU on a 1024² frame. The preview keeps what the earlier
detection of the same frame decided and redoes only the peak search:

- the polarity (a dark-atom frame turned bright, as the detection turns it);
- the smoothing, background and minimum distance scaled with the spacing, as their defaults
  are (a smoothing given stays as given);
- its contrast cut, in image units, on the peaks' contrast at the new smoothing (an automatic
  cut, a bound on the smoothed noise, scaled as smoothing scales white noise);
- its region: peaks farther than 0.75 of its spacing from every earlier atom are left out
  (vacuum, support, a masked scale bar kept out as the detection kept them out; inside the
  crystal every place is that close to an atom).

It is no detection: no sub-pixel refinement, no sub-lattice sites, no noise test. The dock
draws it marked as a preview and replaces it with the exact result when that arrives.
"""

from __future__ import annotations

import numpy as np

PREVIEW_KEYS = ("spacing", "sigma", "background", "min_distance", "border", "counts")
# the earlier atoms' area: every point of a square lattice lies within 0.71 spacings of a site
# (of a hexagonal one, 0.58), while a bump in the vacuum beside the edge atoms lies farther
NEAR = 0.75


def can_preview(params: dict) -> bool:
    """Whether an earlier detection's ``params`` hold what a preview needs: one frame's
    resolved parameters and contrast cut, and neither a honeycomb nor a sub-lattice (whose
    atoms the plain peak search does not find)."""
    if not isinstance(params, dict) or any(key not in params for key in PREVIEW_KEYS):
        return False
    counts = params["counts"]
    return (
        isinstance(counts, dict)
        and np.isfinite(counts.get("contrast_cut", np.nan))
        and not params.get("is_stack")
        and not params.get("honeycomb")
        and not params.get("sublattice")
    )


def preview_atoms(
    frame: np.ndarray,
    previous: dict,
    previous_points: np.ndarray,
    spacing: float,
    sigma: float | None = None,
) -> np.ndarray:
    """Peaks of ``frame`` at ``spacing``, judged as the earlier detection judged its own.

    Parameters
    ----------
    frame : (Y, X) array
        The frame as the earlier detection prepared it (a polarity given applied).
    previous : dict
        That detection's ``params`` (:func:`can_preview` true).
    previous_points : (N, 2) array
        Its atoms (row, col).
    spacing : float
        The new spacing (px).
    sigma : float, optional
        The smoothing asked for; ``None`` scales the earlier one with the spacing.

    Returns
    -------
    (M, 2) float array
        The preview's points (integer peak positions, row and col).
    """
    from napari_ivae.core.detection.atom_frame import smoothed_band_peaks
    from napari_ivae.core.detection.peaks import flat_mask, ring_mean, smoothing_factor

    frame = np.asarray(frame, dtype=np.float32)
    if str(previous.get("polarity", "")).startswith("dark"):  # turned bright as it was
        frame = (frame.max() + frame.min() - frame).astype(np.float32)
    scale = float(spacing) / float(previous["spacing"])
    params = {
        "sigma": float(sigma) if sigma else float(previous["sigma"]) * scale,
        "background": float(previous["background"]) * scale,
        "min_distance": float(previous["min_distance"]) * scale,
    }
    flat = flat_mask(frame)  # padding, blanking: no peaks there, as in the detection
    smoothed, _, peaks = smoothed_band_peaks(frame, params, flat if flat.any() else None)
    cut = float(previous["counts"]["contrast_cut"])
    if previous.get("threshold") == "auto":  # a bound on the noise, which the smoothing scales
        cut *= smoothing_factor(params["sigma"]) / smoothing_factor(float(previous["sigma"]))
    if len(peaks):
        contrast = smoothed[peaks[:, 0], peaks[:, 1]] - ring_mean(smoothed, peaks, spacing)
        peaks = peaks[contrast >= cut]
    earlier = np.asarray(previous_points, dtype=np.float64).reshape(-1, 2)
    peaks = _near(peaks, earlier, float(previous["spacing"]))
    border = float(previous["border"]) * scale
    inside = (
        (peaks[:, 0] >= border)
        & (peaks[:, 0] <= frame.shape[0] - 1 - border)
        & (peaks[:, 1] >= border)
        & (peaks[:, 1] <= frame.shape[1] - 1 - border)
    )
    return peaks[inside].astype(np.float64)


def _near(peaks: np.ndarray, points: np.ndarray, spacing: float) -> np.ndarray:
    """The peaks within ``NEAR`` x ``spacing`` of one of ``points`` (none without points)."""
    if len(peaks) == 0 or len(points) == 0:
        return peaks[:0]
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(points).query(peaks, distance_upper_bound=NEAR * float(spacing))
    return peaks[np.isfinite(distance)]


__all__ = ["can_preview", "preview_atoms"]
