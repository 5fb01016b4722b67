"""ss-rVAE vs ss-VAE (control) on the cards benchmark: accuracy vs rotation disorder, time, memory.

Usage::

    python benchmarks/ss_cards.py --published          # the full protocol at +/-60 deg (target)
    python benchmarks/ss_cards.py --quick              # a few minutes: smaller splits
    python benchmarks/ss_cards.py --sweep              # +/-5, 30, 60, 90, 180 deg, both models
    python benchmarks/ss_cards.py --published --noise 1.0   # noisy unlabeled and test cards

Prints one human-readable line per run, then a final JSON line with every number. The training
settings are ``TrainConfig.defaults_for("ss-rvae")`` unless overridden (``--epochs`` etc.), so
this measures the product's defaults. Timings are wall-clock on a machine possibly shared with
other jobs: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np
import torch

from napari_ivae.core.analysis.metrics import judge_suits, suit_match_rate
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import (
    class_latent_ranges,
    class_traversal,
    classify,
    encode,
    latent_ranges,
)
from napari_ivae.core.models.persistence import save_model
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import CARD_CLASSES, cards_protocol


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if platform.system() != "Darwin" else kb / 1024.0 / 1024.0


def _progress(event) -> None:
    if event.step == event.steps_per_epoch - 1:
        print(
            f"  epoch {event.epoch + 1}/{event.n_epochs} loss {event.loss:.1f} "
            f"{ {k: round(v, 3) for k, v in event.terms.items()} } {event.elapsed:.0f} s",
            file=sys.stderr,
            flush=True,
        )


def add_noise(proto, noise: float, seed: int) -> None:
    """Gaussian noise of std ``noise`` on the unlabeled and test cards, clipped to [0, 1]
    (in place); the labeled cards stay clean, as in the papers' noise experiment."""
    if noise <= 0:
        return
    rng = np.random.default_rng([seed, 2024])
    for part in (proto.unlabeled, proto.test):
        noisy = part.images + rng.normal(0.0, noise, part.images.shape)
        part.images = np.clip(noisy, 0.0, 1.0).astype(np.float32)


def run_one(
    invariant: bool,
    rotation: float,
    sizes: dict,
    seed: int,
    overrides: dict,
    verbose: bool = False,
    model_options: dict | None = None,
    noise: float = 0.0,
    save: str | None = None,
) -> dict:
    """Train one model on one protocol draw and score its classifier on the test draw
    (saved to ``save`` when given)."""
    t0 = time.perf_counter()
    proto = cards_protocol(seed, unlabeled_rotation=rotation, **sizes)
    add_noise(proto, noise, seed)
    x = np.concatenate([proto.labeled.images, proto.unlabeled.images])
    y = np.concatenate([proto.labeled.labels, np.full(len(proto.unlabeled.labels), -1)])
    t_data = time.perf_counter() - t0
    config = ModelConfig(
        "ss-rvae",
        patch_shape=x.shape[1:],
        n_classes=len(CARD_CLASSES),
        class_names=CARD_CLASSES,
        invariances=("rotation", "translation") if invariant else (),
        **(model_options or {}),
    )
    train_config = TrainConfig.defaults_for("ss-rvae", seed=seed, device="cpu", **overrides)
    model = build_model(config)
    cpu0 = cpu_seconds()
    result = fit(model, x, y, train_config, callback=_progress if verbose else None)
    train_cpu = cpu_seconds() - cpu0
    t_train = result.timings["total_s"]
    if save:
        save_model(save, model, result)
    t1 = time.perf_counter()
    pred = classify(model, proto.test.images).argmax(1)
    acc = float((pred == proto.test.labels).mean())
    t_eval = time.perf_counter() - t1
    angle_err = angle_error_deg(model, proto.test) if invariant else float("nan")
    rows = traversal_judged(model, x)
    rows_own = traversal_judged(model, x, per_class=True)
    k = len(CARD_CLASSES)
    decoded, decoded_own = (
        float("nan") if r is None else float((r == np.arange(k)[:, None]).mean())
        for r in (rows, rows_own)
    )
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (proto.test.labels, pred), 1)
    return {
        "model": "ss-rVAE" if invariant else "ss-VAE",
        "rotation_deg": rotation,
        "noise": noise,
        "accuracy": acc,
        "test_angle_error_deg": angle_err,
        "traversal_match": decoded,
        "traversal_match_per_class": decoded_own,
        # the judge's suit for each traversal image, one row per class (index into the suits)
        "traversal_judged": None if rows is None else rows.tolist(),
        "traversal_judged_per_class": None if rows_own is None else rows_own.tolist(),
        "test_confusion": confusion.tolist(),  # rows: true suit, columns: predicted
        "n_train": int(len(x)),
        "n_labeled": int((y >= 0).sum()),
        "n_test": int(len(pred)),
        "train_s": t_train,
        "train_cpu_s": train_cpu,
        "eval_s": t_eval,
        "data_s": t_data,
        "wall_s": time.perf_counter() - t0,
        "epochs": train_config.epochs,
        "final_loss": result.history[-1]["loss"],
        "peak_rss_mb": peak_rss_mb(),
        "loadavg": os.getloadavg(),
        "train_config": train_config.to_dict(),
        "seed": seed,
    }


def angle_error_deg(model, cards) -> float:
    """Median error (degrees) of the encoder's angle on ``cards`` (a ``CardsSet``).

    Each suit's decoder frame may sit at its own angle, and the encoder's sense of rotation
    may be the cards' or its mirror: per suit the circular mean of the difference is taken
    out, with the sense that gives the smaller error. Uniform guessing within +/-R deg gives
    about R / 2."""
    angle = encode(model, cards.images).angle
    truth = np.asarray(cards.angles)
    best = float("inf")
    for sense in (1.0, -1.0):
        d = angle - sense * truth
        err = np.zeros_like(d)
        for k in np.unique(cards.labels):
            sel = cards.labels == k
            centre = np.angle(np.exp(1j * d[sel]).mean())
            err[sel] = np.abs(np.angle(np.exp(1j * (d[sel] - centre))))
        best = min(best, float(np.degrees(np.median(err))))
    return best


def traversal_match(model, patches, n: int = 8, per_class: bool = False) -> float:
    """Share of the class traversal's images that the independent judge matches to the row's
    suit. z1 spans the training codes' 2-98 % range; with ``per_class`` each row spans the codes
    of the patches the classifier puts in that row's class (as the product draws it)."""
    judged = traversal_judged(model, patches, n, per_class)
    if judged is None:
        return float("nan")
    return float((judged == np.arange(len(judged))[:, None]).mean())


def traversal_judged(model, patches, n: int = 8, per_class: bool = False):
    """The judge's suit for each image of the class traversal, ``(K, n)`` (row k drawn for
    class k; see :func:`traversal_match`), or None for a model without a spatial decoder."""
    if not model.layout.spatial:
        return None
    enc = encode(model, patches)
    if per_class:
        ranges = class_latent_ranges(enc.z_mean, enc.class_prob.argmax(1), model.n_classes)
    else:
        ranges = latent_ranges(enc.z_mean)
    image = class_traversal(model, n=n, ranges=ranges)
    h, w = model.config.patch_shape
    k = model.n_classes
    tiles = image.reshape(k, h, n, w).transpose(0, 2, 1, 3).reshape(k * n, h, w)
    return judge_suits(tiles).reshape(k, n)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_crvae(
    rotation: float,
    sizes: dict,
    seed: int,
    model_options: dict,
    train_options: dict,
    save: str | None = None,
) -> dict:
    """crVAE on the unlabeled draw with every card's true suit as the condition (saved to
    ``save`` when given); the judge scores its per-class decodings: the class traversal over
    all codes' range, as Results draws a crVAE's (its encoding has no class), and with each
    row over its own class's codes."""
    proto = cards_protocol(seed, unlabeled_rotation=rotation, **sizes)
    cards = proto.unlabeled
    config = ModelConfig(
        "crvae", patch_shape=cards.images.shape[1:], class_names=CARD_CLASSES, **model_options
    )
    train_config = TrainConfig.defaults_for("crvae", seed=seed, device="cpu", **train_options)
    model = build_model(config)
    cpu0 = cpu_seconds()
    result = fit(model, cards.images, cards.labels, train_config)
    train_cpu = cpu_seconds() - cpu0
    if save:
        save_model(save, model, result)
    z = encode(model, cards.images).z_mean
    n, k = 8, len(CARD_CLASSES)
    h, w = config.patch_shape
    scores = []
    for ranges in (latent_ranges(z), class_latent_ranges(z, cards.labels, k)):
        image = class_traversal(model, n=n, ranges=ranges)
        tiles = image.reshape(k, h, n, w).transpose(0, 2, 1, 3).reshape(k * n, h, w)
        scores.append(suit_match_rate(tiles, np.repeat(np.arange(k), n)))
    return {
        "model": "crVAE",
        "rotation_deg": rotation,
        "decodings_match": scores[0],
        "decodings_match_own_codes": scores[1],
        "n_train": len(cards),
        "train_s": result.timings["total_s"],
        "train_cpu_s": train_cpu,
        "steps": sum(h_["steps"] for h_ in result.history),
        "final_loss": result.history[-1]["loss"],
        "loadavg": os.getloadavg(),
        "model_options": model_options,
        "train_config": train_config.to_dict(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small splits, +/-60 only")
    mode.add_argument("--published", action="store_true", help="full protocol, +/-60 only")
    mode.add_argument("--sweep", action="store_true", help="full protocol, all rotations")
    parser.add_argument("--rotations", type=float, nargs="*", help="override the rotations")
    parser.add_argument(
        "--models",
        default="both",
        choices=["both", "ss-rvae", "ss-vae", "crvae"],
        help="crvae: the conditional rVAE on the unlabeled draw, every card's "
        "suit given; scores its per-class decodings",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--pixels", type=int, help="pixels_per_step")
    parser.add_argument("--label-weight", type=float)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--verbose", action="store_true", help="per-epoch progress on stderr")
    parser.add_argument("--angle-prior", choices=["normal", "von_mises"])
    parser.add_argument("--angle-prior-scale", type=float)
    parser.add_argument(
        "--class-film",
        type=int,
        choices=[0, 1],
        help="decoder class FiLM on every hidden layer (model default if unset)",
    )
    parser.add_argument(
        "--class-template",
        type=int,
        choices=[0, 1],
        help="decoder image per class (model default if unset)",
    )
    parser.add_argument(
        "--pose-templates",
        choices=["0", "1", "replace"],
        help="the encoder's angle from the labeled patches' aligned class templates, added to "
        "the encoder's (1) or replacing it (replace) (ModelConfig.pose_templates; model "
        "default if unset)",
    )
    parser.add_argument("--z-kl-start", type=float, help="z's KL weight at the first step")
    parser.add_argument("--z-kl-ramp", type=float, help="share of steps to reach weight 1")
    parser.add_argument("--z-class-weight", type=float, help="weight of z's between-class variance")
    parser.add_argument(
        "--pose-consistency",
        type=float,
        help="weight of the angle's disagreement with a turned copy (0 = off)",
    )
    parser.add_argument(
        "--class-image-steps",
        type=int,
        help="steps after training in which only the class images learn "
        "(TrainConfig.class_image_steps)",
    )
    parser.add_argument(
        "--class-image-rate",
        type=float,
        help="their learning rate as a multiple of lr (TrainConfig.class_image_rate)",
    )
    parser.add_argument("--save", help="save the trained ss-rVAE (or crVAE) to this .pt path")
    parser.add_argument("--n-unlabeled", type=int, help="override unlabeled cards per suit")
    parser.add_argument(
        "--noise",
        type=float,
        default=0.0,
        help="std of Gaussian noise added to the unlabeled and test cards "
        "(clipped to [0, 1]; labeled cards clean)",
    )
    parser.add_argument(
        "--label-noise",
        type=float,
        help="noise added to the labeled cards in training (0 = off; default: "
        "measured from the data)",
    )
    parser.add_argument(
        "--raw-classifier",
        action="store_true",
        help="the papers' raw-pixel classifier (canonical_classifier=False)",
    )
    parser.add_argument(
        "--z-class-share",
        type=float,
        help="crVAE: weight of the share of z's variance between the classes",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {
        k: v
        for k, v in dict(
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            pixels_per_step=args.pixels,
            label_weight=args.label_weight,
            z_kl_start=args.z_kl_start,
            z_kl_ramp=args.z_kl_ramp,
            label_noise=args.label_noise,
            z_class_weight=args.z_class_weight,
            pose_consistency=args.pose_consistency,
            class_image_steps=args.class_image_steps,
            class_image_rate=args.class_image_rate,
        ).items()
        if v is not None
    }
    model_options = {
        k: v
        for k, v in dict(
            angle_prior=args.angle_prior,
            angle_prior_scale=args.angle_prior_scale,
            canonical_classifier=False if args.raw_classifier else None,
            class_film=None if args.class_film is None else bool(args.class_film),
            class_template=None if args.class_template is None else bool(args.class_template),
            pose_templates=(
                None
                if args.pose_templates is None
                else "replace"
                if args.pose_templates == "replace"
                else bool(int(args.pose_templates))
            ),
        ).items()
        if v is not None
    }
    if args.quick:
        sizes, rotations = dict(n_labeled=50, n_unlabeled=750, n_test=500), [60.0]
    elif args.sweep:
        sizes, rotations = {}, [5.0, 30.0, 60.0, 90.0, 180.0]
    else:
        sizes, rotations = {}, [60.0]
    if args.rotations:
        rotations = args.rotations
    if args.n_unlabeled:
        sizes = {**sizes, "n_unlabeled": args.n_unlabeled}
    invariants = {"both": [False, True], "ss-rvae": [True], "ss-vae": [False], "crvae": []}[
        args.models
    ]
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, loadavg at start {os.getloadavg()}",
        flush=True,
    )
    runs = []
    for rotation in rotations:
        for invariant in invariants:
            r = run_one(
                invariant,
                rotation,
                sizes,
                args.seed,
                overrides,
                args.verbose,
                model_options,
                args.noise,
                args.save,
            )
            r["model_options"] = model_options
            runs.append(r)
            print(
                f"{r['model']:8s} unlabeled/test rotation +/-{rotation:5.1f} deg, noise "
                f"{args.noise:g}: "
                f"accuracy {r['accuracy']:.3f} on {r['n_test']} test patches (encoder's "
                f"median angle error {r['test_angle_error_deg']:.1f} deg), traversal "
                f"judged {r['traversal_match_per_class']:.3f} with each row over its own "
                f"class's codes, as Results draws it (over all codes "
                f"{r['traversal_match']:.3f}) | train "
                f"{r['train_s']:.0f} s ({r['train_cpu_s']:.0f} CPU s, {r['epochs']} epochs), "
                f"wall {r['wall_s']:.0f} s, peak "
                f"RSS {r['peak_rss_mb']:.0f} MB, loadavg {r['loadavg'][0]:.2f}",
                flush=True,
            )
            if r["traversal_judged_per_class"] is not None:
                print(f"  {'traversal row':14s} judged as (rows over own class's codes)")
                for name, judged in zip(CARD_CLASSES, r["traversal_judged_per_class"]):
                    print(f"  {name:14s} {' '.join(CARD_CLASSES[j][:2] for j in judged)}")
                print(f"  test confusion (rows true, columns predicted): {r['test_confusion']}")
        if args.models == "crvae":
            crv_options = {
                k: v
                for k, v in overrides.items()
                if k in ("epochs", "lr", "batch_size", "pixels_per_step", "z_kl_start", "z_kl_ramp")
            }
            if args.z_class_share is not None:
                crv_options["z_class_share"] = args.z_class_share
            r = run_crvae(
                rotation,
                sizes,
                args.seed,
                {k: v for k, v in model_options.items() if k in ("class_film", "class_template")},
                crv_options,
                args.save,
            )
            runs.append(r)
            print(
                f"crVAE    rotation +/-{rotation:5.1f} deg: per-class decodings judged "
                f"{r['decodings_match']:.3f} over all codes, as Results draws it (rows over "
                f"own class's codes {r['decodings_match_own_codes']:.3f}) | train "
                f"{r['train_s']:.0f} s, {r['train_cpu_s']:.0f} CPU s ({r['steps']} "
                f"steps on {r['n_train']} cards), loadavg {r['loadavg'][0]:.2f}",
                flush=True,
            )
    print(
        json.dumps(
            {
                "benchmark": "ss_cards",
                "mode": "quick" if args.quick else "sweep" if args.sweep else "published",
                "runs": runs,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
