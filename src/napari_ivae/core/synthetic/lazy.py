"""Large synthetic lattices computed chunk by chunk (dask), for tests and benchmarks of images
larger than memory.

Every pixel is a function of its own coordinates (a Gaussian at the nearest site of a square
lattice, plus Gaussian noise seeded by the chunk's position), so any window can be computed
without the rest of the image, and a multiscale pyramid samples the same function at coarser
pixels.
"""

from __future__ import annotations

import numpy as np


def lazy_lattice(
    side: int,
    *,
    spacing: float = 12.0,
    sigma: float | None = None,
    noise: float = 0.05,
    chunk: int = 1024,
    levels: int = 1,
    seed: int = 0,
):
    """A ``side x side`` square lattice of bright Gaussian columns as a lazy dask array.

    Parameters
    ----------
    side : int
        Image side in pixels (full resolution).
    spacing : float
        Lattice constant in pixels.
    sigma : float, optional
        Column width in pixels (default ``0.15 * spacing``).
    noise : float
        Standard deviation of the additive Gaussian noise (column peak = 1).
    chunk : int
        Dask chunk side in pixels.
    levels : int
        1: one dask array. More: a list of arrays, each level half the side of the one
        before (a napari multiscale pyramid; the coarser levels are noise-free).
    seed : int
        Seed of the noise (each chunk's noise depends on the seed and the chunk's position).

    Returns
    -------
    dask.array.Array or list of them
        float32 ``(side, side)`` (and the coarser levels).
    """
    import dask.array as da

    width = float(sigma if sigma is not None else 0.15 * spacing)
    pyramid = []
    for level in range(max(1, int(levels))):
        step = 2**level
        n = max(1, side // step)
        blank = da.zeros((n, n), dtype=np.float32, chunks=min(chunk, n))
        pyramid.append(
            blank.map_blocks(
                _lattice_block,
                dtype=np.float32,
                step=step,
                spacing=float(spacing),
                sigma=width,
                noise=noise if level == 0 else 0.0,
                seed=seed,
            )
        )
    return pyramid[0] if levels <= 1 else pyramid


def _lattice_block(
    block: np.ndarray,
    *,
    step: int,
    spacing: float,
    sigma: float,
    noise: float,
    seed: int,
    block_info=None,
) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    rows = (np.arange(r0, r1) * step + (step - 1) / 2.0)[:, None]
    cols = (np.arange(c0, c1) * step + (step - 1) / 2.0)[None, :]
    dr = (rows + spacing / 2) % spacing - spacing / 2
    dc = (cols + spacing / 2) % spacing - spacing / 2
    values = np.exp(-(dr**2 + dc**2) / (2 * sigma**2))
    if noise > 0:
        rng = np.random.default_rng([seed, r0, c0])
        values = values + rng.normal(0.0, noise, values.shape)
    return values.astype(np.float32)


__all__ = ["lazy_lattice"]
