"""Grid patches + shift-VAE: do the latent maps find the domains?

Usage::

    python benchmarks/grid.py                      # both synthetic samples, all rows
    python benchmarks/grid.py --samples two        # the napari sample only
    python benchmarks/grid.py --real srtio3 cspbbr3  # also real images (../shared/data)
    python benchmarks/grid.py --rows registered registered+tv

Samples: ``two`` is the "Synthetic lattice with two domains" (256 px, square lattice, spacing
12 px, domains at 0 and 45 deg, 2 % vacancies, seed 0); ``three`` has three domains at 0, 45
and 20 deg with 5 % vacancies (seed 5); ``noisy`` and ``lowdose`` are the two-domain layout
at 10 and 2 counts per atom peak (Poisson) with read-out noise and scan-line jitter. Real
images (``--real``) are read from ../shared/data; ``pto-left`` and ``mos2-hole`` are crops of
the larger ones (``CROPS``). Patch size and stride follow the product's automatic
rules from the measured spacing (two spacings; a quarter of the patch).

Rows (each trains a shift-VAE with ``TrainConfig.defaults_for("shift-vae")``, seed 0):

* ``plain``: patches cut at the fixed grid centres (``register=False``);
* ``registered``: the default, lattice-registered grid (``grid_patches`` with its defaults);
* ``registered+tv``: the same with the latent roughness term (``smoothness`` = ``--lam`` per
  patch pixel, form ``--form``: total variation, Gaussian MRF or scale-free total variation;
  on the first ``--latents`` z only when > 0), each tile's grid neighbours encoded with it;
* ``registered+psi``: the physics-driven VAE paper's control, the loss multiplied each epoch
  by ``(w + Psi)`` (``psi_slack`` = ``--slack``; Psi from the z maps' edge length).

``truth edge`` is the edge length of the true domain map on the same pixels (the floor a
correct segmentation cannot go below).

Each z map is scored by its edge length (:func:`edge_length`, lower = smoother); with
``--latents`` > 0 every row segments z1 (the designated phase map), otherwise the smoothest
active one (variance of the posterior means over the tiles > 0.01, as in the search) is
segmented (Otsu for two domains, multi-Otsu for more) and scored against the true
domain of the nearest atom, pixel by pixel after the best label permutation, with the edge
length of the segmentation (over the pixels that have data: the empty border strip is left
out, it is no domain wall). ``recon`` is the mean per-patch reconstruction term (negative
log-likelihood at the posterior means, all pixels). Prints one line per row, then a final
JSON line; ``--save-maps DIR`` also writes each row's z maps, segmentations and image to
``DIR/SAMPLE_ROW_lamL_seedS.npz``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from napari_ivae.core.analysis.maps import grid_map
from napari_ivae.core.analysis.search import ACTIVE_VARIANCE
from napari_ivae.core.analysis.segmentation import edge_length, segment_map
from napari_ivae.core.detection.spacing import estimate_spacing
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import encode
from napari_ivae.core.models.training import fit
from napari_ivae.core.patches.cutting import grid_patches
from napari_ivae.core.synthetic.lattice import make_lattice

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "atoms"
REAL = {
    "srtio3": DATA / "stem_srtio3_adf_abf_atomap" / "adf.npy",
    "cspbbr3": DATA / "stem_cspbbr3_statstem" / "cspbbr3.npy",
    "au": DATA / "stem_au_nanoparticle_temul" / "au_np_crop.npy",
    "ptir": DATA / "stem_ptir_np_statstem" / "ptir.npy",
    "pto": DATA / "stem_pto_sro_temul" / "pto_sro.npy",
    "stm": DATA / "stm_spiepy" / "image_with_defects.npy",
    "pto-left": DATA / "stem_pto_sro_temul" / "pto_sro.npy",
    "mos2-hole": DATA / "stem_se_mos2_temul" / "mos2.npy",
}
# (rows, cols) crops of the larger real images, so that a row trains on about as many patch
# pixels as the synthetic samples: the PTO film on its SRO substrate (left third, both phases
# and the interface) and a 256 px window of the Se-doped MoS2 around its dark pit
CROPS = {
    "pto-left": (slice(0, 224), slice(0, 448)),
    "mos2-hole": (slice(552, 808), slice(412, 668)),
}
SAMPLES = ("two", "three", "noisy", "lowdose")
ROWS = ("plain", "registered", "registered+tv", "registered+psi")


def matched_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Accuracy after the best one-to-one matching of labels to classes."""
    k = int(max(predicted.max(), truth.max())) + 1
    counts = np.zeros((k, k))
    np.add.at(counts, (predicted, truth), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(truth))


def synthetic(name: str):
    """(image, per-pixel true domain) of a synthetic sample."""
    from scipy.spatial import cKDTree

    if name == "two":
        lattice = make_lattice(
            (256, 256), spacing=12.0, rotation=0.0, domains=2, vacancies=0.02, seed=0
        )
    elif name in ("noisy", "lowdose"):
        # the two-domain layout at a realistic dose (10 counts at an atom peak, Poisson) or a
        # low one (2 counts), with read-out noise and scan-line jitter
        lattice = make_lattice(
            (256, 256),
            spacing=12.0,
            rotation=0.0,
            domains=2,
            vacancies=0.02,
            dose=10.0 if name == "noisy" else 2.0,
            noise=0.1,
            scan_jitter=0.7,
            seed=0,
        )
    else:
        lattice = make_lattice(
            (256, 256), spacing=12.0, domains=3, domain_angles=(0, 45, 20), vacancies=0.05, seed=5
        )
    rows, cols = np.mgrid[: lattice.image.shape[0], : lattice.image.shape[1]]
    _, nearest = cKDTree(lattice.positions).query(np.column_stack([rows.ravel(), cols.ravel()]))
    return lattice.image, lattice.domain[nearest].reshape(lattice.image.shape)


def reconstruction(model, patches: np.ndarray) -> float:
    """Mean per-patch negative log-likelihood at the posterior means (all pixels)."""
    with torch.no_grad():
        total = 0.0
        for start in range(0, len(patches), 512):
            x = torch.from_numpy(patches[start : start + 512])
            _, terms = model.loss(x, beta=1.0, generator=False)
            total += float(terms["recon"]) * len(x)
    return total / len(patches)


def run_row(
    row: str,
    image: np.ndarray,
    truth,
    n_classes: int,
    lam: float,
    seed: int,
    form: str = "tv",
    slack: float = 0.1,
    latents: int = 0,
    save: Path | None = None,
) -> dict:
    """Train one row and score its maps (and write them to ``save``, an ``.npz``, if given)."""
    spacing = estimate_spacing(image)
    size = int(max(8, 2 * round(spacing)))
    stride = max(1, size // 4)
    patchset = grid_patches(
        image, size, stride, normalize="global", register=False if row == "plain" else None
    )
    overrides = {"seed": seed, "device": "cpu"}
    if row.endswith("+tv"):
        overrides.update(smoothness=lam, smoothness_form=form, smoothness_latents=latents)
    if row.endswith("+psi"):
        overrides["psi_slack"] = slack
    model = build_model(ModelConfig("shift-vae", patch_shape=patchset.patch_shape))
    start = time.perf_counter()
    result = fit(
        model,
        patchset.patches,
        None,
        TrainConfig.defaults_for("shift-vae", **overrides),
        grid_shape=patchset.grid_shape,
    )
    seconds = time.perf_counter() - start
    z = encode(result.model, patchset.patches).z_mean
    maps = [grid_map(z[:, i], patchset) for i in range(z.shape[1])]
    edges = [edge_length(m) for m in maps]
    # the smoothest *active* map (as the search scores): a collapsed, nearly flat map has
    # short edges but shows nothing, and Otsu would split its noise
    active = [float(np.var(z[:, i])) > ACTIVE_VARIANCE for i in range(z.shape[1])]
    smoothest = (
        int(np.argmin([e if a else np.inf for e, a in zip(edges, active)]))
        if any(active)
        else int(np.argmin(edges))
    )
    best = 0 if latents > 0 else smoothest  # z1: the designated phase map
    method = "otsu" if n_classes == 2 else "multiotsu"
    segmentations: dict[str, np.ndarray] = {}

    def scored(index: int) -> dict:
        labels = segment_map(maps[index], method=method, n_classes=n_classes)
        segmentations[f"labels_z{index + 1}"] = labels
        valid = labels > 0
        one = {
            "segmented_map": f"z{index + 1}",
            "segment_edge": edge_length(
                np.where(valid, labels, np.nan).astype(np.float32), denoise=False
            ),
        }
        if truth is not None:
            one["agreement"] = matched_accuracy(labels[valid] - 1, truth[valid])
            one["truth_edge"] = edge_length(
                np.where(valid, truth, np.nan).astype(np.float32), denoise=False
            )
        return one

    out = {
        "row": row,
        "n_patches": len(patchset),
        "patch": size,
        "stride": stride,
        "spacing": float(spacing),
        "train_seconds": seconds,
        "epochs": len(result.history),
        "active": active,
        "recon": reconstruction(result.model, patchset.patches),
        "map_edges": edges,
        **scored(best),
    }
    if best != smoothest:  # the designated map's row also scores the smoothest active map
        out["smoothest"] = scored(smoothest)
    if save is not None:  # the z maps, the segmentations scored above and the image
        save.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(save, image=image, maps=np.stack(maps), **segmentations)
    return out


def saved_name(sample: str, row: str, lam: float, seed: int) -> str:
    """File name of a row's ``--save-maps`` output (lambda 0 for the rows without the term)."""
    return (
        f"{sample}_{row.replace('+', '-')}_lam{lam if row.endswith('+tv') else 0:g}_seed{seed}.npz"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", nargs="*", default=["two", "three", "noisy"], choices=SAMPLES)
    parser.add_argument("--real", nargs="*", default=[], choices=sorted(REAL))
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    parser.add_argument(
        "--lam", type=float, default=1.0, help="smoothness weight (per patch pixel) of +tv rows"
    )
    parser.add_argument(
        "--form", default="tv", choices=["tv", "gmrf", "tv-relative"], help="+tv rows' form"
    )
    parser.add_argument(
        "--latents",
        type=int,
        default=0,
        help="+tv rows: the term on the first K z only (0 = all); every row then segments z1",
    )
    parser.add_argument("--slack", type=float, default=0.1, help="w of +psi rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--save-maps",
        type=Path,
        default=None,
        help="folder: each row's z maps and segmentations as SAMPLE_ROW_lamL_seedS.npz",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.1f}; {args.threads} torch threads", flush=True)
    results = []
    jobs = [(name, *synthetic(name)) for name in args.samples]
    for name in args.real:
        if REAL[name].is_file():
            image = np.load(REAL[name]).astype(np.float32)
            jobs.append((name, image[CROPS.get(name, ...)], None))
        else:
            print(f"{name}: {REAL[name]} not found, skipped", flush=True)
    for name, image, truth in jobs:
        n_classes = int(truth.max()) + 1 if truth is not None else 2
        for row in args.rows:
            if truth is None and row == "plain":
                continue
            one = {
                "sample": name,
                **run_row(
                    row,
                    image,
                    truth,
                    n_classes,
                    args.lam,
                    args.seed,
                    args.form,
                    args.slack,
                    args.latents,
                    None
                    if args.save_maps is None
                    else args.save_maps / saved_name(name, row, args.lam, args.seed),
                ),
            }
            results.append(one)
            agree = (
                f"agreement {one['agreement']:.3f} (truth edge {one['truth_edge']:.0f} px)  "
                if "agreement" in one
                else ""
            )
            print(
                f"{name:8s} {row:14s} {one['n_patches']} patches {one['patch']} px / "
                f"{one['stride']}: {agree}segment edge {one['segment_edge']:.0f} px "
                f"({one['segmented_map']}; map edges "
                f"{', '.join(f'{e:.0f}' for e in one['map_edges'])}); recon "
                f"{one['recon']:.1f}; {one['epochs']} epochs in {one['train_seconds']:.0f} s"
                + (
                    f" (smoothest active map {one['smoothest']['segmented_map']}: segment edge "
                    f"{one['smoothest']['segment_edge']:.0f} px)"
                    if "smoothest" in one
                    else ""
                ),
                flush=True,
            )
    print(
        json.dumps(
            {
                "benchmark": "grid",
                "lam": args.lam,
                "form": args.form,
                "latents": args.latents,
                "slack": args.slack,
                "seed": args.seed,
                "threads": args.threads,
                "load_average": os.getloadavg()[0],
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
