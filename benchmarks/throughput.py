"""rVAE training throughput (patches/s): napari-ivae vs pyroVED 0.3.0, same data, same threads.

Both train pyroVED's published architecture on 48 x 48 card patches: rotation + translation
invariance, 2 latents, MLP encoder/decoder with two hidden layers of 128, tanh, Bernoulli
likelihood, Adam lr 1e-3, batch 100. pyroVED is driven by its own ``SVItrainer``; ours by
``napari_ivae.core.models.training.train``, once with our defaults for rVAE (the decoder evaluates a
random subset of pixels per step, ``pixels_per_step``) and once on all pixels (the same
arithmetic as pyroVED).

The measurements are interleaved in rounds (ours, ours on all pixels, pyroVED, repeat) so
that other jobs on a shared machine slow all of them alike; the load average is printed with
every round. Target: ours >= 3x pyroVED.

Usage::

    pip install pyroved==0.3.0 --no-deps      # not a dependency of napari-ivae
    python benchmarks/throughput.py                     # 3 rounds x 20 batches, 1 thread
    python benchmarks/throughput.py --threads 2 --rounds 5 --batches 40

pyroVED imports torchvision and matplotlib only for plotting helpers; when they are absent,
empty stand-in modules are put in ``sys.modules`` so that it imports. Without pyroVED the
comparison is skipped with a clear line. Prints human-readable lines, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import types
import warnings

import numpy as np
import torch

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.training import train
from napari_ivae.core.synthetic.cards import make_cards

BATCH = 100
PATCH = 48


def _import_pyroved():
    """pyroVED or None; plotting-only dependencies are stubbed when missing."""
    for name in ("torchvision", "torchvision.utils", "matplotlib", "matplotlib.pyplot"):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    if not hasattr(sys.modules["torchvision.utils"], "make_grid"):
        sys.modules["torchvision.utils"].make_grid = None
    try:
        import pyroved
    except ImportError:
        return None
    return pyroved


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


class OursRunner:
    """Keeps a napari-ivae training generator alive and times blocks of batches."""

    def __init__(self, data, pixels_per_step, seed):
        config = ModelConfig(
            kind="rvae",
            patch_shape=(PATCH, PATCH),
            latent_dim=2,
            invariances=("rotation", "translation"),
            hidden=(128, 128),
            activation="tanh",
            likelihood="bernoulli",
        )
        overrides = dict(
            batch_size=BATCH,
            lr=1e-3,
            epochs=10_000,
            seed=seed,
            device="cpu",
            lr_schedule="constant",
        )
        if pixels_per_step is not None:
            overrides["pixels_per_step"] = pixels_per_step
        self.train_config = TrainConfig.defaults_for("rvae", **overrides)
        self.steps = train(build_model(config), data, config=self.train_config)

    def run(self, n_batches: int) -> float:
        start = time.perf_counter()
        for _ in range(n_batches):
            next(self.steps)
        return time.perf_counter() - start


class PyroVEDRunner:
    """pyroVED's iVAE + SVItrainer; one trainer epoch = one block of batches."""

    def __init__(self, pyroved, data, n_batches, seed):
        self.model = pyroved.models.iVAE(
            (PATCH, PATCH),
            latent_dim=2,
            invariances=["r", "t"],
            hidden_dim_e=[128, 128],
            hidden_dim_d=[128, 128],
            activation="tanh",
            sampler_d="bernoulli",
            seed=seed,
            device="cpu",
        )
        self.trainer = pyroved.trainers.SVItrainer(self.model, lr=1e-3, device="cpu", seed=seed)
        tensor = torch.from_numpy(data[: n_batches * BATCH])
        self.loader = pyroved.utils.init_dataloader(tensor, batch_size=BATCH)
        self.batches_per_epoch = len(self.loader)

    def run(self) -> float:
        start = time.perf_counter()
        self.trainer.train(self.loader)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--batches", type=int, default=20, help="batches per round and runner")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-full-pixels", action="store_true", help="do not time our rVAE on all pixels"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    n_patches = max(args.batches * BATCH, 3000)
    cards = make_cards(
        n_patches // 4 + 1,
        size=PATCH,
        rotation=60,
        shear=0.23,
        scale=(1.0, 1.3),
        translation=0.1,
        seed=args.seed,
    )
    rng = np.random.default_rng(args.seed)
    data = np.ascontiguousarray(cards.images[rng.permutation(len(cards))][:n_patches])
    print(
        f"rVAE training throughput: {n_patches} card patches {PATCH}x{PATCH}, batch {BATCH}, "
        f"MLP 128x2 tanh, {args.threads} thread(s), torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {_load()}",
        flush=True,
    )

    runners = {"ours": OursRunner(data, None, args.seed)}
    print(
        f"ours: defaults_for('rvae') with pixels_per_step="
        f"{runners['ours'].train_config.pixels_per_step} (0 = all pixels)",
        flush=True,
    )
    if not args.skip_full_pixels:
        runners["ours_all_pixels"] = OursRunner(data, 0, args.seed)
    pyroved = _import_pyroved()
    if pyroved is None:
        print(
            "pyroVED: not installed -> comparison skipped (pip install pyroved==0.3.0 --no-deps)",
            flush=True,
        )
    else:
        from pyroved.__version__ import version as pyroved_version

        runners["pyroved"] = PyroVEDRunner(pyroved, data, args.batches, args.seed)
        print(f"pyroVED {pyroved_version}: iVAE(invariances=['r','t']) + SVItrainer", flush=True)

    for name, runner in runners.items():  # warm-up (allocations, first-call overheads)
        runner.run() if name == "pyroved" else runner.run(3)
    seconds = {name: [] for name in runners}
    for round_index in range(args.rounds):
        parts = []
        for name, runner in runners.items():
            elapsed = runner.run() if name == "pyroved" else runner.run(args.batches)
            seconds[name].append(elapsed)
            parts.append(f"{name} {args.batches * BATCH / elapsed:7.1f} patches/s")
        print(
            f"round {round_index + 1}/{args.rounds}: " + "  ".join(parts) + f"  ({_load()})",
            flush=True,
        )

    rates = {
        name: args.batches * BATCH * args.rounds / sum(times) for name, times in seconds.items()
    }
    for name, rate in rates.items():
        print(f"{name:<16s} {rate:8.1f} patches/s  ({1000 * BATCH / rate:7.1f} ms/batch)")
    result = {
        "benchmark": "rvae_training_throughput",
        "patch": PATCH,
        "batch": BATCH,
        "threads": args.threads,
        "rounds": args.rounds,
        "batches_per_round": args.batches,
        "patches_per_s": {k: round(v, 1) for k, v in rates.items()},
        "torch": torch.__version__,
        "loadavg_end": list(os.getloadavg()),
        "pyroved": None,
        "ratio": None,
        "ratio_all_pixels": None,
        "target_ratio": 3.0,
    }
    if "pyroved" in rates:
        result["pyroved"] = pyroved_version
        result["ratio"] = round(rates["ours"] / rates["pyroved"], 2)
        per_round = [p / o for o, p in zip(seconds["ours"], seconds["pyroved"])]
        print(
            f"ratio ours / pyroVED: {result['ratio']:.2f}x (per round "
            f"{min(per_round):.2f}-{max(per_round):.2f}x; target >= 3x)"
        )
        if "ours_all_pixels" in rates:
            result["ratio_all_pixels"] = round(rates["ours_all_pixels"] / rates["pyroved"], 2)
            print(f"ratio ours (all pixels) / pyroVED: {result['ratio_all_pixels']:.2f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
