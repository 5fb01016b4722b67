"""``napari-ivae detect``: find atoms or particles in an image and write them as a CSV table.

With no options every parameter is estimated from the image (the lattice spacing, and every atom
parameter as a multiple of it). The CSV has a header row ``frame,row,col,<properties...>``;
particle mode also writes the labels image next to it (``<stem>_labels.npy`` or ``.tif``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from napari_ivae.cli._paths import output_path
from napari_ivae.core.errors import InputError


def add_parser(subparsers) -> None:
    """Register ``napari-ivae detect``."""
    p = subparsers.add_parser(
        "detect", help="find atom columns or particles; write a points CSV",
        description="Detect atom columns (local maxima refined to sub-pixel) or particles "
                    "(threshold + watershed, or LoG blobs) in an image (.npy, .tif) and write "
                    "frame,row,col plus measured properties to a CSV file. Parameters left out "
                    "are estimated from the image.")
    p.add_argument("image", metavar="IMAGE", help="image or stack (.npy, .tif, .tiff)")
    p.add_argument("--mode", choices=("atoms", "particles"), default="atoms",
                   help="what to detect (default: atoms)")
    p.add_argument("--out", required=True, metavar="POINTS.csv", help="output CSV file")
    p.add_argument("--channel", metavar="C", help="colour images: 'luminance' or a channel index")
    p.add_argument("--frame-axis", type=int, metavar="AXIS",
                   help="axis holding frames (needed for 4D or ambiguous 3D input)")
    p.add_argument("--flatten", choices=("plane", "poly2", "gaussian"),
                   help="subtract a background first (plane/poly2 for STM, gaussian for uneven "
                        "illumination)")
    p.add_argument("--exclude", metavar="MASK",
                   help="mask image (.npy/.tif), nonzero where nothing may be detected "
                        "(e.g. a scale bar)")
    atoms = p.add_argument_group("atoms")
    atoms.add_argument("--spacing", type=float, metavar="PX",
                       help="nearest-neighbour distance (default: estimated)")
    atoms.add_argument("--sigma", type=float, metavar="PX",
                       help="smoothing (default 0.1 x spacing)")
    atoms.add_argument("--background", type=float, metavar="PX",
                       help="blur removed before peak finding (default 0.5 x spacing; 0: none)")
    atoms.add_argument("--min-distance", type=float, metavar="PX",
                       help="minimum peak separation (default 0.4 x spacing)")
    atoms.add_argument("--threshold", type=float, metavar="T",
                       help="contrast threshold: <1 fraction of the 90th-percentile contrast, "
                            ">=1 absolute (default: automatic)")
    atoms.add_argument("--refine", choices=("com", "gaussian", "none"), default="com",
                       help="sub-pixel refinement (default: com = centre of mass)")
    atoms.add_argument("--border", type=float, metavar="PX",
                       help="drop atoms closer to the edge (default 0.3 x spacing)")
    atoms.add_argument("--invert", action="store_true",
                       help="atoms are dark (ABF, bright-field)")
    atoms.add_argument("--keep-non-crystal", action="store_true",
                       help="keep peaks outside the crystalline region (by default they are "
                            "left out when the image has vacuum or amorphous parts)")
    particles = p.add_argument_group("particles")
    particles.add_argument("--method", choices=("otsu", "li", "local", "log"), default="otsu",
                           help="threshold method or LoG blobs (default: otsu)")
    particles.add_argument("--polarity", choices=("bright", "dark"), default="bright",
                           help="particles brighter or darker than the background")
    particles.add_argument("--min-size", type=int, metavar="PX",
                           help="smallest particle area in pixels (default: automatic)")
    particles.add_argument("--keep-border", action="store_true",
                           help="keep particles touching the image edge")
    particles.add_argument("--no-split", action="store_true",
                           help="do not split touching particles (watershed)")
    particles.add_argument("--labels-format", choices=("npy", "tif"), default="npy",
                           help="format of the labels image written next to the CSV")
    p.set_defaults(func=run)


def run(args) -> int:
    """Detect, write the CSV (and labels), print a summary on stderr; returns 0."""
    from napari_ivae.core.imageio import read_image, write_points_csv

    out = output_path(args.out, ".csv", "comma-separated table")
    image = read_image(args.image)
    channel = _parse_channel(args.channel)
    exclude = read_image(args.exclude) != 0 if args.exclude else None
    common = dict(channel=channel, frame_axis=args.frame_axis, flatten=args.flatten,
                  exclude=exclude)
    if args.mode == "atoms":
        from napari_ivae.core.atoms import detect_atoms

        detections = detect_atoms(
            image, spacing=args.spacing, sigma=args.sigma, background=args.background,
            min_distance=args.min_distance, threshold=args.threshold,
            refine=None if args.refine == "none" else args.refine, border=args.border,
            invert=args.invert, crystal_only=not args.keep_non_crystal, **common)
        summary = (f"{len(detections)} atoms found (spacing {detections.params['spacing']:.2f} px"
                   f", {detections.params['spacing_source']}; refine {args.refine})")
    else:
        from napari_ivae.core.particles import detect_particles

        detections = detect_particles(
            image, method=args.method, polarity=args.polarity, min_size=args.min_size,
            exclude_border=not args.keep_border, split=not args.no_split, **common)
        summary = f"{len(detections)} particles found (method {args.method}, {args.polarity})"
    write_points_csv(out, detections)
    print(f"napari-ivae detect: {summary}; wrote {out}", file=sys.stderr)
    if detections.labels is not None:
        labels_path = _write_labels(out, detections.labels, args.labels_format)
        print(f"napari-ivae detect: labels image {labels_path}", file=sys.stderr)
    if detections.message:
        print(f"napari-ivae detect: {detections.message}", file=sys.stderr)
    return 0


def _parse_channel(value):
    if value is None or value == "luminance":
        return value
    try:
        return int(value)
    except ValueError:
        raise InputError(f"--channel must be 'luminance' or an integer, got '{value}'.") from None


def _write_labels(out: Path, labels, fmt: str) -> Path:
    import numpy as np

    path = out.with_name(f"{out.stem}_labels.{fmt}")
    if fmt == "npy":
        np.save(path, labels)
    else:
        import tifffile

        tifffile.imwrite(path, labels)
    return path
