"""Apply a trained or loaded model to another image: detect -> patches -> encode -> layers."""

from __future__ import annotations

from typing import Any

from napari_ivae import _layers
from napari_ivae._widgets import _writer
from napari_ivae.core.errors import InputError


def apply_model(viewer: Any, session: Any, image_layer: Any) -> list:
    """Cut patches of the model's size the way it was trained (same normalisation, points or
    grid) from ``image_layer``, encode them and write the result layers.

    Returns the layers written (the detected points layer first, when points are used).
    """
    from napari_ivae.core.patches import extract_patches, grid_patches

    bundle = session.bundle
    if bundle is None:
        raise InputError("no model yet: train one (Train) or load a saved one (Results).")
    if image_layer is None:
        raise InputError("pick the image to apply the model to.")
    image = _layers.prepared_image(image_layer)
    size = int(bundle.config.patch_shape[0])
    params = dict(bundle.metadata.get("patch_params") or {})
    normalize = params.get("normalize", "global")
    if params.get("source") == "grid":
        stride = int(params.get("stride") or max(1, size // 4))
        patchset = grid_patches(image, size, stride, normalize=normalize)
        written = _writer.write_results(viewer, session, bundle=bundle, patchset=patchset,
                                        points_layer=None, image_layer=image_layer)
        return written
    from napari_ivae.core.atoms import detect_atoms

    detections = detect_atoms(image)
    if len(detections.coords) == 0:
        raise InputError(detections.message or f"no atoms found in {image_layer.name!r}.")
    ndim = image.ndim
    points = _layers.write_layer(
        viewer, "points", _layers.points_data(detections.coords, ndim), role="detections_atoms",
        source=image_layer, what="atoms", params={"applied_model": bundle.config.kind},
        features=detections.properties.reset_index(drop=True),
        size=max(2.0, 0.4 * float(detections.params.get("spacing") or 5.0)),
        face_color="#ffd400", border_width=0)
    coords = detections.coords if ndim == 3 else detections.coords[:, 1:]
    patchset = extract_patches(image, coords, size, normalize=normalize)
    return [points] + _writer.write_results(viewer, session, bundle=bundle, patchset=patchset,
                                            points_layer=points, image_layer=image_layer)
