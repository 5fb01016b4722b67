"""How well the decoders reconstruct real atom-column patches: model vs mean patch vs PCA.

Usage::

    python benchmarks/generative.py              # every real image with references (+ SrTiO3)
    python benchmarks/generative.py --quick      # Au and CsPbBr3 only (2-4 min on a shared core)
    python benchmarks/generative.py --images au ptir --kinds rvae shift-vae
    python benchmarks/generative.py --images au ptir --heldout 0.2   # + held-out patches
    python benchmarks/generative.py --extra      # images without references + synthetic ones

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
#: ``--extra``: the other real atom images (no references: patches at the columns
#: ``detect_atoms`` finds with its defaults; ``flatten`` where the image needs it, as a user
#: would set it for a tilted STM topograph), name -> (image, flatten)
EXTRA_REAL = {
    "srtio3-abf": ("stem_srtio3_adf_abf_atomap/abf.npy", None),
    "pto-det": ("stem_pto_sro_temul/pto_sro.npy", None),
    "dso": ("stem_atomsegnet_testimg/10_dso_8nm_none_none.npy", None),
    "si110": ("stem_atomsegnet_testimg/Si110_5nmX25us_03_none_none.npy", None),
    "au-gb": ("stem_atomsegnet_testimg/Grain_boundry_gold_512px.npy", None),
    "np12965": ("stem_atomsegnet_testimg/12965.npy", None),
    "img12028": ("stem_atomsegnet_testimg/12028.npy", None),
    "afterimage": ("stem_atomsegnet_testimg/03_afterimage_8nm_crp.npy", None),
    "se-mos2": ("stem_se_mos2_temul/mos2.npy", None),
    "stm-defects": ("stm_spiepy/image_with_defects.npy", "plane"),
    "stm-step": ("stm_spiepy/image_with_step_edge_and_atoms.npy", "plane"),
}
#: ``--extra``: synthetic stand-ins for held-out images, cut at the true columns, with the
#: noise-free image known. ``np-dN``: a nanoparticle HAADF (hexagonal columns 20 px apart in a
#: disc of ~200 columns, two grains turned 30 degrees apart, 30 % of the columns 1.6 x brighter
#: (an alloy), brighter towards the centre as a sphere is thicker, on an amorphous carbon
#: support; Poisson noise with N counts at a column of the centre's height; 30 px patches);
#: ``perovskite``: two column types (B at 0.4 of A), 20 counts; ``vacancies``: a square
#: lattice with 4 % vacancies and 4 % brighter dopants, 20 counts.
SYNTHETIC = {
    "np-d3": dict(kind="particle", dose=3.0),
    "np-d10": dict(kind="particle", dose=10.0),
    "np-d30": dict(kind="particle", dose=30.0),
    "np-d100": dict(kind="particle", dose=100.0),
    "perovskite": dict(
        kind="lattice",
        dose=20.0,
        shape=(288, 288),
        spacing=14.0,
        lattice="perovskite",
        sublattice_intensity=0.4,
        position_jitter=0.4,
        background=0.05,
    ),
    "vacancies": dict(
        kind="lattice",
        dose=20.0,
        shape=(320, 320),
        spacing=16.0,
        lattice="square",
        vacancies=0.04,
        dopants=0.04,
        dopant_intensity=1.5,
        position_jitter=0.4,
        background=0.05,
        rotation=12.0,
    ),
}
EXTRA = (*EXTRA_REAL, *SYNTHETIC)
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


def synthetic_image(name: str, seed: int = 0):
    """A synthetic stand-in (:data:`SYNTHETIC`): ``(noisy image, noise-free image, true
    (row, col) of the columns)``. The noise-free image is the same draw before the noise."""
    from napari_ivae.core.synthetic.lattice import make_lattice

    spec = dict(SYNTHETIC[name])
    kind, dose = spec.pop("kind"), float(spec.pop("dose"))
    rng = np.random.default_rng(seed + 1000)
    if kind == "particle":
        shape, radius = (416, 416), 150.0
        common = dict(
            spacing=20.0,
            lattice="hexagonal",
            domains=2,
            domain_angles=[17.0, 47.0],
            dopants=0.3,
            dopant_intensity=1.6,
            particle_radius=radius,
            position_jitter=0.4,
            noise=0.0,
            background=0.0,
            seed=seed,
        )
        atoms = make_lattice(shape, amorphous=0.0, **common)
        support = make_lattice(shape, amorphous=0.3, **common).image - atoms.image
        rr, cc = np.mgrid[: shape[0], : shape[1]]
        r = np.hypot(rr - shape[0] / 2.0, cc - shape[1] / 2.0) / radius
        thickness = 0.2 + 0.8 * np.sqrt(np.clip(1.0 - r**2, 0.0, 1.0))
        clean = 0.05 + thickness * atoms.image + support
        positions = atoms.positions
    else:
        lat = make_lattice(noise=0.0, seed=seed, **spec)
        clean, positions = lat.image.astype(np.float64), lat.positions
    noisy = rng.poisson(np.clip(clean, 0.0, None) * dose) / dose
    return noisy.astype(np.float32), clean.astype(np.float32), positions


def load_patches(name: str, factor: float, seed: int = 0):
    """Patches of one image cut at its references (or detected columns); plus a description
    and, for a synthetic image, the noise-free patches at the same places (else None)."""
    from scipy.spatial import cKDTree

    clean = None
    if name in SYNTHETIC:
        image, clean, rc = synthetic_image(name, seed)
        source = "truth"
    elif name in EXTRA_REAL:
        from napari_ivae.core.detection.atoms import detect_atoms

        image_file, flatten = EXTRA_REAL[name]
        image = np.load(DATA / image_file).astype(np.float32)
        if flatten is not None:
            from napari_ivae.core.io.image import flatten_background

            image = flatten_background(image, flatten).astype(np.float32)
        rc = detect_atoms(image).coords[:, 1:]
        source = "detected"
    else:
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
    clean_patches = None
    if clean is not None:
        clean_patches = extract_patches(clean, rc, size).patches
    return (
        ps.patches,
        clean_patches,
        {
            "n_points": int(len(rc)),
            "positions": source,
            "spacing_px": spacing,
            "patch_size": size,
            "noise_ceiling": round(noise_ceiling(image, rc, size, ps), 4),
        },
    )


def noise_ceiling(image: np.ndarray, rc: np.ndarray, size: int, patches) -> float:
    """The mean correlation a noise-free reconstruction of the cut patches could reach, from
    the image's white noise: per patch sqrt(1 - noise variance / patch variance).

    Each patch's noise standard deviation is measured on the same place cut at whole pixels
    (no interpolation), from second differences along rows and columns
    (``x[i-1] - 2 x[i] + x[i+1]`` has variance 6 sigma^2 for white noise; the signal's own
    curvature counts too, so it errs high), and scaled by what the bilinear interpolation of
    the sub-pixel cut leaves of white noise (``((1 - f)^2 + f^2)`` per axis, ``f`` the
    fractional part of the sampled coordinates). On the synthetic stand-ins (Poisson noise,
    3-100 counts) it matches the correlation of the noise-free patches with their noisy copies
    within 0.002. Noise correlated between pixels (a resampled or filtered image) is
    underestimated, so the ceiling errs high there.
    """
    whole = extract_patches(image, rc, size, subpixel=False, border="flag")
    at = {int(i): n for n, i in enumerate(whole.indices)}
    x = whole.patches[[at[int(i)] for i in patches.indices]].astype(np.float64)
    d_rows = x[:, 2:, :] - 2.0 * x[:, 1:-1, :] + x[:, :-2, :]
    d_cols = x[:, :, 2:] - 2.0 * x[:, :, 1:-1] + x[:, :, :-2]
    noise_var = (np.mean(d_rows**2, axis=(1, 2)) + np.mean(d_cols**2, axis=(1, 2))) / 12.0
    gain = np.ones(len(x))
    for axis in range(2):  # a ramp along the axis, cut the same way, gives the sampled coordinate
        shape = (-1, 1) if axis == 0 else (1, -1)
        ramp = np.broadcast_to(
            np.arange(image.shape[axis], dtype=np.float32).reshape(shape), image.shape
        )
        first = extract_patches(np.ascontiguousarray(ramp), rc, size).patches[:, 0, 0]
        f = first - np.floor(first)
        gain *= (1.0 - f) ** 2 + f**2
    var = patches.patches.reshape(len(x), -1).astype(np.float64).var(1)
    signal = np.clip(var - gain * noise_var, 0.0, None)
    return float(np.mean(np.sqrt(signal / np.maximum(var, 1e-300))))


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
    kind: str,
    patches: np.ndarray,
    k: int,
    share: float,
    seed: int,
    overrides,
    model_options,
    clean: np.ndarray | None = None,
) -> dict:
    """Train on a random ``1 - share`` of the patches, score the rest (model and PCA fitted on
    the training part): a decoder that memorises its patches does worse here. With ``clean``
    (the noise-free patches) the held-out reconstructions are also scored against those
    (``_clean``). ``heldout_gap_*``: the model's mean gain over that PCA per held-out patch
    and its paired standard error."""
    order = np.random.default_rng(seed).permutation(len(patches))
    n_test = max(int(round(share * len(patches))), 1)
    test, train = patches[order[:n_test]], patches[order[n_test:]]
    model, result = train_model(kind, train, seed, overrides, model_options)
    rec = reconstruct(model, test)
    pca = pca_reconstruction(train, k, test=test)
    pca_std = pca_reconstruction(train, k, standardized=True, test=test)
    out = {
        "heldout_n": int(n_test),
        "heldout_train_r": round(float(correlations(train, reconstruct(model, train)).mean()), 4),
    }
    targets = {"": test} if clean is None else {"": test, "_clean": clean[order[:n_test]]}
    for suffix, target in targets.items():
        r = correlations(target, rec)
        for name, baseline in (("pca", pca), ("pca_std", pca_std)):
            gap = r - correlations(target, baseline)
            out[f"heldout_{name}_r{suffix}"] = round(float((r - gap).mean()), 4)
            # the gap's paired standard error over the held-out patches: a gap within about
            # two of these is chance
            out[f"heldout_gap_{name}{suffix}"] = [
                round(float(gap.mean()), 4),
                round(float(gap.std(ddof=1) / np.sqrt(max(len(gap), 2))), 4),
            ]
        out[f"heldout_r{suffix}"] = round(float(r.mean()), 4)
    out["heldout_train_s"] = round(result.timings["total_s"], 1)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--images", nargs="*", choices=[*IMAGES, *EXTRA], help="images to run")
    parser.add_argument(
        "--extra",
        action="store_true",
        help="the real images without references (patches at detected columns) and the "
        "synthetic stand-ins for held-out images, instead of the reference images",
    )
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
    names = args.images or (
        list(QUICK) if args.quick else list(EXTRA) if args.extra else list(IMAGES)
    )
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
        patches, clean, meta = load_patches(name, args.factor, args.seed)
        mean_r = float(
            correlations(patches, np.broadcast_to(patches.mean(0), patches.shape)).mean()
        )
        if clean is not None:  # the true ceiling: the noise-free patch against its noisy copy
            meta["clean_ceiling"] = round(float(correlations(patches, clean).mean()), 4)
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
            info["ratio_to_ceiling"] = round(model_r / max(meta["noise_ceiling"], 1e-9), 3)
            if clean is not None:  # how close each reconstruction comes to the noise-free patch
                info["model_r_clean"] = round(float(correlations(clean, rec).mean()), 4)
                info["pca_r_clean"] = round(
                    float(correlations(clean, pca_reconstruction(patches, k)).mean()), 4
                )
                info["pca_std_r_clean"] = round(
                    float(correlations(clean, pca_reconstruction(patches, k, True)).mean()), 4
                )
            if args.heldout > 0:
                info.update(
                    heldout(
                        kind, patches, k, args.heldout, args.seed, overrides, model_options, clean
                    )
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
    met = all(r["target_met"] for r in runs if r["image"] in IMAGES and r["image"] != "srtio3")
    print(
        json.dumps(
            {
                "benchmark": "generative",
                "mode": "quick" if args.quick else "extra" if args.extra else "full",
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
