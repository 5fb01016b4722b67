"""How well the decoders reconstruct real atom-column patches: model vs mean patch vs PCA.

Usage::

    python benchmarks/generative.py              # every real image with references (+ SrTiO3)
    python benchmarks/generative.py --quick      # Au and CsPbBr3 only (2-4 min on a shared core)
    python benchmarks/generative.py --images au ptir --kinds rvae shift-vae
    python benchmarks/generative.py --images au ptir --heldout 0.2   # + held-out patches

For each image, patches are cut at the reference column positions (``extract_patches``, size
``--factor`` x the median nearest-neighbour distance of the references), so detection plays no
part; the SrTiO3 ADF image has no references and uses ``detect_atoms``. A model of each
``--kinds`` is trained with ``TrainConfig.defaults_for(kind)`` and its reconstruction is scored
as the mean over patches of the Pearson correlation between the patch and
``decode(model, z_mean, angle, offsets)`` (the posterior means). The baselines are the mean
patch for every patch, and PCA with as many components as the model has latents + 1 (fitted
on the same patches). ``pca_next_pose_share`` is the share of that last PCA component which a
small turn or shift of the mean patch can produce (:func:`pose_share`): the rVAE's z spans
about the first ``latents`` components, so it can beat that PCA through its pose only when this
share is large. ``pca_std_r`` is that PCA fitted to the patches each brought to mean 0 and
standard deviation 1: an intensity-invariant model (``ModelConfig.intensity_invariant``, on by
default for grey patches) reconstructs each patch's shape at a common level and contrast, which
the correlation does not see, so this is the stricter baseline for it. With ``--heldout SHARE``
a second model is trained on the other patches and scored on that share (PCA fitted on the
same training part). Prints one line per image and model, then a final JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import decode, encode
from napari_ivae.core.models.training import fit
from napari_ivae.core.patches.cutting import extract_patches

DATA = (
    Path(
        os.environ.get("IVAE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    / "atoms"
)
if not DATA.exists():
    DATA = Path("/work/shared/data/atoms")

#: name -> (image, reference positions or None, their column order)
IMAGES = {
    "au": (
        "stem_au_nanoparticle_temul/au_np_crop.npy",
        "stem_au_nanoparticle_temul/au_np_crop_positions_xy.npy",
        "xy",
    ),
    "ptir": ("stem_ptir_np_statstem/ptir.npy", "stem_ptir_np_statstem/ptir_positions_rc.npy", "rc"),
    "cspbbr3": (
        "stem_cspbbr3_statstem/cspbbr3.npy",
        "stem_cspbbr3_statstem/cspbbr3_positions_rc.npy",
        "rc",
    ),
    "pto": ("stem_pto_sro_temul/pto_sro.npy", "stem_pto_sro_temul/atom_positions1_xy.npy", "xy"),
    "srtio3": ("stem_srtio3_adf_abf_atomap/adf.npy", None, None),
}
QUICK = ("au", "cspbbr3")


def correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair of patches ``(N, H, W)``."""
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.sqrt((a**2).sum(1) * (b**2).sum(1))
    return np.where(den > 0, (a * b).sum(1) / np.maximum(den, 1e-300), 0.0)


def pca_reconstruction(
    patches: np.ndarray, k: int, standardized: bool = False, test: np.ndarray | None = None
) -> np.ndarray:
    """Rank-``k`` PCA reconstruction (mean + k components) of the patches themselves, or of
    ``test`` projected on the components fitted to ``patches`` (held-out patches).

    ``standardized``: PCA of the patches each brought to mean 0 and standard deviation 1 (what
    an intensity-invariant model sees; the correlation ignores each patch's level and contrast,
    so this is the stricter baseline for such a model).
    """

    def prepare(x):
        f = x.reshape(len(x), -1).astype(np.float64)
        if standardized:
            f = (f - f.mean(1, keepdims=True)) / np.maximum(f.std(1, keepdims=True), 1e-12)
        return f

    flat = prepare(patches)
    mean = flat.mean(0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    target = flat if test is None else prepare(test)
    rec = mean + ((target - mean) @ vt[:k].T) @ vt[:k]
    return rec.reshape((len(target), *patches.shape[1:]))


def pose_share(patches: np.ndarray, k: int) -> float | None:
    """Share of the patches' ``k``-th principal image (1-based) that lies in the span of the
    mean patch's pose tangents (how it changes with a small turn or shift; an rVAE's decoder
    at its PCA start, z = 0). Near 1: that component is a pose change, which the rVAE's pose
    latents can explain on top of its z; near 0: only a decoder nonlinear in z can."""
    model = build_model(ModelConfig("rvae", patch_shape=patches.shape[1:]))
    model.init_weights(0)
    with torch.no_grad():
        model.fit_normalization(patches)
        if model.bernoulli:
            return None
        sl = model.layout.slices()
        idx = [i for n in ("theta", "offsets") if n in sl for i in range(sl[n].start, sl[n].stop)]
        step = torch.zeros(2 * len(idx), model.layout.size)
        for j, i in enumerate(idx):
            step[2 * j, i], step[2 * j + 1, i] = 0.02, -0.02
        r = model.render_logits(step).double().numpy()
    tangents = (r[0::2] - r[1::2]) / 0.04
    flat = patches.reshape(len(patches), -1).astype(np.float64)
    _, _, vt = np.linalg.svd(flat - flat.mean(0), full_matrices=False)
    q, _ = np.linalg.qr(tangents.T)
    return float(np.linalg.norm(q.T @ vt[k - 1]) ** 2)


def load_patches(name: str, factor: float):
    """Patches of one image cut at its references (or detected columns); plus a description."""
    from scipy.spatial import cKDTree

    image_file, positions_file, order = IMAGES[name]
    image = np.load(DATA / image_file).astype(np.float32)
    if positions_file is None:
        from napari_ivae.core.detection.atoms import detect_atoms

        rc = detect_atoms(image).coords[:, 1:]
        source = "detected"
    else:
        pos = np.load(DATA / positions_file).astype(np.float64)
        rc = pos[:, ::-1] if order == "xy" else pos
        source = "references"
    dist, _ = cKDTree(rc).query(rc, 2)
    spacing = float(np.median(dist[:, 1]))
    size = max(int(round(factor * spacing)), 8)
    ps = extract_patches(image, rc, size)
    return ps.patches, {
        "n_points": int(len(rc)),
        "positions": source,
        "spacing_px": spacing,
        "patch_size": size,
    }


def reconstruct(model, patches: np.ndarray) -> np.ndarray:
    """Each patch decoded at its posterior means."""
    enc = encode(model, patches)
    return decode(model, enc.z_mean, enc.angle, enc.offsets)


def run_model(
    kind: str, patches: np.ndarray, seed: int, overrides: dict, model_options: dict
) -> tuple[np.ndarray, dict]:
    """Train ``kind`` with its defaults and decode every patch at its posterior mean."""
    model, result = train_model(kind, patches, seed, overrides, model_options)
    enc = encode(model, patches)
    rec = decode(model, enc.z_mean, enc.angle, enc.offsets)
    info = {
        "intensity_invariant": bool(model.standardized),
        "train_s": round(result.timings["total_s"], 1),
        "steps": int(sum(h["steps"] for h in result.history)),
        "latents": int(model.layout.latent_dim),
        "z_std_over_patches": [round(float(v), 3) for v in enc.z_mean.std(0)],
        "z_posterior_std": [round(float(v), 3) for v in enc.z_std.mean(0)],
    }
    if enc.angle is not None:
        info["angle_std"] = round(float(enc.angle.std()), 3)
        info["corr_angle0"] = round(
            float(correlations(patches, decode(model, enc.z_mean, None, enc.offsets)).mean()), 3
        )
    if enc.offsets is not None:
        info["offset_std"] = round(float(enc.offsets.std()), 3)
    return rec, info


def train_model(kind: str, patches: np.ndarray, seed: int, overrides: dict, model_options: dict):
    """A ``kind`` model trained on ``patches`` with its defaults; ``(model, TrainResult)``."""
    config = ModelConfig(kind, patch_shape=patches.shape[1:], **model_options)
    train_config = TrainConfig.defaults_for(kind, seed=seed, device="cpu", **overrides)
    model = build_model(config)
    return model, fit(model, patches, config=train_config)


def heldout(
    kind: str, patches: np.ndarray, k: int, share: float, seed: int, overrides, model_options
) -> dict:
    """Train on a random ``1 - share`` of the patches, score the rest (model and PCA fitted on
    the training part): a decoder that memorises its patches does worse here."""
    order = np.random.default_rng(seed).permutation(len(patches))
    n_test = max(int(round(share * len(patches))), 1)
    test, train = patches[order[:n_test]], patches[order[n_test:]]
    model, result = train_model(kind, train, seed, overrides, model_options)
    return {
        "heldout_n": int(n_test),
        "heldout_train_r": round(float(correlations(train, reconstruct(model, train)).mean()), 4),
        "heldout_r": round(float(correlations(test, reconstruct(model, test)).mean()), 4),
        "heldout_pca_r": round(
            float(correlations(test, pca_reconstruction(train, k, test=test)).mean()), 4
        ),
        "heldout_pca_std_r": round(
            float(
                correlations(
                    test, pca_reconstruction(train, k, standardized=True, test=test)
                ).mean()
            ),
            4,
        ),
        "heldout_train_s": round(result.timings["total_s"], 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--images", nargs="*", choices=list(IMAGES), help="images to run")
    parser.add_argument(
        "--kinds",
        nargs="*",
        default=["rvae"],
        choices=["rvae", "shift-vae", "vae"],
        help="model kinds to train",
    )
    parser.add_argument(
        "--factor",
        type=float,
        default=1.5,
        help="patch size as a multiple of the nearest-neighbour spacing",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--heldout",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="also train on 1 - SHARE of the patches and score the held-out rest (e.g. 0.2)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="TrainConfig overrides, e.g. min_steps=600",
    )
    parser.add_argument(
        "--model",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="ModelConfig options, e.g. likelihood=gaussian",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(max(args.threads, 1))
    overrides = {
        k: json.loads(v) if v[:1] in "0123456789-[{tf" else v
        for k, v in (s.split("=", 1) for s in args.set)
    }
    model_options = {
        k: json.loads(v) if v[:1] in "0123456789-[{tf" else v
        for k, v in (s.split("=", 1) for s in args.model)
    }
    names = args.images or (list(QUICK) if args.quick else list(IMAGES))
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, loadavg "
        f"{os.getloadavg()[0]:.2f}; overrides {overrides} model {model_options}",
        flush=True,
    )
    print(
        f"{'image':8s} {'N':>4s} {'size':>4s} {'model':10s} {'model r':>8s} {'mean r':>7s} "
        f"{'PCA k':>5s} {'PCA r':>6s} {'beats':>5s} {'train s':>7s}",
        flush=True,
    )
    runs, t0 = [], time.perf_counter()
    for name in names:
        patches, meta = load_patches(name, args.factor)
        mean_r = float(
            correlations(patches, np.broadcast_to(patches.mean(0), patches.shape)).mean()
        )
        for kind in args.kinds:
            rec, info = run_model(kind, patches, args.seed, overrides, model_options)
            model_r = float(correlations(patches, rec).mean())
            k = info["latents"] + 1
            pca_r = float(correlations(patches, pca_reconstruction(patches, k)).mean())
            beats = model_r >= 0.80 and model_r > pca_r
            share = pose_share(patches, k)
            info["pca_next_pose_share"] = None if share is None else round(share, 3)
            info["pca_std_r"] = round(
                float(correlations(patches, pca_reconstruction(patches, k, True)).mean()), 4
            )
            if args.heldout > 0:
                info.update(
                    heldout(kind, patches, k, args.heldout, args.seed, overrides, model_options)
                )
            runs.append(
                {
                    "image": name,
                    "kind": kind,
                    **meta,
                    "model_r": round(model_r, 4),
                    "mean_patch_r": round(mean_r, 4),
                    "pca_components": k,
                    "pca_r": round(pca_r, 4),
                    "target_met": bool(beats),
                    **info,
                }
            )
            extra = {k2: v for k2, v in info.items() if k2 not in ("train_s", "latents")}
            print(
                f"{name:8s} {len(patches):4d} {meta['patch_size']:4d} {kind:10s} "
                f"{model_r:8.3f} {mean_r:7.3f} {k:5d} {pca_r:6.3f} {'yes' if beats else 'no':>5s} "
                f"{info['train_s']:7.1f}  {json.dumps(extra)}",
                flush=True,
            )
    met = all(r["target_met"] for r in runs if r["image"] != "srtio3")
    print(
        json.dumps(
            {
                "benchmark": "generative",
                "mode": "quick" if args.quick else "full",
                "factor": args.factor,
                "seed": args.seed,
                "overrides": overrides,
                "model_options": model_options,
                "target_met": met,
                "wall_s": round(time.perf_counter() - t0, 1),
                "runs": runs,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
