"""``napari-ivae detect``: find atoms or particles in an image and write them as a CSV table.

With no options every parameter is estimated from the image (the atom spacing, and every atom
parameter as a multiple of it or measured from the atoms themselves; the particles' polarity,
size and threshold). The CSV has a header row ``frame,row,col,<properties...>``; particle mode
also writes the labels image next to it (``<stem>_labels.npy`` or ``.tif``). The run ends with
the detection's self-check: one ``warning:`` line per doubt.
"""

from __future__ import annotations

import sys
from pathlib import Path

from napari_ivae.cli._arguments import (
    add_channel_argument,
    add_frame_axis_argument,
    check_frame_axis,
    microscope_frame_axis,
)
from napari_ivae.cli._detect_checks import _atoms_inverted, _check_4d, _parse_channel
from napari_ivae.cli._detect_runner import _detect
from napari_ivae.cli._paths import check_output, output_path, reach_scheduler, replaced
from napari_ivae.cli._progress import add_scheduler_argument
from napari_ivae.core.errors import InputError

# what an atoms run with an automatic spacing that finds no lattice suggests
PARTICLES_HINT = "if the image shows particles rather than atom columns, give --mode particles"

MIN_SPACING = 2.0  # px: below this no peak finder can separate atoms
STREAM_BYTES = 1 << 30  # stacks larger than this are detected one frame at a time


def add_parser(subparsers) -> None:
    """Register ``napari-ivae detect``."""
    p = subparsers.add_parser(
        "detect",
        help="find atom columns or particles; write a points CSV",
        description="Detect atom columns (local maxima refined to sub-pixel) or particles "
        "(threshold + watershed, or LoG blobs) in an image (.tif, .npy, .png...) and write "
        "frame,row,col plus measured properties to a CSV file. Parameters left out "
        "are estimated from the image.",
    )
    p.add_argument(
        "image",
        metavar="IMAGE",
        help="image or stack (.tif, .npy, .dm3, .dm4, .mrc, .ser, .emd, .sxm, .gwy; or .png, .jpg, .bmp)",
    )
    p.add_argument(
        "--mode",
        choices=("atoms", "particles"),
        default="atoms",
        help="what to detect (default: atoms)",
    )
    p.add_argument("--out", required=True, metavar="POINTS.csv", help="output CSV file")
    add_channel_argument(p)
    add_frame_axis_argument(p)
    p.add_argument(
        "--flatten",
        choices=("plane", "poly2", "gaussian"),
        help="subtract a background first (plane/poly2 for STM, gaussian for uneven illumination)",
    )
    add_scheduler_argument(p)
    p.add_argument(
        "--exclude",
        metavar="MASK",
        help="mask image (.npy/.tif), nonzero where nothing may be detected (e.g. a scale bar)",
    )
    atoms = p.add_argument_group("atoms")
    atoms.add_argument(
        "--spacing",
        type=float,
        metavar="PX",
        help="nearest-neighbour distance (default: estimated)",
    )
    atoms.add_argument(
        "--sigma",
        type=float,
        metavar="PX",
        help="smoothing (default: the atoms' measured width, 0.10-0.15 x spacing)",
    )
    atoms.add_argument(
        "--background",
        type=float,
        metavar="PX",
        help="blur removed before peak finding (default 0.5 x spacing; 0: none)",
    )
    atoms.add_argument(
        "--min-distance",
        type=float,
        metavar="PX",
        help="minimum peak separation (default 0.4 x spacing)",
    )
    atoms.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="contrast threshold: <1 fraction of the 90th-percentile contrast, "
        ">=1 absolute (default: automatic)",
    )
    atoms.add_argument(
        "--refine",
        choices=("com", "gaussian", "none"),
        default="com",
        help="sub-pixel refinement (default: com = centre of mass)",
    )
    atoms.add_argument(
        "--border",
        type=float,
        metavar="PX",
        help="drop atoms closer to the edge (default 0.3 x spacing)",
    )
    atoms.add_argument(
        "--invert",
        action="store_true",
        help="atoms are dark (ABF, bright-field): the same as --polarity dark",
    )
    atoms.add_argument(
        "--keep-non-crystal",
        action="store_true",
        help="keep peaks outside the crystalline region (by default they are "
        "left out when the image has vacuum or amorphous parts)",
    )
    particles = p.add_argument_group("particles")
    particles.add_argument(
        "--method",
        choices=("auto", "otsu", "li", "local", "log"),
        default="auto",
        help="auto: scale-space blobs, every setting from the image "
        "(default); otsu/li/local: threshold + watershed; log: LoG blobs",
    )
    p.add_argument(
        "--polarity",
        choices=("auto", "bright", "dark"),
        default="auto",
        help="atoms or particles brighter or darker than the background (default: "
        "auto, decided from the image)",
    )
    particles.add_argument(
        "--min-size",
        type=int,
        metavar="PX",
        help="smallest particle area in pixels (default: automatic)",
    )
    particles.add_argument(
        "--sensitivity",
        type=float,
        default=1.0,
        metavar="S",
        help="--method auto: the strength a particle must reach (measured from the image's "
        "noise and background) is divided by S; above 1 finds fainter particles, below 1 "
        "keeps only the clearest (default 1)",
    )
    particles.add_argument(
        "--keep-border", action="store_true", help="keep particles touching the image edge"
    )
    particles.add_argument(
        "--no-split", action="store_true", help="do not split touching particles (watershed)"
    )
    particles.add_argument(
        "--labels-format",
        choices=("npy", "tif"),
        default="npy",
        help="format of the labels image written next to the CSV",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Detect, write the CSV (and labels), print a summary on stderr; returns 0."""
    from contextlib import nullcontext

    from napari_ivae.cli import cli_spelling
    from napari_ivae.core.detection.detection_memo import DetectionMemo, using_memo
    from napari_ivae.core.io.image import prepare_image
    from napari_ivae.core.io.imageio import read_image, write_image

    memo = DetectionMemo()
    inputs = {"IMAGE": args.image, "--exclude": args.exclude}
    out = output_path(args.out, ".csv", "comma-separated table", inputs=inputs)
    existed, labels_existed = out.exists(), False
    labels_path = None
    if args.mode == "particles":
        labels_path = out.with_name(f"{out.stem}_labels.{args.labels_format}")
        check_output(labels_path, inputs, flag="--out (its labels image)")
        labels_existed = labels_path.exists()
    import numpy as np

    from napari_ivae.core.io.imageio import is_lazy
    from napari_ivae.core.scheduling import check_scheduler

    check_scheduler(args.scheduler)
    reach_scheduler(args.scheduler)
    image = read_image(args.image, mmap=True)  # pixels are read when used
    args.frame_axis = microscope_frame_axis(args.image, image.ndim, args.frame_axis, args.channel)
    channel = _parse_channel(args.channel)
    exclude = np.not_equal(read_image(args.exclude), 0) if args.exclude else None
    fits = exclude is not None and exclude.shape in (image.shape[-2:], image.shape[:2])
    # a mask of another shape is refused with its shape (core exclusion_mask), not here
    if fits and np.all(exclude):  # e.g. the image itself
        raise InputError(
            f"--exclude {args.exclude} is non-zero at every pixel, so nothing is left to "
            "search: give a mask that is 0 where to detect and non-zero only where not"
        )
    common = dict(
        channel=channel, frame_axis=args.frame_axis, flatten=args.flatten, exclude=exclude
    )
    _check_4d(image.shape, args.frame_axis)
    check_frame_axis(image.shape, args.frame_axis)
    streaming = _streams(image, args.channel, args.frame_axis)
    chunked = not streaming and image.ndim == 2 and _chunked(image, channel, args.frame_axis)
    if streaming or chunked:
        # frame after frame in worker threads: their cycles (a failed read's traceback) are
        # collected; main() ran ``detect`` without the collector for one frame in memory
        import gc

        gc.enable()
    if (streaming or chunked) and is_lazy(image) and np.dtype(image.dtype).kind == "f":
        from napari_ivae.cli._patches import lazy_filled

        # missing data filled as read: one warning with the total, not one per frame
        image = lazy_filled(image)
    # axis and channel errors before any work (on the first frame only for a long stack, on
    # a corner of a lazy frame)
    corner = (slice(0, 512), slice(0, 512))
    prepared = prepare_image(
        image[0] if streaming else np.asarray(image[corner]) if chunked else image,
        channel=channel,
        frame_axis=None if streaming or chunked else args.frame_axis,
        flatten=args.flatten,
    )
    frame_shape = image.shape[-2:] if streaming or chunked else prepared.shape[-2:]
    run_on = {"streaming": streaming, "chunked": chunked, "scheduler": args.scheduler}
    if args.mode == "atoms":
        from napari_ivae.core.detection.spacing import check_given_spacing

        check_given_spacing(args.spacing, frame_shape)
        try:
            detections = _detect(
                image,
                "atoms",
                run_on,
                labels_path,
                dict(
                    spacing=args.spacing,
                    sigma=args.sigma,
                    background=args.background,
                    min_distance=args.min_distance,
                    threshold=args.threshold,
                    refine=None if args.refine == "none" else args.refine,
                    border=args.border,
                    invert=_atoms_inverted(args),
                    crystal_only=not args.keep_non_crystal,
                    **common,
                ),
            )
        except InputError as err:  # no spacing found: the image may show particles
            if args.spacing is None and "spacing" in str(err):
                raise InputError(f"{err} {PARTICLES_HINT[0].upper()}{PARTICLES_HINT[1:]}.") from err
            raise
        used = detections.params
        polarity = used.get("polarity") or ("dark" if used.get("invert") else "bright")
        summary = (
            f"{len(detections)} atoms found{_in_frames(detections)} (spacing "
            f"{used['spacing']:.2f} px, "
            f"{used['spacing_source']}; {polarity} atoms; refine {args.refine})"
        )
    else:
        if args.min_size is not None and args.min_size < 0:
            raise InputError(f"--min-size must be 0 or more pixels, got {args.min_size}")
        # one memo for the detection and its contrast warning, which asks the binning's
        # packed-layer test of the same crop again (1.2 s of a 2048 px monolayer)
        with nullcontext() if streaming or chunked else using_memo(memo):
            detections = _detect(
                image,
                "particles",
                run_on,
                labels_path,
                dict(
                    method=args.method,
                    polarity=args.polarity,
                    min_size=args.min_size,
                    sensitivity=args.sensitivity,
                    exclude_border=not args.keep_border,
                    split=not args.no_split,
                    **common,
                ),
            )
        from napari_ivae.core.detection.particle_contrast import resolved_polarity

        polarity = resolved_polarity(detections, args.polarity)
        summary = (
            f"{len(detections)} particles found{_in_frames(detections)} "
            f"(method {args.method}, {polarity})"
        )
    from napari_ivae.core.io.points_csv import write_points_csv

    write_points_csv(out, detections)
    print(f"napari-ivae detect: {summary}; wrote {out}{replaced(existed)}", file=sys.stderr)
    calibrated = _pixel_size_note(args.image, detections.params, args.mode)
    if calibrated:
        print(f"napari-ivae detect: {calibrated}", file=sys.stderr)
    from napari_ivae.core.io.calibrated import images_note

    held = images_note(args.image)  # of a file of several images: which one was read
    if held:
        print(f"napari-ivae detect: {held}", file=sys.stderr)
    if detections.labels is not None and labels_path is not None:
        write_image(labels_path, detections.labels)
        print(
            f"napari-ivae detect: labels image {labels_path}{replaced(labels_existed)}",
            file=sys.stderr,
        )
    if streaming and detections.labels is not None:
        Path(detections.labels.filename).unlink(missing_ok=True)  # the scratch copy
    from napari_ivae.core.detection.detections import stack_notes

    note = stack_notes(detections.message)  # the summary gave the count and spacing
    if note:
        print(f"napari-ivae detect: {cli_spelling(note)}", file=sys.stderr)
    for info in detections.quality.get("notes", []):  # information, not a doubt
        print(f"napari-ivae detect: {cli_spelling(info)}", file=sys.stderr)
    found = detections.quality.get("warnings", [])
    for warning in found:
        print(f"napari-ivae detect: warning: {cli_spelling(warning)}", file=sys.stderr)
    if args.mode == "atoms" and args.spacing is None:
        from napari_ivae.core.detection.quality import suggests_particles

        if suggests_particles(found):
            print(f"napari-ivae detect: warning: {PARTICLES_HINT}", file=sys.stderr)
    if args.mode == "particles" and len(detections) and not (streaming or chunked):
        with using_memo(memo):
            _warn_if_noise(prepared, detections.labels, polarity, len(detections))
    return 0


def _in_frames(detections) -> str:
    """ " in F frames" for a stack's detections (the count is of them all), else ""."""
    used = detections.params if isinstance(detections.params, dict) else {}
    return f" in {used['n_frames']} frames" if used.get("is_stack") and used.get("n_frames") else ""


def _pixel_size_note(image, params, mode: str) -> str:
    """The pixel size the file states (.dm3/.dm4, MRC, .ser, .emd, .sxm, .gwy, a microscope's TIFF;
    and the atoms' spacing in its unit), or ""."""
    from napari_ivae.core.io.imageio import read_pixel_size

    found = read_pixel_size(image)
    if found is None:
        return ""
    size, unit = found
    note = f"pixel size {size:.4g} {unit} (the file's calibration; the table is in pixels)"
    spacing = params.get("spacing") if mode == "atoms" and isinstance(params, dict) else None
    if spacing:
        note += f"; atom spacing {spacing:.2f} px = {spacing * size:.4g} {unit}"
    return note


def _chunked(image, channel, frame_axis) -> bool:
    """A lazy (zarr/dask) 2D frame too large for memory is detected chunk by chunk."""
    from napari_ivae.core.io.imageio import is_lazy

    if not is_lazy(image):  # the streaming module is imported for a lazy image only
        return False
    from napari_ivae.core.detection.streaming import lazy_input

    return lazy_input(image, channel, frame_axis)


def _streams(image, channel, frame_axis) -> bool:
    """A (frames, Y, X) stack larger than ``STREAM_BYTES``, or a lazy zarr/dask one, is
    detected (and, in ``batch``, cut) one frame at a time."""
    # 2-4 planes without --frame-axis may be colour channels: the in-memory path asks
    from napari_ivae.core.io.imageio import is_lazy

    return (
        image.ndim == 3
        and (image.nbytes > STREAM_BYTES or is_lazy(image))
        and channel is None
        and (frame_axis == 0 or (frame_axis is None and image.shape[0] > 4))
    )


def _warn_if_noise(prepared, labels, polarity: str, count: int) -> None:
    from napari_ivae.core.detection.particle_contrast import noise_warning

    warning = noise_warning(prepared, labels, polarity, count)
    if warning:
        print(f"napari-ivae detect: warning: {warning}", file=sys.stderr)
