"""A patch source encoded chunk by chunk, here or on a scheduler's workers; the latents in
memory or in memory-mapped files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.lazy_image import release_pages

if TYPE_CHECKING:
    from napari_ivae.core.patches.source import PatchSource


def encode_source(
    model,
    source: PatchSource,
    batch_size: int = 256,
    device=None,
    progress=None,
    scheduler=None,
    out=None,
):
    """Encode every patch of a source chunk by chunk (memory: one chunk of patches).

    Parameters
    ----------
    model : BaseIVAE
    source : PatchSource
        Patches of the model's ``patch_shape``.
    batch_size : int
        Patches per forward pass.
    device : str, optional
        As in :func:`napari_ivae.core.models.inference.encode`.
    progress : callable, optional
        ``progress(done, total)`` after each chunk.
    scheduler : None, str or distributed.Client
        ``None``, ``"threads"`` or ``"sync"``: here, chunk after chunk (torch spreads each
        batch over the cores). ``"processes"``, a dask scheduler address or a client: every
        chunk is cut and encoded by a worker (on its CPU), which reads the image itself
        (:func:`~napari_ivae.core.scheduling.map_tasks`).
    out : str or Path, optional
        A folder: each array of the encoding is written there as a memory-mapped ``.npy``
        (``z_mean.npy``...) chunk by chunk, its pages handed back after each chunk
        (:func:`release_pages`), so the latents of any number of patches take no resident
        memory; the returned arrays are those memory maps.

    Returns
    -------
    Encoding
        In the source's order, as :func:`~napari_ivae.core.models.inference.encode` gives for the
        patches cut in memory (equal up to float rounding of the batch composition).
    """
    from napari_ivae.core.models.inference import Encoding, encode

    if tuple(source.patch_shape) != tuple(model.config.patch_shape):
        want = model.config.patch_shape
        raise InputError(
            f"the model reads {want[0]}x{want[1]} px patches but the source cuts "
            f"{source.patch_shape[0]}x{source.patch_shape[1]} px ones"
        )
    from napari_ivae.core.scheduling import check_scheduler

    check_scheduler(scheduler)
    arrays: dict = {}

    def store(positions, part):
        for key, values in part.items():
            if key not in arrays:
                shape = (len(source),) + values.shape[1:]
                if out is None:
                    arrays[key] = np.empty(shape, dtype=values.dtype)
                else:
                    from pathlib import Path

                    Path(out).mkdir(parents=True, exist_ok=True)
                    arrays[key] = np.lib.format.open_memmap(
                        Path(out) / f"{key}.npy", mode="w+", dtype=values.dtype, shape=shape
                    )
            arrays[key][positions] = values
            release_pages(arrays[key])

    if scheduler in (None, "threads", "sync"):  # here: torch already uses the cores
        done = 0
        for positions, patches in source:
            store(positions, encode(model, patches, batch_size=batch_size, device=device).as_dict())
            done += len(positions)
            if progress is not None:
                progress(done, len(source))
        return Encoding(**arrays)
    from napari_ivae.core.scheduling import map_tasks

    chunks = list(source.chunks())
    model = model.to("cpu")  # workers have no GPU of ours
    counted = np.cumsum([len(c) for c in chunks])
    for start in range(0, len(chunks), ENCODE_BLOCK):
        block = chunks[start : start + ENCODE_BLOCK]

        def done_chunks(done, _, before=start):
            if progress is not None:
                progress(int(counted[before + done - 1]), len(source))

        results = map_tasks(
            _encode_piece,
            [(model, source.piece(positions), batch_size) for positions in block],
            scheduler,
            done_chunks,
        )
        for positions, (part, low, high) in zip(block, results):
            store(positions, part)
            if source.patch_min is not None and source.patch_max is not None:
                source.patch_min[positions], source.patch_max[positions] = low, high
    return Encoding(**arrays)


ENCODE_BLOCK = 64  # chunks handed to a scheduler at once (their latents come back together)


def _encode_piece(model, piece: PatchSource, batch_size: int):
    """Cut and encode one chunk where it runs: its latents and (``normalize="patch"``) the
    patches' value ranges."""
    from napari_ivae.core.models.inference import encode

    patches = piece.read(np.arange(len(piece)))
    part = encode(model, patches, batch_size=batch_size, device="cpu").as_dict()
    return part, piece.patch_min, piece.patch_max


__all__ = ["encode_source"]
