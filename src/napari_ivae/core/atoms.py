"""Atom-column detection: smoothing, local maxima, contrast threshold, sub-pixel refinement.

Every parameter defaults to a multiple of the lattice spacing, which is estimated from the
image (:func:`napari_ivae.core.spacing.estimate_spacing`) unless given:

=================  ===========================  =============================================
parameter          default                      meaning
=================  ===========================  =============================================
``sigma``          0.1 x spacing                Gaussian smoothing before peak finding
``background``     0.5 x spacing                slow background removed before peak finding
``min_distance``   0.4 x spacing                peaks closer than this are one peak
``refine_radius``  0.3 x spacing                disc for centre of mass / Gaussian fit
``merge_distance`` 0.25 x spacing               refined points closer than this are merged
``border``         refine_radius                points closer to the image edge are dropped
``threshold``      auto                         minimum local contrast (see below)
=================  ===========================  =============================================

Peaks are local maxima of the smoothed image minus its Gaussian blur of width ``background``
(a band-pass at the atom scale): a faint column on the slope of a particle's intensity envelope
is no maximum of the smoothed image itself, but it is one once the slope is gone.

The local contrast (``prominence``) of a peak is its smoothed height above the mean smoothed
value on a circle of radius 0.5 spacing around it (insensitive to background slopes). ``snr``
is that contrast divided by the noise of the smoothed image (estimated from pixel-to-pixel
differences). With ``threshold=None`` a peak is kept when its ``snr >= 4`` and its prominence
is at least ``0.2`` x the 90th percentile of all prominences
(rejects noise in vacuum and on amorphous support). A number ``0 < threshold < 1`` replaces
that fraction; ``threshold >= 1`` is an absolute minimum prominence in image units.

With ``crystal_only=True`` (default) and an image that has a distinct crystalline region (a
nanoparticle or flake next to vacuum, amorphous support or a contamination rim; see
:mod:`napari_ivae.core.crystal`), peaks outside that region are dropped: there the band-pass
finds atom-sized bumps that are no lattice sites. An image that is lattice everywhere is not
affected. ``exclude`` is a user mask of pixels where nothing may be detected (a scale bar).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_ivae.core.detections import Detections, empty_detections, make_detections
from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import exclusion_mask

REFINE_MODES = ("com", "gaussian", None)
MIN_SNR = 4.0
RELATIVE_CONTRAST = 0.2
_PROPERTY_COLUMNS = ("intensity", "prominence", "snr", "refine_shift", "fit_ok")


def detect_atoms(
    image,
    *,
    spacing: float | None = None,
    sigma: float | None = None,
    background: float | None = None,
    min_distance: float | None = None,
    threshold: float | None = None,
    refine: str | None = "com",
    refine_radius: float | None = None,
    com_iterations: int = 2,
    merge_distance: float | None = None,
    border: float | None = None,
    invert: bool = False,
    channel=None,
    frame_axis: int | None = None,
    flatten: str | None = None,
    crystal_only: bool = True,
    exclude=None,
) -> Detections:
    """Find atom columns (bright peaks) in a 2D image or in every frame of a stack.

    Parameters
    ----------
    image : array-like
        2D image or ``(frames, Y, X)`` stack (anything :func:`prepare_image` accepts).
    spacing : float, optional
        Nearest-neighbour distance in pixels; estimated from the (first) frame if omitted.
    sigma, background, min_distance, refine_radius, merge_distance, border : float, optional
        Override the spacing-based defaults (see the module docstring). ``sigma=0`` disables
        smoothing; ``background=0`` finds peaks in the smoothed image itself; ``border=0``
        keeps points up to the edge.
    threshold : float, optional
        ``None``: automatic. ``0 < t < 1``: minimum prominence as a fraction of the 90th
        percentile of prominences. ``t >= 1``: absolute minimum prominence. ``0``: keep all.
    refine : {"com", "gaussian", None}
        Sub-pixel refinement: iterative centre of mass (default), a 2D Gaussian fit (falls back
        to centre of mass where it fails), or none (integer peak positions).
    com_iterations : int
        Centre-of-mass re-centring steps.
    invert, channel, frame_axis, flatten
        Passed to :func:`napari_ivae.core.image.prepare_image` (``invert=True`` for dark atoms,
        e.g. ABF).
    crystal_only : bool
        Drop peaks outside the crystalline region when the frame has a distinct one.
    exclude : array-like, optional
        ``(Y, X)`` mask, nonzero where nothing may be detected (applies to every frame).

    Returns
    -------
    Detections
        ``coords`` (frame, row, col); ``properties`` with ``intensity, prominence, snr,
        refine_shift, fit_ok``; ``params`` with every value used (``spacing`` included) and
        per-frame counts (``outside_crystal``: peaks dropped outside the crystalline region);
        ``message`` explains an empty result and says when peaks were dropped.
    """
    from napari_ivae.core.image import prepare_image, split_frames

    if refine not in REFINE_MODES:
        raise InputError(f"refine={refine!r} is not known; use 'com', 'gaussian' or None.")
    prepared = prepare_image(image, channel=channel, frame_axis=frame_axis, invert=invert,
                             flatten=flatten)
    frames, is_stack = split_frames(prepared)
    params = _resolve_params(frames[0], spacing, sigma, background, min_distance, threshold,
                             refine_radius, merge_distance, border)
    params.update(refine=refine, com_iterations=int(com_iterations), invert=bool(invert),
                  flatten=flatten, n_frames=len(frames), is_stack=is_stack,
                  crystal_only=bool(crystal_only), exclude=exclude is not None)
    excluded = exclusion_mask(exclude, frames.shape[1:])
    tables, counts = [], []
    for index, frame in enumerate(frames):
        table, frame_counts = _detect_frame(frame, params, excluded)
        table.insert(0, "frame", index)
        tables.append(table)
        counts.append(frame_counts)
    params["counts"] = counts if is_stack else counts[0]
    table = pd.concat(tables, ignore_index=True)
    if len(table) == 0:
        why = _empty_reason(counts[0] if not is_stack else _sum_counts(counts), params)
        return empty_detections(_PROPERTY_COLUMNS, params=params, message=why)
    message = ""
    if is_stack:
        message = f"{len(table)} atoms in {len(frames)} frames (spacing {params['spacing']:.2f} px)"
    outside = sum(c["outside_crystal"] for c in counts)
    if outside:
        note = (f"{outside} peaks outside the crystalline region were left out "
                "(crystal_only=False keeps them)")
        message = f"{message}; {note}" if message else note[0].upper() + note[1:]
    return make_detections(table, params=params, message=message)


def _resolve_params(frame, spacing, sigma, background, min_distance, threshold, refine_radius,
                    merge_distance, border) -> dict:
    from napari_ivae.core.spacing import estimate_spacing

    source = "given"
    if spacing is None:
        spacing, source = estimate_spacing(frame), "auto"
    spacing = float(spacing)
    if not spacing > 0:
        raise InputError(f"spacing must be positive, got {spacing}.")

    def pick(value, factor, name):
        value = factor * spacing if value is None else float(value)
        if value < 0 or not np.isfinite(value):
            raise InputError(f"{name} must be >= 0, got {value}.")
        return value

    refine_radius = max(pick(refine_radius, 0.3, "refine_radius"), 1.0)
    resolved = dict(spacing=spacing, spacing_source=source,
                    sigma=pick(sigma, 0.1, "sigma"),
                    background=pick(background, 0.5, "background"),
                    min_distance=max(pick(min_distance, 0.4, "min_distance"), 1.0),
                    refine_radius=refine_radius,
                    merge_distance=pick(merge_distance, 0.25, "merge_distance"),
                    border=refine_radius if border is None else pick(border, 0.0, "border"))
    if threshold is not None and (threshold < 0 or not np.isfinite(threshold)):
        raise InputError(f"threshold must be >= 0, got {threshold}.")
    resolved["threshold"] = "auto" if threshold is None else float(threshold)
    return resolved


def _detect_frame(frame, params, excluded) -> tuple[pd.DataFrame, dict]:
    from napari_ivae.core._filters import gaussian_smooth, smooth_background

    smoothed = gaussian_smooth(frame, params["sigma"])
    band = smoothed
    if params["background"] > 0:
        band = smoothed - smooth_background(smoothed, params["background"])
    candidates = find_peaks(band, params["min_distance"])
    allowed = _allowed(frame, candidates, params, excluded)
    n_peaks, n_excluded = len(candidates), int(allowed["excluded"].sum())
    candidates = candidates[~(allowed["excluded"] | allowed["outside"])]
    noise = smoothed_noise(frame, params["sigma"])
    peak_values = smoothed[candidates[:, 0], candidates[:, 1]]
    prominence = peak_values - _ring_mean(smoothed, candidates, params["spacing"])
    keep, cut = _contrast_filter(prominence, noise, params["threshold"])
    counts = {"candidates": int(n_peaks), "below_threshold": int((~keep).sum()),
              "contrast_cut": float(cut), "noise": float(noise), "excluded": n_excluded,
              "outside_crystal": int(allowed["outside"].sum()),
              "crystal_region": allowed["region"]}
    candidates, prominence = candidates[keep], prominence[keep]
    peak_values = peak_values[keep]

    start = candidates.astype(np.float64)
    fit_ok = np.zeros(len(start), dtype=bool)
    refined = start
    if params["refine"] in ("com", "gaussian") and len(start):
        from napari_ivae.core.refine import refine_centre_of_mass

        refined, _ = refine_centre_of_mass(smoothed, start, params["refine_radius"],
                                           iterations=params["com_iterations"])
        if params["refine"] == "gaussian":
            from napari_ivae.core.refine import refine_gaussian

            # a slightly larger window than the centre of mass: the fit uses the atom's flanks
            refined, fit_ok, _ = refine_gaussian(frame, refined, 1.4 * params["refine_radius"],
                                                 sigma_guess=max(0.15 * params["spacing"], 0.7))
    table = pd.DataFrame({
        "row": refined[:, 0], "col": refined[:, 1], "intensity": peak_values,
        "prominence": prominence, "snr": prominence / noise if noise > 0 else np.inf,
        "refine_shift": np.hypot(*(refined - start).T), "fit_ok": fit_ok,
    })
    table, n_merged = merge_close_points(table, params["merge_distance"])
    inside = _inside_border(table[["row", "col"]].to_numpy(), frame.shape, params["border"])
    counts.update(merged=n_merged, at_border=int((~inside).sum()), found=int(inside.sum()))
    return table[inside].reset_index(drop=True), counts


def _allowed(frame, candidates, params, excluded) -> dict:
    """Which candidates the user mask excludes and which lie outside the crystalline region."""
    flags = {"excluded": np.zeros(len(candidates), dtype=bool),
             "outside": np.zeros(len(candidates), dtype=bool), "region": None}
    if excluded is not None and len(candidates):
        flags["excluded"] = excluded[candidates[:, 0], candidates[:, 1]]
    if params["crystal_only"] and len(candidates):
        from napari_ivae.core.crystal import crystal_region

        region = crystal_region(frame, params["spacing"])
        flags["region"] = region.summary()
        if region.found:
            flags["outside"] = ~flags["excluded"] & ~region.contains(candidates)
    return flags


def _ring_mean(smoothed, points, spacing):
    """Mean smoothed value on a circle of radius 0.5 spacing (24 samples) around each point.

    For a full circle this equals the value, at the centre, of the best plane through the
    samples, so ``peak - ring mean`` is a local contrast that ignores background slopes.
    """
    from napari_ivae.core.refine import gather_offsets

    if len(points) == 0:
        return np.zeros(0)
    angles = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
    ring = np.rint(0.5 * spacing * np.column_stack([np.sin(angles), np.cos(angles)]))
    return gather_offsets(smoothed, points, ring).mean(axis=1, dtype=np.float64)


def find_peaks(smoothed: np.ndarray, min_distance: float) -> np.ndarray:
    """Integer (row, col) local maxima at least ``min_distance`` apart (brightest kept).

    A square maximum filter gives the candidates; plateaus and pairs that are closer than
    ``min_distance`` in Euclidean distance are thinned by :func:`close_point_losers`.
    """
    from napari_ivae.core._filters import local_maxima

    size = 2 * int(np.floor(min_distance / np.sqrt(2))) + 1  # square inscribed in the disc
    rows, cols = local_maxima(smoothed, size, smoothed.min())  # flat background is no peak
    points = np.column_stack([rows, cols]).astype(np.int64)
    return points[~close_point_losers(points, smoothed[rows, cols], min_distance)]


def merge_close_points(table: pd.DataFrame, distance: float) -> tuple[pd.DataFrame, int]:
    """Drop every point closer than ``distance`` to a brighter kept point.

    Parameters
    ----------
    table : pandas.DataFrame
        Needs ``row``, ``col`` and ``intensity`` columns.
    distance : float
        Merge radius in pixels (``<= 0`` keeps everything).

    Returns
    -------
    (pandas.DataFrame, int)
        The kept rows (original order) and how many were dropped.
    """
    if distance <= 0 or len(table) < 2:
        return table, 0
    removed = close_point_losers(table[["row", "col"]].to_numpy(),
                                 table["intensity"].to_numpy(), distance)
    if not removed.any():
        return table, 0
    return table[~removed].reset_index(drop=True), int(removed.sum())


def close_point_losers(points: np.ndarray, intensity: np.ndarray,
                       distance: float) -> np.ndarray:
    """Mask of the points a brighter kept point lies closer than ``distance`` to.

    The result of visiting points brightest first and keeping each one that has no kept point
    within ``distance`` (ties: the earlier point counts as brighter). Computed in rounds over
    the close pairs instead of a Python loop: in each round, points with a kept brighter
    neighbour are dropped, and points whose brighter neighbours are all dropped are kept.
    """
    removed = np.zeros(len(points), dtype=bool)
    if distance <= 0 or len(points) < 2:
        return removed
    from scipy.spatial import cKDTree

    # an unbalanced tree builds faster, and the queries here are few and short
    tree = cKDTree(np.asarray(points, dtype=np.float64), balanced_tree=False,
                   compact_nodes=False)
    pairs = tree.query_pairs(distance, output_type="ndarray")
    if len(pairs) == 0:
        return removed
    rank = np.empty(len(points), dtype=np.int64)
    rank[np.argsort(-np.asarray(intensity), kind="stable")] = np.arange(len(points))
    first_wins = rank[pairs[:, 0]] < rank[pairs[:, 1]]
    brighter = np.where(first_wins, pairs[:, 0], pairs[:, 1])
    dimmer = np.where(first_wins, pairs[:, 1], pairs[:, 0])
    state = np.zeros(len(points), dtype=np.int8)  # 0 undecided, 1 kept, -1 dropped
    involved = np.zeros(len(points), dtype=bool)
    involved[pairs.ravel()] = True
    while True:
        live = (state[brighter] >= 0) & (state[dimmer] == 0)
        if not live.any():
            break
        state[dimmer[live & (state[brighter] == 1)]] = -1
        waiting = np.zeros(len(points), dtype=bool)  # an undecided brighter neighbour
        waiting[dimmer[live & (state[brighter] == 0)]] = True
        state[involved & (state == 0) & ~waiting] = 1
    removed[state == -1] = True
    return removed


def smoothed_noise(frame: np.ndarray, sigma: float) -> float:
    """Robust noise standard deviation of ``frame`` after Gaussian smoothing with ``sigma``.

    The pixel noise comes from the median absolute pixel-to-pixel difference (insensitive to
    atoms and background gradients); white noise shrinks by ``1 / (2 sqrt(pi) sigma)`` under
    smoothing.
    """
    step = max(1, int(np.sqrt(frame.size / 50_000)))  # ~100 000 differences are plenty
    differences = np.concatenate([np.diff(frame[::step, :], axis=1)[:, ::step].ravel(),
                                  np.diff(frame[:, ::step], axis=0)[::step].ravel()])
    pixel_noise = 1.4826 * np.median(np.abs(differences - np.median(differences))) / np.sqrt(2)
    factor = 1.0 if sigma <= 0 else min(1.0, 1.0 / (2.0 * np.sqrt(np.pi) * sigma))
    return float(pixel_noise * factor)


def _contrast_filter(prominence, noise, threshold):
    if len(prominence) == 0:
        return np.zeros(0, dtype=bool), 0.0
    if threshold == "auto":
        reference = np.percentile(prominence, 90)
        cut = max(RELATIVE_CONTRAST * reference, MIN_SNR * noise)
    elif threshold >= 1:
        cut = threshold
    else:
        cut = threshold * np.percentile(prominence, 90)
    keep = prominence >= cut if cut > 0 else np.ones(len(prominence), dtype=bool)
    return keep, cut


def _inside_border(points, shape, border):
    if border <= 0:
        return np.ones(len(points), dtype=bool)
    return ((points[:, 0] >= border) & (points[:, 0] <= shape[0] - 1 - border)
            & (points[:, 1] >= border) & (points[:, 1] <= shape[1] - 1 - border))


def _sum_counts(counts):
    keys = ("candidates", "excluded", "outside_crystal", "below_threshold", "merged",
            "at_border", "found")
    return {k: sum(c[k] for c in counts) for k in keys}


def _empty_reason(counts, params) -> str:
    spacing = f"spacing {params['spacing']:.1f} px ({params['spacing_source']})"
    if counts["candidates"] == 0:
        return f"No atoms found: the smoothed image has no local maximum ({spacing})."
    masked = counts["excluded"] + counts["outside_crystal"]
    if masked == counts["candidates"]:
        return (f"No atoms found: of {counts['candidates']} peaks, {counts['excluded']} lie in "
                f"the excluded mask and {counts['outside_crystal']} outside the crystalline "
                f"region ({spacing}); crystal_only=False keeps the latter.")
    if counts["below_threshold"] == counts["candidates"] - masked:
        return (f"No atoms found: all {counts['candidates']} peaks have too little contrast "
                f"(threshold {params['threshold']}; {spacing}). Lower the threshold, or check "
                "the spacing and whether atoms are dark (invert).")
    return (f"No atoms found: {counts['at_border']} peaks lie within the {params['border']:.1f} px "
            f"border ({spacing}); reduce the border.")


__all__ = ["Detections", "close_point_losers", "detect_atoms", "find_peaks", "merge_close_points",
           "smoothed_noise"]
