"""How ``napari-ivae detect`` runs the detector: in memory, frame by frame for a long or lazy
stack (particle labels in a scratch file), or chunk by chunk for a lazy frame."""

from __future__ import annotations

import os


def _detect(image, mode: str, run_on: dict, labels_path, options: dict):
    """The in-memory detector; or, for a long or lazy stack,
    :func:`~napari_ivae.core.detection.streaming.detect_stream` with particle labels in a scratch file
    (temp folder) that is copied to the labels image atomically; or, for a lazy frame,
    :func:`~napari_ivae.core.detection.streaming.detect_lazy` (chunk by chunk). Long stages report
    their progress on stderr."""
    from napari_ivae.cli._progress import Progress

    if run_on["chunked"]:
        from napari_ivae.core.detection.streaming import detect_lazy

        return detect_lazy(
            image,
            mode,
            scheduler=run_on["scheduler"],
            progress=Progress("napari-ivae detect", "chunks searched"),
            **options,
        )
    if not run_on["streaming"]:
        if mode == "atoms":
            from napari_ivae.core.detection.atoms import detect_atoms

            return detect_atoms(image, **options)
        from napari_ivae.core.detection.particles import detect_particles

        return detect_particles(image, **options)
    import numpy as np

    from napari_ivae.core.detection.streaming import detect_stream

    labels = None
    if labels_path is not None:
        import tempfile

        handle, scratch = tempfile.mkstemp(prefix="napari-ivae-labels-", suffix=".npy")
        os.close(handle)
        labels = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.int32, shape=image.shape)
    options.pop("frame_axis", None)
    return detect_stream(
        image,
        mode,
        labels_out=labels,
        scheduler=run_on["scheduler"],
        progress=Progress("napari-ivae detect", "frames detected"),
        **options,
    )
