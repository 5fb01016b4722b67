"""``napari-ivae patches``: cut patches from an image, on points or on a grid, into one ``.npz``.

The archive holds ``patches`` (N, H, W) float32, ``centres`` (N, 2) (row, col), ``frames``,
``indices`` (source row of the points file, -1 for grid patches), ``image_shape``, a JSON
``normalization`` string and, for grid patches, ``grid_shape``, ``stride`` and ``grid_origin``
(see :func:`napari_ivae.core.patches.cutting.patchset_to_arrays`). ``napari-ivae train`` and ``encode``
read it directly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from napari_ivae.cli._arguments import (  # check_frame_axis: also imported from here
    add_channel_argument,
    add_frame_axis_argument,
    check_frame_axis,
    microscope_frame_axis,
)
from napari_ivae.cli._paths import output_path, replaced
from napari_ivae.core._atomic import write_output
from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import MIN_PATCH_SIZE, looks_like_colour

FAR_BELOW, FAR_ABOVE = 1, 4  # a given --size outside this many spacings gets a note


def add_parser(subparsers) -> None:
    """Register ``napari-ivae patches``."""
    p = subparsers.add_parser(
        "patches",
        help="cut patches from an image (on points or a grid)",
        description="Cut square patches from an image (.tif, .npy, .png...) centred on points from a CSV "
        "file (e.g. written by `napari-ivae detect`) or on a regular grid, and save "
        "them with their positions as one .npz file.",
    )
    p.add_argument(
        "image",
        metavar="IMAGE",
        help="image or stack (.tif, .npy, .dm3, .dm4, .mrc, .ser, .emd, .sxm, .gwy; or .png, .jpg, .bmp)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--points",
        metavar="POINTS.csv",
        help="CSV with frame,row,col (or row,col / y,x / axis-0..) columns",
    )
    where.add_argument("--grid", type=int, metavar="STRIDE", help="grid patches every STRIDE px")
    p.add_argument(
        "--size",
        type=int,
        metavar="P",
        help="patch size in pixels (default: two spacings, the spacing being the points' "
        "median nearest-neighbour distance, or for grid patches measured on the image; "
        "particles whose points carry a size (equivalent_diameter as detect writes it, "
        "diameter, radius or area) get two of their median diameters when that is smaller)",
    )
    p.add_argument("--out", required=True, metavar="PATCHES.npz", help="output .npz file")
    p.add_argument(
        "--normalize",
        choices=("global", "patch", "none"),
        default="global",
        help="intensity scaling: global (default, as in napari and `train --image`: the "
        "image's min/max to [0,1], so a model applied to another image sees it on the same "
        "scale), patch (each patch to [0,1]), none (the raw values)",
    )
    p.add_argument(
        "--border",
        choices=("drop", "flag"),
        default="drop",
        help="patches crossing the edge: drop (default) or keep with reflected "
        "edges and valid=False",
    )
    p.add_argument(
        "--order",
        type=int,
        choices=(1, 3),
        default=1,
        help="interpolation for sub-pixel centres: 1 bilinear (default), 3 cubic",
    )
    p.add_argument(
        "--no-subpixel",
        action="store_true",
        help="round point centres to whole pixels (exact crops)",
    )
    add_channel_argument(p)
    p.add_argument("--invert", action="store_true", help="flip intensities (dark features)")
    add_frame_axis_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Cut the patches and save them; returns 0."""
    from napari_ivae.core.io.imageio import read_image, read_points_csv
    from napari_ivae.core.patches.cutting import extract_patches, grid_patches, patchset_to_arrays
    from napari_ivae.core.patches.sizing import patch_diameters

    out = output_path(
        args.out, ".npz", "numpy archive", inputs={"IMAGE": args.image, "--points": args.points}
    )
    existed = out.exists()
    check_size(args.size)
    if args.grid is not None and args.grid < 1:
        raise InputError(f"--grid must be a stride of at least 1 px, got {args.grid}")
    image = _load_image(args, read_image)
    coords = properties = None
    if args.points is not None:
        coords, properties = read_points_csv(args.points)
        if image.ndim == 2:
            coords = _points_for_2d_image(coords, args.points)
    args.size = choose_size(args.size, image, coords, "napari-ivae patches", properties)

    if args.grid is not None:
        _check_grid_memory(image.shape, args.size, args.grid)
        patchset = grid_patches(image, args.size, args.grid, normalize=args.normalize)
        properties = None
        where = f"grid {patchset.grid_shape[0]}x{patchset.grid_shape[1]} every {args.grid} px"
    else:
        patchset = extract_patches(
            image,
            coords,
            args.size,
            subpixel=not args.no_subpixel,
            border=args.border,
            normalize=args.normalize,
            order=args.order,
        )
        # particles: their maps stay on each of them
        patchset.particle_diameter = patch_diameters(properties, patchset.indices)
        where = f"{len(patchset)} of {len(np.asarray(coords))} points"
    arrays = patchset_to_arrays(patchset)
    # how the patches were cut, for `train` to record in the model (`batch` cuts the same way)
    params = _patch_params(args)
    if properties is not None and (mode := points_mode(properties.columns)):
        params["points_mode"] = mode  # `batch` detects the same kind of points
    arrays["patch_params"] = np.asarray(json.dumps(params))
    _save_npz(out, arrays)

    frames = f"{patchset.n_frames} frames of " if patchset.is_stack else ""
    print(
        f"napari-ivae patches: cut {len(patchset)} patches {args.size}x{args.size} from "
        f"{Path(args.image).name} "
        f"({frames}{patchset.image_shape[0]}x{patchset.image_shape[1]} px) on {where}; "
        f"normalisation: {args.normalize}",
        file=sys.stderr,
    )
    if patchset.message:
        from napari_ivae.cli import cli_spelling

        print(f"napari-ivae patches: note: {cli_spelling(patchset.message)}", file=sys.stderr)
    print(f"napari-ivae patches: wrote {out}{replaced(existed)}", file=sys.stderr)
    return 0


def check_size(size: int | None) -> None:
    """A given ``--size`` must be at least the models' smallest patch."""
    if size is not None and size < MIN_PATCH_SIZE:
        raise InputError(
            f"--size {size} is too small: the models need patches of at "
            f"least {MIN_PATCH_SIZE}x{MIN_PATCH_SIZE} px"
        )


def image_spacing(image) -> float | None:
    """The lattice spacing measured on the (first) frame's central crop, or None."""
    from napari_ivae.core.detection.spacing import frame_spacing

    try:
        return frame_spacing(image)
    except InputError:
        return None


def choose_size(size: int | None, image, coords, prefix: str, properties=None) -> int:
    """The patch size: ``size`` when given, else
    :func:`~napari_ivae.core.patches.sizing.auto_patch_size` of the spacing (the
    points' median nearest-neighbour distance, or measured on the image) and, for particles,
    their median diameter (a size column of ``properties``, the points' table). Says on stderr
    the size chosen and why, or, for a given size far from the automatic one, the automatic
    one."""
    from napari_ivae.core.patches.sizing import AutoSize, particle_diameter, points_spacing

    spacing, source = None, ""
    if coords is not None:
        spacing, source = points_spacing(coords), "the points' median nearest-neighbour distance"
    if spacing is None:
        spacing, source = image_spacing(image), "measured on the image"
    measured = particle_diameter(properties) if coords is not None else None
    auto = AutoSize(spacing, measured[0] if measured else None)
    automatic = auto.size
    if auto.by_diameter:
        assert measured is not None
        source = f"the points' median {measured[1]}" + (
            f"; two spacings of {spacing:.1f} px would make {AutoSize(spacing).size} px"
            if spacing
            else ""
        )
    if size is None:
        if auto.basis is None:
            print(
                f"{prefix}: size {automatic} px, the default: no spacing could be measured "
                f"on the image{'' if coords is None else ' nor from the points'}; give "
                "--size P if that does not fit the features",
                file=sys.stderr,
            )
        elif auto.by_diameter:
            print(
                f"{prefix}: size {automatic} px = {auto.reason()} ({source}); "
                "--size P sets another",
                file=sys.stderr,
            )
        else:
            print(
                f"{prefix}: size {automatic} px = {automatic / spacing:.1f} x spacing "
                f"{spacing:.1f} px ({source}); --size P sets another",
                file=sys.stderr,
            )
        return automatic
    basis = auto.basis
    if basis is not None and not FAR_BELOW <= size / basis <= FAR_ABOVE:
        what = "the particles' diameter" if auto.by_diameter else "the spacing"
        unit = "diameters" if auto.by_diameter else "spacings"
        print(
            f"{prefix}: note: --size {size} is {size / basis:.2g} x {what} "
            f"{basis:.1f} px ({source}), outside the usual {FAR_BELOW}-{FAR_ABOVE} "
            f"{unit}; without --size the size would be {automatic} px",
            file=sys.stderr,
        )
    return size


def points_mode(columns) -> str | None:
    """ "particles" or "atoms" when the points CSV has the columns `napari-ivae detect` writes
    in that mode, else None (points from elsewhere)."""
    names = set(columns)
    if {"label", "area", "equivalent_diameter"} <= names:
        return "particles"
    if {"prominence", "snr"} <= names:
        return "atoms"
    return None


def _patch_params(args) -> dict:
    """The cutting options (the keys the napari widget records as a model's ``patch_params``)."""
    params = {
        "source": "grid" if args.grid is not None else "points",
        "size": args.size,
        "normalize": args.normalize,
        "border": args.border,
        "order": args.order,
        "subpixel": not args.no_subpixel,
        "invert": bool(args.invert),
    }
    if args.grid is not None:
        params["stride"] = args.grid
    return params


def _load_image(args, read_image) -> np.ndarray:
    from napari_ivae.core.io.imageio import is_lazy

    image = read_frames(
        args.image, channel=args.channel, frame_axis=args.frame_axis, invert=args.invert
    )
    return image if is_lazy(image) else np.asarray(image)  # a zarr stays lazy


def read_frames(path, *, channel=None, frame_axis=None, invert: bool = False):
    """The image at ``path`` as ``(Y, X)`` or ``(F, Y, X)``, read as ``napari-ivae detect``
    reads it: a colour picture (or ``channel``) reduced, ``frame_axis`` moved first, an
    ambiguous 3D image (2-4 planes) or a 4D one refused without ``frame_axis``, and NaN/inf
    pixels replaced by the median of their frame with a warning. The rest stays as read (a
    zarr lazy, a ``.npy`` memory-mapped) when none of that applies."""
    from napari_ivae.core.io.image import prepare_image
    from napari_ivae.core.io.imageio import is_lazy, read_image

    image = read_image(path, mmap=True)
    frame_axis = microscope_frame_axis(path, image.ndim, frame_axis, channel)
    check_frame_axis(image.shape, frame_axis)
    if channel is not None and channel != "luminance":
        try:
            channel = int(channel)
        except ValueError as err:
            raise InputError(f"--channel must be 'luminance' or a number, got {channel!r}") from err
    shape = image.shape
    prepare = (
        looks_like_colour(shape)
        or channel is not None
        or invert
        or frame_axis not in (None, 0)
        or len(shape) not in (2, 3)  # 4D, or not an image at all (refused there)
        or (len(shape) == 3 and frame_axis is None and shape[0] <= 4)  # frames or colours?
    )
    if not prepare and is_lazy(image) and np.dtype(image.dtype).kind == "f":
        return lazy_filled(image)  # missing data filled as read, chunk by chunk
    if not prepare and np.dtype(image.dtype).kind == "f":
        planes = image if len(shape) == 3 else [image]
        prepare = not all(np.isfinite(plane).all() for plane in planes)  # missing data
    if not prepare:
        return image
    return prepare_image(np.asarray(image), channel=channel, frame_axis=frame_axis, invert=invert)


def lazy_filled(image):
    """A lazy (zarr/dask) image whose NaN/inf pixels read as the median of their frame's
    finite pixels, with the in-memory path's warning (``prepare_image``); ``image`` itself
    when it has none. One pass counts them chunk by chunk; only a frame that has some is read
    whole, for its median (:func:`~napari_ivae.core.patches.source.counted_and_filled`);
    the filling is done on each chunk as it is read."""
    import warnings

    from napari_ivae.core.patches.source import counted_and_filled

    filled, count = counted_and_filled(image)
    if count:
        warnings.warn(
            f"{count} NaN/inf pixels were replaced by the median of their frame.",
            UserWarning,
            stacklevel=2,
        )
    return filled


def _check_grid_memory(shape, size: int, stride: int) -> None:
    """Refuse a grid whose patches would not fit into half of this machine's memory."""
    import os

    frames = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    rows = max((shape[-2] - size) // stride + 1, 0)
    cols = max((shape[-1] - size) // stride + 1, 0)
    needed = frames * rows * cols * size * size * 4 * 2  # float32 patches, written once more
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not available on this system
        return
    if needed > memory // 2:
        raise InputError(
            f"--grid {stride} with --size {size} makes {frames * rows * cols} "
            f"patches ({needed / 2**30:.1f} GiB), more than half of this machine's "
            f"memory ({memory / 2**30:.0f} GiB); use a larger --grid stride"
        )


def _points_for_2d_image(coords: np.ndarray, source) -> np.ndarray:
    """Drop the frame column for a 2D image (it must be 0 everywhere)."""
    if np.any(np.round(coords[:, 0]) != 0):
        raise InputError(
            f"{Path(source).name} has points on frames other than 0, but the image "
            "is a single 2D frame"
        )
    return coords[:, 1:]


def _save_npz(path: Path, arrays: dict) -> None:
    write_output(path, lambda stream: np.savez(stream, **arrays), "patches file")
