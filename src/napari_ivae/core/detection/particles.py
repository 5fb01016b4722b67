"""Particle detection: scale-space blobs (default), threshold + watershed, or LoG blobs.

Auto mode (``method="auto"``, the default; :mod:`napari_ivae.core.detection.particle_auto`):
polarity, particle scale and threshold all come from the image (see
:mod:`napari_ivae.core.detection.particle_blobs`); a burned-in scale bar and its label are
masked automatically (the masked pixels take the background around them); each particle's label
is a disc of its blob radius, split from touching neighbours by a watershed; the blobs along one
rod are one particle (their discs together).

Threshold mode (``method="otsu" | "li" | "local"``;
:mod:`napari_ivae.core.detection.particle_classic`): light Gaussian smoothing, a global (Otsu,
Li) or local (block mean) threshold on the chosen ``polarity``, removal of objects smaller than
``min_size`` pixels, hole filling, a distance-transform watershed that splits touching particles,
and (optionally) removal of objects touching the image border. ``exclude`` masks pixels that
must never be a particle (a burned-in scale bar, a label).

Blob mode (``method="log"``): :func:`skimage.feature.blob_log` for round, sparse particles; the
labels image holds a disc of radius ``sqrt(2) * sigma`` per blob.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.detections import Detections, empty_detections, make_detections
from napari_ivae.core.detection.particle_classic import log_blobs, threshold_objects
from napari_ivae.core.detection.particle_region_edge import on_region_edge
from napari_ivae.core.detection.particle_scan_lines import on_single_lines
from napari_ivae.core.detection.particle_two_sided import both_polarities
from napari_ivae.core.detection.point_columns import as_frame, joined, row_count
from napari_ivae.core.errors import InputError

METHODS = ("auto", "otsu", "li", "local", "log")
POLARITIES = ("auto", "bright", "dark")
_COLUMNS = ("label", "area", "equivalent_diameter", "eccentricity", "orientation", "mean_intensity")


def detect_particles(
    image,
    *,
    method: str = "auto",
    polarity: str = "auto",
    sigma: float = 1.0,
    min_size: int | None = None,
    fill_holes: bool = True,
    split: bool = True,
    min_separation: float | None = None,
    exclude_border: bool = True,
    exclude=None,
    block_size: int | None = None,
    min_sigma: float = 1.0,
    max_sigma: float | None = None,
    log_threshold: float = 0.1,
    sensitivity: float = 1.0,
    channel=None,
    frame_axis: int | None = None,
    flatten: str | None = None,
) -> Detections:
    """Find particles in a 2D image or in every frame of a stack.

    Parameters
    ----------
    image : array-like
        2D image or ``(frames, Y, X)`` stack (anything :func:`prepare_image` accepts).
    method : {"auto", "otsu", "li", "local", "log"}
        Scale-space blobs with every setting from the image (default), global Otsu or Li
        threshold, local (block) threshold, or Laplacian-of-Gaussian blobs.
    polarity : {"auto", "bright", "dark"}
        Particles brighter (dark-field, fluorescence) or darker (bright-field TEM) than the
        background; ``"auto"`` decides from the image (one-sided blobs).
    sigma : float
        Gaussian smoothing (pixels) before thresholding (0 = none).
    min_size : int, optional
        Objects smaller than this many pixels are removed; default ``max(10, 0.02 x`` the
        median object area``)``.
    fill_holes : bool
        Fill holes inside objects.
    split : bool
        Split touching particles with a distance-transform watershed (threshold methods; the
        auto method finds each particle as its own blob).
    min_separation : float, optional
        Smallest distance between two particle centres for the watershed; default half the
        median equivalent radius of the objects (at least 2 px).
    exclude_border : bool
        Drop objects touching the image edge (or the ``exclude`` mask).
    exclude : array-like of bool, optional
        ``(Y, X)`` mask, True where nothing may be detected (scale bar, text).
    block_size : int, optional
        Odd block size for ``method="local"``; default about an eighth of the smaller side.
    min_sigma, max_sigma, log_threshold : float
        Blob mode: scale range (pixels; ``max_sigma`` default a twentieth of the smaller side)
        and the threshold on the scale-normalised LoG response of the [0, 1]-scaled image.
    sensitivity : float
        Auto method only: every strength cut a candidate must pass (measured from the image's
        noise and background) is divided by this; above 1 finds fainter particles, below 1
        keeps only the clearest. Any other value than 1 with another method is an error
        (those have their own threshold: ``method``, ``block_size``, ``log_threshold``).
    channel, frame_axis, flatten
        Passed to :func:`napari_ivae.core.io.image.prepare_image`.

    Returns
    -------
    Detections
        Centroids ``(frame, row, col)``, a labels image (``labels``; same shape as the prepared
        input) and a properties table with ``label, area, equivalent_diameter, eccentricity,
        orientation, mean_intensity``. An empty result carries a message.
    """
    from napari_ivae.core.detection.freed_memory import kept_memory
    from napari_ivae.core.detection.streaming import lazy_input
    from napari_ivae.core.io.image import prepare_image, split_frames

    if method not in METHODS:
        raise InputError(f"method={method!r} is not known; use one of {METHODS}.")
    if polarity not in POLARITIES:
        raise InputError(f"polarity={polarity!r} is not known; use 'auto', 'bright' or 'dark'.")
    sensitivity = checked_sensitivity(sensitivity, method)
    if lazy_input(image, channel, frame_axis) and len(image.shape) == 3:
        from napari_ivae.core.detection.streaming import detect_lazy  # zarr/dask: frame by frame

        return detect_lazy(
            image,
            "particles",
            method=method,
            polarity=polarity,
            sigma=sigma,
            min_size=min_size,
            fill_holes=fill_holes,
            split=split,
            min_separation=min_separation,
            exclude_border=exclude_border,
            exclude=exclude,
            block_size=block_size,
            min_sigma=min_sigma,
            max_sigma=max_sigma,
            log_threshold=log_threshold,
            sensitivity=sensitivity,
            flatten=flatten,
        )
    prepared = prepare_image(image, channel=channel, frame_axis=frame_axis, flatten=flatten)
    frames, is_stack = split_frames(prepared)
    excluded = _exclusion_mask(exclude, frames.shape[1:])
    params = dict(
        method=method,
        polarity=polarity,
        sigma=float(sigma),
        min_size=min_size,
        fill_holes=bool(fill_holes),
        split=bool(split),
        min_separation=min_separation,
        exclude_border=bool(exclude_border),
        excluded_pixels=int(excluded.sum()),
        block_size=block_size,
        n_frames=len(frames),
        is_stack=is_stack,
    )
    if method == "auto":
        params["sensitivity"] = sensitivity
    if method == "log":
        params.update(
            min_sigma=float(min_sigma),
            log_threshold=float(log_threshold),
            max_sigma=float(max_sigma) if max_sigma else min(frames.shape[1:]) / 20.0,
        )
    labels = np.zeros(frames.shape, dtype=np.int32)
    tables, used = [], []
    for index, frame in enumerate(frames):
        if method == "auto":
            with kept_memory():  # the kernel need not zero fresh pages for every array
                labels[index], frame_used, centres = both_polarities(frame, excluded, params)
            table = _measured(labels[index], frame, index)
            if row_count(table):
                placed = centres[table["label"].astype(int) - 1]
                table["row"], table["col"] = placed[:, 0], placed[:, 1]
                frame_used["region_edge"] = on_region_edge(frame, placed, excluded)
                frame_used["scan_lines"] = on_single_lines(
                    frame, placed, frame_used.get("polarity", "bright"), excluded
                )
            tables.append(table)
            used.append(frame_used)
            continue
        frame_polarity = polarity
        if polarity == "auto":  # a pure step: the Detect dock's memo keeps it between methods
            from napari_ivae.core.detection.detection_memo import remembered
            from napari_ivae.core.detection.particle_blobs import blob_polarity_and_scale

            frame_polarity = remembered("blob_polarity", blob_polarity_and_scale, frame)[0]
        signal = frame if frame_polarity == "bright" else -frame
        if method == "log":
            labels[index], frame_used = log_blobs(signal, excluded, params)
        else:
            labels[index], frame_used = threshold_objects(signal, excluded, params)
        frame_used["polarity"] = frame_polarity
        tables.append(_measured(labels[index], frame, index))
        used.append(frame_used)
    params["resolved"] = used if is_stack else used[0]
    table = joined(tables)
    labels_out = labels if is_stack else labels[0]
    if row_count(table) == 0:
        fainter = "raise sensitivity (fainter particles), " if method == "auto" else ""
        message = (
            f"No particles found with method={method!r}, polarity={polarity!r}: check "
            "the polarity (dark particles on a bright background need 'dark'), lower "
            f"min_size, {fainter}or try another method."
        )
        result = empty_detections(_COLUMNS, labels=labels_out, params=params, message=message)
    else:
        result = make_detections(table, labels=labels_out, params=params)
    from napari_ivae.core.detection.quality import assess

    result.quality = assess(result, "particles")
    if method == "auto" and sensitivity > 1.0 and len(result):
        _warn_added(result, frames, excluded, params)
    return result


def _warn_added(result, frames, excluded, params) -> None:
    """The self-check's warning for a sensitivity raised above 1: how many more particles than
    at the cuts measured from the image (the frames again at 1; the Detect dock's memo
    usually holds them)."""
    own = {**params, "sensitivity": 1.0}
    added = len(result) - sum(len(both_polarities(frame, excluded, own)[2]) for frame in frames)
    if added > 0 and isinstance(result.quality, dict):
        result.quality.setdefault("measures", {})["sensitivity_added"] = added
        result.quality.setdefault("warnings", []).append(
            f"sensitivity {params['sensitivity']:g} found {added} particles more than the "
            "cuts measured from the image (sensitivity 1): check them; lower --sensitivity "
            "where they are the support's texture or noise"
        )


def checked_sensitivity(sensitivity, method: str = "auto") -> float:
    """``sensitivity`` as a float, or an :class:`InputError` saying what is wrong with it:
    not a positive finite number, or other than 1 for a method it does not apply to."""
    try:
        value = float(sensitivity)
    except (TypeError, ValueError):
        raise InputError(f"sensitivity must be a number, got {sensitivity!r}.") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"sensitivity must be a finite number above 0, got {sensitivity!r}.")
    if value != 1.0 and method != "auto":
        raise InputError(
            f"sensitivity applies to method='auto' only (got method={method!r}); "
            "the threshold methods have their own cut (log_threshold, block_size)."
        )
    return value


def _measured(labels, frame, index) -> dict:
    table = measured_columns(labels, frame)
    return {"frame": np.full(row_count(table), index, dtype=np.int64), **table}


def _exclusion_mask(exclude, shape) -> np.ndarray:
    from napari_ivae.core.validation import exclusion_mask

    mask = exclusion_mask(exclude, shape)
    return np.zeros(shape, dtype=bool) if mask is None else mask


def _measure(labels, frame):
    """:func:`measured_columns` as a :class:`pandas.DataFrame`."""
    return as_frame(measured_columns(labels, frame))


def measured_columns(labels, frame) -> dict:
    """Per label: centroid, area, equivalent diameter, eccentricity, orientation and mean
    intensity, as :func:`skimage.measure.regionprops` defines them, from sums over the pixels
    (``regionprops_table`` took 0.5 s of a 1.8 s detection on a film of 1300 particles)."""
    count = int(labels.max())
    if count == 0:
        return {name: np.zeros(0) for name in ("row", "col") + _COLUMNS}
    flat = labels.ravel()
    inside = np.flatnonzero(flat)
    index = flat[inside]
    rows, cols = np.divmod(inside, labels.shape[1])

    def total(weights=None):
        return np.bincount(index, weights=weights, minlength=count + 1)[1:]

    area = total().astype(np.float64)
    present = np.flatnonzero(area) + 1  # labels with pixels, in order (as regionprops)
    area = area[present - 1]
    row = total(rows.astype(np.float64))[present - 1] / area
    col = total(cols.astype(np.float64))[present - 1] / area
    centre_row, centre_col = np.zeros(count + 1), np.zeros(count + 1)
    centre_row[present], centre_col[present] = row, col
    off_row, off_col = rows - centre_row[index], cols - centre_col[index]
    # the inertia tensor [[a, b], [b, c]] (a: along the columns' spread, as skimage's)
    a = total(off_col * off_col)[present - 1] / area
    c = total(off_row * off_row)[present - 1] / area
    b = -total(off_row * off_col)[present - 1] / area
    # a symmetric shape's b (and a disc's a - c) is 0 up to rounding, where skimage's exact
    # sums give 0: the rounding's sign must not turn the axis (pi / 2, or pi / 4 on a disc)
    tiny = 1e-12 * (a + c)
    b = np.where(np.abs(b) <= tiny, -0.0, b)  # -0.0: skimage's -mu11 / mu00 of a 0 sum
    a_less_c = np.where(np.abs(a - c) <= tiny, 0.0, a - c)
    half_trace, gap = 0.5 * (a + c), np.sqrt((0.5 * (a - c)) ** 2 + b * b)
    large, small = np.maximum(half_trace + gap, 0.0), np.maximum(half_trace - gap, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eccentricity = np.where(large > 0, np.sqrt(np.maximum(1.0 - small / large, 0.0)), 0.0)
    orientation = np.where(
        a_less_c == 0, np.where(b < 0, np.pi / 4, -np.pi / 4), 0.5 * np.arctan2(-2.0 * b, -a_less_c)
    )
    intensity = total(np.asarray(frame, dtype=np.float64).ravel()[inside])[present - 1] / area
    return {
        "row": row,
        "col": col,
        "label": present,
        "area": area,
        "equivalent_diameter": np.sqrt(4.0 * area / np.pi),
        "eccentricity": eccentricity,
        "orientation": orientation,
        "mean_intensity": intensity,
    }


__all__ = ["Detections", "detect_particles"]
