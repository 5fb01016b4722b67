"""Make the tutorial's latent-manifold figures of two real images, headless, from the core.

    python docs/manifolds.py [--images gold srtio3] [--models DIR]

``gold``: the packaged STEM gold grain boundary sample; ``srtio3``: the SrTiO3 ADF image of
``../shared/data/atoms/stem_srtio3_adf_abf_atomap/adf.npy`` (read where it lies, never
copied; skipped when absent). As in the Detect, Patches and Train widgets with their defaults:
columns found by ``detect_atoms``, patches of two lattice spacings cut at them (global
normalisation), an rVAE trained with ``TrainConfig.defaults_for("rvae")`` (seed 0). The
figure is what the Results widget's *Show decoded latent manifold* decodes
(``latent_manifold`` over the 2nd-98th percentile of the data's codes), shown at the
patches' contrast (1st-99th percentile), beside the same tiles minus their row's average
(what z1 changes) and minus their column's average (what z2 changes), red brighter and blue
darker, each on the scale of its largest change (in the caption), so a small change along
one axis is not hidden by a large one along the other. The caption also says whether each
axis carries information (its KL to the prior, and the spread of the codes over their
posterior standard deviation), how the standardised patches' variance splits over their
principal components (how many factors the image holds) and how much a straight axis along
each component changes a patch (what one latent axis could show, whatever the model), next
to how much the decoded grid changes along z1 and z2. Writes
``docs/images/manifold_<image>.png``; ``--models DIR`` keeps (and reuses) the trained models
there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRTIO3 = HERE.parents[1] / "shared" / "data" / "atoms" / "stem_srtio3_adf_abf_atomap" / "adf.npy"
N = 8  # tiles per side, as the Results widget
ZOOM = 2  # screen pixels per patch pixel


def load_image(name: str) -> np.ndarray | None:
    """The image of ``name`` (None when its file is absent)."""
    if name == "gold":
        from napari_ivae._sample_data import gold_sample

        return np.asarray(gold_sample()[0][0], dtype=np.float32)
    return np.load(SRTIO3).astype(np.float32) if SRTIO3.is_file() else None


def patches_of(image: np.ndarray):
    """Patches of two spacings (median nearest-neighbour distance of the detected columns) at
    the detected columns: the widgets' defaults."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.atoms import detect_atoms
    from napari_ivae.core.patches.cutting import extract_patches

    rc = detect_atoms(image).coords[:, 1:]
    spacing = float(np.median(cKDTree(rc).query(rc, 2)[0][:, 1]))
    size = int(max(8, 2 * round(spacing)))
    return extract_patches(image, rc, size, normalize="global").patches


def trained(patches: np.ndarray, path: Path | None):
    """An rVAE with the defaults, trained on ``patches`` (or loaded from ``path``)."""
    from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
    from napari_ivae.core.models.persistence import load_model, save_model
    from napari_ivae.core.models.training import fit

    if path is not None and path.is_file():
        return load_model(path).model, None
    model = build_model(ModelConfig("rvae", patch_shape=patches.shape[1:]))
    result = fit(model, patches, config=TrainConfig.defaults_for("rvae", seed=0, device="cpu"))
    if path is not None:
        save_model(path, model, result=result)
    return model, result.timings["total_s"]


def latent_information(z_mean: np.ndarray, z_std: np.ndarray) -> dict:
    """Whether each latent carries information about the patches: its KL to the N(0, 1)
    prior (nats, mean over patches) and the spread of its codes over the median posterior
    standard deviation (1 or less: the codes cannot be told apart)."""
    var = np.square(z_std)
    kl = 0.5 * (np.square(z_mean) + var - 1.0 - np.log(var))
    ratio = z_mean.std(0) / np.median(z_std, 0)
    return {"kl_nats": kl.mean(0).tolist(), "spread_over_sigma": ratio.tolist()}


def principal_components(patches: np.ndarray, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of the patches, each standardised to mean 0 and std 1 (as the
    intensity-invariant rVAE reads them): the share of the variance in each component
    (all of them, largest first), and how much a straight axis along each of the first ``k``
    changes a patch from the 2nd to the 98th percentile of its scores (mean absolute change
    per pixel, in units of the standardised patches' std of 1; comparable with the decoded
    manifold's change along z in units of the patches' median std, since the model decodes
    at that contrast). The largest change one latent axis could show if it took that
    component alone: what the image holds to be shown, whatever the model."""
    flat = patches.reshape(len(patches), -1).astype(np.float64)
    flat = (flat - flat.mean(1, keepdims=True)) / np.maximum(flat.std(1, keepdims=True), 1e-12)
    u, s, vt = np.linalg.svd(flat - flat.mean(0), full_matrices=False)
    scores = u[:, :k] * s[:k]
    lo, hi = np.percentile(scores, [2, 98], axis=0)
    change = np.abs((hi - lo)[:, None] * vt[:k]).mean(1)
    return np.square(s) / np.square(s).sum(), change


def figure(tiles: np.ndarray, size: int, limits: tuple, spread: float, caption: str):
    """Three panels: the manifold at the data's contrast; each tile minus its row's average
    (what z1 changes); each tile minus its column's average (what z2 changes). Each change
    panel has its own scale (its largest change), given in the caption in units of the
    patches' median standard deviation ``spread``. Returns the image and the two scales."""
    from PIL import Image, ImageDraw

    grid = tiles.reshape(N, size, N, size)
    lo, hi = limits
    panels = [np.repeat(np.clip((tiles - lo) / (hi - lo), 0, 1)[..., None], 3, -1)]
    halves = []
    for axis in (2, 0):  # along z1: minus the row's average; along z2: the column's
        diff = (grid - grid.mean(axis=axis, keepdims=True)).reshape(tiles.shape)
        half = float(np.abs(diff).max()) or 1.0
        halves.append(half / spread)
        d = np.clip(diff / half, -1, 1)
        panels.append(np.stack([1 + np.minimum(d, 0), 1 - np.abs(d), 1 - np.maximum(d, 0)], -1))
    shown = []
    for img in panels:
        img = (img * 255).astype(np.uint8).repeat(ZOOM, 0).repeat(ZOOM, 1)
        img[:: size * ZOOM] = 90  # tile borders
        img[:, :: size * ZOOM] = 90
        shown.append(img)
    gap = np.full((shown[0].shape[0], 12, 3), 255, np.uint8)
    body = np.concatenate([shown[0], gap, shown[1], gap, shown[2]], 1)
    caption += (
        f"\nmiddle: each tile minus its row's average (what z1 changes; red brighter, blue "
        f"darker, full colour = {halves[0]:.2f} x the patches' median std); right: minus its "
        f"column's average (what z2 changes; full colour = {halves[1]:.2f} x)"
    )
    text_h = 16 * (len(caption.splitlines()) + 1)
    canvas = Image.new("RGB", (body.shape[1], body.shape[0] + text_h), "white")
    canvas.paste(Image.fromarray(body), (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.multiline_text((4, body.shape[0] + 4), caption, fill="black", spacing=4)
    return canvas, halves


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", default=["gold", "srtio3"])
    parser.add_argument("--out", type=Path, default=HERE / "images")
    parser.add_argument("--models", type=Path, help="folder to keep / reuse trained models")
    args = parser.parse_args(argv)
    import torch

    from napari_ivae.core.models.inference import encode, latent_manifold, latent_ranges

    torch.set_num_threads(1)
    report = {}
    for name in args.images:
        image = load_image(name)
        if image is None:
            print(f"{name}: image not found, skipped", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        patches = patches_of(image)
        path = None if args.models is None else args.models / f"{name}.ivae.pt"
        model, train_s = trained(patches, path)
        enc = encode(model, patches)
        ranges = latent_ranges(enc.z_mean)
        tiles = latent_manifold(model, n=N, ranges=ranges)
        limits = tuple(float(v) for v in np.percentile(patches, [1, 99]))
        size = patches.shape[1]
        spans = ", ".join(f"z{i + 1} {lo:.2f} to {hi:.2f}" for i, (lo, hi) in enumerate(ranges))
        spread = float(np.median(patches.std(axis=(1, 2))))
        info = latent_information(enc.z_mean, enc.z_std)
        grid = tiles.reshape(N, size, N, size)
        # how much the tiles change along each axis (mean absolute difference of the first
        # and last tile), against the patches' own spread
        along_z1 = float(np.abs(grid[:, :, -1] - grid[:, :, 0]).mean())
        along_z2 = float(np.abs(grid[0] - grid[-1]).mean())
        shares, pc_change = principal_components(patches)
        caption = (
            f"{name}: rVAE (defaults) on {len(patches)} column patches of {size} px; z1 left to "
            f"right, z2 bottom to top over the data's codes ({spans})\n"
            "information per axis (KL, nats; codes' spread / posterior std): "
            + ", ".join(
                f"z{i + 1} {kl:.1f}, {ratio:.0f}x"
                for i, (kl, ratio) in enumerate(zip(info["kl_nats"], info["spread_over_sigma"]))
            )
            + "; the standardised patches' variance in PCA components 1-4: "
            + " / ".join(f"{100 * v:.0f} %" for v in shares[:4])
            + ",\na straight axis along each changes a patch by "
            + " / ".join(f"{v:.2f}" for v in pc_change[:4])
            + " x its std on average (2nd to 98th percentile of the scores; the decoded grid: "
            + f"z1 {along_z1 / spread:.2f} x, z2 {along_z2 / spread:.2f} x, first to last tile)"
            + "\nleft: decoded at the patches' contrast (1st-99th percentile)"
        )
        canvas, halves = figure(tiles, size, limits, spread, caption)
        args.out.mkdir(parents=True, exist_ok=True)
        out = args.out / f"manifold_{name}.png"
        # palette-compressed, as docs/screenshots.py does, so the committed file stays small
        canvas.quantize(colors=256, method=2, dither=0).save(out, optimize=True)
        report[name] = {
            "png": str(out),
            "patches": int(len(patches)),
            "size": size,
            "intensity_invariant": bool(getattr(model, "standardized", False)),
            "change_z1_over_patch_std": round(along_z1 / spread, 3),
            "change_z2_over_patch_std": round(along_z2 / spread, 3),
            "largest_change_z1_z2_over_patch_std": [round(h, 3) for h in halves],
            "kl_nats": [round(v, 2) for v in info["kl_nats"]],
            "spread_over_posterior_sigma": [round(v, 1) for v in info["spread_over_sigma"]],
            "pca_variance_share_standardised": [round(float(v), 4) for v in shares[:6]],
            "pca_axis_change_over_patch_std": [round(float(v), 3) for v in pc_change],
            "train_s": None if train_s is None else round(train_s, 1),
            "seconds": round(time.perf_counter() - t0, 1),
            "loadavg": round(os.getloadavg()[0], 1),
        }
        print(name, json.dumps(report[name]), flush=True)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
