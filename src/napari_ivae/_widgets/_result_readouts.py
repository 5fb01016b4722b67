"""What is read off a result besides its maps: the confusion of the labeled patches (as
trained, and held out), the latents whose maps show only noise, and the maps' contrast
limits."""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion_text(true: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> str:
    """A confusion matrix (rows true, columns predicted) of the labeled patches as text."""
    from napari_ivae.core.analysis.heldout import confusion_lines, confusion_matrix

    true = np.asarray(true)
    keep = true >= 0
    if not np.any(keep):
        return ""
    matrix = confusion_matrix(true, predicted, len(class_names))
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    return "\n".join(
        [
            *confusion_lines(matrix, class_names),
            f"accuracy on the {int(keep.sum())} labeled patches: {accuracy:.1%}",
            "(not held out: the model trained on these labels;",
            " the held-out check below tells what it learned)",
        ]
    )


def compute_heldout(model: Any, patches: np.ndarray, labels: np.ndarray) -> Any:
    """k-fold held-out confusion of the model's classes (any thread)."""
    from napari_ivae.core.analysis.heldout import model_heldout_confusion

    return model_heldout_confusion(model, patches, labels)


def heldout_text(held: Any, class_names: list[str]) -> str:
    """A :class:`~napari_ivae.core.analysis.heldout.HeldOutConfusion` as text, with what it measures."""
    from napari_ivae.core.analysis.heldout import confusion_lines

    return "\n".join(
        [
            f"held out ({held.folds}-fold, each patch predicted by a classifier",
            " that never saw its label; the VAE is not retrained):",
            *confusion_lines(held.matrix, class_names),
            f"held-out accuracy on the {len(held.true)} labeled patches: {held.accuracy:.1%}",
            f"(always the most common class: {held.chance:.1%})",
        ]
    )


NOISE_SPREAD = 2.0  # a latent whose codes spread less than this many posterior σ is noise


def noise_notes(encoding: Any) -> list[str]:
    """One sentence per latent whose map shows noise rather than structure: the spread of its
    codes over the patches (1st-99th percentile) is under :data:`NOISE_SPREAD` times its
    median posterior standard deviation, so no two patches are told apart along it."""
    notes = []
    z_mean, z_std = np.asarray(encoding.z_mean), np.asarray(encoding.z_std)
    for i in range(z_mean.shape[1] if z_mean.ndim == 2 and len(z_mean) else 0):
        low, high = np.percentile(z_mean[:, i], [1, 99])
        noise = float(np.median(z_std[:, i]))
        if high - low < NOISE_SPREAD * noise:
            notes.append(
                f"z{i + 1} spreads {high - low:.2g} over the patches, within its "
                f"posterior noise (σ {noise:.2g}): its map shows noise, not structure"
            )
    return notes


def map_limits(columns: dict, maps: dict) -> dict:
    """Contrast limits of the image maps from the patches' values (any thread: computed with
    the maps, not when the layers are written)."""
    limits = {}
    for name in maps:
        if name == "angle":
            limits[name] = angle_limits(columns["angle"])
        elif name not in ("class", "cluster"):
            values = columns.get(name)
            if values is not None:
                limits[name] = _limits(
                    np.asarray(values, dtype=float), centred=not name.startswith("z")
                )
    return limits


def angle_limits(angles: np.ndarray) -> tuple[float, float]:
    """Contrast limits (degrees) for an angle map: the full circle, or, when the angles stay
    within a narrow arc that does not cross ±180°, that arc (so small tilts are visible)."""
    from napari_ivae.core.analysis.maps import wrap_angle

    angles = np.asarray(angles, dtype=float)
    angles = angles[np.isfinite(angles)]
    if angles.size == 0:
        return (-180.0, 180.0)
    centre = np.angle(np.mean(np.exp(1j * angles)))
    spread = np.percentile(np.abs(wrap_angle(angles - centre)), 99)
    low, high = np.degrees(centre - spread) - 1.0, np.degrees(centre + spread) + 1.0
    if spread > np.pi / 2 or low < -180 or high > 180:
        return (-180.0, 180.0)
    return (float(low), float(high))


def _limits(values: np.ndarray, centred: bool = False) -> tuple[float, float]:
    """Contrast from the values' real spread (1st-99th percentile of the patches' values);
    ``centred``: symmetric about 0, for signed quantities (offsets) on a diverging colormap."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (0.0, 1.0)
    low, high = np.percentile(values, [1, 99])
    if centred:
        half = float(max(abs(low), abs(high))) or 1.0
        return (-half, half)
    return (float(low), float(high)) if high > low else (float(low), float(low) + 1.0)
