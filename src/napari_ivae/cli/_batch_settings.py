"""How ``napari-ivae batch`` cuts patches: the pipeline a model was trained with, read from its
bundle, with the options given on the command line."""

from __future__ import annotations

import numpy as np

from napari_ivae.cli._detect import MIN_SPACING
from napari_ivae.core.errors import InputError


def pipeline_settings(bundle, *, mode=None, grid=None, spacing=None, polarity=None) -> dict:
    """How the model's patches were made, from its bundle, for applying it to new images.

    Parameters
    ----------
    bundle : ModelBundle
        The loaded model (its ``metadata`` holds ``patch_params``, ``normalization`` and
        ``detection`` when it was saved by napari or trained on ``napari-ivae patches``).
    mode : {"atoms", "particles"}, optional
        Overrides the stored detection mode.
    grid : int, optional
        Cut grid patches with this stride instead of patches on detected points.
    spacing : float, optional
        The atoms' spacing in pixels (``--spacing``), instead of the stored or estimated one.
    polarity : {"auto", "bright", "dark"}, optional
        The atoms' or particles' polarity (``--polarity``), instead of the stored one.

    Returns
    -------
    dict
        ``source`` ("points" or "grid"), ``size`` (H, W), ``normalize``, ``stride`` (grid),
        ``border``, ``order``, ``subpixel``, ``mode`` and ``detect`` (keyword arguments of the
        detector: only settings chosen by hand, everything else is estimated per image).
    """
    meta = bundle.metadata or {}
    params = dict(meta.get("patch_params") or {})
    normalization = meta.get("normalization")
    stored_mode = normalization.get("mode") if isinstance(normalization, dict) else None
    size = tuple(int(s) for s in bundle.config.patch_shape)
    source = "grid" if grid is not None else params.get("source", "points")
    stride = grid if grid is not None else params.get("stride")
    if source == "grid" and not stride:
        stride = max(1, size[0] // 4)
    settings = {
        "source": source,
        "size": size,
        "stride": int(stride) if stride else None,
        "normalize": params.get("normalize") or stored_mode or "none",
        "border": params.get("border", "drop"),
        "order": int(params.get("order", 1)),
        "subpixel": bool(params.get("subpixel", True)),
        "invert": bool(params.get("invert")),
    }
    detection = meta.get("detection") or {}
    chosen = dict(detection.get("widget_settings") or {})
    role = str(detection.get("role", ""))
    settings["mode"] = (
        mode
        or chosen.get("mode")
        or (role.removeprefix("detections_") if role.startswith("detections_") else None)
        or params.get("points_mode")  # `napari-ivae patches` on a `detect` CSV
        or "atoms"
    )
    if polarity is not None:
        chosen["polarity"] = polarity
    if spacing is not None:
        if settings["mode"] != "atoms":
            raise InputError(
                f"--spacing is for atoms, but {settings['mode']} are detected "
                "(give --mode atoms, or leave --spacing out)"
            )
        if not np.isfinite(spacing) or spacing < MIN_SPACING:
            raise InputError(f"--spacing must be at least {MIN_SPACING:g} px, got {spacing:g}")
        chosen["spacing"] = spacing
    settings["detect"] = _detector_options(settings["mode"], chosen)
    return settings


def _detector_options(mode: str, chosen: dict) -> dict:
    """The detector keywords set by hand when the model's points were detected."""
    polarity = chosen.get("polarity") or "auto"
    if mode == "atoms":
        options = {"invert": {"auto": None, "bright": False, "dark": True}.get(polarity)}
        for key in ("spacing", "sigma"):
            if chosen.get(key):
                options[key] = float(chosen[key])
        if "refine" in chosen:
            options["refine"] = None if chosen["refine"] in (None, "none") else chosen["refine"]
        if "crystal_only" in chosen:
            options["crystal_only"] = bool(chosen["crystal_only"])
        return options
    options = {"polarity": polarity}
    if chosen.get("method"):
        options["method"] = chosen["method"]
    if chosen.get("min_size"):  # the Detect dock's "min size (px)" (0 / None: auto)
        options["min_size"] = int(chosen["min_size"])
    # the Detect dock's "sensitivity", which only its auto method uses
    if chosen.get("method", "auto") == "auto" and chosen.get("sensitivity", 1.0) != 1.0:
        options["sensitivity"] = float(chosen["sensitivity"])
    return options


def describe_settings(settings: dict) -> str:
    """One line: how patches are made (for the first progress line)."""
    h, w = settings["size"]
    where = (
        f"grid every {settings['stride']} px"
        if settings["source"] == "grid"
        else f"{settings['mode']} detected in each image"
    )
    chosen = {k: v for k, v in settings["detect"].items() if v is not None}
    extra = (
        f" ({', '.join(f'{k} {v}' for k, v in chosen.items())})"
        if chosen and settings["source"] != "grid"
        else ""
    )
    return f"{h}x{w} px patches on {where}{extra}, normalisation {settings['normalize']}"


def _check_grid_options(args, settings: dict) -> None:
    """Refuse detection options when grid patches are cut: nothing is detected."""
    given = [
        flag
        for flag, value in (
            ("--mode", args.mode),
            ("--spacing", args.spacing),
            ("--polarity", args.polarity),
        )
        if value is not None
    ]
    if given and settings["source"] == "grid":
        how = "--grid" if args.grid is not None else "the model was trained on grid patches"
        raise InputError(
            f"{' and '.join(given)} set how atoms or particles are detected, but grid patches "
            f"are cut every {settings['stride']} px ({how}) and nothing is detected; leave "
            f"{' and '.join(given)} out"
        )
