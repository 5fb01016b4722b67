"""Computed results written as napari layers: the z / angle / offset / class maps, the
unsupervised classes' Labels layer, and the points' features (in the GUI thread)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_ivae import _layers
from napari_ivae._widgets._point_features import (
    points_changed_note,
    points_match,
    write_point_features,
)
from napari_ivae._widgets._result_readouts import _limits, angle_limits
from napari_ivae.core.errors import InputError

if TYPE_CHECKING:
    from napari_ivae._widgets._writer import ResultData


ANGLE_COLORMAP = "twilight_shifted"


# unsupervised class k's colour in the class map (label k + 1) and in the latent explorer's
# dots (Okabe-Ito, colour-blind safe; cycled beyond 8 classes)
CLUSTER_COLOURS = (
    "#56b4e9",
    "#e69f00",
    "#009e73",
    "#f0e442",
    "#0072b2",
    "#d55e00",
    "#cc79a7",
    "#999999",
)


MAX_CLUSTERS = 64  # labels coloured in a class map (the Results dock asks for at most 16)


def show_results(
    viewer: Any,
    session: Any,
    data: ResultData,
    *,
    bundle: Any,
    patchset: Any,
    points_layer: Any,
    image_layer: Any,
    update_session: bool = True,
) -> list:
    """Write computed results as (new or updated) layers; returns the layers written.

    With ``update_session`` (results of the session's own patches) the session's encoding,
    columns and notes become these; a model applied to another image leaves them alone."""
    if image_layer not in viewer.layers:
        raise InputError(
            f"the image {image_layer.name!r} was removed before the results "
            "were ready; nothing was written."
        )
    params = {
        "model": bundle.config.kind,
        "seed": bundle.metadata.get("seed"),
        "patch_size": int(bundle.config.patch_shape[0]),
        "latent_dim": int(bundle.config.latent_dim),
        "patches": dict(session.patch_params or {}),
    }
    written, notes = [], list(data.notes)
    if points_layer is not None and points_layer in viewer.layers:
        if points_match(points_layer, patchset):
            written.append(
                write_point_features(
                    points_layer, patchset, data.columns, replace_all=True, table=data.point_table
                )
            )
        else:
            notes.append(points_changed_note(points_layer))
    table = dict(zip(session.classes.names, session.classes.colours))
    colours = [table.get(name, "") for name in data.class_names]
    with _layers.kept_selection(viewer):  # one restore of the selection for all the maps
        written += write_maps(viewer, image_layer, data, params, colours if all(colours) else None)
    if update_session:
        session.update(encoding=data.encoding, columns=data.columns, result_notes=notes)
    return written


def mark_results_stale(viewer: Any, session: Any) -> list:
    """After a failed result run: the maps of the session's image are named "... (stale)"."""
    image = session.image_layer
    return [] if image is None else _layers.mark_stale(viewer, image.name, "_map")


def write_maps(
    viewer: Any,
    image_layer: Any,
    data: ResultData,
    params: dict,
    class_colours: list[str] | None = None,
) -> list:
    """Image layers for z / angle / offsets and a Labels layer for the class map; the class
    map shown when the model has classes (what an ss-rVAE was trained for), else the first
    map, the others hidden (each made so, not changed after: a change redraws)."""
    written = []
    shown = "class" if "class" in data.maps else next(iter(data.maps), None)
    if shown is not None:  # the particles' random label colours showed through the map
        _layers.hide_results(viewer, image_layer.name, ("particle_labels",))
    for name, image in data.maps.items():
        visible = name == shown
        if name == "angle":
            layer = _layers.write_layer(
                viewer,
                "image",
                image,
                role="angle_map",
                source=image_layer,
                what="angle",
                params={**params, "units": "degrees"},
                colormap=ANGLE_COLORMAP,
                contrast_limits=data.limits.get("angle") or angle_limits(data.columns["angle"]),
                blending="translucent",
                opacity=0.7,
                visible=visible,
            )
        elif name == "class":
            layer = _layers.write_layer(
                viewer,
                "labels",
                image,
                role="class_map",
                source=image_layer,
                what="class",
                params={**params, "class_names": data.class_names},
                opacity=0.5,
                visible=visible,
                **({"colormap": _labels_colormap(class_colours)} if class_colours else {}),
            )
        elif name == "cluster":
            layer = write_cluster_layer(
                viewer, image_layer, image, params, data.clustering, visible=visible
            )
        else:
            layer = _layers.write_layer(
                viewer,
                "image",
                image,
                role=f"{name}_map",
                source=image_layer,
                what=name,
                params=params,
                colormap="viridis" if name.startswith("z") else "PiYG",
                contrast_limits=data.limits.get(name)
                or _limits(
                    np.asarray(data.columns.get(name, image), dtype=float),
                    centred=not name.startswith("z"),
                ),
                blending="translucent",
                opacity=0.7,
                visible=visible,
            )
        written.append(layer)
    return written


def show_clusters(
    viewer: Any,
    session: Any,
    result: tuple,
    *,
    bundle: Any,
    patchset: Any,
    points_layer: Any,
    image_layer: Any,
) -> list:
    """A Labels layer of the unsupervised classes (cluster k = label k + 1) and an
    ``ivae_cluster`` column in the points' features.

    The classes are kept with the session's model (re-written maps, other images and the saved
    file use them): the session gets a copy of ``bundle`` whose metadata hold them; ``bundle``
    itself is left as it was.
    """
    clustering, image = result
    if image_layer not in viewer.layers:
        raise InputError(
            f"the image {image_layer.name!r} was removed before the classes "
            "were ready; nothing was written."
        )
    if session.bundle is bundle:  # not when another model came in while the classes were found
        metadata = {**bundle.metadata, "clustering": clustering.to_dict()}
        session.update(bundle=replace(bundle, metadata=metadata))
    columns = session.columns or {}
    if columns and len(next(iter(columns.values()))) == len(clustering.labels):
        # the explorer reads them here too: grid patches have no points to hold them
        session.update(columns={**columns, "cluster": np.asarray(clustering.labels)})
    params = {"model": bundle.config.kind, "seed": bundle.metadata.get("seed")}
    _hide_other_maps(viewer, image_layer.name)  # the classes alone over the image
    written = [write_cluster_layer(viewer, image_layer, image, params, clustering.summary())]
    if points_layer is not None and points_layer in viewer.layers:
        if points_match(points_layer, patchset):
            written.append(
                write_point_features(points_layer, patchset, {"cluster": clustering.labels})
            )
        else:
            from napari.utils.notifications import show_warning

            show_warning(points_changed_note(points_layer) + ".")
    return written


def _hide_other_maps(viewer: Any, source: str) -> None:
    """Hide the plugin's other maps of ``source`` (z, angle, offsets, classes, segments) that
    are shown: a half-transparent class map over a shown z1 map mixed their colours into
    neither the map's nor the explorer's. Nothing is removed."""
    roles = set()
    for layer in viewer.layers:
        meta = layer.metadata.get(_layers.META_KEY) if isinstance(layer.metadata, dict) else None
        role = str(meta.get("role", "")) if meta else ""
        if layer.visible and role.endswith("_map") and role != "cluster_map":
            roles.add(role)
    if roles:
        _layers.hide_results(viewer, source, tuple(roles))


def write_cluster_layer(
    viewer: Any,
    image_layer: Any,
    image: np.ndarray,
    params: dict,
    summary: dict | None = None,
    visible: bool = True,
) -> Any:
    """The Labels layer of unsupervised classes (cluster k drawn as label k + 1, in the
    latent explorer's colour of cluster k)."""
    colours = [CLUSTER_COLOURS[k % len(CLUSTER_COLOURS)] for k in range(MAX_CLUSTERS)]
    return _layers.write_layer(
        viewer,
        "labels",
        image,
        role="cluster_map",
        source=image_layer,
        what="unsupervised classes",
        params={**params, "clustering": summary or {}},
        opacity=0.5,
        visible=visible,
        colormap=_labels_colormap(colours),
    )


def _labels_colormap(colours: list[str]) -> Any:
    """Class k drawn in the annotation table's colour of class k (label value k + 1)."""
    from napari.utils.colormaps import DirectLabelColormap

    mapping: dict = {None: "transparent", 0: "transparent"}
    mapping.update({k + 1: colour for k, colour in enumerate(colours)})
    return DirectLabelColormap(color_dict=mapping)
