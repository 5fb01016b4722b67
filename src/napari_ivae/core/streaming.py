"""Detection on stacks larger than memory: one frame at a time.

A ``(frames, Y, X)`` stack that is memory-mapped (``.npy``, uncompressed TIFF) or lazy (a dask
array, anything indexable by frame) is read frame by frame: each frame is prepared and detected
on its own and only its points (and, for particles, its labels, written into ``labels_out``)
are kept, so peak memory is a few frames whatever the stack's length (a memory map's pages are handed
back after each frame, :func:`~napari_ivae.core.patch_source.release_pages`). The parameters that the
in-memory path resolves once from the first frame (the atom spacing, smoothing and polarity)
are resolved from the first frame here too and then held fixed, so both paths give the same
points.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from napari_ivae.core.detections import Detections, empty_detections, make_detections
from napari_ivae.core.errors import InputError
from napari_ivae.core.patch_source import release_pages

# the atom parameters the in-memory path resolves from the first frame and keeps for the rest
_ATOM_FIXED = ("spacing", "sigma")


def detect_stream(stack, mode: str, *, labels_out=None,
                  progress: Callable[[int, int], None] | None = None,
                  **options) -> Detections:
    """Detect atoms or particles in every frame of a stack, one frame in memory at a time.

    Parameters
    ----------
    stack : array-like
        ``(frames, Y, X)``, indexable by frame (``numpy.memmap``, dask array, zarr array...).
    mode : {"atoms", "particles"}
        Which detector to run.
    labels_out : array-like, optional
        Particles: a writable ``(frames, Y, X)`` integer array (e.g. a memory-mapped ``.npy``)
        that receives each frame's labels image.
    progress : callable, optional
        ``progress(done, total)`` after each frame.
    **options
        Passed to :func:`~napari_ivae.core.atoms.detect_atoms` or
        :func:`~napari_ivae.core.particles.detect_particles` (not ``frame_axis``: frames are
        the first axis).

    Returns
    -------
    Detections
        As the in-memory detector returns for the whole stack (``labels`` is ``labels_out``).
    """
    if mode not in ("atoms", "particles"):
        raise InputError(f"mode={mode!r} is not known; use 'atoms' or 'particles'.")
    if len(getattr(stack, "shape", ())) != 3:
        raise InputError(f"detect_stream needs a (frames, Y, X) stack; got shape "
                         f"{getattr(stack, 'shape', None)}.")
    if options.get("frame_axis") not in (None, 0):
        raise InputError("detect_stream reads frames along the first axis (frame_axis 0).")
    options.pop("frame_axis", None)
    detect = _detector(mode)
    total = int(stack.shape[0])
    tables, params, messages = [], None, []
    for index in range(total):
        frame = np.asarray(stack[index])
        found = detect(frame, **options)
        if params is None:
            params = dict(found.params)
            if mode == "atoms":  # hold what the first frame resolved, as the in-memory path
                options.update({key: found.params[key] for key in _ATOM_FIXED})
                options["invert"] = bool(found.params.get("invert", False))
        if labels_out is not None and found.labels is not None:
            labels_out[index] = found.labels
            release_pages(labels_out)
        release_pages(stack)  # a memory map's pages read so far stop counting as ours
        table = found.properties.copy()
        table["frame"] = index
        tables.append(table)
        if found.message:
            messages.append(f"frame {index}: {found.message}")
        if progress is not None:
            progress(index + 1, total)
    if params is None:
        raise InputError("detect_stream needs a stack with at least one frame.")
    params.update(n_frames=total, is_stack=True, streamed=True)
    table = pd.concat(tables, ignore_index=True)
    message = "; ".join(messages[:3]) + (f" (and {len(messages) - 3} more)"
                                          if len(messages) > 3 else "")
    if len(table) == 0:
        result = empty_detections(table.columns, labels=labels_out, params=params,
                                  message=message)
    else:
        result = make_detections(table, labels=labels_out, params=params, message=message)
    from napari_ivae.core.detection_quality import assess

    result.quality = assess(result, mode)
    return result


def _detector(mode: str):
    if mode == "atoms":
        from napari_ivae.core.atoms import detect_atoms

        return detect_atoms
    from napari_ivae.core.particles import detect_particles

    return detect_particles


__all__ = ["detect_stream"]
