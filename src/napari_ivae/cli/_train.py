"""``napari-ivae train``: train a VAE / rVAE / shift-VAE / ss-rVAE on saved patches.

Defaults come from ``TrainConfig.defaults_for(kind)``; every option only overrides them when
given. Progress goes to stderr, one line per epoch. The first Ctrl-C stops after the current
batch and still saves the partial model; a second one aborts without saving.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from napari_ivae.cli._arguments import add_channel_argument, add_frame_axis_argument
from napari_ivae.cli._paths import output_path, replaced
from napari_ivae.cli._train_checks import (
    build_checked,
    check_options,
    epochs_text,
    min_steps_for,
    parse_hidden,
    save_with_fallback,
    side_name,
)
from napari_ivae.core.errors import InputError
from napari_ivae.core.models.config import SMOOTHNESS_FORMS

# == core.models.MODEL_KINDS (no torch here)
_MODEL_KINDS = ("vae", "rvae", "shift-vae", "ss-rvae", "jrvae", "crvae")


# ------------------------------------------------------------------ file helpers (shared)
def _load_array_file(path: Path, what: str, key: str):
    """Return ``(array, extras)`` from ``.npy`` or ``.npz`` (``key`` inside); clear errors."""
    if not path.exists():
        raise InputError(f"{what} file not found: {path}")
    if path.is_dir():
        raise InputError(f"{what} path {path} is a folder; give a .npy or .npz file")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise InputError(
            f"{what} file {path} has an unsupported format {suffix or '(none)'!r}; "
            f"save the array with numpy as .npy (or .npz with key {key!r})"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise InputError(
                f"{what} file {path} holds Python objects, not a numeric array; "
                "save a plain numeric array"
            ) from err
        raise InputError(f"{what} file {path} is not a readable numpy file ({err})") from err
    except (OSError, EOFError) as err:
        raise InputError(f"{what} file {path} is corrupt or not a numpy file ({err})") from err
    if isinstance(loaded, np.ndarray):  # an .npy, also one named .npz
        return loaded, {}
    with loaded:  # an .npz archive, also one named .npy
        keys = list(loaded.files)
        if key not in keys:
            raise InputError(
                f"{what} file {path} has no array {key!r} (it has {keys}); "
                f"save it with np.savez(path, {key}=array)"
            )
        try:
            extras = {k: loaded[k] for k in keys}
        except (ValueError, OSError, EOFError) as err:
            raise InputError(
                f"{what} file {path} is corrupt or holds Python objects ({err})"
            ) from err
    return extras.pop(key), extras


def read_patches(path) -> tuple[np.ndarray, dict]:
    """Patches ``(N, H, W)`` from ``.npy`` or ``.npz`` (key ``patches``) plus the other arrays.

    Raises
    ------
    InputError
        Missing file, wrong format, wrong rank, NaN/inf, empty.
    """
    from napari_ivae.core.validation import as_patch_array

    path = Path(path).expanduser()
    array, extras = _load_array_file(path, "patches", "patches")
    return as_patch_array(array, name=f"patches in {path.name}"), extras


def _image_source(args):
    """``(SourcePatches, extras)``: the patches of ``--image`` at ``--points`` or on
    ``--grid``, cut when training asks for them (:class:`~napari_ivae.core.patches.source.
    PatchSource`)."""
    from napari_ivae.cli._patches import (
        _points_for_2d_image,
        check_size,
        choose_size,
        points_mode,
        read_frames,
    )
    from napari_ivae.core.io.imageio import read_points_csv
    from napari_ivae.core.patches.source import PatchSource

    if (args.points is None) == (args.grid is None):
        raise InputError("--image needs one of --points POINTS.csv or --grid STRIDE")
    check_size(args.size)
    # as detect reads it (colour, --frame-axis, NaN filled); a zarr stays lazy, a .npy mapped
    image = read_frames(args.image, channel=args.channel, frame_axis=args.frame_axis)
    mode = coords = properties = None
    if args.points is not None:
        coords, properties = read_points_csv(args.points)
        mode = points_mode(properties.columns)
        if len(image.shape) == 2:
            coords = _points_for_2d_image(coords, args.points)
    args.size = choose_size(args.size, image, coords, "napari-ivae train", properties)
    if args.grid is not None:
        source = PatchSource.grid(image, args.size, args.grid, normalize=args.normalize)
    else:
        source = PatchSource(image, coords, args.size, normalize=args.normalize)
    params = {
        "source": "grid" if args.grid is not None else "points",
        "size": args.size,
        "normalize": args.normalize,
    }
    if mode:
        params["points_mode"] = mode  # `batch` detects the same kind of points
    if args.grid is not None:
        params["stride"] = args.grid
    extras = {
        "patch_params": np.asarray(json.dumps(params)),
        "normalization": np.asarray(json.dumps(source.normalization)),
    }
    if source.grid_shape is not None:
        extras["grid_shape"] = np.asarray(source.grid_shape)
    return source.lazy_patchset().patches, extras


def _read_labels(path, n_patches: int) -> np.ndarray:
    path = Path(path).expanduser()
    labels, _ = _load_array_file(path, "labels", "labels")
    return _check_labels(labels, n_patches, path.name)


def _check_labels(labels, n_patches: int, source) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "biuf":
        raise InputError(
            f"labels in {source} are {labels.dtype} values, not numbers; give one "
            "integer per patch (-1 = unlabeled, classes 0..K-1) and the names "
            "with --class-names"
        )
    if labels.ndim != 1 or len(labels) != n_patches:
        raise InputError(
            f"labels in {source} have shape {labels.shape} but there are "
            f"{n_patches} patches; give one integer per patch (-1 = unlabeled)"
        )
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise InputError(f"labels in {source} contain NaN; use -1 for unlabeled patches")
    return labels


def _json_extra(extras: dict, key: str):
    value = extras.get(key)
    if value is None:
        return None
    try:
        return json.loads(str(value))
    except ValueError:
        return str(value)


def _csv(text: str) -> tuple:
    return tuple(part.strip() for part in text.split(",") if part.strip())


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
def _build_configs(args, patch_shape, labels, condition_names=()):
    from napari_ivae.core.models import ModelConfig, TrainConfig

    invariances = () if args.invariances.strip().lower() == "none" else _csv(args.invariances)
    class_names, n_classes = (), 0
    if args.model == "jrvae":
        n_classes = args.classes or 0
        if n_classes < 2:
            raise InputError("jrvae needs --classes K (the number of classes to find, >= 2)")
    if args.model in ("ss-rvae", "crvae") and (args.model == "ss-rvae" or labels is not None):
        class_names = _csv(args.class_names) if args.class_names else ()
        repeated = sorted({name for name in class_names if class_names.count(name) > 1})
        if repeated:
            raise InputError(
                f"--class-names repeats {', '.join(repeated)}; give every class its own name"
            )
        top = int(labels.max()) + 1 if labels is not None and len(labels) else 0
        n_classes = len(class_names) or top
        if class_names and top > len(class_names):
            raise InputError(
                f"labels go up to class {top - 1} but --class-names gives only "
                f"{len(class_names)} names; give one name per class"
            )
    hidden = parse_hidden(args.hidden, patch_shape)
    model_config = ModelConfig(
        kind=args.model,
        patch_shape=patch_shape,
        latent_dim=args.latent_dim,
        invariances=invariances,
        translation_prior=args.translation_prior,
        shift_scale=args.shift_scale,
        n_classes=n_classes,
        class_names=class_names,
        hidden=hidden,
        **({"condition_names": condition_names} if condition_names else {}),
        **({"intensity_invariant": False} if getattr(args, "keep_brightness", False) else {}),
    )
    overrides = {
        "seed": args.seed,
        "device": args.device,
        "min_steps": min_steps_for(args, TrainConfig.defaults_for(args.model)),
    }
    for name in ("epochs", "batch_size", "lr", "label_weight"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.lr is not None:
        overrides["lr_bernoulli"] = None  # --lr is used whatever the likelihood
    if args.beta is not None:
        overrides["beta_end"] = args.beta
    if args.smoothness:
        overrides["smoothness"] = args.smoothness
    overrides.update(smoothness_overrides(args))
    return model_config, TrainConfig.defaults_for(args.model, **overrides)


def add_smoothness_options(p) -> None:
    """``--smoothness-form`` and ``--smoothness-latents`` (``napari-ivae train`` and
    ``search``); unset, they keep ``TrainConfig``'s defaults (tv-relative on z1 only)."""
    p.add_argument(
        "--smoothness-form",
        choices=SMOOTHNESS_FORMS,
        help="with --smoothness: tv-relative (default: differences over each latent's spread, "
        "so the map cannot be shrunk instead of smoothed), tv (absolute differences) or "
        "gmrf (squared)",
    )
    p.add_argument(
        "--smoothness-latents",
        type=int,
        metavar="K",
        help="with --smoothness: the term on z1..zK only (designated phase maps: segment "
        "z1), the other z stay free; default 1 (z1 only); 0 = every z",
    )


def smoothness_overrides(args) -> dict:
    """The ``TrainConfig`` fields given by :func:`add_smoothness_options`' options."""
    overrides: dict = {}
    if args.smoothness_form is not None:
        overrides["smoothness_form"] = args.smoothness_form
    if args.smoothness_latents is not None:
        if args.smoothness_latents < 0:
            raise InputError(
                f"--smoothness-latents must be >= 0 (0 = every z), got {args.smoothness_latents}"
            )
        overrides["smoothness_latents"] = args.smoothness_latents
    return overrides


_STOPPING = (
    "napari-ivae train: stopping after this batch; the partial model will be saved "
    "(Ctrl-C again to abort without saving)"
)


class _StopOnInterrupt:
    """First Ctrl-C (or SIGTERM, as ``kill`` and job schedulers send it) sets ``event`` and
    says ``message`` (train: stop after this batch, keep the model); the second one aborts."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, message: str = _STOPPING):
        self.event = threading.Event()
        self._previous: dict = {}
        self._message = message

    def _handler(self, signum, frame):
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        try:
            print(f"\n{self._message}", file=sys.stderr, flush=True)
        except (BrokenPipeError, OSError):
            pass

    def __enter__(self):
        for number in self.SIGNALS:
            try:
                self._previous[number] = signal.signal(number, self._handler)
            except ValueError:  # not the main thread (embedded use): no Ctrl-C handling
                break
        return self

    def __exit__(self, *exc):
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        return False


def _grid_shape(args, extras: dict, n_patches: int):
    """The patches' grid (rows, cols) for ``--smoothness``; None when the term is off."""
    if not args.smoothness:
        return None
    if not np.isfinite(args.smoothness) or args.smoothness < 0:
        raise InputError(f"--smoothness must be 0 or more, got {args.smoothness:g}")
    if args.model == "ss-rvae":
        raise InputError("--smoothness is for grid patches of vae, rvae or shift-vae, not ss-rvae")
    if "grid_shape" not in extras:
        raise InputError(
            f"--smoothness needs grid patches: {args.patches} has no grid_shape "
            "(cut them with `napari-ivae patches --grid STRIDE`)"
        )
    rows, cols = (int(v) for v in np.asarray(extras["grid_shape"]).ravel()[:2])
    if rows < 2 or cols < 2 or n_patches % (rows * cols):
        raise InputError(
            f"--smoothness: {n_patches} patches do not fill whole grids of "
            f"{rows}x{cols}; give the .npz as `napari-ivae patches --grid` wrote it"
        )
    return rows, cols


def _read_conditions(args, extras: dict, n_patches: int):
    """``(names, values (N, V))`` of ``--condition-column``, or ``((), None)`` without it."""
    if not args.condition_column:
        if args.conditions:
            raise InputError("--conditions needs --condition-column (which columns to use)")
        return (), None
    if args.model != "crvae":
        raise InputError(f"--condition-column is for crvae, not {args.model}")
    names = _csv(args.condition_column)
    table = None
    if args.conditions:
        import csv

        path = Path(args.conditions).expanduser()
        if not path.is_file():
            raise InputError(f"conditions file not found: {path}")
        with open(path, newline="") as handle:
            table = list(csv.DictReader(handle))
    columns = []
    for name in names:
        if table is not None:
            if not table or name not in table[0]:
                have = list(table[0]) if table else []
                raise InputError(f"{args.conditions} has no column {name!r} (it has {have})")
            try:
                values = np.array([float(row[name]) for row in table])
            except (TypeError, ValueError) as err:
                raise InputError(
                    f"column {name!r} of {args.conditions} holds a value that is "
                    f"not a number ({err})"
                ) from err
        elif name in extras:
            values = np.asarray(extras[name], dtype=np.float64)
        else:
            raise InputError(
                f"{args.patches} has no array {name!r} (it has "
                f"{sorted(extras)}); give a CSV with --conditions"
            )
        if values.ndim != 1 or len(values) != n_patches:
            raise InputError(
                f"condition {name!r} has shape {values.shape}; give one value per "
                f"patch ({n_patches})"
            )
        if not np.isfinite(values).all():
            raise InputError(f"condition {name!r} holds NaN or inf; give a number per patch")
        columns.append(values)
    return names, np.stack(columns, 1).astype(np.float32)


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
