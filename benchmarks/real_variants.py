"""Default detection on the real images made strange: the best proxy for images nobody has seen.

``python benchmarks/real_variants.py [--only NAME,...] [--variants NAME,...] [--out DIR]
[--exe PATH/TO/napari-ivae]`` takes every real image in ``../shared/data`` that has a reference
(the list, the detection call ``napari-ivae detect IMAGE --mode MODE`` with no parameter and the
scoring are those of ``../shared/tools/detection_scoreboard.py``, imported, not copied) and
scores the defaults on variants of it (:mod:`real_variant_transforms`): magnification
(anti-aliased binning 0.5 and 0.7; cubic up-sampling 1.25-3, and at 2 and 3 with the frame's
white noise added back), a quarter of the dose (Poisson resampling of the counts estimated from
the frame's own noise), an 8-bit PNG export (0.2 % clipped at each end), JPEG quality 75,
16-bit counts on an offset (TIFF), a slow illumination gradient, a burned-in white scale bar
and its label (8-bit PNG; the same as JPEG; drawn in yellow on an RGB JPEG), rotation by 17
degrees (cropped to the valid area), the top-left quarter (for atom images every quarter and
the central one), and, for particle images, inverted contrast. The references follow each
transform (scaled, rotated, cropped; those under the burned-in label are not counted) and so
do the matching radii. One line per image and variant, then one JSON line. Skipped, with a
message, when ``../shared`` is absent.

``--out DIR`` keeps each variant's file and an overlay PNG of it: matched references green,
missed references blue, false detections red.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from real_variant_transforms import VARIANTS, Variant, to_8bit  # noqa: E402

SCOREBOARD = HERE.parent / ".." / "shared" / "tools" / "detection_scoreboard.py"


def load_scoreboard(path: Path | None = None):
    """The scoreboard module (its image list, ``detect`` and ``score``), or None if absent."""
    path = SCOREBOARD if path is None else path
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("detection_scoreboard", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def references(sb):
    """``(name, mode, image, points (row, col), half box sides or None)`` per real image."""
    for img, ref, order in sb.ATOMS:
        points = np.load(sb.DATA / ref)[:, :2].astype(float)
        points = points[:, ::-1] if order == "xy" else points
        yield Path(img).name, "atoms", np.load(sb.DATA / img), points, None
    for img, ref, box in sb.PARTICLES:
        points = np.load(sb.DATA / ref)[:, :2].astype(float)
        half = 0.5 * np.load(sb.DATA / box).astype(float).min(axis=1)
        yield Path(img).name, "particles", np.load(sb.DATA / img), points, half


def write_variant(variant: Variant, path: Path) -> Path:
    """The variant as a file of its kind (``path`` without suffix); returns the file."""
    path = path.parent / (path.name + variant.suffix)
    if variant.encoded is not None:
        path.write_bytes(variant.encoded)
    elif variant.suffix == ".npy":
        np.save(path, variant.image.astype(np.float32))
    elif variant.suffix == ".png":
        from PIL import Image

        Image.fromarray(variant.image).save(path)
    elif variant.suffix == ".tif":
        import tifffile

        tifffile.imwrite(path, variant.image)
    else:
        raise ValueError(f"no writer for {variant.suffix}")
    return path


def rule(sb, mode, variant: Variant, half_box):
    """``(references, radii, margin)`` by the scoreboard's rule, on the variant."""
    from scipy.spatial import cKDTree

    points = variant.points
    if mode == "atoms":
        nn = float(np.median(cKDTree(points).query(points, k=2)[0][:, 1]))
        radius, margin = np.full(len(points), 0.35 * nn), 0.5 * nn
    else:
        radius, margin = np.maximum(3.0, half_box * variant.scale), 3.0
    keep = np.ones(len(points), bool) if variant.keep is None else variant.keep
    return points[keep], radius[keep], margin


def matched(ref, det, radius):
    """Indices of matched references and detections (the scoreboard's one-to-one matching)."""
    from scipy.optimize import linear_sum_assignment

    if not len(ref) or not len(det):
        return np.zeros(0, int), np.zeros(0, int)
    d = np.linalg.norm(ref[:, None] - det[None], axis=2)
    ok = d <= radius[:, None]
    i, j = linear_sum_assignment(np.where(ok, d, 1e6))
    good = ok[i, j]
    return i[good], j[good]


def overlay(image, ref, det, radius, path: Path) -> None:
    """An RGB PNG of ``image``: matched references green, missed blue, false detections red."""
    from PIL import Image, ImageDraw

    grey = image if image.dtype == np.uint8 else to_8bit(image.astype(float), 0.001)
    picture = Image.fromarray(grey).convert("RGB")
    draw = ImageDraw.Draw(picture)
    i, j = matched(ref, det, radius)
    found = np.zeros(len(ref), bool)
    found[i] = True
    true = np.zeros(len(det), bool)
    true[j] = True
    for (r, c), rad, ok in zip(ref, radius, found):
        colour = (0, 220, 0) if ok else (40, 120, 255)
        draw.ellipse([c - rad, r - rad, c + rad, r + rad], outline=colour)
    for (r, c), ok in zip(det, true):
        if not ok:
            draw.rectangle([c - 1.5, r - 1.5, c + 1.5, r + 1.5], outline=(255, 0, 0))
    picture.save(path)


MIN_REFERENCES = 5  # a variant with fewer references in it scores nothing worth a row


def run_one(sb, exe, name, mode, image, points, half_box, variant_name, folder, overlays=False):
    """Detect and score one variant of one image (its file written to ``folder``); None when
    the variant holds fewer than ``MIN_REFERENCES`` references (a crop beside the particle)."""
    transform, _ = VARIANTS[variant_name]
    variant = transform(image.astype(np.float64), points)
    if len(rule(sb, mode, variant, half_box)[0]) < MIN_REFERENCES:
        return None
    stem = f"{Path(name).stem}_{variant_name.replace('/', '_').replace('+', '_')}"
    path = write_variant(variant, folder / stem)
    det, wall, err = sb.detect(exe, path, mode)
    ref, radius, margin = rule(sb, mode, variant, half_box)
    shape = variant.image.shape[:2]
    if det is None:
        p = r = f = 0.0
    else:
        p, r, f = sb.score(ref, det, radius, margin, shape)
    if overlays and det is not None:
        overlay(variant.image, ref, det, radius, folder / f"{stem}_overlay.png")
    return {
        "image": name,
        "mode": mode,
        "variant": variant_name,
        "shape": list(shape),
        "precision": round(p, 3),
        "recall": round(r, 3),
        "f1": round(f, 3),
        "n_ref": int(len(ref)),
        "n_det": 0 if det is None else int(len(det)),
        "seconds": round(wall, 1),
        "error": " ".join(err) if err else "",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", default=shutil.which("napari-ivae") or ".venv/bin/napari-ivae")
    parser.add_argument("--only", default="", help="comma-separated parts of image names")
    parser.add_argument("--variants", default="", help=f"comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--out", default="", help="keep the variants and their overlays here")
    args = parser.parse_args(argv)
    wanted = [v for v in args.variants.split(",") if v] or list(VARIANTS)
    unknown = [v for v in wanted if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    only = [o for o in args.only.split(",") if o]
    sb = load_scoreboard()
    if sb is None:
        print("real_variants: ../shared/tools/detection_scoreboard.py not found, skipped")
        print(json.dumps({"benchmark": "real_variants", "skipped": "../shared absent"}))
        return 0
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="real_variants_"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    print(
        f"{'image':16s} {'variant':13s} {'shape':>11s}  {'P':>5s} {'R':>5s} {'F1':>5s}  "
        f"{'ref':>4s} {'det':>5s} {'s':>5s}"
    )
    try:
        for name, mode, image, points, half_box in references(sb):
            if only and not any(o in name for o in only):
                continue
            for variant_name in wanted:
                if mode not in VARIANTS[variant_name][1]:
                    continue
                row = run_one(
                    sb,
                    args.exe,
                    name,
                    mode,
                    image,
                    points,
                    half_box,
                    variant_name,
                    folder,
                    overlays=bool(args.out),
                )
                if row is None:
                    print(
                        f"{name:16s} {variant_name:13s} skipped: under {MIN_REFERENCES} references"
                    )
                    continue
                rows.append(row)
                shape = "x".join(map(str, row["shape"]))
                extra = f"  error: {row['error']}" if row["error"] else ""
                print(
                    f"{name:16s} {variant_name:13s} {shape:>11s}  {row['precision']:5.3f} "
                    f"{row['recall']:5.3f} {row['f1']:5.3f}  {row['n_ref']:4d} "
                    f"{row['n_det']:5d} {row['seconds']:5.1f}{extra}",
                    flush=True,
                )
    finally:
        if not args.out:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"benchmark": "real_variants", "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
