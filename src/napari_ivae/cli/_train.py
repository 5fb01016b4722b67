"""``napari-ivae train``: train a VAE / rVAE / shift-VAE / ss-rVAE on saved patches.

Defaults come from ``TrainConfig.defaults_for(kind)``; every option only overrides them when
given. Progress goes to stderr, one line per epoch. The first Ctrl-C stops after the current
batch and still saves the partial model; a second one aborts without saving.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from napari_ivae.cli._arguments import add_channel_argument, add_frame_axis_argument
from napari_ivae.cli._interrupts import _StopOnInterrupt
from napari_ivae.cli._paths import output_path, replaced
from napari_ivae.cli._train_checks import (
    build_checked,
    check_options,
    epochs_text,
    save_with_fallback,
    side_name,
)
from napari_ivae.cli._train_configs import (  # noqa: F401 - `search` imports them from here
    _build_configs,
    add_smoothness_options,
    smoothness_overrides,
)
from napari_ivae.cli._train_inputs import (  # noqa: F401 - `encode`, `search` import them here
    _check_labels,
    _grid_shape,
    _image_source,
    _json_extra,
    _read_conditions,
    _read_labels,
    read_patches,
)
from napari_ivae.core.errors import InputError

# == core.models.MODEL_KINDS (no torch here)
_MODEL_KINDS = ("vae", "rvae", "shift-vae", "ss-rvae", "jrvae", "crvae")


def _format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# ------------------------------------------------------------------------------ parser
def add_parser(subparsers) -> None:
    """Register ``napari-ivae train``."""
    p = subparsers.add_parser(
        "train",
        help="train a model on saved patches",
        description="Train an invariant VAE on patches (N x H x W, .npy or .npz with key "
        "'patches') and save it as one model file (.ivae.pt). Unset options use "
        "the tuned defaults of the model kind. Ctrl-C stops early and still saves "
        "the partial model (Ctrl-C twice aborts without saving).",
    )
    p.add_argument(
        "--model",
        required=True,
        choices=_MODEL_KINDS,
        help="vae (plain), rvae (rotation+translation invariant), shift-vae "
        "(translation only, for grid patches), ss-rvae (semi-supervised, "
        "needs --labels), jrvae (joint rVAE: finds --classes K classes "
        "without labels), crvae (conditional: the class of every patch in "
        "--labels and/or values in --condition-column)",
    )
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--patches", metavar="P.npy", help="patches (N, H, W)")
    given.add_argument(
        "--image",
        metavar="IMAGE",
        help="train from an image or stack instead (.zarr, .npy, .tif...; "
        "with --points or --grid, and --size or the automatic size): the patches are cut for "
        "each batch through a bounded cache of the image's frames or "
        "tiles, never all held, so the stack may be larger than memory",
    )
    p.add_argument(
        "--points",
        metavar="POINTS.csv",
        help="with --image: patch centres (frame,row,col or row,col columns)",
    )
    p.add_argument(
        "--grid", type=int, metavar="STRIDE", help="with --image: grid patches every STRIDE px"
    )
    p.add_argument(
        "--size",
        type=int,
        metavar="P",
        help="with --image: patch size in pixels (default: two spacings, as `napari-ivae "
        "patches` chooses it)",
    )
    add_frame_axis_argument(p, "with --image: ")
    add_channel_argument(p, "with --image: ")
    p.add_argument(
        "--normalize",
        choices=("none", "patch", "global"),
        default="global",
        help="with --image: intensity scaling of the patches (default global)",
    )
    p.add_argument(
        "--labels",
        metavar="L.npy",
        help="ss-rvae: one int per patch, -1 = unlabeled, classes 0..K-1; crvae: "
        "the class 0..K-1 of every patch",
    )
    p.add_argument("--out", required=True, metavar="MODEL.ivae.pt", help="model file to write")
    p.add_argument(
        "--epochs",
        type=int,
        help="passes over the data, trained exactly as given (default: per model "
        "kind, raised on small patch sets to make --min-steps steps)",
    )
    p.add_argument(
        "--min-steps",
        type=int,
        metavar="N",
        help="train at least N optimizer steps, raising the epochs on small patch "
        "sets (default: 300 for rvae and ss-rvae when --epochs is not given, "
        "else 0)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    p.add_argument("--batch-size", type=int, help="patches per step")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--latent-dim", type=int, default=2, help="conventional latents z (default 2)")
    p.add_argument("--hidden", default="128,128", help="hidden layer widths (default 128,128)")
    p.add_argument(
        "--invariances",
        default="rotation,translation",
        help="rvae/ss-rvae: comma list of rotation, translation, scale, or 'none' "
        "(default rotation,translation)",
    )
    p.add_argument(
        "--translation-prior",
        type=float,
        default=None,
        help="prior std of the offsets, fraction of the patch width (default 0.1; crvae 0.05)",
    )
    p.add_argument("--shift-scale", type=float, default=1.0, help="shift-vae's k, 0 < k <= 1")
    p.add_argument(
        "--keep-brightness",
        action="store_true",
        help="rvae: z also codes each patch's brightness and contrast (default: on grey "
        "patches each is brought to the typical level and contrast first, so z codes the shape)",
    )
    p.add_argument("--beta", type=float, help="final KL weight (default: per model kind)")
    p.add_argument(
        "--smoothness",
        type=float,
        default=0.0,
        metavar="LAMBDA",
        help="weight (per patch pixel) of the latent maps' roughness across "
        "neighbouring grid tiles; needs grid patches (their .npz carries "
        "grid_shape); default 0 = off; 2 shortened the phase boundary by "
        "42-75 %% on two real images at 1.4-1.7 %% worse reconstruction",
    )
    add_smoothness_options(p)
    p.add_argument("--label-weight", type=float, help="ss-rvae classification weight")
    p.add_argument("--class-names", help="ss-rvae, crvae: comma-separated names, in label order")
    p.add_argument(
        "--condition-column",
        metavar="NAME[,NAME]",
        help="crvae: continuous condition value(s) known for every patch (e.g. a "
        "thickness or dose): arrays of these names in the patches .npz, or "
        "columns of --conditions",
    )
    p.add_argument(
        "--conditions",
        metavar="TABLE.csv",
        help="crvae: CSV with a header and one row per patch holding the "
        "--condition-column columns",
    )
    p.add_argument(
        "--classes", type=int, metavar="K", help="jrvae: number of classes to find (>= 2)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------ command


def _say(line: str) -> None:
    """A progress line on stderr; a closed stderr (``| head``) must not stop the training."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _progress_line(event, epoch_loss: float) -> str:
    done = event.epoch * event.steps_per_epoch + event.step + 1
    eta = event.elapsed / done * (event.total_steps - done)
    return (
        f"epoch {event.epoch + 1}/{event.n_epochs}  loss {epoch_loss:.4g}  "
        f"elapsed {_format_seconds(event.elapsed)}  ETA {_format_seconds(eta)}"
    )


def run(args) -> int:
    """Train and save; returns 0, or 130 when stopped by Ctrl-C (partial model saved)."""
    from napari_ivae.core.models.persistence import is_model_path

    out = output_path(
        args.out,
        what="model file such as model.ivae.pt",
        inputs={"--patches": args.patches, "--image": args.image, "--labels": args.labels},
    )
    if not is_model_path(out):  # checked before training ('--out image.png': a picture)
        raise InputError(
            f"--out must end in .pt (a model file such as model.ivae.pt), got '{out.name}'"
        )
    check_options(args)
    existed = out.exists()
    if args.image:
        patches, extras = _image_source(args)
        args.patches = args.image  # named in the messages and the model's metadata
    else:
        patches, extras = read_patches(args.patches)
    labels = None
    if args.labels:
        labels = _read_labels(args.labels, len(patches))
    elif "labels" in extras and args.model in ("ss-rvae", "crvae"):
        labels = _check_labels(extras["labels"], len(patches), Path(args.patches).name)
        print(f"napari-ivae train: using the labels stored in {args.patches}", file=sys.stderr)
    if labels is not None and args.model not in ("ss-rvae", "crvae"):
        print(
            f"napari-ivae train: note: --labels is only used by ss-rvae; ignored for {args.model}",
            file=sys.stderr,
        )
        labels = None
    if args.model == "ss-rvae" and labels is None:
        raise InputError("ss-rvae needs --labels (one int per patch, -1 = unlabeled)")
    condition_names, conditions = _read_conditions(args, extras, len(patches))
    if args.model == "crvae" and labels is None and conditions is None:
        raise InputError(
            "crvae needs the class of every patch (--labels) and/or condition "
            "values (--condition-column)"
        )
    grid_shape = _grid_shape(args, extras, len(patches))
    if args.model == "jrvae" and (args.classes or 0) > len(patches):  # before, not after warm-up
        raise InputError(
            f"--classes {args.classes} is more than the {len(patches)} patches; ask for at "
            "most that many classes or cut more patches"
        )

    from napari_ivae.core.models import build_model
    from napari_ivae.core.models.training import train
    from napari_ivae.core.validation import as_label_array

    model_config, train_config = _build_configs(args, patches.shape[1:], labels, condition_names)
    if labels is not None and args.model == "ss-rvae":
        labels = as_label_array(labels, len(patches), model_config.n_classes)
    model = build_checked(build_model, model_config, args.hidden)
    n_labeled = int((labels >= 0).sum()) if labels is not None else 0
    if not args.quiet:
        _say(
            f"napari-ivae train: training {args.model} on {len(patches)} patches "
            f"{patches.shape[1]}x{patches.shape[2]}"
            + (f" ({n_labeled} labeled)" if labels is not None else "")
            + f": {epochs_text(args, train_config, len(patches))}, "
            f"batch {train_config.batch_size}, lr {train_config.lr:g}"
            + (
                f" ({train_config.lr_bernoulli:g} if the patches are near-binary)"
                if train_config.lr_bernoulli
                else ""
            )
            + ", "
            f"seed {train_config.seed}"
        )

    started = time.perf_counter()
    with _StopOnInterrupt() as interrupt:
        steps = train(
            model,
            patches,
            labels,
            train_config,
            stop_event=interrupt.event,
            grid_shape=grid_shape,
            conditions=conditions,
        )
        losses = []
        while True:
            try:
                event = next(steps)
            except StopIteration as done:
                result = done.value
                break
            losses = [] if event.step == 0 else losses
            losses.append(event.loss)
            if not args.quiet and event.step == event.steps_per_epoch - 1:
                _say(_progress_line(event, float(np.mean(losses))))

    metadata = {
        "normalization": _json_extra(extras, "normalization"),
        "patch_params": _json_extra(extras, "patch_params"),
        "source_patches": str(Path(args.patches).expanduser().resolve()),
        "n_patches": len(patches),
        "n_labeled": n_labeled,
        "cli_options": {k: v for k, v in vars(args).items() if k != "func"},
    }
    kept = replaced(existed and not result.stopped)
    if result.stopped and existed:  # a partial model does not replace the earlier one
        out, kept = out.with_name(side_name(out, "partial")), f"; the earlier {out.name} is kept"
    path = save_with_fallback(out, result, metadata)
    final = result.history[-1]["loss"] if result.history else float("nan")
    state = "stopped early; partial model" if result.stopped else "model"
    _say(
        f"napari-ivae train: {state} saved to {path} ({len(result.history)} epoch(s), "
        f"final loss {final:.4g}, "
        f"{_format_seconds(time.perf_counter() - started)} on {result.device}){kept}"
    )
    return 130 if result.stopped else 0
