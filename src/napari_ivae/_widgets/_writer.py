"""Turn a trained model + patches into result layers: point features, latent / angle / offset
maps, class map, decoded manifold. Shared by the Train and Results widgets and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from napari_ivae import _layers
from napari_ivae.core.errors import InputError

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
#: Result columns go into a Points layer's features under this prefix (``ivae_z1``,
#: ``ivae_angle``, ``ivae_class``, ``ivae_p_<class>``, ``ivae_cluster``...): a user's own columns,
#: whatever their names, are never overwritten.
COLUMN_PREFIX = "ivae_"


def point_column(name: str) -> str:
    """The features column holding result ``name`` (``"z1"`` -> ``"ivae_z1"``)."""
    return COLUMN_PREFIX + name


def result_name_of(column: str) -> str | None:
    """The result a features column holds (``"ivae_z1"`` -> ``"z1"``), None for a user column."""
    return column[len(COLUMN_PREFIX) :] if column.startswith(COLUMN_PREFIX) else None


def check_patch_shape(bundle: Any, patchset: Any) -> None:
    """A model reads patches of one size only: say so clearly when they differ."""
    want = tuple(int(s) for s in bundle.config.patch_shape)
    have = tuple(int(s) for s in patchset.patches.shape[1:])
    if want != have:
        raise InputError(
            f"the model reads {want[0]}×{want[1]} px patches but these patches are "
            f"{have[0]}×{have[1]} px: in 'Patches and labels' set the patch size to {want[0]} and "
            "extract again (or 'Apply model to image' in Results, which does it for you)."
        )


def encode_patchset(bundle: Any, patchset: Any) -> Any:
    """Encode the patches with the bundle's model (checks the patch size first); patches cut
    on demand (a lazy layer's) are encoded chunk by chunk, with progress in the activity
    dock."""
    from napari_ivae._workers import report_progress
    from napari_ivae.core.models.inference import encode
    from napari_ivae.core.patches.source import as_source, encode_source

    check_patch_shape(bundle, patchset)
    source = as_source(patchset.patches)
    if source is not None:
        return encode_source(bundle.model, source, progress=report_progress)
    return encode(bundle.model, patchset.patches)


def feature_columns(encoding: Any, class_names: list[str]) -> dict[str, np.ndarray]:
    """Per-patch result columns: z1.., angle (rad) and angle_deg, dx, dy, class, p_<class>
    (in a Points layer's features they are named :func:`point_column`, e.g. ``ivae_z1``);
    angles wrapped as the angle maps are (``core.analysis.maps.wrap_angle``)."""
    from napari_ivae.core.analysis.maps import wrap_angle

    columns: dict[str, np.ndarray] = {}
    for i in range(encoding.z_mean.shape[1]):
        columns[f"z{i + 1}"] = encoding.z_mean[:, i].astype(np.float32)
    if encoding.angle is not None:
        angle = wrap_angle(encoding.angle)
        columns["angle"] = angle.astype(np.float32)
        columns["angle_deg"] = np.degrees(angle).astype(np.float32)
    if encoding.offsets is not None:
        columns["dx"] = encoding.offsets[:, 0].astype(np.float32)
        columns["dy"] = encoding.offsets[:, 1].astype(np.float32)
    if encoding.class_prob is not None:
        prob = np.asarray(encoding.class_prob)
        columns["class"] = prob.argmax(axis=1).astype(np.int64)
        for k in range(prob.shape[1]):
            name = class_names[k] if k < len(class_names) else f"class {k + 1}"
            columns[f"p_{name}"] = prob[:, k].astype(np.float32)
    return columns


def value_map(
    values: np.ndarray, patchset: Any, *, cyclic: bool = False, categorical: bool = False
) -> np.ndarray:
    """A per-patch value painted back onto the source frame(s) (grid or Voronoi cells)."""
    from napari_ivae.core.analysis import maps

    if cyclic:
        return maps.angle_map(values, patchset)
    if categorical:
        return maps.class_map(values, patchset)
    return maps.patch_map(values, patchset)


_map_root: list = []  # this session's temporary folder of stored maps (made when first needed)


def map_folder() -> Any:
    """A new folder for one result's stored maps, inside this session's temporary folder
    (removed when Python exits; never next to the user's files)."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    if not _map_root or not Path(_map_root[0]).is_dir():
        _map_root[:] = [tempfile.mkdtemp(prefix="napari-ivae-maps-")]
        atexit.register(shutil.rmtree, _map_root[0], True)
    return Path(tempfile.mkdtemp(dir=_map_root[0]))


def paint_maps(columns: dict, patchset: Any) -> dict:
    """Every map column painted onto the image: ``"angle"`` in degrees, ``"class"`` and
    ``"cluster"`` int32 labels (value + 1), the others float32. Patches of a lazy layer (cut
    on demand) get maps stored tile by tile in :func:`map_folder` and shown as dask arrays
    (a multiscale list when large), so no map is ever whole in memory; others are painted
    in memory."""
    from napari_ivae.core.patches.source import as_source

    if as_source(patchset.patches) is not None:
        from napari_ivae._workers import report_progress
        from napari_ivae.core.analysis.stored_maps import as_dask, store_maps

        stored = store_maps(columns, patchset, map_folder(), degrees=True, progress=report_progress)
        return {name: as_dask(levels) for name, levels in stored.items()}
    maps = {}
    for name, values in columns.items():
        if name == "angle":
            maps[name] = np.degrees(value_map(values, patchset, cyclic=True)).astype(np.float32)
        elif name in ("class", "cluster"):
            maps[name] = value_map(values, patchset, categorical=True).astype(np.int32)
        else:
            maps[name] = value_map(values, patchset).astype(np.float32)
    return maps


def confusion_text(true: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> str:
    """A confusion matrix (rows true, columns predicted) of the labeled patches as text."""
    from napari_ivae.core.analysis.heldout import confusion_lines, confusion_matrix

    true = np.asarray(true)
    keep = true >= 0
    if not np.any(keep):
        return ""
    matrix = confusion_matrix(true, predicted, len(class_names))
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    return "\n".join(
        [
            *confusion_lines(matrix, class_names),
            f"accuracy on the {int(keep.sum())} labeled patches: {accuracy:.1%}",
            "(not held out: the model trained on these labels;",
            " the held-out check below tells what it learned)",
        ]
    )


def compute_heldout(model: Any, patches: np.ndarray, labels: np.ndarray) -> Any:
    """k-fold held-out confusion of the model's classes (any thread)."""
    from napari_ivae.core.analysis.heldout import model_heldout_confusion

    return model_heldout_confusion(model, patches, labels)


def heldout_text(held: Any, class_names: list[str]) -> str:
    """A :class:`~napari_ivae.core.analysis.heldout.HeldOutConfusion` as text, with what it measures."""
    from napari_ivae.core.analysis.heldout import confusion_lines

    return "\n".join(
        [
            f"held out ({held.folds}-fold, each patch predicted by a classifier",
            " that never saw its label; the VAE is not retrained):",
            *confusion_lines(held.matrix, class_names),
            f"held-out accuracy on the {len(held.true)} labeled patches: {held.accuracy:.1%}",
            f"(always the most common class: {held.chance:.1%})",
        ]
    )


@dataclass
class ResultData:
    """Everything computed from a model and a patch set, before any layer is touched.

    ``maps`` holds one image per column: ``"angle"`` in degrees, ``"class"`` as int32 labels
    (class + 1), the others float32 (:func:`paint_maps`: for a lazy layer's patches, dask
    arrays over stored maps, or a multiscale list of them).
    """

    encoding: Any
    columns: dict
    maps: dict
    class_names: list
    clustering: dict | None = None  # summary of the stored classes behind the "cluster" column
    notes: list = field(default_factory=list)  # maps that show posterior noise (noise_notes)
    limits: dict = field(default_factory=dict)  # contrast limits of the maps (map_limits)
    point_table: Any = None  # the columns as written into a points layer of n points, made
    # in the worker (point_feature_table) so the GUI thread only joins it to the user's columns


NOISE_SPREAD = 2.0  # a latent whose codes spread less than this many posterior σ is noise


def noise_notes(encoding: Any) -> list[str]:
    """One sentence per latent whose map shows noise rather than structure: the spread of its
    codes over the patches (1st-99th percentile) is under :data:`NOISE_SPREAD` times its
    median posterior standard deviation, so no two patches are told apart along it."""
    notes = []
    z_mean, z_std = np.asarray(encoding.z_mean), np.asarray(encoding.z_std)
    for i in range(z_mean.shape[1] if z_mean.ndim == 2 and len(z_mean) else 0):
        low, high = np.percentile(z_mean[:, i], [1, 99])
        noise = float(np.median(z_std[:, i]))
        if high - low < NOISE_SPREAD * noise:
            notes.append(
                f"z{i + 1} spreads {high - low:.2g} over the patches, within its "
                f"posterior noise (σ {noise:.2g}): its map shows noise, not structure"
            )
    return notes


def compute_results(bundle: Any, patchset: Any, n_points: int | None = None) -> ResultData:
    """Encode the patches and paint every column back onto the image (safe in any thread);
    with ``n_points``, also the points table of the columns for a layer of that many points."""
    encoding = encode_patchset(bundle, patchset)
    class_names = list(bundle.config.class_names)
    columns = feature_columns(encoding, class_names)
    stored = bundle.metadata.get("clustering")
    summary = None
    if stored:  # classes found earlier (Find classes) apply to these patches too
        from napari_ivae.core.analysis.clustering import Clustering

        clustering = Clustering.from_dict(stored)
        columns["cluster"] = clustering.assign(encoding)
        summary = clustering.summary()
    mapped = {
        name: values
        for name, values in columns.items()
        if not (name.startswith("p_") or name == "angle_deg")
    }
    maps = paint_maps(mapped, patchset)
    return ResultData(
        encoding,
        columns,
        maps,
        class_names,
        summary,
        noise_notes(encoding),
        map_limits(columns, maps),
        None if n_points is None else point_feature_table(n_points, patchset, columns),
    )


def map_limits(columns: dict, maps: dict) -> dict:
    """Contrast limits of the image maps from the patches' values (any thread: computed with
    the maps, not when the layers are written)."""
    limits = {}
    for name in maps:
        if name == "angle":
            limits[name] = angle_limits(columns["angle"])
        elif name not in ("class", "cluster"):
            values = columns.get(name)
            if values is not None:
                limits[name] = _limits(
                    np.asarray(values, dtype=float), centred=not name.startswith("z")
                )
    return limits


def resolve_targets(
    viewer: Any,
    session: Any,
    *,
    bundle: Any = None,
    patchset: Any = None,
    points_layer: Any = None,
    image_layer: Any = None,
) -> dict:
    """The model, patches and layers a result is for (session defaults), checked."""
    bundle = bundle or session.bundle
    patchset = patchset if patchset is not None else session.patchset
    points_layer = points_layer if points_layer is not None else session.points_layer
    image_layer = image_layer if image_layer is not None else session.image_layer
    if bundle is None:
        raise InputError("no model yet: train one (Train) or load a saved one (Results).")
    if patchset is None:
        raise InputError("no patches: extract patches first ('Patches and labels').")
    if image_layer is None or image_layer not in viewer.layers:
        raise InputError(
            "the image the patches came from is no longer in the viewer; extract the patches again."
        )
    check_patch_shape(bundle, patchset)
    return {
        "bundle": bundle,
        "patchset": patchset,
        "points_layer": points_layer,
        "image_layer": image_layer,
    }


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


def points_match(points_layer: Any, patchset: Any) -> bool:
    """Whether ``points_layer`` still holds, at each patch's point index, the point the patch
    was cut at (within half a pixel). False once Detect ran again on the layer (other points,
    or the same in another order) or the points were edited: results written by index would
    then land on the wrong points. Grid patches (no point indices) always match."""
    indices = np.asarray(patchset.indices)
    at_points = indices >= 0
    if not at_points.any():
        return True
    data = np.asarray(points_layer.data, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] < 2 or indices.max() >= len(data):
        return False
    where = data[indices[at_points], -2:]
    return bool(np.allclose(where, np.asarray(patchset.centres)[at_points], atol=0.5))


def points_changed_note(points_layer: Any) -> str:
    """Why a result left a points layer's features alone (see :func:`points_match`)."""
    return (
        f"the points of {points_layer.name!r} changed since the patches were cut (Detect ran "
        "again?), so their ivae_ columns were not written: extract the patches again"
    )


def mark_results_stale(viewer: Any, session: Any) -> list:
    """After a failed result run: the maps of the session's image are named "... (stale)"."""
    image = session.image_layer
    return [] if image is None else _layers.mark_stale(viewer, image.name, "_map")


def write_results(viewer: Any, session: Any, **targets: Any) -> list:
    """Encode the patches and write every result as layers, in the calling (GUI) thread.

    ``targets`` (``bundle``, ``patchset``, ``points_layer``, ``image_layer``) default to the
    session's. Returns the list of layers written. The widgets use :func:`results_job` to do
    the computation in a worker instead.
    """
    resolved = resolve_targets(viewer, session, **targets)
    data = compute_results(resolved["bundle"], resolved["patchset"])
    return show_results(viewer, session, data, **resolved)


def results_job(
    viewer: Any,
    session: Any,
    on_done: Any,
    on_error: Any,
    *,
    owner: Any = None,
    buttons: tuple = (),
    **targets: Any,
) -> Any:
    """Start computing the results in a worker thread; ``on_done(layers)`` runs in the GUI
    thread once they are written, ``on_error(err)`` on any problem. ``owner`` / ``buttons``
    as in :func:`~napari_ivae._workers.background`. Returns the worker."""
    from napari_ivae._workers import background

    resolved = resolve_targets(viewer, session, **targets)
    points = resolved["points_layer"]
    return background(
        owner,
        compute_results,
        (resolved["bundle"], resolved["patchset"], None if points is None else len(points.data)),
        show=lambda data: show_results(viewer, session, data, **resolved),
        on_done=on_done,
        on_error=on_error,
        what="writing maps",
        buttons=buttons,
    )


def compute_clusters(
    bundle: Any, patchset: Any, n_clusters: int, seed: int, use_angle: bool
) -> tuple:
    """Encode the patches, k-means their latent codes and paint the clusters (any thread)."""
    from napari_ivae.core.analysis.clustering import cluster_latents

    encoding = encode_patchset(bundle, patchset)
    clustering = cluster_latents(encoding, n_clusters, seed=seed, use_angle=use_angle)
    image = paint_maps({"cluster": clustering.labels}, patchset)["cluster"]
    return clustering, image


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


def clusters_job(
    viewer: Any,
    session: Any,
    n_clusters: int,
    seed: int,
    use_angle: bool,
    on_done: Any,
    on_error: Any,
    *,
    owner: Any = None,
    buttons: tuple = (),
) -> Any:
    """Start :func:`compute_clusters` in a worker; ``on_done((clustering, layers))`` in the
    GUI thread once written, ``on_error(err)`` on any problem. Returns the worker."""
    from napari_ivae._workers import background

    resolved = resolve_targets(viewer, session)

    def show(result: tuple) -> tuple:
        return result[0], show_clusters(viewer, session, result, **resolved)

    return background(
        owner,
        compute_clusters,
        (resolved["bundle"], resolved["patchset"], int(n_clusters), int(seed), bool(use_angle)),
        show=show,
        on_done=on_done,
        on_error=on_error,
        what="finding classes",
        buttons=buttons,
    )


def point_feature_table(n_points: int, patchset: Any, columns: dict) -> pd.DataFrame:
    """The per-patch result columns as a points table of ``n_points`` rows, each under its
    :func:`point_column` name (NaN, or -1 for integers, at points without a patch); any
    thread."""
    indices = np.asarray(patchset.indices)
    valid = (indices >= 0) & (indices < n_points)
    full = {}
    for name, values in columns.items():
        values = np.asarray(values)
        integer = values.dtype.kind == "i"
        out = np.full(n_points, -1 if integer else np.nan, values.dtype if integer else np.float32)
        out[indices[valid]] = values[valid]
        full[point_column(name)] = out
    return pd.DataFrame(full, index=pd.RangeIndex(n_points))


def write_point_features(
    points_layer: Any,
    patchset: Any,
    columns: dict,
    *,
    replace_all: bool = False,
    table: pd.DataFrame | None = None,
) -> Any:
    """Put the per-patch result columns into the points layer's features, each under its
    :func:`point_column` name (NaN, or -1 for integers, at points without a patch).

    Parameters
    ----------
    points_layer : napari Points layer
        The layer the patches were cut at; its own columns are left as they are.
    patchset : PatchSet
        ``indices`` maps each patch to its point.
    columns : dict
        ``{result name: (n_patches,) array}`` as made by :func:`feature_columns`.
    replace_all : bool
        Also drop the plugin's earlier columns that are not in ``columns`` (a full re-write:
        e.g. ``ivae_p_<class>`` of a previous model's classes).
    table : DataFrame, optional
        :func:`point_feature_table` of these columns, made in a worker; made here when
        missing or when the layer's number of points has changed since.

    Returns
    -------
    The points layer.
    """
    n = len(points_layer.data)
    if table is None or len(table) != n:
        table = point_feature_table(n, patchset, columns)
    drop = ()
    if replace_all:
        drop = tuple(
            c
            for c in points_layer.features.columns
            if result_name_of(str(c)) is not None and c not in table.columns
        )
    _layers.set_features(points_layer, table, drop=drop)
    return points_layer


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


def angle_limits(angles: np.ndarray) -> tuple[float, float]:
    """Contrast limits (degrees) for an angle map: the full circle, or, when the angles stay
    within a narrow arc that does not cross ±180°, that arc (so small tilts are visible)."""
    from napari_ivae.core.analysis.maps import wrap_angle

    angles = np.asarray(angles, dtype=float)
    angles = angles[np.isfinite(angles)]
    if angles.size == 0:
        return (-180.0, 180.0)
    centre = np.angle(np.mean(np.exp(1j * angles)))
    spread = np.percentile(np.abs(wrap_angle(angles - centre)), 99)
    low, high = np.degrees(centre - spread) - 1.0, np.degrees(centre + spread) + 1.0
    if spread > np.pi / 2 or low < -180 or high > 180:
        return (-180.0, 180.0)
    return (float(low), float(high))


def _labels_colormap(colours: list[str]) -> Any:
    """Class k drawn in the annotation table's colour of class k (label value k + 1)."""
    from napari.utils.colormaps import DirectLabelColormap

    mapping: dict = {None: "transparent", 0: "transparent"}
    mapping.update({k + 1: colour for k, colour in enumerate(colours)})
    return DirectLabelColormap(color_dict=mapping)


def _limits(values: np.ndarray, centred: bool = False) -> tuple[float, float]:
    """Contrast from the values' real spread (1st-99th percentile of the patches' values);
    ``centred``: symmetric about 0, for signed quantities (offsets) on a diverging colormap."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (0.0, 1.0)
    low, high = np.percentile(values, [1, 99])
    if centred:
        half = float(max(abs(low), abs(high))) or 1.0
        return (-half, half)
    return (float(low), float(high)) if high > low else (float(low), float(low) + 1.0)


def write_manifold(
    viewer: Any, image_layer: Any, bundle: Any, encoding: Any = None, patches: Any = None
) -> Any:
    """The decoded latent manifold (or ss-rVAE class traversal), placed right of the image."""
    return show_manifold(viewer, image_layer, bundle, compute_manifold(bundle, encoding, patches))


def compute_manifold(
    bundle: Any, encoding: Any = None, patches: Any = None
) -> tuple[np.ndarray, str, str, tuple | None]:
    """Decode the latent manifold (or ss-rVAE class traversal) image (any thread).

    With the data's ``encoding`` the grid spans where their codes lie (2nd-98th percentile of
    each latent) instead of the prior's [-2, 2]; with the ``patches`` it is shown at their
    contrast (1st-99th percentile), so it can be compared with the data. Returns the image and
    a caption.
    """
    from napari_ivae.core.models.inference import (
        class_latent_ranges,
        class_traversal,
        latent_manifold,
        latent_ranges,
    )

    ranges = None
    if (
        encoding is not None
        and len(encoding.z_mean)
        and encoding.z_mean.shape[1] == bundle.config.latent_dim
    ):
        ranges = latent_ranges(encoding.z_mean)
    if bundle.config.kind in ("ss-rvae", "jrvae") or (
        bundle.config.kind == "crvae" and bundle.config.n_classes
    ):
        rows = ranges
        probs = getattr(encoding, "class_prob", None)
        if ranges is not None and probs is not None and len(probs) == len(encoding.z_mean):
            # each row over the codes of the patches classified into it: where that class
            # lies in z (with z holding part of the class, other classes' codes draw them)
            rows = class_latent_ranges(
                encoding.z_mean, np.argmax(probs, 1), bundle.config.n_classes
            )
        image, what = class_traversal(bundle.model, n=8, ranges=rows), "class traversal"
        caption = "one row per class, z1 left to right"
        if rows is not ranges:
            caption += " over the codes of the patches classified into that row's class"
    else:
        image, what = latent_manifold(bundle.model, n=8, ranges=ranges), "latent manifold"
        caption = "z1 left to right, z2 bottom to top"
    if "classified" in caption:
        pass  # each row has its own span
    elif ranges is not None:
        spans = [f"z{i + 1} {lo:.2f} to {hi:.2f}" for i, (lo, hi) in enumerate(ranges[:2])]
        caption += " over the data's codes (" + ", ".join(spans) + ")"
    else:
        caption += " over the prior's [-2, 2]"
    limits = None
    if patches is not None and np.size(patches):
        low, high = np.percentile(np.asarray(patches), [1, 99])
        limits = (float(low), float(high)) if high > low else None
    return image, what, caption, limits


def manifold_caption(layer: Any) -> str:
    """The status line for a manifold layer: its name and what its axes mean."""
    caption = layer.metadata.get(_layers.META_KEY, {}).get("caption", "")
    return f"{layer.name}: {caption}." if caption else layer.name


def show_manifold(viewer: Any, image_layer: Any, bundle: Any, decoded: tuple) -> Any:
    """Write a :func:`compute_manifold` image as a layer placed right of the image."""
    data, what = decoded[:2]
    caption = decoded[2] if len(decoded) > 2 else ""
    limits = decoded[3] if len(decoded) > 3 else None
    transform = _layers.spatial_transform(image_layer, 2)
    scale = transform.get("scale", (1.0, 1.0))
    shape = _layers.image_data(image_layer).shape
    columns = shape[-2] if getattr(image_layer, "rgb", False) else shape[-1]  # not its colours
    width = columns * scale[-1]
    offset = transform.get("translate", (0.0, 0.0))
    layer = _layers.write_layer(
        viewer,
        "image",
        data.astype(np.float32),
        role="manifold",
        source=image_layer.name,
        what=what,
        params={"model": bundle.config.kind, "caption": caption},
        colormap="gray",
    )
    if limits is not None:  # the data's contrast, not the decoding's own stretch
        layer.contrast_limits = limits
    layer.scale = scale
    layer.translate = (offset[0], offset[1] + width * 1.05)
    return layer
