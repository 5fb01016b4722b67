"""Layer <-> core conversions, result-layer naming and provenance.

Result layers are never a user's layer: each carries ``metadata["napari_ivae"]`` with a
``role`` and the ``source`` layer name, and re-running a step updates the layer with the same
role and source instead of adding another one. A new map (Image or Labels) is inserted below
the Points and Shapes layers above its source, so it never covers annotations, and adding a
layer leaves the viewer's layer selection as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np

from napari_ivae import __version__
from napari_ivae._layer_data import (  # noqa: F401 - importable from here as before
    _lazy_prepared,
    image_array,
    image_data,
    image_snapshot,
    in_image_pixels,
    joined_columns,
    points_coords,
    points_data,
    prepare_snapshot,
    prepared_image,
    set_features,
)

META_KEY = "napari_ivae"
SUFFIX = "[ivae]"
STALE = " (stale)"


def result_name(source: str, what: str) -> str:
    """Self-explaining result layer name, e.g. ``"adf z1 [ivae]"``."""
    return f"{source} {what} {SUFFIX}"


def provenance(role: str, source: str, **params: Any) -> dict:
    """The ``metadata["napari_ivae"]`` dict of a result layer."""
    return {"role": role, "source": source, "version": __version__, **params}


def is_result_layer(layer: Any) -> bool:
    """True for layers written by this plugin."""
    return isinstance(getattr(layer, "metadata", None), dict) and META_KEY in layer.metadata


def find_result_layer(viewer: Any, role: str, source: str) -> Any | None:
    """The plugin's own layer with this ``role`` made from ``source``, or None."""
    for layer in viewer.layers:
        meta = layer.metadata.get(META_KEY) if isinstance(layer.metadata, dict) else None
        if meta and meta.get("role") == role and meta.get("source") == source:
            return layer
    return None


def spatial_transform(source: Any, ndim: int) -> dict:
    """``scale`` and ``translate`` of the last ``ndim`` axes of ``source`` (for alignment), and
    its ``units`` when it has physical ones (a calibrated micrograph: nm, not pixels)."""
    if source is None:
        return {}
    scale = tuple(np.asarray(source.scale, dtype=float))
    translate = tuple(np.asarray(source.translate, dtype=float))
    units = tuple(getattr(source, "units", None) or ())
    calibrated = len(units) == len(scale) and any(str(u) != "pixel" for u in units)
    if len(scale) >= ndim:
        found = {"scale": scale[-ndim:], "translate": translate[-ndim:]}
        return {**found, "units": units[-ndim:]} if calibrated else found
    pad = ndim - len(scale)
    found = {"scale": (1.0,) * pad + scale, "translate": (0.0,) * pad + translate}
    return {**found, "units": ("pixel",) * pad + units} if calibrated else found


def write_layer(
    viewer: Any,
    kind: str,
    data: Any,
    *,
    role: str,
    source: Any,
    what: str,
    params: dict | None = None,
    select: bool = False,
    **kwargs: Any,
) -> Any:
    """Add a result layer, or update the plugin's existing one with the same role and source.

    Parameters
    ----------
    viewer : napari.Viewer
    kind : {"image", "labels", "points"}
    data : array
    role : str
        Stable identifier of what the layer holds (``"z1_map"``, ``"angle_map"``...).
    source : napari layer or str
        The layer the result was computed from: its name goes into the layer name and the
        provenance, its ``scale``/``translate`` are copied so the result lies on top of it.
    what : str
        Human part of the layer name.
    params : dict, optional
        Extra provenance (model kind, seed, parameters).
    select : bool
        Make the layer the active one (napari's own add selects it); otherwise the viewer's
        selection stays as it was.
    **kwargs
        Layer keyword arguments (colormap, contrast_limits, features, size...).
    """
    source_name = source if isinstance(source, str) else source.name
    source_layer = None if isinstance(source, str) else source
    # a list of arrays is a multiscale pyramid (never np.asarray'd: a lazy one would be read)
    multiscale = kind in ("image", "labels") and isinstance(data, (list, tuple))
    if multiscale:
        kwargs["multiscale"] = True
    data_ndim = _data_ndim(data, kind)
    if kind == "image" and kwargs.get("rgb"):
        data_ndim -= 1
    transform = spatial_transform(source_layer, data_ndim) if source_layer is not None else {}
    meta = {META_KEY: provenance(role, source_name, **(params or {}))}
    existing = find_result_layer(viewer, role, source_name)
    if existing is not None and bool(getattr(existing, "multiscale", False)) != multiscale:
        viewer.layers.remove(existing)  # napari cannot switch a layer to or from multiscale
        existing = None
    if existing is not None and existing._type_string == kind and _same_ndim(existing, data, kind):
        _update_layer(existing, data, kwargs)
        existing.metadata = {**existing.metadata, **meta}
        existing.name = existing.name.removesuffix(STALE)
        for key, value in transform.items():
            _set_if_changed(existing, key, value)
        if select and viewer.layers.selection.active is not existing:
            viewer.layers.selection.active = existing
        return existing
    from napari.layers import Image, Labels, Points

    # what viewer.add_<kind> does (make the layer, insert it), at the place it belongs
    layer_type = {"image": Image, "labels": Labels, "points": Points}[kind]
    layer = layer_type(
        data, name=result_name(source_name, what), metadata=meta, **transform, **kwargs
    )
    index = _below_annotations(viewer, source_layer) if kind in ("image", "labels") else None
    if index is None:
        index = len(viewer.layers)
    if select:  # napari selects what it adds
        viewer.layers.insert(index, layer)
    else:
        with kept_selection(viewer):
            viewer.layers.insert(index, layer)
    return layer


@contextmanager
def kept_selection(viewer: Any) -> Iterator[None]:
    """Context manager: the viewer's selected and active layers are the same on exit (napari
    selects every layer it adds).

    Each change of the selection rebuilds napari's layer controls in the GUI thread: the
    selection's events are held while the layers are added and the selection is put back, so
    that (as the selection ends as it began) nothing is rebuilt; only the outermost of nested
    uses does this, once for all the layers an action writes, and then runs the refreshes
    deferred meanwhile (:func:`refresh_later`)."""
    if _keeping:
        yield
        return
    layers = viewer.layers
    selected, active = list(layers.selection), layers.selection.active
    # held only when one layer is active: putting it back also puts back the "current" layer
    quiet = layers.selection.events.blocker_all() if active is not None else nullcontext()
    _keeping.append(viewer)
    try:
        with quiet:
            try:
                yield
            finally:
                _restore_selection(layers, selected, active)
    finally:
        _keeping.pop()
        pending = list(_deferred.values())
        _deferred.clear()
        for refresh in pending:
            refresh()
    gone = {layer for layer in selected if layer not in layers}
    if gone:  # a selected layer was removed meanwhile: say so now
        layers.selection.events.changed(added=set(), removed=gone)
        layers.selection.events.active(value=layers.selection.active)


def _restore_selection(layers: Any, selected: list, active: Any) -> None:
    kept = [layer for layer in selected if layer in layers]
    kept_active = active if active in layers else None
    if set(layers.selection) == set(kept) and layers.selection.active is kept_active:
        return
    layers.selection.clear()
    layers.selection.update(kept)
    if kept_active is not None:
        layers.selection.active = kept_active


_keeping: list = []  # the viewer of the kept_selection running (GUI thread only)
_deferred: dict = {}  # refreshes asked for meanwhile, run once when it ends


def refresh_later(key: Any, refresh: Any) -> bool:
    """While an action writes its layers (inside :func:`kept_selection`), note ``refresh``
    (e.g. a dock's layer pickers, which napari refreshes on every inserted layer) to run once
    when the writing ends; returns whether it was deferred (False: run it now)."""
    if not _keeping:
        return False
    _deferred[key] = refresh
    return True


def _below_annotations(viewer: Any, source: Any) -> int | None:
    """The index just below the lowest Points or Shapes layer that lies above ``source`` (None
    when there is none: on top), where a new map covers no annotation (napari would add it on
    top, over them)."""
    from napari.layers import Points, Shapes

    layers = viewer.layers
    floor = layers.index(source) + 1 if source is not None and source in layers else 0
    for i, other in enumerate(layers):
        if i >= floor and isinstance(other, (Points, Shapes)):
            return i
    return None


def mark_stale(viewer: Any, source: str, role_suffix: str = "") -> list:
    """Append " (stale)" to the names of the plugin's layers made from ``source`` whose role
    ends with ``role_suffix`` (all of them by default), after a run that failed: they no longer
    look current. A successful re-run writes the name back. Returns the layers marked."""
    marked = []
    for layer in viewer.layers:
        meta = layer.metadata.get(META_KEY) if isinstance(layer.metadata, dict) else None
        if (
            not meta
            or meta.get("source") != source
            or not str(meta.get("role", "")).endswith(role_suffix)
        ):
            continue
        if not layer.name.endswith(STALE):
            layer.name = layer.name + STALE
        marked.append(layer)
    return marked


def follow_renames(viewer: Any, on_rename: Any = None) -> None:
    """Keep the plugin's results tied to their image when the user renames it: each result
    layer made from it records the new name as its source (so the Patches dock still pairs
    the detections with the image, and a re-run updates them instead of adding a second set),
    and a result named after the image ("lat atoms [ivae]") is renamed with it.
    ``on_rename(old, new)`` is called too. Renaming a result layer itself changes nothing else.
    """
    layers = viewer.layers
    names = {id(layer): layer.name for layer in layers}

    def inserted(event: Any) -> None:
        names[id(event.value)] = event.value.name

    def removed(event: Any) -> None:
        names.pop(id(event.value), None)

    def renamed(event: Any) -> None:
        layer = layers[event.index]
        old, new = names.get(id(layer)), layer.name
        names[id(layer)] = new
        if not old or old == new or is_result_layer(layer):
            return
        for other in list(layers):
            meta = other.metadata.get(META_KEY) if is_result_layer(other) else None
            if not meta or meta.get("source") != old:
                continue
            other.metadata = {**other.metadata, META_KEY: {**meta, "source": new}}
            if other.name.startswith(old + " ") and other.name.endswith(" [ivae]"):
                other.name = new + other.name[len(old) :]
        if on_rename is not None:
            on_rename(old, new)

    layers.events.inserted.connect(inserted)
    layers.events.removed.connect(removed)
    layers.events.renamed.connect(renamed)


def hide_results(viewer: Any, source: str, roles: tuple) -> list:
    """Hide the plugin's layers made from ``source`` whose role is one of ``roles`` (nothing
    is removed: they stay in the layer list, to be shown again). Returns their names (those
    hidden already too)."""
    hidden = []
    for layer in viewer.layers:
        meta = layer.metadata.get(META_KEY) if isinstance(layer.metadata, dict) else None
        if meta and meta.get("source") == source and meta.get("role") in roles:
            layer.visible = False
            hidden.append(layer.name)
    return hidden


def _data_ndim(data: Any, kind: str) -> int:
    if kind == "points":
        return int(np.asarray(data).shape[-1])
    if isinstance(data, (list, tuple)):  # multiscale: the levels' dimensions
        return int(np.ndim(data[0]))
    return int(np.ndim(data))


def _same_ndim(layer: Any, data: Any, kind: str) -> bool:
    ndim = _data_ndim(data, kind)
    return layer.data.shape[-1] == ndim if kind == "points" else layer.data.ndim == ndim


def _update_layer(layer: Any, data: Any, kwargs: dict) -> None:
    features = kwargs.pop("features", None)
    if kwargs.get("visible") is False:  # hidden first: napari does not slice a hidden layer
        _set_if_changed(layer, "visible", False)
    # napari re-slices and re-draws the layer at each of these assignments (its data, its
    # dimensions, a points layer's sizes and symbols as it grows, its size again): held, then
    # once for all (a third less of the GUI thread's time for 7 000 points)
    block = getattr(layer, "_block_refresh", None)
    with block() if block is not None else nullcontext():
        layer.data = data
        if features is not None:
            layer.features = features
        for key, value in kwargs.items():
            if key in ("rgb", "blending", "name", "multiscale"):
                continue
            try:
                _set_if_changed(layer, key, value)
            except (AttributeError, ValueError, TypeError):
                pass
    if block is not None:
        layer.refresh()


def _set_if_changed(layer: Any, key: str, value: Any) -> None:
    """``setattr(layer, key, value)`` unless the layer holds that value already: napari
    redraws on every assignment (a map's scale, a points layer's colour, its visibility)."""
    if not _same_value(getattr(layer, key, None), value):
        setattr(layer, key, value)


def _same_value(current: Any, value: Any) -> bool:
    if current is None:
        return False
    if isinstance(current, tuple) and current and hasattr(current[0], "dimensionality"):
        return current == tuple(value)  # units (pint), compared as units
    if isinstance(value, str):
        if isinstance(current, str):
            return current == value
        name = getattr(current, "name", None)
        if isinstance(name, str) and hasattr(current, "colors"):  # a colormap, by its name
            return name == value
        try:  # a colour for all points: equal when every point has it
            from napari.utils.colormaps.standardize_color import transform_color

            colours = np.asarray(current, dtype=float)
            return colours.ndim == 2 and bool(np.all(colours == transform_color(value)[0]))
        except (ValueError, TypeError, KeyError, AttributeError):
            return False
    try:
        old, new = np.asarray(current), np.asarray(value)
    except (ValueError, TypeError):
        return False
    if old.dtype == object or new.dtype == object or (new.ndim and old.shape != new.shape):
        return False
    return bool(np.all(old == new))
