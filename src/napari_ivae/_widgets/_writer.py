"""Turn a trained model + patches into results: encode, the per-patch columns, the maps painted
back onto the image (any thread), and the jobs that compute them in a worker and then write
them as layers. Shared by the Train and Results widgets and the demo.

The layers are written by :mod:`._result_layers` (maps, classes), :mod:`._point_features`
(points' features) and :mod:`._manifold_layer`; the read-outs (confusion, noise notes,
contrast limits) are made by :mod:`._result_readouts`. Their names stay importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# the names below were written here before the writer was split; they stay importable from here
from napari_ivae._widgets._manifold_layer import (  # noqa: F401
    compute_manifold,
    manifold_caption,
    show_manifold,
    write_manifold,
)
from napari_ivae._widgets._point_features import (  # noqa: F401
    COLUMN_PREFIX,
    point_column,
    point_feature_table,
    points_changed_note,
    points_match,
    result_name_of,
    write_point_features,
)
from napari_ivae._widgets._result_layers import (  # noqa: F401
    ANGLE_COLORMAP,
    CLUSTER_COLOURS,
    MAX_CLUSTERS,
    mark_results_stale,
    show_clusters,
    show_results,
    write_cluster_layer,
    write_maps,
)
from napari_ivae._widgets._result_readouts import (  # noqa: F401
    NOISE_SPREAD,
    angle_limits,
    compute_heldout,
    confusion_text,
    heldout_text,
    map_limits,
    noise_notes,
)
from napari_ivae.core.errors import InputError


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
