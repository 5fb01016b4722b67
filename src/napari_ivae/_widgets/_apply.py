"""Apply a trained or loaded model to another image: detect -> patches -> encode -> layers,
with the detection settings and patch settings the model was trained with (they travel in its
metadata); the session's own patches and encoding stay as they are.

The computation (:func:`compute_apply`) touches no layer and runs in a worker thread; the
layers are written afterwards in the GUI thread (:func:`show_apply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_ivae import _layers
from napari_ivae._widgets import _writer
from napari_ivae.core.errors import InputError


@dataclass
class Applied:
    """What applying a model to one image produced (before any layer is written)."""

    detections: Any  # Detections, or None for grid patches
    patchset: Any
    results: _writer.ResultData
    image_ndim: int
    point_features: Any = None  # the points' whole features table: the detection's columns
    # and the result columns, joined in the worker and written in one assignment
    mode: str = "atoms"  # what the detection looked for: atoms or particles
    notes: str = ""  # what the user is told besides the layers (missing pixels filled)


class Written(list):
    """The layers Apply wrote, with the notes of its computation (:attr:`Applied.notes`)."""

    notes: str = ""


def joined_features(properties: Any, table: Any) -> Any:
    """The detection's columns (less any the result table has), then the result columns: what
    the detected points' features end as (one features assignment on the GUI thread, not
    two); None when the table is not one row per detected point."""
    if table is None or len(table) != len(properties):
        return None
    return _layers.joined_columns(properties, table)


def detection_settings(bundle: Any) -> tuple[dict, dict]:
    """The Detect widget's settings that made the model's points (mode, spacing, sigma,
    refine, method, polarity, crystal_only: as chosen, so "auto" decides again on the new
    image) and the image preparation for detection (invert, flatten); empty when the model
    does not say (a grid model, an older file)."""
    detection = dict(bundle.metadata.get("detection") or {})
    return dict(detection.get("widget_settings") or {}), dict(
        detection.get("image_preparation") or {}
    )


def compute_apply(bundle: Any, image: np.ndarray, detection_image: Any = None) -> Applied:
    """Detect and cut patches the way the model was trained (detection settings, size,
    normalisation, points or grid) from a prepared image and compute the results (safe in any
    thread). ``detection_image`` is the image prepared for detection (inverted, flattened) when
    the training's detection prepared it differently."""
    size = int(bundle.config.patch_shape[0])
    try:
        return _compute_apply(bundle, image, detection_image, size)
    except InputError as err:
        raise _model_size_error(err, size, image.shape[-2:]) from err


def _model_size_error(err: InputError, size: int, shape: tuple) -> InputError:
    """The core's advice on patches that do not fit names its patch size and its ``border``
    argument, which Apply has not (the patch size is the model's): say so, and what to do."""
    message = str(err)
    if "cross the border" not in message and "is larger than the" not in message:
        return err
    return InputError(
        f"the model cuts {size}x{size} px patches (the size it was trained on) and none fits "
        f"inside this {shape[0]}x{shape[1]} image: apply it to a larger image, or train a "
        "model on smaller patches."
    )


def _compute_apply(bundle: Any, image: np.ndarray, detection_image: Any, size: int) -> Applied:
    from napari_ivae.core.patches.cutting import extract_patches, grid_patches

    params = dict(bundle.metadata.get("patch_params") or {})
    normalize = params.get("normalize", "global")
    detections, mode = None, "atoms"
    if params.get("source") == "grid":
        stride = int(params.get("stride") or max(1, size // 4))
        patchset = grid_patches(image, size, stride, normalize=normalize)
    else:
        from napari_ivae._widgets.detect import run_detection

        settings, _ = detection_settings(bundle)
        settings.setdefault("mode", params.get("points_mode") or "atoms")  # CLI: from the CSV
        settings = {
            "spacing": None,
            "sigma": None,
            "refine": "com",
            "method": "auto",
            "polarity": "auto",
            **settings,
        }
        mode = settings["mode"]
        detections = run_detection(
            detection_image if detection_image is not None else image, **settings
        )
        if len(detections.coords) == 0:
            raise InputError(detections.message or f"no {mode} found in this image.")
        coords = detections.coords if image.ndim == 3 else detections.coords[:, 1:]
        patchset = extract_patches(image, coords, size, normalize=normalize)
        from napari_ivae.core.patches.sizing import patch_diameters

        # particles: their maps stay on each of them
        patchset.particle_diameter = patch_diameters(detections.properties, patchset.indices)
    n_points = None if detections is None else len(detections.coords)
    results = _writer.compute_results(bundle, patchset, n_points)
    features = (
        None if detections is None else joined_features(detections.properties, results.point_table)
    )
    return Applied(detections, patchset, results, image.ndim, features, mode)


def show_apply(viewer: Any, session: Any, bundle: Any, image_layer: Any, applied: Applied) -> list:
    """Write the detected points (if any) and the result layers; returns the layers (a
    :class:`Written` list: its ``notes`` are the computation's)."""
    with _layers.kept_selection(viewer):  # one restore of the selection for all the layers
        written = Written(_show_apply(viewer, session, bundle, image_layer, applied))
    written.notes = applied.notes
    return written


def _show_apply(viewer: Any, session: Any, bundle: Any, image_layer: Any, applied: Applied) -> list:
    points = None
    det = applied.detections
    features = applied.point_features
    if det is not None:
        from napari_ivae._widgets.detect import point_size

        mode = applied.mode  # the points are named and drawn as Detect would
        points = _layers.write_layer(
            viewer,
            "points",
            _layers.points_data(det.coords, applied.image_ndim),
            role=f"detections_{mode}",
            source=image_layer,
            what=mode,
            params={"applied_model": bundle.config.kind},
            features=features if features is not None else det.properties.reset_index(drop=True),
            size=point_size(det, mode),
            face_color="#ffd400",
            border_width=0,
        )
    written = _writer.show_results(
        viewer,
        session,
        applied.results,
        bundle=bundle,
        patchset=applied.patchset,
        # the result columns are in the points' features already (one assignment)
        points_layer=None if features is not None else points,
        image_layer=image_layer,
        update_session=False,
    )
    return ([points] if points is not None else []) + [w for w in written if w is not points]


def _check(session: Any, image_layer: Any) -> Any:
    if session.bundle is None:
        raise InputError("no model yet: train one (Train) or load a saved one (Results).")
    if image_layer is None:
        raise InputError("pick the image to apply the model to.")
    return session.bundle


def apply_model(viewer: Any, session: Any, image_layer: Any) -> list:
    """Apply the session's model to ``image_layer`` in the calling thread; returns the layers
    written (the detected points layer first, when points are used)."""
    bundle = _check(session, image_layer)
    applied = _compute_apply_snapshot(bundle, _layers.image_snapshot(image_layer))
    return show_apply(viewer, session, bundle, image_layer, applied)


def apply_job(
    viewer: Any,
    session: Any,
    image_layer: Any,
    on_done: Any,
    on_error: Any,
    *,
    owner: Any = None,
    buttons: tuple = (),
) -> Any:
    """As :func:`apply_model`, computing in a worker thread; ``on_done(layers)`` /
    ``on_error(err)`` run in the GUI thread (``owner`` / ``buttons`` as in
    :func:`~napari_ivae._workers.background`). Returns the started worker."""
    from napari_ivae._workers import background

    bundle = _check(session, image_layer)
    return background(
        owner,
        _compute_apply_snapshot,
        (bundle, _layers.image_snapshot(image_layer)),
        show=lambda applied: show_apply(viewer, session, bundle, image_layer, applied),
        on_done=on_done,
        on_error=on_error,
        what="applying the model",
        buttons=buttons,
    )


def _compute_apply_snapshot(bundle: Any, snapshot: tuple) -> Applied:
    prepared: dict = {}  # a lazy image's missing pixels are filled as read, and counted
    image = _layers.prepare_snapshot(snapshot, report=prepared)
    _, preparation = detection_settings(bundle)
    detection_image = None
    if preparation.get("invert") or preparation.get("flatten"):
        array, kwargs = snapshot
        detection_image = _layers.prepare_snapshot((array, {**kwargs, **preparation}), report={})
    applied = compute_apply(bundle, image, detection_image)
    filled = int(prepared.get("nan_filled") or 0)
    if filled:
        from napari_ivae._widgets.detect import _filled_warning

        applied.notes = _filled_warning(filled) + "."
    return applied
