"""``napari-ivae encode``: latent coordinates of saved patches with a trained model.

Writes one ``.npz`` with ``z_mean``, ``z_std``, and where the model has them ``angle``
(radians), ``offsets`` (dx, dy in patch half-widths), ``class_prob`` (N x K), ``class``
(argmax) and ``class_names``, plus ``model_kind``. With ``--clusters K`` it adds ``cluster``
(k-means of the latent codes, unsupervised classes ``0..K-1`` by decreasing size) and
``cluster_seed``; without it, a model saved from napari after *Find classes* puts the patches
into those stored classes (``cluster``). Arrays stored next to the patches in an
input ``.npz`` (``centres``, ``frames``, ``indices``, ``grid_shape``, ``normalization``...) are
copied over, so the latents can be mapped back onto the image.

An ss-rvae model with labels (``--labels``, or ``labels`` stored in the patches ``.npz``) also
reports two confusion matrices on stderr and in the output (``label_confusion``,
``heldout_confusion``, ``heldout_accuracy``, ``heldout_chance``): the model's classes against
those labels (not held out when they are its training labels), and a ``--heldout-folds``-fold
cross-validation (:mod:`napari_ivae.core.analysis.heldout`: per fold a fresh classifier of the model's
architecture, trained on the other folds' labels; the VAE is not retrained).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from napari_ivae.cli._paths import check_seed, output_path, replaced
from napari_ivae.cli._train_checks import check_device
from napari_ivae.core._atomic import write_output
from napari_ivae.core.errors import InputError


def add_parser(subparsers) -> None:
    """Register ``napari-ivae encode``."""
    p = subparsers.add_parser(
        "encode",
        help="encode patches with a trained model",
        description="Encode patches (N x H x W, .npy or .npz with key 'patches') with a model "
        "saved by `napari-ivae train` and write the latents to an .npz file.",
    )
    p.add_argument("model", metavar="MODEL.ivae.pt", help="trained model file")
    p.add_argument("--patches", required=True, metavar="P.npy", help="patches (N, H, W)")
    p.add_argument("--out", required=True, metavar="E.npz", help="output .npz file")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    p.add_argument("--batch-size", type=int, default=256, help="patches per batch (default 256)")
    p.add_argument(
        "--clusters",
        type=int,
        default=0,
        metavar="K",
        help="also group the patches into K unsupervised classes (k-means on the "
        "latent codes z; key 'cluster')",
    )
    p.add_argument("--cluster-seed", type=int, default=0, help="seed of the k-means (default 0)")
    p.add_argument(
        "--cluster-angle",
        action="store_true",
        help="cluster on the angle too (classes that differ by orientation)",
    )
    p.add_argument(
        "--labels",
        metavar="L.npy",
        help="ss-rvae: one class per patch (-1 = unlabeled) to compare the model's "
        "classes with (default: 'labels' stored in the patches .npz)",
    )
    p.add_argument(
        "--heldout-folds",
        type=int,
        default=5,
        metavar="K",
        help="ss-rvae with labels: K-fold held-out confusion matrix (default 5; "
        "0 = only the matrix on the given labels)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Encode and save; returns 0."""
    from napari_ivae.cli._train import read_patches
    from napari_ivae.core.models.inference import encode
    from napari_ivae.core.models.persistence import load_model
    from napari_ivae.core.validation import as_patch_array

    out = output_path(
        args.out, ".npz", "numpy archive", inputs={"MODEL": args.model, "--patches": args.patches}
    )
    existed = out.exists()
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.clusters == 1 or args.clusters < 0:
        raise InputError(f"--clusters must be 0 (none) or >= 2, got {args.clusters}")
    check_seed(args.cluster_seed, "--cluster-seed")
    if args.heldout_folds == 1 or args.heldout_folds < 0:
        raise InputError(f"--heldout-folds must be 0 (none) or >= 2, got {args.heldout_folds}")
    check_device(args.device)
    bundle = load_model(args.model, device=args.device)
    if args.labels and bundle.config.kind != "ss-rvae":
        raise InputError(
            f"--labels compares an ss-rvae model's classes with known ones; this "
            f"{bundle.config.kind} model has no such classes, so leave --labels out"
        )
    patches, extras = read_patches(args.patches)
    shape = bundle.config.patch_shape
    patches = as_patch_array(patches, shape, name=f"patches in {Path(args.patches).name}")

    encoding = encode(bundle.model, patches, batch_size=args.batch_size)
    arrays = {k: np.asarray(v) for k, v in encoding.as_dict().items()}
    if encoding.class_prob is not None:
        arrays["class"] = np.argmax(encoding.class_prob, axis=1).astype(np.int64)
        arrays["class_names"] = np.array(bundle.config.class_names, dtype=str)
    arrays["model_kind"] = np.array(bundle.config.kind)
    if args.clusters:
        from napari_ivae.core.analysis.clustering import cluster_latents

        try:
            clustering = cluster_latents(
                encoding, args.clusters, seed=args.cluster_seed, use_angle=args.cluster_angle
            )
        except InputError as err:
            raise InputError(f"--clusters {args.clusters}: {err}") from None
        arrays["cluster"] = clustering.labels
        arrays["cluster_seed"] = np.array(clustering.seed)
    elif bundle.metadata.get("clustering"):  # classes found in napari and saved with the model
        from napari_ivae.core.analysis.clustering import Clustering

        arrays["cluster"] = Clustering.from_dict(bundle.metadata["clustering"]).assign(encoding)
    if bundle.config.kind == "ss-rvae":
        labels = _labels(args, extras, len(patches), bundle.config.n_classes)
        if labels is not None:
            arrays.update(_confusions(bundle, patches, labels, arrays["class"], args.heldout_folds))
    for key, value in extras.items():  # centres, frames, indices... from `napari-ivae patches`
        if key not in arrays:
            arrays[key] = value
    write_output(out, lambda stream: np.savez(stream, **arrays), "latents file")
    keys = ", ".join(
        k
        for k in arrays
        if k in ("z_mean", "z_std", "angle", "offsets", "class_prob", "class", "cluster")
    )
    print(
        f"napari-ivae encode: encoded {len(patches)} patches with the {bundle.config.kind} "
        f"model -> {out} ({keys}){replaced(existed)}",
        file=sys.stderr,
    )
    return 0


def _labels(args, extras: dict, n_patches: int, n_classes: int) -> np.ndarray | None:
    """``--labels``, else the ``labels`` stored with the patches, checked; None without both."""
    from napari_ivae.cli._train import _check_labels, _read_labels
    from napari_ivae.core.validation import as_label_array

    if args.labels:
        labels = _read_labels(args.labels, n_patches)
    elif "labels" in extras:
        labels = _check_labels(extras["labels"], n_patches, Path(args.patches).name)
    else:
        return None
    return as_label_array(labels, n_patches, n_classes, require_labeled=False)


def _confusions(bundle, patches, labels, predicted, folds: int) -> dict:
    """The model's classes against ``labels``, and held out over ``folds`` folds, printed on
    stderr and returned as arrays for the output file."""
    from napari_ivae.core.analysis.heldout import (
        confusion_lines,
        confusion_matrix,
        model_heldout_confusion,
    )

    names = list(bundle.config.class_names)
    labeled = labels >= 0
    if not labeled.any():
        return {}
    matrix = confusion_matrix(labels, predicted, len(names))
    accuracy = float(np.trace(matrix) / matrix.sum())
    lines = [
        f"the model's classes on the {int(labeled.sum())} labeled patches (not held out "
        "if they are its training labels):",
        *confusion_lines(matrix, names),
        f"accuracy {accuracy:.1%}",
    ]
    arrays = {"label_confusion": matrix}
    if folds:
        if len(np.unique(labels[labeled])) < 2:
            lines.append("held-out check skipped: the labels hold only one class")
        else:
            held = model_heldout_confusion(bundle.model, patches, labels, folds=folds)
            lines += [
                f"held out ({held.folds}-fold; per fold a fresh classifier of the model's "
                "architecture learns the other folds' labels; the VAE is not retrained):",
                *confusion_lines(held.matrix, names),
                f"held-out accuracy {held.accuracy:.1%} (most common class {held.chance:.1%})",
            ]
            arrays.update(
                heldout_confusion=held.matrix,
                heldout_accuracy=np.array(held.accuracy),
                heldout_chance=np.array(held.chance),
                heldout_folds=np.array(held.folds),
            )
    print("\n".join(lines), file=sys.stderr)
    return arrays
