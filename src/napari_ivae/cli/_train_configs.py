"""The command-line options of ``napari-ivae train`` (and ``search``) as the model's and the
training's configurations: each option only overrides ``TrainConfig.defaults_for(kind)`` when
given."""

from __future__ import annotations

from napari_ivae.cli._train_checks import min_steps_for, parse_hidden
from napari_ivae.cli._train_inputs import _csv
from napari_ivae.core.errors import InputError
from napari_ivae.core.models.config import SMOOTHNESS_FORMS


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
