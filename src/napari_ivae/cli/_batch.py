"""``napari-ivae batch``: apply one saved model to many images, resumable after an interruption.

Every image (files, folders, glob patterns) goes through the pipeline the model was trained
with, as its bundle records it (:data:`~napari_ivae.core.models.persistence.PIPELINE_KEYS`): detect
(the detection mode and the settings chosen by hand in napari, or given as ``--spacing`` and
``--polarity``; everything else is estimated from each image), cut patches (the model's
patch size, the same normalisation, points or grid), encode, and paint the per-patch values
back onto the image. Each image gets its own folder
``OUT/<stem>/`` holding

* ``<stem>.csv``: one row per patch, ``frame,row,col``, the detection's measured columns, then
  ``z_mean_1..``, ``z_std_1..``, ``angle`` (radians), ``dx``, ``dy``, ``class_prob_<name>``,
  ``class``, ``cluster`` (as far as the model has them, as ``encode`` writes them);
* ``<stem>_maps.npz`` (or one ``<stem>_<name>.tif`` per map with ``--maps tif``): the maps of
  ``z_mean_k``, ``angle``, ``dx``, ``dy``, ``class``, ``cluster``, each of the image's shape;
* ``batch.json``: what was done (input size and time stamp, the model's checksum, counts).

The folder is assembled under a hidden temporary name and renamed into place when complete,
so a folder ``OUT/<stem>/`` always holds a finished result and an interrupted run leaves no
partial output behind (a hidden leftover of a killed run is removed by the next run). A rerun
skips every image whose folder exists and whose ``batch.json`` names the same input file
(size and modification time) and the same model; the others are (re)done. A bad image gives
one error line and the batch goes on; the failures are listed at the end (exit code 3).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_ivae.cli._detect import MIN_SPACING
from napari_ivae.cli._paths import _same_file, check_output, reach_scheduler
from napari_ivae.cli._progress import add_scheduler_argument
from napari_ivae.core._atomic import write_output
from napari_ivae.core.errors import InputError

EXIT_SOME_FAILED = 3
MANIFEST = "batch.json"
_PARTIAL = ".napari-ivae-partial-"  # hidden folder being filled (``.<stem>.napari-ivae-partial-*``)
_LOCK = ".napari-ivae-batch.lock"
_GLOB_CHARS = set("*?[")


def add_parser(subparsers) -> None:
    """Register ``napari-ivae batch``."""
    p = subparsers.add_parser(
        "batch",
        help="apply a saved model to many images (resumable)",
        description="Apply a model saved by `napari-ivae train` (or napari) to every image: "
        "detect, cut patches and encode as the model was trained, and write one "
        "folder per image with a CSV table and the maps. Images already done are "
        "skipped when the command is run again.",
    )
    p.add_argument("model", metavar="MODEL.ivae.pt", help="trained model file")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="images (.tif, .npy, .png, .jpg, .bmp), folders holding them, or glob patterns "
        "(quoted: 'data/*.tif')",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (created if missing); one sub-folder per image",
    )
    p.add_argument(
        "--mode",
        choices=("atoms", "particles"),
        help="what to detect (default: what the model's points were detected as, else atoms)",
    )
    p.add_argument(
        "--grid",
        type=int,
        metavar="STRIDE",
        help="cut grid patches every STRIDE px instead (default: as the model was trained)",
    )
    p.add_argument(
        "--spacing",
        type=float,
        metavar="PX",
        help="atoms: nearest-neighbour distance, as `napari-ivae detect --spacing` (default: "
        "as set when the model's points were detected in napari, else estimated per image)",
    )
    p.add_argument(
        "--polarity",
        choices=("auto", "bright", "dark"),
        help="atoms or particles brighter or darker than the background, as `napari-ivae "
        "detect --polarity` (default: as set when the model's points were detected in "
        "napari, else decided per image)",
    )
    p.add_argument("--channel", metavar="C", help="colour images: 'luminance' or a channel index")
    p.add_argument(
        "--frame-axis",
        type=int,
        metavar="AXIS",
        help="axis holding frames (needed for ambiguous 3D input)",
    )
    p.add_argument(
        "--maps",
        choices=("npz", "tif", "none"),
        default="npz",
        help="maps as one .npz per image (default), one .tif per map, or none",
    )
    p.add_argument(
        "--redo", action="store_true", help="process every image again, also those already done"
    )
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    add_scheduler_argument(p)
    p.add_argument("--batch-size", type=int, default=256, help="patches per batch (default 256)")
    p.set_defaults(func=run)


# ----------------------------------------------------------------------------- inputs
def collect_inputs(values) -> list[Path]:
    """The image files named by files, folders (their images, not recursive) and globs.

    Parameters
    ----------
    values : list of str
        As given on the command line.

    Returns
    -------
    list of Path
        Each image once, in the order given (folders and globs sorted by name).

    Raises
    ------
    InputError
        A name that is neither an image, a folder, nor a pattern matching an image; no images.
    """
    from napari_ivae.core.io.imageio import IMAGE_SUFFIXES

    found: list[Path] = []
    for value in values:
        path = Path(value).expanduser()
        if path.is_dir() and not _is_image(path):
            matches = sorted(p for p in path.iterdir() if _is_image(p))
            if not matches:
                raise InputError(f"folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        elif path.is_file() or _is_image(path):
            matches = [path]
        elif _GLOB_CHARS & set(str(value)):
            matches = sorted(
                Path(p) for p in glob.glob(os.path.expanduser(value)) if _is_image(Path(p))
            )
            if not matches:
                raise InputError(
                    f"pattern '{value}' matches no images ({', '.join(IMAGE_SUFFIXES)})"
                )
        else:
            raise InputError(
                f"input {value} does not exist (give image files, folders or quoted glob patterns)"
            )
        found.extend(matches)
    unique, seen = [], set()
    for path in found:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _is_image(path: Path) -> bool:
    """An image file by its suffix, or a ``.zarr`` folder (one image, not a folder of them)."""
    from napari_ivae.core.io.imageio import IMAGE_SUFFIXES

    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return path.is_dir()
    return path.is_file() and suffix in IMAGE_SUFFIXES


def _output_names(images: list[Path]) -> list[str]:
    """One output name per image (its file stem); two images with one stem are refused."""
    names, owner = [], {}
    for path in images:
        name = path.stem
        if name.startswith("."):
            name = "_" + name[1:]  # never a hidden folder (those are the partial ones)
        if name.lower() in owner:
            raise InputError(
                f"{owner[name.lower()]} and {path} would both write "
                f"'{name}/' in --out; rename one or run them into different "
                "--out folders"
            )
        owner[name.lower()] = path
        names.append(name)
    return names


# ----------------------------------------------------------------------------- settings
def pipeline_settings(bundle, *, mode=None, grid=None, spacing=None, polarity=None) -> dict:
    """How the model's patches were made, from its bundle, for applying it to new images.

    Parameters
    ----------
    bundle : ModelBundle
        The loaded model (its ``metadata`` holds ``patch_params``, ``normalization`` and
        ``detection`` when it was saved by napari or trained on ``napari-ivae patches``).
    mode : {"atoms", "particles"}, optional
        Overrides the stored detection mode.
    grid : int, optional
        Cut grid patches with this stride instead of patches on detected points.
    spacing : float, optional
        The atoms' spacing in pixels (``--spacing``), instead of the stored or estimated one.
    polarity : {"auto", "bright", "dark"}, optional
        The atoms' or particles' polarity (``--polarity``), instead of the stored one.

    Returns
    -------
    dict
        ``source`` ("points" or "grid"), ``size`` (H, W), ``normalize``, ``stride`` (grid),
        ``border``, ``order``, ``subpixel``, ``mode`` and ``detect`` (keyword arguments of the
        detector: only settings chosen by hand, everything else is estimated per image).
    """
    meta = bundle.metadata or {}
    params = dict(meta.get("patch_params") or {})
    normalization = meta.get("normalization")
    stored_mode = normalization.get("mode") if isinstance(normalization, dict) else None
    size = tuple(int(s) for s in bundle.config.patch_shape)
    source = "grid" if grid is not None else params.get("source", "points")
    stride = grid if grid is not None else params.get("stride")
    if source == "grid" and not stride:
        stride = max(1, size[0] // 4)
    settings = {
        "source": source,
        "size": size,
        "stride": int(stride) if stride else None,
        "normalize": params.get("normalize") or stored_mode or "none",
        "border": params.get("border", "drop"),
        "order": int(params.get("order", 1)),
        "subpixel": bool(params.get("subpixel", True)),
        "invert": bool(params.get("invert")),
    }
    detection = meta.get("detection") or {}
    chosen = dict(detection.get("widget_settings") or {})
    role = str(detection.get("role", ""))
    settings["mode"] = (
        mode
        or chosen.get("mode")
        or (role.removeprefix("detections_") if role.startswith("detections_") else None)
        or params.get("points_mode")  # `napari-ivae patches` on a `detect` CSV
        or "atoms"
    )
    if polarity is not None:
        chosen["polarity"] = polarity
    if spacing is not None:
        if settings["mode"] != "atoms":
            raise InputError(
                f"--spacing is for atoms, but {settings['mode']} are detected "
                "(give --mode atoms, or leave --spacing out)"
            )
        if not np.isfinite(spacing) or spacing < MIN_SPACING:
            raise InputError(f"--spacing must be at least {MIN_SPACING:g} px, got {spacing:g}")
        chosen["spacing"] = spacing
    settings["detect"] = _detector_options(settings["mode"], chosen)
    return settings


def _detector_options(mode: str, chosen: dict) -> dict:
    """The detector keywords set by hand when the model's points were detected."""
    polarity = chosen.get("polarity") or "auto"
    if mode == "atoms":
        options = {"invert": {"auto": None, "bright": False, "dark": True}.get(polarity)}
        for key in ("spacing", "sigma"):
            if chosen.get(key):
                options[key] = float(chosen[key])
        if "refine" in chosen:
            options["refine"] = None if chosen["refine"] in (None, "none") else chosen["refine"]
        if "crystal_only" in chosen:
            options["crystal_only"] = bool(chosen["crystal_only"])
        return options
    options = {"polarity": polarity}
    if chosen.get("method"):
        options["method"] = chosen["method"]
    return options


def describe_settings(settings: dict) -> str:
    """One line: how patches are made (for the first progress line)."""
    h, w = settings["size"]
    where = (
        f"grid every {settings['stride']} px"
        if settings["source"] == "grid"
        else f"{settings['mode']} detected in each image"
    )
    chosen = {k: v for k, v in settings["detect"].items() if v is not None}
    extra = (
        f" ({', '.join(f'{k} {v}' for k, v in chosen.items())})"
        if chosen and settings["source"] != "grid"
        else ""
    )
    return f"{h}x{w} px patches on {where}{extra}, normalisation {settings['normalize']}"


# ----------------------------------------------------------------------------- one image
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


def _streams(raw, channel, frame_axis) -> bool:
    """A (frames, Y, X) stack larger than ``STREAM_BYTES``, or a lazy zarr/dask one, is read
    one frame at a time."""
    from napari_ivae.cli._detect import STREAM_BYTES
    from napari_ivae.core.io.imageio import is_lazy

    return (
        raw.ndim == 3
        and (raw.nbytes > STREAM_BYTES or is_lazy(raw))
        and channel is None
        and (frame_axis == 0 or (frame_axis is None and raw.shape[0] > 4))
    )


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


def _parse_channel(value):
    if value is None or value == "luminance":
        return value
    try:
        return int(value)
    except ValueError:
        raise InputError(f"--channel must be 'luminance' or an integer, got '{value}'") from None


# ----------------------------------------------------------------------------- outputs
def _file_identity(path: Path) -> dict:
    files = _image_files(path)
    infos = [os.stat(file) for file in files]
    return {
        "path": str(path.resolve()),
        "size": sum(info.st_size for info in infos),
        "mtime_ns": max((info.st_mtime_ns for info in infos), default=0),
    }


def _image_files(path: Path) -> list[Path]:
    """The file of an image, or every file of a ``.zarr`` folder (in a fixed order)."""
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def _checksum(path: Path) -> str:
    digest = hashlib.sha256()
    for file in _image_files(path):
        if file != path:  # a zarr's chunk names are part of its content
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def is_done(folder: Path, image: dict, model_sha: str, options: dict | None = None) -> bool:
    """Whether ``folder`` holds a finished result of this image (same file), this model and
    these options (how patches were cut, which maps)."""
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same_image = all(record.get("input", {}).get(k) == image[k] for k in ("size", "mtime_ns"))
    files_there = all((folder / name).is_file() for name in record.get("files", []))
    same_options = options is None or record.get("options") == options
    return same_image and record.get("model_sha256") == model_sha and files_there and same_options


def write_result(
    out_dir: Path, name: str, result: dict, record: dict, maps_format: str, inputs: dict
) -> Path:
    """Write one image's files into a hidden folder, then rename it to ``out_dir/name``."""
    from napari_ivae.core.io.imageio import write_image

    final = out_dir / name
    partial = Path(tempfile.mkdtemp(prefix=f".{name}{_PARTIAL}", dir=out_dir))
    try:
        files = [f"{name}.csv"]
        text = result["table"].to_csv(index=False).encode("utf-8")
        write_output(partial / files[0], lambda stream: stream.write(text), "CSV file")
        arrays = result["maps"]
        if isinstance(arrays, FrameMaps):  # a large stack: maps painted into scratch files
            arrays = arrays.paint(partial) if arrays else {}
        if arrays and maps_format == "npz":
            files.append(f"{name}_maps.npz")
            write_output(
                partial / files[-1], lambda stream: _savez_by_frames(stream, arrays), "maps file"
            )
        elif arrays and maps_format == "tif":
            for key, array in arrays.items():
                files.append(f"{name}_{key}.tif")
                if isinstance(array, np.memmap):  # the folder is renamed only when complete
                    _tiff_pages(partial / files[-1], array)
                else:
                    write_image(partial / files[-1], array)
        scratch = [a.filename for a in arrays.values() if isinstance(a, np.memmap)]
        arrays = None  # unmap before removing
        for path in scratch:
            Path(path).unlink(missing_ok=True)
        for file in files:  # outputs never replace inputs (e.g. a tif map matched by a glob)
            for flag, source in inputs.items():
                if _same_file(final / file, Path(source)):
                    raise InputError(
                        f"{final / file} would replace the {flag} input file; "
                        "choose another --out folder"
                    )
        record = {**record, "files": files}
        data = json.dumps(record, indent=1).encode("utf-8")
        write_output(partial / MANIFEST, lambda stream: stream.write(data), "manifest")
        os.chmod(partial, 0o777 & ~_umask())
        if final.exists():  # an older result (other model or changed image): swap it out
            old = Path(tempfile.mkdtemp(prefix=f".{name}{_PARTIAL}old-", dir=out_dir))
            os.replace(final, old / name)
            os.replace(partial, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _savez_by_frames(stream, arrays: dict) -> None:
    """``np.savez(stream, **arrays)``, copying a memory map one frame at a time (its pages are
    handed back as they are copied)."""
    import zipfile

    from napari_ivae.core.patches.source import release_pages

    with zipfile.ZipFile(
        stream, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True
    ) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(
                    member, np.lib.format.header_data_from_array_1_0(array)
                )
                for frame in array if array.ndim == 3 else [array]:
                    member.write(np.ascontiguousarray(frame).tobytes())
                    release_pages(array)


def _tiff_pages(path: Path, stack) -> None:
    """A (frames, Y, X) memory map as a multi-page TIFF, one frame in memory at a time."""
    import tifffile

    from napari_ivae.core.patches.source import release_pages

    def frames():
        for frame in stack:
            yield np.ascontiguousarray(frame)
            release_pages(stack)

    tifffile.imwrite(path, frames(), shape=stack.shape, dtype=stack.dtype, photometric="minisblack")


def _umask() -> int:
    from napari_ivae.core._atomic import _umask as read_umask

    return read_umask()


def _remove_leftovers(out_dir: Path) -> int:
    """Remove hidden partial folders left by a run that was killed; returns how many."""
    count = 0
    for entry in out_dir.iterdir():
        if entry.is_dir() and entry.name.startswith(".") and _PARTIAL in entry.name:
            shutil.rmtree(entry, ignore_errors=True)
            count += 1
    return count


class _Lock:
    """One batch at a time per output folder (a second one would remove the first's work)."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / _LOCK
        self.stream = None

    def __enter__(self):
        import fcntl

        self.stream = open(self.path, "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(self.stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.stream.close()
            raise InputError(
                f"another napari-ivae batch is writing into {self.path.parent}; "
                "wait for it to end or choose another --out folder"
            ) from None
        return self

    def __exit__(self, *exc):
        self.stream.close()
        self.path.unlink(missing_ok=True)
        return False


class _TermAsInterrupt:
    """SIGTERM (``kill``) ends the run like Ctrl-C: the image in progress is cleaned up."""

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread
            self.previous = None
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


# ----------------------------------------------------------------------------- command
def _say(line: str) -> None:
    try:
        print(f"napari-ivae batch: {line}", file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _seconds(value: float) -> str:
    if value < 10:
        return f"{max(value, 0.0):.1f} s"
    value = int(round(value))
    return f"{value // 60}:{value % 60:02d}" if value >= 60 else f"{value} s"


def _out_folder(value) -> Path:
    out = Path(value).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder (it is created if missing)")
    if not out.exists():
        if not out.parent.exists():
            raise InputError(f"--out folder {out.parent} does not exist; create it first")
        check_output(out, flag="--out")  # its parent accepts new entries
        out.mkdir()
    check_output(out / MANIFEST, flag="--out")
    return out


def _final_names(text: str) -> str:
    """A message naming a file of the hidden folder being filled (removed by now) names it
    where it would have been: ``OUT/.img.napari-ivae-partial-x1y2/img.csv`` -> ``OUT/img/img.csv``."""
    return re.sub(r"\.([^/\\\s]+?)" + re.escape(_PARTIAL) + r"[^/\\\s]+", r"\1", text)


def _check_grid_options(args, settings: dict) -> None:
    """Refuse detection options when grid patches are cut: nothing is detected."""
    given = [
        flag
        for flag, value in (
            ("--mode", args.mode),
            ("--spacing", args.spacing),
            ("--polarity", args.polarity),
        )
        if value is not None
    ]
    if given and settings["source"] == "grid":
        how = "--grid" if args.grid is not None else "the model was trained on grid patches"
        raise InputError(
            f"{' and '.join(given)} set how atoms or particles are detected, but grid patches "
            f"are cut every {settings['stride']} px ({how}) and nothing is detected; leave "
            f"{' and '.join(given)} out"
        )


def run(args) -> int:
    """Apply the model to every image; returns 0, 3 when some images failed, 130 when
    interrupted (Ctrl-C or SIGTERM: the finished images are kept)."""
    from napari_ivae.cli import cli_spelling
    from napari_ivae.cli._train_checks import check_device
    from napari_ivae.core.models.persistence import load_model
    from napari_ivae.core.scheduling import check_scheduler

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    check_scheduler(args.scheduler)
    reach_scheduler(args.scheduler)
    if args.grid is not None and args.grid < 1:
        raise InputError(f"--grid must be a stride of at least 1 px, got {args.grid}")
    images = collect_inputs(args.inputs)
    names = _output_names(images)
    check_device(args.device)
    bundle = load_model(args.model, device=args.device)
    settings = pipeline_settings(
        bundle, mode=args.mode, grid=args.grid, spacing=args.spacing, polarity=args.polarity
    )
    _check_grid_options(args, settings)
    out_dir = _out_folder(args.out)  # created only once the options are known to be good
    model_sha = _checksum(Path(args.model).expanduser())
    inputs = {"MODEL": args.model, **{f"INPUT {p.name}": p for p in images}}
    # what else decides the outputs: a rerun with other options redoes the images
    options = _plain(
        {
            "settings": settings,
            "maps": args.maps,
            "channel": args.channel,
            "frame_axis": args.frame_axis,
        }
    )

    with _Lock(out_dir), _TermAsInterrupt():
        removed = _remove_leftovers(out_dir)
        _say(
            f"{len(images)} image{'s' if len(images) != 1 else ''} with the "
            f"{bundle.config.kind} model: "
            f"{describe_settings(settings)}; results in {out_dir}"
            + (f" (removed {removed} partial result(s) of an interrupted run)" if removed else "")
        )
        done, skipped, failed, worked = 0, 0, [], 0.0
        total = len(images)
        stopped_at, index = None, 1
        try:
            for index, (path, name) in enumerate(zip(images, names), start=1):
                head = f"[{index}/{total}] {path.name}"
                try:
                    identity = _file_identity(path)
                except OSError as err:
                    failed.append((path, err.strerror or str(err)))
                    _say(f"{head}: error: {failed[-1][1]}")
                    continue
                if not args.redo and is_done(out_dir / name, identity, model_sha, options):
                    skipped += 1
                    _say(f"{head}: done earlier, skipped")
                    continue
                started = time.perf_counter()
                try:
                    result = process_image(
                        bundle,
                        settings,
                        path,
                        channel=args.channel,
                        frame_axis=args.frame_axis,
                        batch_size=args.batch_size,
                        maps=args.maps != "none",
                        scheduler=args.scheduler,
                        progress=True,
                    )
                    record = {
                        "input": identity,
                        "model": str(Path(args.model).resolve()),
                        "model_sha256": model_sha,
                        "model_kind": bundle.config.kind,
                        "options": options,
                        "counts": result["counts"],
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    }
                    write_result(out_dir, name, result, _plain(record), args.maps, inputs)
                except KeyboardInterrupt:
                    raise
                except Exception as err:  # noqa: BLE001 - one bad image must not stop the batch
                    reason = _final_names(cli_spelling(str(err)) or type(err).__name__)
                    if not isinstance(err, InputError):
                        reason = f"{type(err).__name__}: {reason}"
                    failed.append((path, reason))
                    _say(f"{head}: error: {reason}")
                    continue
                done += 1
                worked += time.perf_counter() - started
                remaining = total - index
                counts = result["counts"]
                found = (
                    ""
                    if settings["source"] == "grid"
                    else f"{counts['points']} {settings['mode']}, "
                )
                _say(
                    f"{head}: {found}{counts['patches']} patches -> {out_dir / name} "
                    f"({_seconds(time.perf_counter() - started)}; ETA "
                    f"{_seconds(worked / done * remaining)})"
                )
        except KeyboardInterrupt:  # Ctrl-C, or kill (SIGTERM): the image under way is undone
            stopped_at = index
    summary = f"{done} done, {skipped} skipped (done earlier), {len(failed)} failed"
    if stopped_at is not None:
        left = total - done - skipped - len(failed)
        _say(
            f"interrupted at [{stopped_at}/{total}]: {summary}; the finished results are kept "
            f"in {out_dir}; run the same command again to do the {left} image"
            f"{'s' if left != 1 else ''} left"
        )
        return 130
    if failed:
        _say(f"{summary}: {', '.join(str(p) for p, _ in failed)} (errors above)")
        return EXIT_SOME_FAILED
    _say(summary)
    return 0


def _plain(value):
    """JSON-ready copy (tuples as lists, numpy scalars as numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
