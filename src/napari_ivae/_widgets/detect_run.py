"""The Detect dock's computations on a prepared image, safe in any thread: the detection
itself, the particles' contrast self-check, the spacing estimate."""

from __future__ import annotations

from typing import Any

import numpy as np


def run_detection(
    image: np.ndarray,
    mode: str,
    spacing: float | None,
    sigma: float | None,
    refine: str | None,
    method: str,
    polarity: str,
    crystal_only: bool = True,
) -> Any:
    """Detect atoms or particles in a prepared ``(Y, X)`` / ``(F, Y, X)`` image (any thread)."""
    frame_axis = 0 if image.ndim == 3 else None
    if mode == "atoms":
        from napari_ivae.core.detection.atoms import detect_atoms

        invert = {"auto": None, "bright": False, "dark": True}[polarity]
        from napari_ivae.core.detection.streaming import detect_lazy, lazy_input

        if lazy_input(image, None, frame_axis):  # by frame or chunk, counted in the dock
            from napari_ivae._workers import report_progress

            return detect_lazy(
                image,
                "atoms",
                spacing=spacing,
                sigma=sigma,
                refine=refine,
                invert=invert,
                crystal_only=crystal_only,
                progress=report_progress,
            )
        return detect_atoms(
            image,
            spacing=spacing,
            sigma=sigma,
            refine=refine,
            invert=invert,
            frame_axis=frame_axis,
            crystal_only=crystal_only,
        )
    from napari_ivae.core.detection.particles import detect_particles

    return detect_particles(image, method=method, polarity=polarity, frame_axis=frame_axis)


def _check_particle_contrast(image: Any, det: Any, asked: str) -> None:
    """Add the command line's warning for particles that barely stand out (noise, or the
    other polarity) to the detection's self-check (not for images read by chunks)."""
    from napari_ivae.core.detection.particle_contrast import noise_warning, resolved_polarity
    from napari_ivae.core.detection.streaming import lazy_input

    if len(det.coords) == 0 or det.labels is None or not isinstance(det.quality, dict):
        return
    if lazy_input(image, None, 0 if image.ndim == 3 else None):
        return
    polarity = resolved_polarity(det, asked)
    warning = noise_warning(np.asarray(image), det.labels, polarity, len(det.coords))
    if warning:
        det.quality.setdefault("warnings", []).append(warning)


def estimate(image: Any) -> float:
    """Lattice spacing (px) of the first frame of a prepared image
    (:func:`~napari_ivae.core.detection.spacing.frame_spacing`: a lazy image is never read
    whole)."""
    from napari_ivae.core.detection.spacing import frame_spacing

    return frame_spacing(image)
