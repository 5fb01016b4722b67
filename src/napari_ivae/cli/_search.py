"""``napari-ivae search``: the beta(t) search of the shift-VAE paper on saved grid patches.

Trains one shift-VAE per ``beta_start x beta_end (x lambda)`` setting on the patches of
``napari-ivae patches --grid`` (the ``.npz`` carries the ``grid_shape``), one process per core,
scores each run's latent maps by their edge length and Fourier central-peak ratio
(:mod:`napari_ivae.core.analysis.search`; with a lambda > 0 and the term's default
``--smoothness-latents 1``, every run's z1, the designated phase map), and writes into the
``--out`` folder:

* ``search.csv`` and ``search.json``: one row per run, the chosen run and the sentence
  comparing it with the best fixed beta;
* ``heatmap.png``: the edge length over beta_start x beta_end (bright = smooth; red frame = the
  chosen run, white = the best fixed beta, grey = collapsed);
* ``best.ivae.pt``: the chosen model (``napari-ivae encode`` and napari read it);
* ``best_maps.npz``: the z maps of the best runs (``maps``, ``(runs, n_z, [F,] rows, cols)``,
  their ``runs`` indices), the chosen map's segmentation (``segmentation``) and its edge length.

Files of these names already in the folder are kept unless ``--force`` is given. Ctrl-C
starts no new run and still writes what finished (a second one aborts).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from napari_ivae.cli._paths import check_output, check_seed
from napari_ivae.cli._search_outputs import OUTPUTS, write_results
from napari_ivae.cli._train import add_smoothness_options, smoothness_overrides
from napari_ivae.core.errors import InputError


def _floats(text: str, flag: str) -> tuple:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"{flag} must be a comma list of numbers, got {text!r}") from None
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise InputError(f"{flag} must list numbers >= 0, got {text!r}")
    return values


def add_parser(subparsers) -> None:
    """Register ``napari-ivae search``."""
    p = subparsers.add_parser(
        "search",
        help="search beta(t) (and lambda) for the smoothest shift-VAE latent maps",
        description="Train a shift-VAE for every beta_start x beta_end (x lambda) on grid "
        "patches (.npz from `napari-ivae patches --grid`), score the latent maps "
        "by edge length and Fourier central-peak ratio, and write a table, a heat "
        "map, the chosen model and the best runs' maps into --out.",
    )
    p.add_argument(
        "--patches",
        required=True,
        metavar="P.npz",
        help="grid patches with their grid_shape (napari-ivae patches --grid)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FOLDER",
        help="folder for the results (created if its parent exists)",
    )
    p.add_argument(
        "--beta-start",
        default="0.01,0.1,1",
        metavar="LIST",
        help="start values of the KL weight's ramp (default 0.01,0.1,1)",
    )
    p.add_argument(
        "--beta-end",
        default="0.5,1,2",
        metavar="LIST",
        help="end values of the ramp (default 0.5,1,2); equal start and end = a "
        "fixed beta, the baseline the choice is compared with",
    )
    p.add_argument(
        "--smoothness",
        default="0",
        metavar="LIST",
        help="values of the latent roughness weight lambda, per patch pixel (default 0; "
        "e.g. 0,2: 2 shortened the phase boundary by 42-75 %% on two real images at "
        "1.4-1.7 %% worse reconstruction)",
    )
    add_smoothness_options(p)
    p.add_argument("--epochs", type=int, help="epochs per run (default: the shift-VAE's)")
    p.add_argument("--seed", type=int, default=0, help="random seed of every run (default 0)")
    p.add_argument("--workers", type=int, help="runs at once (default: the usable cores)")
    p.add_argument("--keep", type=int, default=3, help="keep the maps of this many best runs")
    p.add_argument("--force", action="store_true", help="replace earlier results in --out")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def _out_folder(args) -> Path:
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the search's results")
    if not out.exists() and not out.parent.exists():
        raise InputError(f"--out folder's parent {out.parent} does not exist; create it first")
    existing = [name for name in OUTPUTS if (out / name).exists()]
    if existing and not args.force:
        raise InputError(
            f"--out {out} already holds {', '.join(existing)}; choose another "
            "folder or give --force to replace them"
        )
    patches = Path(args.patches).expanduser()
    if out.exists():
        for name in OUTPUTS:
            check_output(out / name, {"--patches": patches})
    else:
        check_output(out, flag="--out")  # its parent accepts the new folder
    return out


def _say(line: str, quiet: bool = False) -> None:
    if quiet:
        return
    try:
        print(line, file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def run(args) -> int:
    """Search, write the results; returns 0 (130 when stopped by Ctrl-C)."""
    from napari_ivae.cli._train import _StopOnInterrupt, read_patches

    check_seed(args.seed)
    starts = _floats(args.beta_start, "--beta-start")
    ends = _floats(args.beta_end, "--beta-end")
    lams = _floats(args.smoothness, "--smoothness")
    for flag, value, low in (
        ("--epochs", args.epochs, 1),
        ("--workers", args.workers, 1),
        ("--keep", args.keep, 0),
    ):
        if value is not None and value < low:
            raise InputError(f"{flag} must be at least {low}, got {value}")
    out = _out_folder(args)
    patches, extras = read_patches(args.patches)
    if "grid_shape" not in extras:
        raise InputError(
            f"{args.patches} has no grid_shape: the search needs grid patches; cut "
            "them with `napari-ivae patches --grid STRIDE`"
        )
    grid_shape = tuple(int(v) for v in np.asarray(extras["grid_shape"]).ravel()[:2])

    from napari_ivae.core.analysis.search import search_beta
    from napari_ivae.core.models import ModelConfig, TrainConfig

    overrides = {"seed": args.seed, "device": "cpu", **smoothness_overrides(args)}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    train_config = TrainConfig.defaults_for("shift-vae", **overrides)
    model_config = ModelConfig("shift-vae", patch_shape=patches.shape[1:])
    n_runs = len(starts) * len(ends) * len(lams)
    term = ""
    if max(lams) > 0:
        on = (
            f"z1..z{train_config.smoothness_latents}"
            if train_config.smoothness_latents > 1
            else ("z1" if train_config.smoothness_latents == 1 else "every z")
        )
        term = f"; the term {train_config.smoothness_form} on {on}"
        if train_config.smoothness_latents:
            term += f", every run scored on {on}"
    _say(
        f"searching {n_runs} settings (beta_start {args.beta_start} x beta_end {args.beta_end}"
        f" x lambda {args.smoothness}) on {len(patches)} patches, grid "
        f"{grid_shape[0]}x{grid_shape[1]}, {train_config.epochs} epoch(s) each, seed "
        f"{args.seed}{term}",
        args.quiet,
    )

    def progress(done, total, run_):
        state = (
            "collapsed (no active latent map)"
            if run_.collapsed
            else f"z{run_.map_index + 1} edge {run_.edge:.1f} cells, Fourier {run_.fourier:.3f}"
        )
        _say(
            f"[{done}/{total}] {run_.label()}: {state}, recon {run_.recon:.1f} "
            f"({run_.seconds:.0f} s)",
            args.quiet,
        )

    created = not out.exists()
    out.mkdir(exist_ok=True)
    with _StopOnInterrupt(
        "napari-ivae search: stopping: the runs under way finish, no new one starts, and the "
        "finished runs are written (Ctrl-C again to abort without writing)"
    ) as interrupt:
        result = search_beta(
            patches,
            grid_shape,
            beta_starts=starts,
            beta_ends=ends,
            smoothness=lams,
            model_config=model_config,
            train_config=train_config,
            workers=args.workers,
            keep_maps=args.keep,
            callback=progress,
            stop_event=interrupt.event,
        )
    done = write_results(out, args, result, extras, created=created)
    print(done["summary"] + (" (stopped early: the finished runs only)" if result.stopped else ""))
    if done["segmentation"]:
        print(done["segmentation"])
    removed = (
        f"; removed the earlier {', '.join(done['removed'])} (this run has none)"
        if done["removed"]
        else ""
    )
    _say(f"wrote {', '.join(done['written'])} to {out}{removed}", args.quiet)
    return 130 if result.stopped else 0
