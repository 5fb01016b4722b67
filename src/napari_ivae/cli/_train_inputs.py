"""What ``napari-ivae train`` reads: patches (.npy, .npz) or an image cut on demand, labels, and
continuous conditions, each checked with a one-line error naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from napari_ivae.core.errors import InputError


def _load_array_file(path: Path, what: str, key: str):
    """Return ``(array, extras)`` from ``.npy`` or ``.npz`` (``key`` inside); clear errors."""
    if not path.exists():
        raise InputError(f"{what} file not found: {path}")
    if path.is_dir():
        raise InputError(f"{what} path {path} is a folder; give a .npy or .npz file")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise InputError(
            f"{what} file {path} has an unsupported format {suffix or '(none)'!r}; "
            f"save the array with numpy as .npy (or .npz with key {key!r})"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise InputError(
                f"{what} file {path} holds Python objects, not a numeric array; "
                "save a plain numeric array"
            ) from err
        raise InputError(f"{what} file {path} is not a readable numpy file ({err})") from err
    except (OSError, EOFError) as err:
        raise InputError(f"{what} file {path} is corrupt or not a numpy file ({err})") from err
    if isinstance(loaded, np.ndarray):  # an .npy, also one named .npz
        return loaded, {}
    with loaded:  # an .npz archive, also one named .npy
        keys = list(loaded.files)
        if key not in keys:
            raise InputError(
                f"{what} file {path} has no array {key!r} (it has {keys}); "
                f"save it with np.savez(path, {key}=array)"
            )
        try:
            extras = {k: loaded[k] for k in keys}
        except (ValueError, OSError, EOFError) as err:
            raise InputError(
                f"{what} file {path} is corrupt or holds Python objects ({err})"
            ) from err
    return extras.pop(key), extras


def read_patches(path) -> tuple[np.ndarray, dict]:
    """Patches ``(N, H, W)`` from ``.npy`` or ``.npz`` (key ``patches``) plus the other arrays.

    Raises
    ------
    InputError
        Missing file, wrong format, wrong rank, NaN/inf, empty.
    """
    from napari_ivae.core.validation import as_patch_array

    path = Path(path).expanduser()
    array, extras = _load_array_file(path, "patches", "patches")
    return as_patch_array(array, name=f"patches in {path.name}"), extras


def _image_source(args):
    """``(SourcePatches, extras)``: the patches of ``--image`` at ``--points`` or on
    ``--grid``, cut when training asks for them (:class:`~napari_ivae.core.patches.source.
    PatchSource`)."""
    from napari_ivae.cli._patches import (
        _points_for_2d_image,
        check_size,
        choose_size,
        points_mode,
        read_frames,
    )
    from napari_ivae.core.io.imageio import read_points_csv
    from napari_ivae.core.patches.source import PatchSource

    if (args.points is None) == (args.grid is None):
        raise InputError("--image needs one of --points POINTS.csv or --grid STRIDE")
    check_size(args.size)
    # as detect reads it (colour, --frame-axis, NaN filled); a zarr stays lazy, a .npy mapped
    image = read_frames(args.image, channel=args.channel, frame_axis=args.frame_axis)
    mode = coords = properties = None
    if args.points is not None:
        coords, properties = read_points_csv(args.points)
        mode = points_mode(properties.columns)
        if len(image.shape) == 2:
            coords = _points_for_2d_image(coords, args.points)
    args.size = choose_size(args.size, image, coords, "napari-ivae train", properties)
    if args.grid is not None:
        source = PatchSource.grid(image, args.size, args.grid, normalize=args.normalize)
    else:
        source = PatchSource(image, coords, args.size, normalize=args.normalize)
    params = {
        "source": "grid" if args.grid is not None else "points",
        "size": args.size,
        "normalize": args.normalize,
    }
    if mode:
        params["points_mode"] = mode  # `batch` detects the same kind of points
    if args.grid is not None:
        params["stride"] = args.grid
    extras = {
        "patch_params": np.asarray(json.dumps(params)),
        "normalization": np.asarray(json.dumps(source.normalization)),
    }
    if source.grid_shape is not None:
        extras["grid_shape"] = np.asarray(source.grid_shape)
    return source.lazy_patchset().patches, extras


def _read_labels(path, n_patches: int) -> np.ndarray:
    path = Path(path).expanduser()
    labels, _ = _load_array_file(path, "labels", "labels")
    return _check_labels(labels, n_patches, path.name)


def _check_labels(labels, n_patches: int, source) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "biuf":
        raise InputError(
            f"labels in {source} are {labels.dtype} values, not numbers; give one "
            "integer per patch (-1 = unlabeled, classes 0..K-1) and the names "
            "with --class-names"
        )
    if labels.ndim != 1 or len(labels) != n_patches:
        raise InputError(
            f"labels in {source} have shape {labels.shape} but there are "
            f"{n_patches} patches; give one integer per patch (-1 = unlabeled)"
        )
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise InputError(f"labels in {source} contain NaN; use -1 for unlabeled patches")
    return labels


def _json_extra(extras: dict, key: str):
    value = extras.get(key)
    if value is None:
        return None
    try:
        return json.loads(str(value))
    except ValueError:
        return str(value)


def _grid_shape(args, extras: dict, n_patches: int):
    """The patches' grid (rows, cols) for ``--smoothness``; None when the term is off."""
    if not args.smoothness:
        return None
    if not np.isfinite(args.smoothness) or args.smoothness < 0:
        raise InputError(f"--smoothness must be 0 or more, got {args.smoothness:g}")
    if args.model == "ss-rvae":
        raise InputError("--smoothness is for grid patches of vae, rvae or shift-vae, not ss-rvae")
    if "grid_shape" not in extras:
        raise InputError(
            f"--smoothness needs grid patches: {args.patches} has no grid_shape "
            "(cut them with `napari-ivae patches --grid STRIDE`)"
        )
    rows, cols = (int(v) for v in np.asarray(extras["grid_shape"]).ravel()[:2])
    if rows < 2 or cols < 2 or n_patches % (rows * cols):
        raise InputError(
            f"--smoothness: {n_patches} patches do not fill whole grids of "
            f"{rows}x{cols}; give the .npz as `napari-ivae patches --grid` wrote it"
        )
    return rows, cols


def _read_conditions(args, extras: dict, n_patches: int):
    """``(names, values (N, V))`` of ``--condition-column``, or ``((), None)`` without it."""
    if not args.condition_column:
        if args.conditions:
            raise InputError("--conditions needs --condition-column (which columns to use)")
        return (), None
    if args.model != "crvae":
        raise InputError(f"--condition-column is for crvae, not {args.model}")
    names = _csv(args.condition_column)
    table = None
    if args.conditions:
        import csv

        path = Path(args.conditions).expanduser()
        if not path.is_file():
            raise InputError(f"conditions file not found: {path}")
        with open(path, newline="") as handle:
            table = list(csv.DictReader(handle))
    columns = []
    for name in names:
        if table is not None:
            if not table or name not in table[0]:
                have = list(table[0]) if table else []
                raise InputError(f"{args.conditions} has no column {name!r} (it has {have})")
            try:
                values = np.array([float(row[name]) for row in table])
            except (TypeError, ValueError) as err:
                raise InputError(
                    f"column {name!r} of {args.conditions} holds a value that is "
                    f"not a number ({err})"
                ) from err
        elif name in extras:
            values = np.asarray(extras[name], dtype=np.float64)
        else:
            raise InputError(
                f"{args.patches} has no array {name!r} (it has "
                f"{sorted(extras)}); give a CSV with --conditions"
            )
        if values.ndim != 1 or len(values) != n_patches:
            raise InputError(
                f"condition {name!r} has shape {values.shape}; give one value per "
                f"patch ({n_patches})"
            )
        if not np.isfinite(values).all():
            raise InputError(f"condition {name!r} holds NaN or inf; give a number per patch")
        columns.append(values)
    return names, np.stack(columns, 1).astype(np.float32)


def _csv(text: str) -> tuple:
    return tuple(part.strip() for part in text.split(",") if part.strip())
