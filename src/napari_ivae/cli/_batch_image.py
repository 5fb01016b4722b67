"""One image of ``napari-ivae batch``: detect (or lay a grid), cut patches, encode, and paint
the per-patch values back into maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_ivae.cli._arguments import microscope_frame_axis
from napari_ivae.cli._detect import _parse_channel, _streams
from napari_ivae.core.errors import InputError


def process_image(
    bundle,
    settings: dict,
    path: Path,
    *,
    channel=None,
    frame_axis=None,
    batch_size: int = 256,
    maps: bool = True,
    scheduler=None,
    progress: bool = False,
) -> dict:
    """Detect, cut, encode and map one image; returns ``table``, ``maps``, ``counts``.

    Parameters
    ----------
    bundle : ModelBundle
    settings : dict
        From :func:`pipeline_settings`.
    path : Path
        The image file.
    channel, frame_axis
        As for ``napari-ivae detect``.
    batch_size : int
        Patches per forward pass.
    maps : bool
        Compute the maps too.
    scheduler : None, str or distributed.Client
        Where frames and chunks are detected, and (not ``None``/``"threads"``) where the
        patches are cut and encoded (:mod:`napari_ivae.core.scheduling`).
    progress : bool
        Report the progress of detection and encoding on stderr.

    Returns
    -------
    dict
        ``table`` (pandas DataFrame, one row per patch), ``maps`` ({name: array}),
        ``counts`` ({"points": n, "patches": n, "frames": n}).
    """
    import pandas as pd

    from napari_ivae.core.detection.streaming import lazy_input
    from napari_ivae.core.io.image import prepare_image
    from napari_ivae.core.io.imageio import is_lazy, read_image
    from napari_ivae.core.patches.source import PatchSource, encode_source

    raw = read_image(path, mmap=True)  # pixels are read when used
    frame_axis = microscope_frame_axis(path, raw.ndim, frame_axis, channel)
    channel = _parse_channel(channel)
    streaming = _streams(raw, channel, frame_axis) and not settings["invert"]
    chunked = (
        raw.ndim == 2 and lazy_input(raw, channel, frame_axis) and not settings["invert"]
    )  # a zarr frame: chunk by chunk
    if streaming or chunked:  # frame by frame (or chunk by chunk), patches window by window
        image = cut_from = raw
        if is_lazy(raw) and np.dtype(raw.dtype).kind == "f":  # NaN/inf: as the .npy's
            from napari_ivae.cli._patches import lazy_filled

            image = cut_from = lazy_filled(raw)
    else:
        image = prepare_image(raw, channel=channel, frame_axis=frame_axis)
        # `patches --invert`: patches from the inverted image, points from the image as it is
        cut_from = (
            image
            if not settings["invert"]
            else prepare_image(raw, channel=channel, frame_axis=frame_axis, invert=True)
        )
    found = None
    if settings["source"] == "grid":
        source = PatchSource.grid(
            cut_from, settings["size"], settings["stride"], normalize=settings["normalize"]
        )
        table = pd.DataFrame(
            {
                "frame": source.frames,
                "row": source.grid_centres[:, 0],
                "col": source.grid_centres[:, 1],
            }
        )
        if source.shifts is not None:  # registered on the lattice: where each patch was cut
            table["shift_row"], table["shift_col"] = source.shifts[:, 0], source.shifts[:, 1]
    else:
        found = _detect(image, settings, streaming, chunked, scheduler, progress)
        if len(found.coords) == 0:
            raise InputError(found.message or f"no {settings['mode']} found")
        coords = found.coords if image.ndim == 3 else found.coords[:, 1:]
        source = PatchSource(
            cut_from,
            coords,
            settings["size"],
            normalize=settings["normalize"],
            border=settings["border"],
            order=settings["order"],
            subpixel=settings["subpixel"],
        )
        from napari_ivae.core.patches.sizing import patch_diameters

        # particles: their maps stay on each of them
        source.particle_diameter = patch_diameters(found.properties, source.indices)
        points = found.properties.reset_index(drop=True)
        table = points.iloc[source.indices].reset_index(drop=True).copy()
        for i, name in enumerate(("frame", "row", "col")):
            table[name] = np.asarray(found.coords, dtype=np.float64)[source.indices, i]
        table["frame"] = table["frame"].round().astype(np.int64)
        first = ["frame", "row", "col"]
        table = table[first + [c for c in table.columns if c not in first]]
    encoding = encode_source(
        bundle.model,
        source,
        batch_size=batch_size,
        scheduler=scheduler,
        progress=_stage("patches encoded") if progress else None,
    )
    columns = latent_columns(encoding, bundle)
    for name, values in columns.items():
        table[name] = values
    if not maps:
        painted = {}
    elif streaming:  # painted frame by frame into files when written (write_result)
        painted = FrameMaps(map_columns(columns), source.geometry())
    else:
        painted = result_maps(columns, source.geometry())
    return {
        "table": table,
        "maps": painted,
        "counts": {
            "points": len(found.coords) if found is not None else len(source),
            "patches": len(source),
            "frames": int(source.n_frames),
        },
    }


def _stage(what: str):
    from napari_ivae.cli._progress import Progress

    return Progress("napari-ivae batch", what, final_line=False)


def _detect(
    image,
    settings: dict,
    streaming: bool = False,
    chunked: bool = False,
    scheduler=None,
    progress: bool = False,
):
    if streaming or chunked:
        from napari_ivae.core.detection.streaming import detect_lazy, detect_stream

        detect = detect_stream if streaming else detect_lazy
        return detect(
            image,
            settings["mode"],
            scheduler=scheduler,
            progress=(
                _stage("frames detected" if streaming else "chunks searched") if progress else None
            ),
            **settings["detect"],
        )
    frame_axis = 0 if image.ndim == 3 else None
    if settings["mode"] == "atoms":
        from napari_ivae.core.detection.atoms import detect_atoms

        return detect_atoms(image, frame_axis=frame_axis, **settings["detect"])
    from napari_ivae.core.detection.particles import detect_particles

    return detect_particles(image, frame_axis=frame_axis, **settings["detect"])


def latent_columns(encoding, bundle) -> dict:
    """The encoding as named table columns (the arrays ``encode`` writes, one column each)."""
    columns = {}
    for key in ("z_mean", "z_std"):
        values = getattr(encoding, key)
        for i in range(values.shape[1]):
            columns[f"{key}_{i + 1}"] = values[:, i]
    if encoding.angle is not None:
        columns["angle"] = np.angle(np.exp(1j * encoding.angle.astype(np.float64)))
    if encoding.offsets is not None:
        columns["dx"], columns["dy"] = encoding.offsets[:, 0], encoding.offsets[:, 1]
    if encoding.class_prob is not None:
        names = list(bundle.config.class_names)
        for k in range(encoding.class_prob.shape[1]):
            name = names[k] if k < len(names) else str(k)
            columns[f"class_prob_{name}"] = encoding.class_prob[:, k]
        columns["class"] = np.argmax(encoding.class_prob, axis=1).astype(np.int64)
    stored = (bundle.metadata or {}).get("clustering")
    if stored:  # classes found in napari and saved with the model
        from napari_ivae.core.analysis.clustering import Clustering

        columns["cluster"] = np.asarray(Clustering.from_dict(stored).assign(encoding))
    return columns


def map_columns(columns: dict) -> dict:
    """The columns that get a map: latent means, angle, offsets, classes."""
    return {
        name: values
        for name, values in columns.items()
        if not name.startswith(("z_std_", "class_prob_"))
    }


class FrameMaps:
    """The maps of a large stack, to be painted one frame at a time into files."""

    def __init__(self, columns: dict, geometry):
        self.columns, self.geometry = columns, geometry

    def __bool__(self) -> bool:
        return bool(self.columns)

    def paint(self, folder: Path) -> dict:
        """Scratch memory-mapped ``.npy`` files in ``folder``, one per map, filled."""
        from napari_ivae.core.patches.source import maps_by_frame, release_pages

        shape = (self.geometry.n_frames,) + tuple(self.geometry.image_shape)
        arrays = {
            name: np.lib.format.open_memmap(
                folder / f".{name}.scratch.npy",
                mode="w+",
                shape=shape,
                dtype=np.int32 if name in ("class", "cluster") else np.float32,
            )
            for name in self.columns
        }

        def write(name, frame, array):
            arrays[name][frame] = array
            release_pages(arrays[name])  # written frames stop counting as our memory

        maps_by_frame(self.columns, self.geometry, write)
        return arrays


def result_maps(columns: dict, geometry) -> dict:
    """Maps of the image's shape (in memory): latent means, angle (radians), offsets, classes
    (+1), painted frame by frame as :mod:`napari_ivae.core.analysis.maps` paints them."""
    from napari_ivae.core.patches.source import maps_by_frame

    chosen = map_columns(columns)
    shape = (geometry.n_frames,) + tuple(geometry.image_shape)
    out = {
        name: np.empty(shape, np.int32 if name in ("class", "cluster") else np.float32)
        for name in chosen
    }

    def write(name, frame, array):
        out[name][frame] = array

    maps_by_frame(chosen, geometry, write)
    return out if geometry.is_stack else {name: array[0] for name, array in out.items()}
