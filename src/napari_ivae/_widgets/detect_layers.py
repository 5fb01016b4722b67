"""The Detect dock's result layers: a detection's points (and particle labels), or a
preview's points, written over the image they were found in."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae import _layers
from napari_ivae._widgets.detect_text import _jsonable, point_size

POINT_STYLE = {"face_color": "#ffd400", "border_width": 0, "opacity": 0.8}


def write_detections(viewer: Any, det: Any, layer: Any, params: dict, preparation: dict) -> list:
    """Write ``det``'s points (and a particle run's labels) for image ``layer``; the other
    mode's result layers of that image are hidden first (returned): they would cover this
    result and be cut at by the Patches dock."""
    mode = params["mode"]
    other = "particles" if mode == "atoms" else "atoms"
    roles = (f"detections_{other}",) + (("particle_labels",) if other == "particles" else ())
    hidden = _layers.hide_results(viewer, layer.name, roles)
    points = _layers.write_layer(
        viewer,
        "points",
        _layers.points_data(det.coords, _image_ndim(layer)),
        role=f"detections_{mode}",
        source=layer,
        what=mode,
        params={
            **{k: _jsonable(v) for k, v in det.params.items()},
            "widget_settings": params,
            "image_preparation": dict(preparation),
            "quality": det.quality,
        },
        features=det.properties.reset_index(drop=True),
        size=point_size(det, mode),
        select=True,
        **POINT_STYLE,
    )
    if not points.visible:  # hidden by a run of the other kind (napari redraws at each set)
        points.visible = True
    if mode == "particles" and det.labels is not None:
        labels = _layers.write_layer(
            viewer,
            "labels",
            det.labels,
            role="particle_labels",
            source=layer,
            what="particle labels",
            params={"mode": mode},
            opacity=0.4,
        )
        if not labels.visible:
            labels.visible = True
    return hidden


def write_preview(
    viewer: Any, coords: np.ndarray, layer: Any, params: dict, size: float = 5.0
) -> None:
    """Write a preview's ``(N, 2)`` points (``size`` px) in the result layer of image
    ``layer`` for ``params``' mode, its metadata saying ``preview`` (no per-point features:
    a preview measures none)."""
    import pandas as pd  # here: the dock's module is imported before any layer needs pandas

    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    mode = params["mode"]
    framed = np.column_stack([np.zeros(len(coords)), coords])
    shown = {"spacing": float(params["spacing"])} if mode == "atoms" else {}
    _layers.write_layer(
        viewer,
        "points",
        _layers.points_data(framed, _image_ndim(layer)),
        role=f"detections_{mode}",
        source=layer,
        what=mode,
        params={**shown, "preview": True, "widget_settings": params},
        features=pd.DataFrame(index=pd.RangeIndex(len(coords))),
        size=size,
        select=True,
        **POINT_STYLE,
    )


def _image_ndim(layer: Any) -> int:
    return len(_layers.image_data(layer).shape) - (1 if layer.rgb else 0)


__all__ = ["write_detections", "write_preview"]
