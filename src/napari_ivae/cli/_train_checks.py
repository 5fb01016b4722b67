"""``napari-ivae train``: option checks made before any work, and a save that never loses a model.

Every numeric option is checked here with its flag in the message (``--label-weight -1`` is
refused, not trained into a classifier that learns to be wrong). The number of epochs is the
one asked for: the per-kind minimum number of optimizer steps (``TrainConfig.min_steps``)
applies only when ``--epochs`` is left out, and is then announced up front. When the model
cannot be written to ``--out`` (disk full, file-size limit), it is saved beside it, in the
current folder or in the temporary folder instead, and the message says where.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

from napari_ivae.cli._paths import check_seed
from napari_ivae.core.errors import InputError
from napari_ivae.core.models.model_config import INVARIANCES  # torch-free

MAX_WEIGHTS = 50_000_000  # ~200 MB of float32 per network, before Adam's two copies


def check_options(args) -> None:
    """Refuse out-of-range numeric options of ``train`` with a message naming the flag.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``train`` options.

    Raises
    ------
    InputError
        The first bad option found.
    """
    check_seed(args.seed)
    checks = [
        ("--epochs", args.epochs, lambda v: v >= 1, "at least 1"),
        ("--min-steps", args.min_steps, lambda v: v >= 0, "0 or more"),
        ("--batch-size", args.batch_size, lambda v: v >= 1, "at least 1"),
        ("--lr", args.lr, lambda v: math.isfinite(v) and v > 0, "a positive number"),
        ("--latent-dim", args.latent_dim, lambda v: v >= 1, "at least 1"),
        ("--beta", args.beta, lambda v: math.isfinite(v) and v >= 0, "0 or more"),
        (
            "--label-weight",
            args.label_weight,
            lambda v: math.isfinite(v) and v > 0,
            "a positive number (the weight of the classifier's loss)",
        ),
        (
            "--translation-prior",
            args.translation_prior,
            lambda v: math.isfinite(v) and v > 0,
            "a positive fraction of the patch width",
        ),
        ("--shift-scale", args.shift_scale, lambda v: 0 < v <= 1, "in 0 < k <= 1"),
    ]
    for flag, value, ok, wanted in checks:
        if value is not None and not ok(value):
            raise InputError(f"{flag} must be {wanted}, got {value:g}")
    if args.invariances.strip().lower() != "none":
        unknown = [
            name
            for name in (part.strip() for part in args.invariances.split(","))
            if name and name not in INVARIANCES
        ]
        if unknown:
            raise InputError(
                f"--invariances: unknown {', '.join(unknown)}; give a comma list "
                f"of {', '.join(INVARIANCES)}, or 'none'"
            )
    check_applicable(args)
    check_device(args.device)


# options that only one kind of model uses: (flag, attribute, the kinds)
_KIND_OPTIONS = (
    ("--classes", "classes", ("jrvae",)),
    ("--label-weight", "label_weight", ("ss-rvae",)),
    ("--class-names", "class_names", ("ss-rvae", "crvae")),
    ("--condition-column", "condition_column", ("crvae",)),
    ("--conditions", "conditions", ("crvae",)),
    ("--keep-brightness", "keep_brightness", ("rvae",)),
)
# options that cut the patches from --image: with --patches they would do nothing
_IMAGE_OPTIONS = (
    ("--points", "points"),
    ("--grid", "grid"),
    ("--size", "size"),
    ("--frame-axis", "frame_axis"),
    ("--channel", "channel"),
)


def check_applicable(args) -> None:
    """Refuse an option that would be ignored: one of another model kind (``--classes`` for
    a vae), or one that cuts patches from ``--image`` given with ``--patches``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``train`` options.

    Raises
    ------
    InputError
        The first such option, named with what it is for.
    """
    if args.patches is not None:
        for flag, name in _IMAGE_OPTIONS:
            if getattr(args, name, None) is not None:
                raise InputError(
                    f"{flag} is for cutting patches from --image; the patches of --patches "
                    f"are cut already, so leave {flag} out (or give --image instead)"
                )
    for flag, name, kinds in _KIND_OPTIONS:
        if getattr(args, name, None) not in (None, False) and args.model not in kinds:
            raise InputError(
                f"{flag} is for --model {' or '.join(kinds)}; --model {args.model} does not "
                "use it, so leave it out"
            )
    if getattr(args, "shift_scale", 1.0) != 1.0 and args.model != "shift-vae":
        raise InputError(
            f"--shift-scale is for --model shift-vae; --model {args.model} does not use it, "
            "so leave it out"
        )


def check_device(device: str) -> None:
    """Refuse a ``--device`` this machine does not have, before any work.

    Parameters
    ----------
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Raises
    ------
    InputError
        The device is unknown or not available.
    """
    from napari_ivae.core.devices import resolve_device
    from napari_ivae.core.errors import IvaeError

    try:
        resolve_device(device)
    except IvaeError as err:
        raise InputError(f"--device {device}: {err}") from None


def parse_hidden(text: str, patch_shape) -> tuple:
    """``--hidden 128,128`` as a tuple of widths, refusing sizes no machine can build.

    Parameters
    ----------
    text : str
        Comma-separated layer widths.
    patch_shape : tuple of int
        ``(H, W)`` of the patches (the first layer has ``H * W`` inputs).

    Returns
    -------
    tuple of int

    Raises
    ------
    InputError
        Not integers, widths < 1, or a network of more than ``MAX_WEIGHTS`` weights.
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        hidden = tuple(int(part) for part in parts)
    except ValueError:
        raise InputError(f"--hidden must be comma-separated integers, got {text!r}") from None
    if not hidden or min(hidden) < 1:
        raise InputError(f"--hidden must list layer widths of at least 1, got {text!r}")
    pixels = int(patch_shape[0]) * int(patch_shape[1])
    widths = (pixels, *hidden)
    weights = sum(a * b for a, b in zip(widths, widths[1:]))
    if weights > MAX_WEIGHTS:
        raise InputError(
            f"--hidden {text} makes a network of about {weights:.2g} weights "
            f"({weights * 4 / 1e9:.2g} GB); use widths of a few hundred "
            "(default 128,128)"
        )
    return hidden


def build_checked(build_model, model_config, hidden_text: str):
    """``build_model(model_config)``, with running out of memory reported as a bad ``--hidden``.

    Parameters
    ----------
    build_model : callable
        :func:`napari_ivae.core.models.build_model`.
    model_config : ModelConfig
    hidden_text : str
        The ``--hidden`` option, for the message.

    Returns
    -------
    BaseIVAE

    Raises
    ------
    InputError
        The model does not fit into memory.
    """
    try:
        return build_model(model_config)
    except (MemoryError, RuntimeError) as err:  # torch: "DefaultCPUAllocator: not enough memory"
        raise InputError(
            f"the model does not fit into memory ({type(err).__name__}); use "
            f"smaller --hidden widths than {hidden_text}"
        ) from None


def min_steps_for(args, defaults) -> int:
    """The minimum number of steps: ``--min-steps``, else the kind's unless ``--epochs`` is set.

    Parameters
    ----------
    args : argparse.Namespace
    defaults : TrainConfig
        ``TrainConfig.defaults_for(args.model)``.

    Returns
    -------
    int
    """
    if args.min_steps is not None:
        return int(args.min_steps)
    return 0 if args.epochs is not None else int(defaults.min_steps)


def epochs_text(args, train_config, n_patches: int) -> str:
    """How many epochs will run and why, for the line printed before training starts.

    Parameters
    ----------
    args : argparse.Namespace
    train_config : TrainConfig
    n_patches : int

    Returns
    -------
    str
        e.g. ``"30 epochs"`` or ``"25 epochs (the default 12, raised to make at least 300
        steps; --min-steps 0 or --epochs to change)"``.
    """
    from napari_ivae.core.models import TrainConfig

    steps = -(-n_patches // min(train_config.batch_size, n_patches))
    epochs = train_config.epochs_for(steps)
    text = f"{epochs} epoch{'s' * (epochs != 1)}"
    if epochs > train_config.epochs:
        asked = "the default" if args.epochs is None else "--epochs"
        text += (
            f" ({asked} {train_config.epochs}, raised to make at least "
            f"{train_config.min_steps} steps: --min-steps)"
        )
    recommended = TrainConfig.defaults_for(args.model).min_steps
    if args.epochs is not None and args.min_steps is None and epochs * steps < recommended:
        done = epochs * steps
        text += (
            f" ({done} step{'s' * (done != 1)}; {args.model} usually needs at least "
            f"{recommended}: add --min-steps {recommended})"
        )
    return text


def side_name(out: Path, tag: str) -> str:
    """``NAME.TAG-DATE-TIME.ivae.pt`` for ``out`` = ``NAME.ivae.pt`` (a file beside it)."""
    name = out.name
    suffix = ".ivae.pt" if name.endswith(".ivae.pt") else out.suffix
    stem = name[: len(name) - len(suffix)] if suffix else name
    return f"{stem}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}{suffix or '.ivae.pt'}"


def _fallback_paths(out: Path) -> list:
    recovered = side_name(out, "recovered")
    folders = [out.parent, Path.cwd(), Path(tempfile.gettempdir())]
    seen, paths = set(), []
    for folder in folders:
        key = os.path.realpath(folder)
        if key not in seen:
            seen.add(key)
            paths.append(folder / recovered)
    return paths


def save_with_fallback(out: Path, result, metadata: dict) -> Path:
    """Save the trained model to ``out``; when that fails, keep it in a fallback file.

    Parameters
    ----------
    out : Path
        ``--out``.
    result : TrainResult
        The training result (its ``model`` is saved).
    metadata : dict
        Provenance stored with the model.

    Returns
    -------
    Path
        ``out``, when it was written.

    Raises
    ------
    InputError
        ``out`` could not be written. The message says where the model was saved instead
        (beside ``out``, in the current folder or in the temporary folder), or that it could
        be saved nowhere and how to get it again (same command: training is reproducible).
    """
    from napari_ivae.core.models.persistence import save_model

    try:
        return save_model(out, result.model, result, metadata)
    except InputError as err:
        failure = str(err)
    tried = []
    for candidate in _fallback_paths(out):
        try:
            saved = save_model(candidate, result.model, result, metadata)
        except InputError:
            tried.append(str(candidate.parent))
            continue
        raise InputError(
            f"{failure}; the trained model was kept: it is saved as {saved} "
            "instead (move or rename it)"
        )
    raise InputError(
        f"{failure}; the model could not be saved anywhere else either (tried "
        f"{', '.join(tried)}): free some space (or raise the file-size limit) and "
        "run the same command again; with the same --seed it trains the same model"
    )
