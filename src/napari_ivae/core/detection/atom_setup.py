"""A detection's frames and parameters, each step through the active detection memo.

Part of :func:`~napari_ivae.core.detection.atoms.detect_atoms`: the image prepared
(:func:`_prepared`), then the parameters given, from the spacing, from the polarity check and
from the first pass (:func:`_resolved`). Each step is asked through
:func:`~napari_ivae.core.detection.detection_memo.remembered`: a re-detection of the same
image (live tuning) finds those its changed parameter does not reach, with the same result.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.atom_defaults import _from_first_pass, _resolve_params, taken_out
from napari_ivae.core.detection.atom_honeycomb import _bright_atoms, honeycomb_of
from napari_ivae.core.detection.detection_memo import remembered, remembered_when
from napari_ivae.core.detection.lattice_directions import ONE_DIRECTION


def _resolved(frames, given: dict, run: dict, excluded, invert) -> tuple:
    """The frames with atoms bright, and every parameter: given, from the spacing, from the
    polarity check and from the first pass (each step through the active memo)."""
    first = frames[0]
    params = {**_resolve_params(first, **given), **run}
    if ONE_DIRECTION in str(params["spacing_source"]):
        # fringes or scan lines hold no atom position: searched with them taken out
        frames = np.stack([taken_out(frame) for frame in frames])
        first = frames[0]
    if invert is None:
        bright, found = remembered(
            "polarity", _polarity, frames, params["spacing"], {**params, **run}, excluded
        )
        frames = frames if bright is None else bright
        run.update(found)
    else:  # the polarity is given; whether its atoms form a honeycomb is not
        run["honeycomb"] = remembered(
            "honeycomb_of", honeycomb_of, first, {**params, **run}, excluded
        )
    params.update(run)
    if given["spacing"] is None or given["sigma"] is None:
        # refinement plays no part in the first pass: a change of it finds that remembered
        plain = {k: v for k, v in params.items() if k not in ("refine", "com_iterations")}
        found = remembered("first_pass", _from_first_pass, frames[0], plain, given, excluded)
        params = {**found, **run}
    return frames, params


def _prepared(image, **kwargs):
    """:func:`~napari_ivae.core.io.image.prepare_image` through the active memo, kept when it
    had nothing to say (missing or extreme pixels replaced: it warns of them every time)."""
    prepared, _ = remembered_when(
        "prepare_image", _said_nothing, _prepared_reporting, image, **kwargs
    )
    return prepared


def _levelled(frames: np.ndarray) -> tuple:
    """The prepared frames ``(F, Y, X)`` levelled where their scan lines carry offsets of their
    own (:func:`~napari_ivae.core.detection.scan_levelling.scan_levelled`), through the active
    memo, and the first such frame's ``found`` (``None``: the frames as they came)."""
    return remembered("scan_levelled", _scan_levelled, frames)


def _scan_levelled(frames: np.ndarray) -> tuple:
    from napari_ivae.core.detection.scan_levelling import scan_levelled

    results = [scan_levelled(frame) for frame in frames]
    if all(found is None for _, found in results):
        return frames, None
    levelled = np.stack([frame for frame, _ in results]).astype(np.float32, copy=False)
    return levelled, next(found for _, found in results if found is not None)


def _prepared_reporting(image, **kwargs) -> tuple:
    from napari_ivae.core.io.image import prepare_image

    report: dict = {}
    return prepare_image(image, **kwargs, report=report), report


def _said_nothing(prepared: tuple) -> bool:
    return not (prepared[1].get("nan_filled") or prepared[1].get("outliers_replaced"))


def _polarity(frames, spacing, params, excluded) -> tuple:
    """:func:`_bright_atoms` as a pure step: the frames with atoms bright (``None``: the
    frames given, which the memo then need not hold a copy of), and what it found."""
    found: dict = {}
    bright = _bright_atoms(frames, spacing, found, params, excluded)
    return (None if bright is frames else bright), found


def _with_annotation(excluded, frame, run: dict):
    """The user's mask plus a burned-in scale bar and its label, if the frame has one."""
    from napari_ivae.core.detection.overlays import annotation_mask

    annotation = remembered("annotation_mask", annotation_mask, frame)
    run["annotation_pixels"] = int(annotation.sum())
    if not annotation.any():
        return excluded
    return annotation if excluded is None else excluded | annotation
