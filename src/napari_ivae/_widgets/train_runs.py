"""What a Train dock run counts and keeps: its labels checked, its steps and epochs as the
trainer counts them, its ETA, and the model bundle with where its patches came from."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae.core.errors import InputError


def trained_bundle(result: Any, config: Any, train_config: Any, extra: dict) -> Any:
    """A ModelBundle for a fresh training result (the same type ``load_model`` returns)."""
    from napari_ivae.core.models.persistence import ModelBundle

    metadata = {
        "kind": config.kind,
        "seed": result.seed,
        "device": result.device,
        "patch_shape": list(config.patch_shape),
        "class_names": list(config.class_names),
        "history": result.history,
        "stopped": result.stopped,
        **extra,
    }
    return ModelBundle(
        model=result.model, config=config, train_config=train_config, metadata=metadata
    )


def _detection_settings(points_layer: Any) -> dict:
    """The detection that made the points the patches were cut at (its parameters as used,
    the widget's settings and the self-check), so a model says where its patches came from."""
    if points_layer is None:
        return {}
    provenance = points_layer.metadata.get("napari_ivae", {})
    if not str(provenance.get("role", "")).startswith("detections_"):
        return {}
    return {key: value for key, value in provenance.items() if key != "counts"}


def check_labels(labels: np.ndarray | None, class_names: list[str]) -> tuple[np.ndarray, list]:
    """Labels for ss-rVAE: at least two classes with labeled patches, classes renumbered."""
    if labels is None or not np.any(np.asarray(labels) >= 0):
        raise InputError(
            "ss-rVAE needs labels: in 'Patches and labels', draw shapes around "
            "example patches of each class (at least two classes)."
        )
    labels = np.asarray(labels, dtype=np.int64)
    used = sorted(int(k) for k in np.unique(labels[labels >= 0]))
    if len(used) < 2:
        name = class_names[used[0]] if used[0] < len(class_names) else used[0]
        raise InputError(
            f"only one class ({name!r}) has labeled patches: draw shapes for at "
            "least one more class, or train an rVAE (unsupervised)."
        )
    remap = np.full(max(used) + 1, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    out = np.where(labels >= 0, remap[np.clip(labels, 0, None)], -1)
    names = [class_names[k] if k < len(class_names) else f"class {k + 1}" for k in used]
    return out, names


ETA_WINDOW = 50  # steps whose measured duration predicts the rest


def eta_text(step_times: list[float], remaining: int) -> str:
    """Time left from the measured duration of the last steps (median of at most
    :data:`ETA_WINDOW` intervals), not from the time since Start (which includes building the
    model); ``"measuring..."`` until two steps have arrived."""
    if remaining <= 0:
        return "0 s"
    if len(step_times) < 2:
        return "measuring..."
    intervals = sorted(b - a for a, b in zip(step_times[:-1], step_times[1:]))
    return _duration(intervals[len(intervals) // 2] * remaining)


def planned_steps(labels: Any, n_patches: int, batch_size: int, min_labeled: int) -> int:
    """The steps of one training epoch, as the trainer's batches count them: plain batches,
    or (``labels`` with labeled and unlabeled patches: ss-rVAE) batches of unlabeled
    patches, each joined by its share of labeled ones
    (:class:`napari_ivae.core.models.batches._Batches`)."""
    n_labeled = 0 if labels is None else int(np.sum(np.asarray(labels) >= 0))
    if n_labeled == 0 or n_labeled == n_patches:
        return int(np.ceil(n_patches / max(min(batch_size, n_patches), 1)))
    share = round(batch_size * n_labeled / n_patches)
    n_lab = min(n_labeled, max(min_labeled, share, 1), max(batch_size - 1, 1))
    return int(np.ceil((n_patches - n_labeled) / max(batch_size - n_lab, 1)))


def polish_steps(model_config: Any, train_config: Any, labels: Any) -> int:
    """The steps after training in which only the class images learn: an ss-rVAE with class
    images (:func:`napari_ivae.core.models.class_polish._polish_class_images`), else 0."""
    if model_config.kind != "ss-rvae" or not model_config.class_template or labels is None:
        return 0
    return int(train_config.class_image_steps)


def epochs_run(history: list[dict], steps_per_epoch: int | None) -> str:
    """The training actually run, from the per-epoch history: "30 epochs", or "2 epochs + 17
    of 55 steps" after a stop mid-epoch (the history's last entry is then partial)."""
    steps = [int(h.get("steps", 0)) for h in history]
    per_epoch = int(steps_per_epoch or max(steps, default=0))
    complete = sum(1 for n in steps if n >= per_epoch > 0)
    text = f"{complete} epoch{'s' * (complete != 1)}"
    if steps and 0 < steps[-1] < per_epoch:
        text += f" + {steps[-1]} of {per_epoch} steps"
    return text


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"
