"""The Patches dock's cutting, safe in any thread: patches at points or on a grid, their
automatic size, and what the status says about them."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae import _layers
from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.sizing import (
    AutoSize,
    particle_diameter,
    point_diameters,
    points_spacing,
)


def detected_on(layer: Any) -> str | None:
    """The name of the image a plugin detection layer was made from (None for other layers,
    e.g. a user's own Points layer)."""
    meta = layer.metadata.get(_layers.META_KEY) if isinstance(layer.metadata, dict) else None
    if meta and str(meta.get("role", "")).startswith("detections_"):
        return str(meta.get("source"))
    return None


def _hidden_detection(layer: Any) -> bool:
    """A plugin detection layer hidden (by Detect, when it found the other kind since)."""
    return layer is not None and detected_on(layer) is not None and not layer.visible


def pairs_with(points: Any, image: Any) -> bool:
    """Whether patches may be cut from ``image`` at ``points``: a detection layer only pairs
    with the image it was detected on; any other Points layer with any image."""
    source = detected_on(points)
    return source is None or image is None or source == image.name


NO_SPACING = "no spacing known"
DROPPED_WARNING = 0.25  # more points than this fraction left out: the status turns amber


def _patches_note(patchset: Any, params: dict, job: dict) -> tuple[str, str, bool]:
    """What the status says about freshly cut patches: where an automatic size came from
    (after the size), the points left out (after the counts; in amber when many were)."""
    origin = f" (auto: {job['size_origin']})" if job.get("size_origin") else ""
    parts = []
    if patchset.message:
        parts.append(
            patchset.message[0].upper()
            + patchset.message[1:]
            + (": a smaller patch size keeps them." if "dropped" in patchset.message else ".")
        )
    amber = False
    if params.get("source") == "points" and job.get("coords") is not None:
        n_points = len(job["coords"])
        amber = n_points > 0 and len(patchset.patches) < (1 - DROPPED_WARNING) * n_points
    return origin, (" " + " ".join(parts)) if parts else "", amber


_BORDER_HINT = 'Use a smaller patch size, or border="flag" to keep them with reflected edges.'


def _cut(job: dict) -> tuple[Any, dict]:
    """Cut the patches of an :meth:`PatchesWidget._extract_job` (any thread).

    From a lazy (dask, zarr, multiscale) layer no patch is cut here: the PatchSet's
    ``patches`` are a :class:`~napari_ivae.core.patches.source.SourcePatches`, cut from the
    image when training or encoding asks for them. The core's advice names its ``border``
    argument, which this dock has not: it names the dock's patch size."""
    try:
        return _cut_patches(job)
    except InputError as err:
        if _BORDER_HINT not in str(err):
            raise
        hint = "Use a smaller 'patch size (0 = auto)'."
        raise InputError(" ".join(str(err).replace(_BORDER_HINT, hint).split())) from err


def _measure_grid_size(image: Any, job: dict) -> None:
    """Grid patches of the automatic size with no spacing known (Detect not run on the
    image): two lattice spacings measured on the image (its first frame's central crop), as
    ``napari-ivae patches --grid`` sizes them; the stride, when automatic, a quarter of that.
    The job's size, stride and the status's origin are updated; nothing when no spacing can be
    measured (the default size stays)."""
    from napari_ivae.core.detection.spacing import frame_spacing

    try:
        spacing = frame_spacing(image)
    except InputError:
        return
    auto = AutoSize(spacing)
    if auto.basis is None:
        return
    params = job["params"]
    params["size"] = auto.size
    if job.get("auto_stride"):
        params["stride"] = max(1, auto.size // 4)
    job["size_origin"] = f"{auto.reason()}, the lattice spacing measured on the image"


def _cut_patches(job: dict) -> tuple[Any, dict]:
    from napari_ivae.core.io.imageio import is_lazy
    from napari_ivae.core.patches.cutting import extract_patches, grid_patches

    image = _layers.prepare_snapshot(job["image"])
    params = job["params"]
    if params["source"] == "grid" and job.get("measure_spacing"):
        _measure_grid_size(image, job)
    if is_lazy(image):
        from napari_ivae.core.patches.source import PatchSource

        if params["source"] == "grid":
            source = PatchSource.grid(
                image, params["size"], params["stride"], normalize=params["normalize"]
            )
        else:
            coords = job["coords"] if image.ndim == 3 else job["coords"][:, 1:]
            source = PatchSource(image, coords, params["size"], normalize=params["normalize"])
            source.particle_diameter = _kept(job.get("particle_diameter"), source.indices)
        return source.lazy_patchset(), params
    if params["source"] == "grid":
        return grid_patches(
            image, params["size"], params["stride"], normalize=params["normalize"]
        ), params
    coords = job["coords"] if image.ndim == 3 else job["coords"][:, 1:]
    patchset = extract_patches(image, coords, params["size"], normalize=params["normalize"])
    # particles: their maps stay on each of them
    patchset.particle_diameter = _kept(job.get("particle_diameter"), patchset.indices)
    return patchset, params


def _kept(diameters: Any, indices: Any) -> Any:
    """The points' particle diameters of the patches kept (None for points without a size)."""
    return None if diameters is None else np.asarray(diameters)[np.asarray(indices)]


class PatchJob:
    """What the Patches dock reads to cut patches (GUI thread): the size and where it came from,
    and the job a worker cuts from (a mixin of :class:`~napari_ivae._widgets.patches.PatchesWidget`)."""

    def patch_size(self, image_layer: Any) -> int:
        """The chosen patch size, or the automatic one (sample hint, spacing, point spacing)."""
        return self._patch_size_and_origin(image_layer)[0]

    def _patch_size_and_origin(self, image_layer: Any) -> tuple[int, str]:
        """The patch size and, when automatic, where it comes from (in words).

        Patches at points take the spacing of the detection that made them (kept in the
        layer's provenance), else the points' median nearest-neighbour distance: never a
        spacing Detect measured on another image or for other points; particles whose
        features hold a size (Detect's ``equivalent_diameter``) take two of their median
        diameters when that is smaller (as ``napari-ivae patches`` does). Grid patches take
        the spacing Detect measured last, when it was on this image.
        """
        if self.size.value:
            return int(self.size.value), ""
        hint = image_layer.metadata.get("patch_size") or image_layer.metadata.get("card_size")
        if hint:
            return int(hint), "the sample's patch size"
        spacing, origin, measured = None, "", None
        points = self.points.value if self.source.value == "points" else None
        if points is not None:
            meta = points.metadata.get(_layers.META_KEY) if detected_on(points) else None
            if meta and meta.get("spacing"):
                spacing, origin = float(meta["spacing"]), "the detection's spacing"
            else:
                spacing = points_spacing(
                    _layers.in_image_pixels(np.asarray(points.data), points, image_layer)
                )
                origin = "the points' median nearest-neighbour distance"
            measured = particle_diameter(points.features)
        elif self._session.spacing and self._session.spacing_image == image_layer.name:
            spacing, origin = self._session.spacing, "the lattice spacing measured on it"
        auto = AutoSize(spacing, measured[0] if measured else None)
        if auto.basis is None:
            return auto.size, NO_SPACING
        if auto.by_diameter:
            assert measured is not None
            return auto.size, f"{auto.reason()}, the points' median {measured[1]}"
        return auto.size, f"{auto.reason()}, {origin}"

    def _extract_job(self) -> dict:
        """Everything cutting the patches needs, read from the widgets and layers (GUI thread)."""
        if self._session.training:
            raise InputError(
                "a model is training on the current patches: wait for it "
                "or stop it before extracting new ones."
            )
        layer = self.image.value
        snapshot = _layers.image_snapshot(layer)
        size, origin = self._patch_size_and_origin(layer)
        params = {
            "source": self.source.value,
            "size": size,
            "normalize": self.normalize.value,
            "image": layer.name,
        }
        job = {
            "image": snapshot,
            "params": params,
            "image_layer": layer,
            "points": None,
            "size_origin": origin,
        }
        if self.source.value == "grid":
            params["stride"] = int(self.stride.value or max(1, size // 4))
            # no spacing known here: measured on the image in the worker, as the CLI does
            job["measure_spacing"] = origin == NO_SPACING
            job["auto_stride"] = not self.stride.value
            return job
        if self.points.value is None:
            raise InputError(
                "no points layer: run Detect first, pick a Points layer, or choose 'grid' patches."
            )
        source = detected_on(self.points.value)
        if source is not None and source != layer.name:
            raise InputError(
                f"the points {self.points.value.name!r} were detected on {source!r}, not on "
                f"{layer.name!r}: run Detect on {layer.name!r} or pick its points."
            )
        params["points"] = self.points.value.name
        job["points"] = self.points.value
        job["coords"] = _layers.in_image_pixels(
            _layers.points_coords(self.points.value), self.points.value, layer
        )
        # particles: their maps stay on each of them (one diameter per point)
        job["particle_diameter"] = point_diameters(self.points.value.features)
        return job
