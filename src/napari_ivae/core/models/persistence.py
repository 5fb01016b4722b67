"""Save and load trained models as one versioned bundle file (recommended suffix ``.ivae.pt``).

A bundle is a ``torch.save`` of plain containers only (dicts, lists, strings, numbers, tensors)::

    {"format": "napari-ivae-model", "format_version": 1, "kind": "rvae",
     "model_config": ModelConfig.to_dict(), "state_dict": {name: tensor},
     "train_config": TrainConfig.to_dict() | None, "metadata": {...}}

and is read back **only** with ``torch.load(..., weights_only=True)``, so opening a file never
executes code from it. Writes go to a temporary file in the same folder that is then renamed
over the target, so a crash never leaves a half-written bundle in place of a good one.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from napari_ivae.core._atomic import write_output
from napari_ivae.core.errors import InputError, IvaeError, ModelFileError

FORMAT_NAME = "napari-ivae-model"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".ivae.pt"
_REQUIRED_KEYS = ("format_version", "kind", "model_config", "state_dict")


@dataclass
class ModelBundle:
    """A model loaded from a bundle file, with everything recorded about it.

    Attributes
    ----------
    model : BaseIVAE
        The rebuilt model, weights loaded, in evaluation mode, on the requested device.
    config : ModelConfig
    train_config : TrainConfig or None
        ``None`` when the bundle was saved without a training result.
    metadata : dict
        ``format_version``, ``kind``, ``seed``, ``device``, ``patch_shape``, ``normalization``,
        ``class_names``, ``history`` (list of per-epoch dicts), ``timings``, ``stopped``,
        ``created`` (ISO 8601 UTC), ``versions`` (napari-ivae, torch, pyro, numpy, python) and
        any user keys given to :func:`save_model`.
    path : Path or None
        The file it was read from.
    """

    model: object
    config: object
    train_config: object | None
    metadata: dict = field(default_factory=dict)
    path: Path | None = None


# ------------------------------------------------------------------------------- helpers
def _plain(value):
    """Convert a metadata value to containers ``weights_only`` loading accepts."""
    import torch

    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bool, int, float, str)):  # subclasses (TorchVersion, IntEnum...)
        return {bool: bool, int: int, float: float, str: str}[
            next(t for t in (bool, int, float, str) if isinstance(value, t))
        ](value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (tuple if isinstance(value, tuple) else list)(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value)).clone()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    return repr(value)  # anything else is recorded as text, never pickled as an object


def _versions() -> dict:
    import torch

    from napari_ivae import __version__

    versions = {
        "napari_ivae": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    try:
        import pyro

        versions["pyro"] = pyro.__version__
    except ImportError:  # pragma: no cover - pyro is a dependency
        pass
    return versions


def _model_normalization(model) -> dict | None:
    buffers = dict(model.named_buffers())
    if "norm_offset" not in buffers:
        return None
    return {
        "offset": float(buffers["norm_offset"]),
        "scale": float(buffers["norm_scale"]),
        "fitted": bool(buffers.get("norm_fitted", True)),
    }


def _atomic_torch_save(obj, path: Path) -> None:
    import torch

    write_output(path, lambda stream: torch.save(obj, stream), "model file")


# ------------------------------------------------------------------------------- saving
# what a trained model keeps of the pipeline that made its patches (one list for the widgets,
# the demo and the command line): the image it came from, how patches were cut and
# normalised, the detection that found the points, and the classes found on its codes
PIPELINE_KEYS = ("source", "patch_params", "normalization", "detection", "clustering")


def pipeline_metadata(metadata: dict) -> dict:
    """The entries of a model's metadata that describe its pipeline (``PIPELINE_KEYS``)."""
    return {key: value for key, value in (metadata or {}).items() if key in PIPELINE_KEYS}


def is_model_path(path) -> bool:
    """Whether ``path`` names a model file (ends in ``.pt``), so that a model is never
    written over a picture or a table the user named by mistake."""
    return Path(path).suffix.lower() == ".pt"


def save_model(path, model, result=None, metadata: dict | None = None) -> Path:
    """Write a trained model, its configuration and its provenance to one bundle file.

    Parameters
    ----------
    path : str or Path
        Target file ending in ``.pt`` (recommended suffix ``.ivae.pt``); its folder must exist.
        An existing file is replaced atomically.
    model : BaseIVAE
        A model built by :func:`napari_ivae.core.models.build_model` (needs ``model.config``).
    result : TrainResult, optional
        The training result: its loss history, seed, device, timings, stop flag and training
        configuration are recorded.
    metadata : dict, optional
        Extra provenance (e.g. ``{"normalization": patchset.normalization, "source": ...}``);
        values are stored as plain data (unknown objects as their text representation).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        Not a napari-ivae model, a folder or missing folder, a name not ending in ``.pt``, or
        the file cannot be written
        (no permission, disk full, file size limit); an existing file is then left unchanged.
    """
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "to_dict") or not hasattr(model, "state_dict"):
        raise InputError(
            "save_model needs a napari-ivae model (built by build_model, with .config)"
        )
    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(
            f"{path} is a folder; give a file name such as {path / ('model' + MODEL_SUFFIX)}"
        )
    if not path.parent.exists():
        raise InputError(f"cannot save the model: folder {path.parent} does not exist")
    if not is_model_path(path):
        raise InputError(
            f"cannot save the model as {path.name}: a model file ends in .pt "
            f"(such as model{MODEL_SUFFIX}); nothing was written"
        )

    config_dict = config.to_dict()
    train_config = getattr(result, "train_config", None) if result is not None else None
    user = dict(metadata or {})
    meta = {
        "kind": config_dict["kind"],
        "patch_shape": list(config_dict.get("patch_shape", ())),
        "class_names": list(config_dict.get("class_names", ())),
        "normalization": user.pop("normalization", None),
        "model_normalization": _model_normalization(model),
        "seed": getattr(result, "seed", None),
        "device": str(getattr(result, "device", "")) or None,
        "history": list(getattr(result, "history", []) or []),
        "timings": dict(getattr(result, "timings", {}) or {}),
        "stopped": bool(getattr(result, "stopped", False)),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    if train_config is not None and meta["seed"] is None:
        meta["seed"] = getattr(train_config, "seed", None)
    for key, value in user.items():
        meta.setdefault(key, value)
    bundle = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": config_dict["kind"],
        "model_config": _plain(config_dict),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "train_config": _plain(train_config.to_dict()) if train_config is not None else None,
        "metadata": _plain(meta),
    }
    _atomic_torch_save(bundle, path)  # any write failure: InputError, old file untouched
    return path


# ------------------------------------------------------------------------------- loading
def _refused_as_unsafe(err: Exception) -> bool:
    """Did torch's weights-only unpickler refuse an object (as opposed to damaged bytes)?"""
    text = str(err)
    return any(
        marker in text
        for marker in ("Unsupported global", "not an allowed global", "Unsupported class")
    )


def read_bundle(path) -> dict:
    """Read and validate a bundle file without building the model (safe: no code runs).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        The raw bundle (``model_config``, ``state_dict``, ``train_config``, ``metadata``...).

    Raises
    ------
    ModelFileError
        Missing, unreadable, corrupt, foreign, written by a newer napari-ivae, or holding
        NaN or infinite weights.
    """
    import pickle

    import torch

    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file ({MODEL_SUFFIX})")
    try:
        with open(path, "rb") as stream:
            stream.read(1)
    except OSError as err:
        raise ModelFileError(f"cannot read {path}: {err.strerror or err}") from err
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not _refused_as_unsafe(err):
            raise ModelFileError(
                f"{path} is corrupt or not a napari-ivae model file: it cannot "
                "be read as plain data, so it was not loaded; re-save or "
                "re-train the model"
            ) from err
        raise ModelFileError(
            f"{path} is not a napari-ivae model: it contains Python objects other than plain "
            "data (possibly code), so it was not loaded. Only open model files you trust, "
            f"written by napari-ivae ({MODEL_SUFFIX})."
        ) from err
    except Exception as err:  # zip/pickle/EOF/seek errors of damaged files come in many types
        raise ModelFileError(
            f"{path} is corrupt or truncated and cannot be read ({type(err).__name__}); "
            "re-save or re-train the model"
        ) from err

    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT_NAME:
        hint = ""
        if isinstance(bundle, dict) and bundle and all(torch.is_tensor(v) for v in bundle.values()):
            hint = " (it looks like a bare state_dict: weights without the model configuration)"
        raise ModelFileError(
            f"{path} is not a napari-ivae model bundle{hint}; train and save a model with "
            "napari-ivae (widget or `napari-ivae train`) to get one"
        )
    missing = [k for k in _REQUIRED_KEYS if k not in bundle]
    version = bundle.get("format_version")
    if missing or not isinstance(version, int):
        raise ModelFileError(
            f"{path} is a damaged napari-ivae bundle: missing {missing or 'version'}"
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer napari-ivae (model format {version}, this version "
            f"reads up to {FORMAT_VERSION}); upgrade napari-ivae to open it"
        )
    if not isinstance(bundle["state_dict"], dict) or not isinstance(bundle["model_config"], dict):
        raise ModelFileError(
            f"{path} is a damaged napari-ivae bundle: weights or configuration unreadable"
        )
    _check_finite_weights(bundle["state_dict"], path)
    return bundle


def _check_finite_weights(state_dict: dict, path: Path) -> None:
    """Refuse weights holding NaN or infinity: every output of such a model would be NaN."""
    import torch

    bad = [
        name
        for name, value in state_dict.items()
        if torch.is_tensor(value)
        and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise ModelFileError(
            f"{path} holds NaN or infinite weights ({bad[0]}{more}): the model diverged or the "
            "file was damaged, so it was not loaded; re-train it (e.g. with a lower --lr)"
        )


def load_model(path, device="cpu") -> ModelBundle:
    """Rebuild a trained model from a bundle file written by :func:`save_model`.

    Parameters
    ----------
    path : str or Path
    device : str or torch.device
        Where to put the model (``"cpu"``, ``"cuda"``, ``"auto"``...).

    Returns
    -------
    ModelBundle

    Raises
    ------
    ModelFileError
        Missing, corrupt, foreign, newer-format files, or weights that do not fit the recorded
        configuration.
    DeviceError
        ``device`` is not available on this machine.
    """
    from napari_ivae.core.devices import resolve_device
    from napari_ivae.core.models import ModelConfig, TrainConfig, build_model

    bundle = read_bundle(path)
    path = Path(path).expanduser()
    target = resolve_device(device) if isinstance(device, str) else device
    try:
        stored = dict(bundle["model_config"])
        # files saved before the ss-rVAE's pose templates existed were trained without them
        stored.setdefault("pose_templates", False)
        config = ModelConfig.from_dict(stored)
        train_dict = bundle.get("train_config")
        train_config = TrainConfig.from_dict(dict(train_dict)) if train_dict else None
        model = build_model(config)
    except (IvaeError, TypeError, KeyError) as err:
        raise ModelFileError(
            f"{path} has a model configuration this napari-ivae cannot build ({err}); it may "
            "come from a different version"
        ) from err
    try:
        model.load_state_dict(bundle["state_dict"], strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise ModelFileError(
            f"{path}: the stored weights do not match the stored {config.kind} configuration "
            f"(damaged or edited file): {detail}"
        ) from err
    model.to(target)
    model.eval()
    metadata = dict(bundle.get("metadata") or {})
    metadata["format_version"] = bundle["format_version"]
    metadata.setdefault("kind", config.kind)
    return ModelBundle(
        model=model, config=config, train_config=train_config, metadata=metadata, path=path
    )
