"""Unsupervised classes: k-means on latent codes (rVAE, plain VAE) and the joint rVAE, on the cards.

Usage::

    python benchmarks/clustering.py            # 4 suits x 500, +/-60 deg rotation, shifts
    python benchmarks/clustering.py --quick    # 4 suits x 150, fewer epochs
    python benchmarks/clustering.py --lattice  # also: the two domains of the lattice sample
    python benchmarks/clustering.py --jrvae-seeds 1   # the joint rVAE for one seed (default 3)

Trains each model with the product's defaults (``TrainConfig.defaults_for``), groups the
patches into 4 classes with :func:`napari_ivae.core.analysis.clustering.cluster_latents` (seed 0) and
scores the classes against the true suits after the best one-to-one matching. Chance is 0.25.
The joint rVAE (``jrvae``, 4 classes) is scored by its own classes (argmax q(y|x)) and by
k-means on its z, for ``--jrvae-seeds`` seeds (mean and spread).
``--lattice`` does the same with 2 classes on the lattice sample (256 px, two domains at 0 and
45 deg): patches centred on detected atoms (rVAE) against grid patches (shift-VAE, rVAE),
scored against the true domain of the nearest atom. Prints one line per model, then a final
JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from napari_ivae.core.analysis.clustering import cluster_latents
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import encode
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import make_cards


def matched_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Accuracy after the best one-to-one matching of clusters to classes."""
    k = int(max(predicted.max(), truth.max())) + 1
    counts = np.zeros((k, k))
    np.add.at(counts, (predicted, truth), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(truth))


def run(
    kind: str,
    images: np.ndarray,
    truth: np.ndarray,
    epochs: int | None,
    seed: int,
    n_classes: int = 4,
) -> dict:
    """Train one model kind with its defaults, cluster its codes, score the classes."""
    overrides = {"seed": seed, "device": "cpu"}
    if epochs is not None:
        overrides["epochs"] = epochs
    extra = {"n_classes": n_classes} if kind == "jrvae" else {}
    model = build_model(ModelConfig(kind, patch_shape=images.shape[1:], **extra))
    start = time.perf_counter()
    result = fit(model, images, None, TrainConfig.defaults_for(kind, **overrides))
    train_seconds = time.perf_counter() - start
    encoding = encode(result.model, images)
    out = {
        "kind": kind,
        "seed": seed,
        "train_seconds": train_seconds,
        "epochs": len(result.history),
    }
    if encoding.class_prob is not None:
        own = encoding.class_prob.argmax(1)
        out["classes"] = {
            "accuracy": matched_accuracy(own, truth),
            "sizes": np.bincount(own, minlength=n_classes).tolist(),
        }
    start = getattr(result.model, "initial_classes", None)
    if start is not None:  # jrvae: the classes it started the joint phase from
        out["start_accuracy"] = matched_accuracy(np.asarray(start), truth)
    for use_angle in [False, True] if encoding.angle is not None else [False]:
        start = time.perf_counter()
        clustering = cluster_latents(encoding, n_classes, seed=0, use_angle=use_angle)
        name = "with_angle" if use_angle else "z_only"
        out[name] = {
            "accuracy": matched_accuracy(clustering.labels, truth),
            "sizes": clustering.sizes.tolist(),
            "cluster_seconds": time.perf_counter() - start,
        }
    return out


def lattice_domains(seed: int) -> list[dict]:
    """k-means (2) on codes of the lattice sample's patches, against the true domains."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.atoms import detect_atoms
    from napari_ivae.core.patches.cutting import extract_patches, grid_patches
    from napari_ivae.core.synthetic.lattice import make_lattice

    # the "Synthetic lattice with two domains" sample (napari_ivae._sample_data)
    lattice = make_lattice(
        (256, 256), spacing=12.0, rotation=0.0, domains=2, vacancies=0.02, seed=0
    )
    atoms = detect_atoms(lattice.image)
    sets = {
        "atoms": extract_patches(lattice.image, atoms.coords[:, 1:], 24, normalize="global"),
        "grid": grid_patches(lattice.image, 24, 6, normalize="global"),
    }
    out = []
    for patches, kind in (("atoms", "rvae"), ("grid", "shift-vae"), ("grid", "rvae")):
        patchset = sets[patches]
        _, nearest = cKDTree(lattice.positions).query(patchset.centres)
        domain = lattice.domain[nearest]
        one = run(kind, patchset.patches, domain, None, seed, n_classes=2)
        one["patches"], one["n_patches"] = patches, len(domain)
        one["larger_domain_share"] = float(max(domain.mean(), 1 - domain.mean()))
        out.append(one)
        scores = "  ".join(
            f"{name}: {one[name]['accuracy']:.3f}"
            for name in ("z_only", "with_angle")
            if name in one
        )
        print(
            f"lattice {patches:5s} {kind:9s} {len(domain)} patches, {one['epochs']} epochs in "
            f"{one['train_seconds']:.0f} s; k-means (2) {scores}  (larger domain alone "
            f"{one['larger_domain_share']:.3f})",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="150 cards per suit, 10 epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--jrvae-seeds", type=int, default=3, help="seeds of the joint rVAE (0 = skip it)"
    )
    parser.add_argument(
        "--lattice",
        action="store_true",
        help="also the lattice sample's two domains (atom-centred vs grid)",
    )
    args = parser.parse_args()
    torch.set_num_threads(max(os.cpu_count() or 1, 1))
    per_class, epochs = (150, 10) if args.quick else (500, None)
    cards = make_cards(per_class, rotation=60.0, translation=0.1, seed=1)
    images, truth = cards.images.astype(np.float32), cards.labels
    print(
        f"cards: {len(images)} patches 48x48, 4 suits, rotation +-60 deg, shifts 0.1; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = []
    for kind in ("rvae", "vae"):
        one = run(kind, images, truth, epochs, args.seed)
        results.append(one)
        scores = "  ".join(
            f"{name}: accuracy {one[name]['accuracy']:.3f} sizes {one[name]['sizes']}"
            for name in ("z_only", "with_angle")
            if name in one
        )
        print(
            f"{kind:5s} trained {one['epochs']} epochs in {one['train_seconds']:.0f} s; "
            f"k-means (4) {scores}  (chance 0.25)",
            flush=True,
        )
    joint = []
    for seed in range(args.seed, args.seed + args.jrvae_seeds):
        one = run("jrvae", images, truth, epochs, seed)
        joint.append(one)
        results.append(one)
        print(
            f"jrvae seed {seed} trained {one['epochs']} epochs in {one['train_seconds']:.0f} s; "
            f"its classes: accuracy {one['classes']['accuracy']:.3f} sizes "
            f"{one['classes']['sizes']}; start {one.get('start_accuracy', float('nan')):.3f}; "
            f"k-means (4) on its z: {one['z_only']['accuracy']:.3f}",
            flush=True,
        )
    if joint:
        acc = np.array([one["classes"]["accuracy"] for one in joint])
        print(
            f"jrvae over {len(joint)} seeds: accuracy mean {acc.mean():.3f}, min "
            f"{acc.min():.3f}, max {acc.max():.3f}, std {acc.std():.3f}",
            flush=True,
        )
    lattice = lattice_domains(args.seed) if args.lattice else None
    print(
        json.dumps(
            {
                "benchmark": "clustering",
                "quick": args.quick,
                "seed": args.seed,
                "n_patches": len(images),
                "results": results,
                "lattice": lattice,
            }
        )
    )


if __name__ == "__main__":
    main()
