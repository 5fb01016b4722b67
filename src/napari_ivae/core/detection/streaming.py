"""Detection on stacks larger than memory: one frame at a time, a large frame chunk by chunk.

A ``(frames, Y, X)`` stack that is memory-mapped (``.npy``, uncompressed TIFF) or lazy (a dask
array, anything indexable by frame) is read frame by frame: each frame is prepared and detected
on its own and only its points (and, for particles, its labels, written into ``labels_out``)
are kept, so peak memory is a few frames whatever the stack's length (a memory map's pages
are handed back after each frame, :func:`~napari_ivae.core.patches.source.release_pages`).
Frames after the first run on a scheduler (:mod:`napari_ivae.core.scheduling`: a few threads
by default, or worker processes, or a dask cluster); a frame larger than a chunk is detected
chunk by chunk (:mod:`napari_ivae.core.detection.chunked`), and :func:`detect_lazy` does the same for
one large frame. The parameters that the in-memory path resolves once from the first frame
(the atom spacing, smoothing and polarity, a weaker sub-lattice whose sites are judged:
``detect_atoms(sublattice=...)``, and a superstructure taken out over a much finer lattice:
``detect_atoms(superstructure=...)``) are resolved from the first frame here too and then held
fixed, so both paths give the same points. A frame detected chunk by chunk does not look for
the finer lattice (its chunks are smoothed only as far as the atom filters reach).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from napari_ivae.core.detection.detections import Detections, empty_detections
from napari_ivae.core.errors import InputError

if TYPE_CHECKING:  # imported where a stack's table is joined: detect_atoms imports this module
    import pandas as pd

# the atom parameters the in-memory path resolves from the first frame and keeps for the rest
_ATOM_FIXED = ("spacing", "sigma")


def detect_stream(
    stack,
    mode: str,
    *,
    labels_out=None,
    progress: Callable[[int, int], None] | None = None,
    scheduler=None,
    chunk: int | None = None,
    **options,
) -> Detections:
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
    scheduler : None, str or distributed.Client
        Where the frames after the first run (:func:`~napari_ivae.core.scheduling.map_tasks`:
        threads by default, ``"processes"``, ``"sync"``, a scheduler address or a client).
    chunk : int, optional
        Atoms: frames with more pixels than ``chunk`` squared are detected chunk by chunk
        (:func:`~napari_ivae.core.detection.chunked.detect_atoms_chunked`); default
        :data:`~napari_ivae.core.detection.chunked.CHUNK_SIDE`.
    **options
        Passed to :func:`~napari_ivae.core.detection.atoms.detect_atoms` or
        :func:`~napari_ivae.core.detection.particles.detect_particles` (not ``frame_axis``: frames are
        the first axis).

    Returns
    -------
    Detections
        As the in-memory detector returns for the whole stack (``labels`` is ``labels_out``).
    """
    from napari_ivae.core.scheduling import check_scheduler, map_tasks, portable

    if mode not in ("atoms", "particles"):
        raise InputError(f"mode={mode!r} is not known; use 'atoms' or 'particles'.")
    if len(getattr(stack, "shape", ())) != 3:
        raise InputError(
            f"detect_stream needs a (frames, Y, X) stack; got shape "
            f"{getattr(stack, 'shape', None)}."
        )
    if options.get("frame_axis") not in (None, 0):
        raise InputError("detect_stream reads frames along the first axis (frame_axis 0).")
    check_scheduler(scheduler)
    options.pop("frame_axis", None)
    total = int(stack.shape[0])
    if total == 0:
        raise InputError("The stack has no frames.")
    first = _detect_one(stack, 0, mode, chunk, options, scheduler)
    params = dict(first.params)
    note = ""
    if mode == "atoms":  # hold what the first frame resolved, as the in-memory path
        from napari_ivae.core.detection.atom_held_sublattice import held_sublattice

        options.update({key: first.params[key] for key in _ATOM_FIXED})
        options["invert"] = bool(first.params.get("invert", False))
        options["sublattice"] = held_sublattice(first.params)
        options["superstructure"] = first.params.get("superstructure")
        note = first.params.get("sublattice", "")
    # each frame's table only (its own coords and Detections are dropped as it arrives)
    tables, messages = [_frame_table(first, 0)], _frame_message(first, 0, note)
    _keep_labels(first, labels_out, 0, stack)
    del first
    if progress is not None:
        progress(1, total)
    shared, workers = portable(stack), _frame_workers(scheduler)
    # in blocks of frames, so that only a block's labels images wait to be stored
    block = FRAME_BLOCK if workers is None else max(FRAME_BLOCK, 2 * workers)
    for start in range(1, total, block):
        indices = range(start, min(start + block, total))

        def done_one(done, _, before=start):
            if progress is not None:
                progress(before + done, total)

        results = map_tasks(
            _detect_one,
            [(shared, index, mode, chunk, options, None) for index in indices],
            scheduler,
            done_one,
            workers,
        )
        for index, result in zip(indices, results):
            _keep_labels(result, labels_out, index, stack)
            tables.append(_frame_table(result, index))
            messages += _frame_message(result, index, note)
        del results
        _trim_heap()
    params.update(n_frames=total, is_stack=True, streamed=True)
    table = _joined(tables)
    _trim_heap()
    message = "; ".join(messages[:3]) + (
        f" (and {len(messages) - 3} more)" if len(messages) > 3 else ""
    )
    if note:  # once, as the in-memory path says it for the stack
        from napari_ivae.core.detection.atom_messages import with_note

        message = with_note(message, note)
    if len(table) == 0:
        result = empty_detections(table.columns, labels=labels_out, params=params, message=message)
    else:  # as make_detections builds it, without its copies of the table
        coords = table[["frame", "row", "col"]].to_numpy(dtype=np.float64).reshape(-1, 3)
        result = Detections(
            coords=coords, properties=table, labels=labels_out, params=params, message=message
        )
    from napari_ivae.core.detection.quality import assess

    result.quality = assess(result, mode)
    if note:  # a plain note, as atoms._checked adds it
        result.quality["measures"]["sublattice"] = note
    return result


def _frame_table(found: Detections, index: int) -> dict:
    """One frame's table as its own column arrays (none a view of another's block, so each
    can be let go on its own), ``frame`` set to ``index``."""
    table = found.properties
    columns = {name: table[name].to_numpy(copy=True) for name in table.columns}
    columns["frame"] = np.full(len(table), index, dtype=np.int64)
    return columns


def _trim_heap() -> None:
    """Hand the C heap's free memory back to the system (glibc's ``malloc_trim``), after each
    block of frames and at the end: the threads that detected frames leave their freed
    working memory in their heaps, where the small arrays kept between frames (each frame's
    points) stop it from shrinking, so the resident memory would grow with the frames.
    Elsewhere than glibc nothing is done. (Fixing glibc's mmap threshold instead, with
    ``mallopt``, held the memory as low but doubled the detection's CPU time: every large
    temporary was mapped and zeroed afresh.)"""
    import ctypes
    import ctypes.util

    try:
        name = ctypes.util.find_library("c")
        if name:
            ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _frame_message(found: Detections, index: int, note: str = "") -> list:
    """A frame's message, less the sub-lattice note every frame repeats (said once)."""
    message = found.message
    if note:
        from napari_ivae.core.detection.atom_messages import with_note

        message = message.replace(f"; {note}", "")
        message = "" if message == with_note("", note) else message
    return [f"frame {index}: {message}"] if message else []


def _joined(tables: list) -> pd.DataFrame:
    """The frames' tables as one, ``frame, row, col`` first (as ``make_detections`` orders
    them), joined column by column while the frames' columns are let go: the points are held
    about once, not three times."""
    import pandas as pd

    first = ["frame", "row", "col"]
    names = first + [c for c in tables[0] if c not in first]
    total = sum(len(t["frame"]) for t in tables)
    columns = {}
    for name in names:
        if name not in tables[0]:  # as make_detections fills a missing coordinate
            columns[name] = np.zeros(total)
            continue
        columns[name] = np.concatenate([t.pop(name) for t in tables])
    tables.clear()
    return pd.DataFrame(columns, copy=False)


FRAME_THREADS = 4  # frames detected at once by the default (thread) scheduler
FRAME_BLOCK = 16  # frames handed to the scheduler at once


def _frame_workers(scheduler) -> int | None:
    """The thread scheduler holds one frame per worker: a few, whatever the CPU count."""
    if scheduler not in (None, "threads"):
        return None
    from napari_ivae.core.scheduling import usable_cores

    return max(1, min(FRAME_THREADS, usable_cores()))


def _detect_one(stack, index: int, mode: str, chunk, options: dict, scheduler) -> Detections:
    """One frame's detections (its labels kept in memory until the caller stores them)."""
    from napari_ivae.core.detection.chunked import CHUNK_SIDE
    from napari_ivae.core.patches.source import release_pages  # not at import: detect's start

    side = CHUNK_SIDE if chunk is None else int(chunk)
    height, width = (int(s) for s in stack.shape[1:])
    if mode == "atoms" and height * width > side * side and _chunkable(options):
        from napari_ivae.core.detection.chunked import detect_atoms_chunked

        frame = _FrameView(stack, index)
        found = detect_atoms_chunked(
            frame,
            chunk=side,
            scheduler=scheduler,
            **_without(options, ("channel", "flatten", "superstructure")),
        )
    else:
        found = _detector(mode)(np.asarray(stack[index]), **options)
    release_pages(stack)  # a memory map's pages read so far stop counting as ours
    return found


def _chunkable(options: dict) -> bool:
    """Chunked detection reads the frame as it is: no colour channel to pick, no background
    flattening over the whole frame."""
    return options.get("channel") is None and not options.get("flatten")


class _FrameView:
    """One frame of a stack as a 2D array-like that reads only the part indexed."""

    def __init__(self, stack, index: int):
        self.stack, self.index = stack, int(index)
        self.shape = tuple(int(s) for s in stack.shape[1:])
        self.dtype, self.ndim = np.dtype(stack.dtype), 2

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        return np.asarray(self.stack[(self.index,) + key])


def _without(options: dict, names) -> dict:
    return {key: value for key, value in options.items() if key not in names}


def _keep_labels(found: Detections, labels_out, index: int, stack) -> None:
    from napari_ivae.core.patches.source import release_pages

    if labels_out is not None and found.labels is not None:
        labels_out[index] = found.labels
        release_pages(labels_out)
        found.labels = None


def lazy_input(image, channel=None, frame_axis=None) -> bool:
    """Whether the detectors hand ``image`` to :func:`detect_lazy`: a zarr/dask ``(Y, X)``
    frame or ``(frames, Y, X)`` stack (not colour, frames on the first axis)."""
    from napari_ivae.core.io.imageio import is_lazy

    shape = tuple(getattr(image, "shape", ()))
    if not is_lazy(image) or channel is not None or frame_axis not in (None, 0):
        return False
    return len(shape) == 2 or (
        len(shape) == 3 and (frame_axis == 0 or shape[0] > 4) and shape[-1] not in (3, 4)
    )


def detect_lazy(
    image,
    mode: str,
    *,
    scheduler=None,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options,
) -> Detections:
    """Detect in a lazy (zarr/dask) image without reading it whole.

    Parameters
    ----------
    image : array-like
        ``(Y, X)`` or ``(frames, Y, X)``.
    mode : {"atoms", "particles"}
    scheduler, chunk
        As in :func:`detect_stream`; a 2D frame with atoms is detected chunk by chunk when it
        has more pixels than ``chunk`` squared.
    progress : callable, optional
        ``progress(done, total)`` per frame (a stack) or per chunk (a frame).
    **options
        The detector's options.

    Returns
    -------
    Detections
    """
    options.pop("frame_axis", None)
    if len(image.shape) == 3:
        labels = options.pop("labels_out", None)
        if mode == "particles" and labels is None:  # as the in-memory detector returns them
            labels = np.zeros(tuple(image.shape), dtype=np.int32)
        return detect_stream(
            image,
            mode,
            scheduler=scheduler,
            chunk=chunk,
            progress=progress,
            labels_out=labels,
            **options,
        )
    from napari_ivae.core.detection.chunked import CHUNK_SIDE, detect_atoms_chunked

    side = CHUNK_SIDE if chunk is None else int(chunk)
    if mode == "atoms" and image.shape[0] * image.shape[1] > side * side and _chunkable(options):
        return detect_atoms_chunked(
            image,
            chunk=side,
            scheduler=scheduler,
            progress=progress,
            **_without(options, ("channel", "flatten", "superstructure")),
        )
    return _detector(mode)(np.asarray(image), **options)


def _detector(mode: str):
    if mode == "atoms":
        from napari_ivae.core.detection.atoms import detect_atoms

        return detect_atoms
    from napari_ivae.core.detection.particles import detect_particles

    return detect_particles


__all__ = ["FRAME_THREADS", "detect_lazy", "detect_stream", "lazy_input"]
