"""The Detect dock's computations, safe in any thread: a snapshot's detection (through the
dock's memo, stopped when superseded), the detection itself on a prepared image, the
particles' contrast self-check, the spacing estimate."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae import _layers
from napari_ivae._widgets.detect_text import PARTICLES_HINT, _filled_warning, widget_spelling
from napari_ivae.core.detection.detection_memo import (
    DetectionMemo,
    Superseded,
    remembered,
    using_memo,
)
from napari_ivae.core.errors import InputError
from napari_ivae.core.io.outlier_pixels import replaced_message

SUPERSEDED = "superseded"  # what a stale run returns instead of a result


def _prepared_snapshot(snapshot: tuple) -> tuple:
    prepared: dict = {}
    return _layers.prepare_snapshot(snapshot, report=prepared), prepared


def _detect_snapshot(
    snapshot: tuple, params: dict, memo: DetectionMemo | None = None, superseded: Any = None
) -> Any:
    """The detection of a snapshot (worker thread): ``memo`` holds earlier runs' steps;
    ``SUPERSEDED`` when ``superseded()`` turned true before it ended."""
    try:
        with using_memo(memo, superseded):
            image, prepared = remembered("prepared snapshot", _prepared_snapshot, snapshot)
            if params["mode"] == "atoms":  # the command line's limits on a spacing given
                from napari_ivae.core.detection.spacing import check_given_spacing

                check_given_spacing(params["spacing"], image.shape)
            det = remembered("detection", run_detection, image, **params)
            if params["mode"] == "particles":  # remembered: a scale space of its own
                _check_particle_contrast(image, det, params["polarity"])
        if isinstance(det.quality, dict):  # as the command line warns
            notes = det.quality.setdefault("warnings", [])
            replaced = int(prepared.get("outliers_replaced") or 0)
            if replaced:
                notes.insert(0, replaced_message(replaced))
            filled = int(prepared.get("nan_filled") or 0)
            if filled:
                notes.insert(0, _filled_warning(filled))
        return det
    except Superseded:
        return SUPERSEDED
    except InputError as err:  # the core's words, with this widget's controls
        text = widget_spelling(str(err))
        if params["mode"] == "atoms" and params["spacing"] is None and "spacing" in text:
            text += " " + PARTICLES_HINT
        raise InputError(text) from err


def _preview_snapshot(
    snapshot: tuple,
    params: dict,
    previous: dict,
    previous_points: np.ndarray,
    memo: DetectionMemo | None = None,
    superseded: Any = None,
    frame: np.ndarray | None = None,
) -> Any:
    """A preview of the atoms at ``params``' spacing (worker thread): ``(frame, points)``,
    the frame prepared as the earlier detection (``previous``: its ``params``) prepared it
    (through ``memo``; given, an earlier preview's), and
    :func:`~napari_ivae.core.detection.tuning_preview.preview_atoms`' points;
    ``SUPERSEDED`` when ``superseded()`` turned true first."""
    from napari_ivae.core.detection.tuning_preview import preview_atoms

    try:
        if frame is None:
            frame = _preview_frame(snapshot, params, previous, memo, superseded)
        if superseded is not None and superseded():
            return SUPERSEDED
        points = preview_atoms(frame, previous, previous_points, params["spacing"], params["sigma"])
        return frame, points
    except Superseded:
        return SUPERSEDED


def _preview_frame(
    snapshot: tuple,
    params: dict,
    previous: dict,
    memo: DetectionMemo | None = None,
    superseded: Any = None,
) -> np.ndarray:
    """The frame a preview of ``params`` starts from (any thread; the snapshot prepared
    through ``memo``): atoms, the frame as the detection prepares it (a polarity given
    applied); particles, with the particles bright (polarity auto: as the earlier detection,
    ``previous``: its ``params``, resolved it) and smoothed. May raise :class:`Superseded`."""
    with using_memo(memo, superseded):
        image, _ = remembered("prepared snapshot", _prepared_snapshot, snapshot)
    if params["mode"] == "particles":
        from napari_ivae.core.detection.particle_preview import smoothed_signal

        return smoothed_signal(image, previous, params["polarity"])
    from napari_ivae.core.detection.atom_setup import _levelled, _prepared
    from napari_ivae.core.io.image import split_frames

    invert = {"auto": None, "bright": False, "dark": True}[params["polarity"]]
    prepared = _prepared(image, channel=None, frame_axis=None, invert=bool(invert), flatten=None)
    frames, is_stack = split_frames(prepared)
    frames, _ = _levelled(frames)  # a scanning-probe topograph levelled, as the detection does
    return frames if is_stack else frames[0]


def _prepared_preview_frame(snapshot: tuple, params: dict, previous: dict, memo: Any) -> Any:
    """:func:`_preview_frame` as the frame prepared after a detection, before any preview
    asks for it (worker thread): ``(frame, None)`` for the preview's holder."""
    return _preview_frame(snapshot, params, previous, memo), None


def _preview_particles_snapshot(
    snapshot: tuple,
    params: dict,
    previous: dict,
    previous_points: np.ndarray,
    previous_areas: np.ndarray,
    memo: DetectionMemo | None = None,
    superseded: Any = None,
    smoothed: np.ndarray | None = None,
) -> Any:
    """A preview of the particles at ``params``' threshold method, polarity and size floor
    (worker thread): ``(smoothed, points)``. A threshold method: the frame prepared as the
    detection prepares it (through ``memo``), with the particles bright (polarity auto: as
    the earlier detection, ``previous``: its ``params``, resolved it) and smoothed (given: an
    earlier preview's), and
    :func:`~napari_ivae.core.detection.particle_preview.preview_particles`' points; another
    method: the earlier particles (``previous_points``, ``previous_areas``) as large as the
    floor (``smoothed`` as given). ``SUPERSEDED`` when ``superseded()`` turned true first."""
    from napari_ivae.core.detection.particle_preview import (
        PREVIEWED_METHODS,
        large_enough,
        preview_particles,
    )

    if params["method"] not in PREVIEWED_METHODS:
        return smoothed, large_enough(previous_points, previous_areas, params.get("min_size"))
    try:
        if smoothed is None:
            smoothed = _preview_frame(snapshot, params, previous, memo, superseded)
        if superseded is not None and superseded():
            return SUPERSEDED
        return smoothed, preview_particles(smoothed, params["method"], params.get("min_size"))
    except Superseded:
        return SUPERSEDED


def run_detection(
    image: np.ndarray,
    mode: str,
    spacing: float | None,
    sigma: float | None,
    refine: str | None,
    method: str,
    polarity: str,
    crystal_only: bool = True,
    min_size: int | None = None,
    sensitivity: float = 1.0,
) -> Any:
    """Detect atoms or particles in a prepared ``(Y, X)`` / ``(F, Y, X)`` image (any thread)."""
    frame_axis = 0 if image.ndim == 3 else None
    if mode == "atoms":
        from napari_ivae.core.detection.atoms import detect_atoms

        invert = {"auto": None, "bright": False, "dark": True}[polarity]
        from napari_ivae.core.detection.streaming import detect_lazy, lazy_input

        if lazy_input(image, None, frame_axis):  # by frame or chunk, counted in the dock
            from napari_ivae._workers import report_progress

            return detect_lazy(
                image,
                "atoms",
                spacing=spacing,
                sigma=sigma,
                refine=refine,
                invert=invert,
                crystal_only=crystal_only,
                progress=report_progress,
            )
        return detect_atoms(
            image,
            spacing=spacing,
            sigma=sigma,
            refine=refine,
            invert=invert,
            frame_axis=frame_axis,
            crystal_only=crystal_only,
        )
    from napari_ivae.core.detection.particles import detect_particles

    return detect_particles(
        image,
        method=method,
        polarity=polarity,
        min_size=min_size,
        sensitivity=sensitivity if method == "auto" else 1.0,  # the threshold methods' own cut
        frame_axis=frame_axis,
    )


def _check_particle_contrast(image: Any, det: Any, asked: str) -> None:
    """Add the command line's warning for particles that barely stand out (noise, or the
    other polarity) to the detection's self-check (not for images read by chunks; through
    the active detection memo: 0.2-0.6 s of CPU on a 1024² frame, as much again for a
    result the memo held)."""
    from napari_ivae.core.detection.particle_contrast import noise_warning, resolved_polarity
    from napari_ivae.core.detection.streaming import lazy_input

    if len(det.coords) == 0 or det.labels is None or not isinstance(det.quality, dict):
        return
    if lazy_input(image, None, 0 if image.ndim == 3 else None):
        return
    polarity = resolved_polarity(det, asked)
    warning = remembered(
        "particle noise warning",
        noise_warning,
        np.asarray(image),
        det.labels,
        polarity,
        len(det.coords),
    )
    if warning:
        det.quality.setdefault("warnings", []).append(warning)


def estimate(image: Any) -> float:
    """Lattice spacing (px) of the first frame of a prepared image
    (:func:`~napari_ivae.core.detection.spacing.frame_spacing`: a lazy image is never read
    whole)."""
    from napari_ivae.core.detection.spacing import frame_spacing

    return frame_spacing(image)
