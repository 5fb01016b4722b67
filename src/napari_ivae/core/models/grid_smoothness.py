"""The shift-VAE's smooth latent maps: the roughness of the z maps across neighbouring grid
tiles (a loss term) and the physics-driven VAE's ``Psi`` (the maps' edge length, a loss factor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from napari_ivae.core.models.batches import _StreamedPatches


def grid_neighbours(idx: torch.Tensor, grid_shape) -> tuple[torch.Tensor, torch.Tensor]:
    """The right and lower grid neighbours of the tiles ``idx``.

    ``idx`` indexes whole grids of ``grid_shape`` (frame by frame, row by row). Returns
    ``(rows, neighbours)``: the positions in ``idx`` of the tiles that have a right (then: a
    lower) neighbour in their frame, and those neighbours' indices, one for one (a tile at
    neither edge appears twice).
    """
    n_rows, n_cols = int(grid_shape[0]), int(grid_shape[1])
    within = idx % (n_rows * n_cols)
    right, down = within % n_cols + 1 < n_cols, within // n_cols + 1 < n_rows
    rows = torch.cat([torch.nonzero(right).flatten(), torch.nonzero(down).flatten()])
    return rows, torch.cat([idx[right] + 1, idx[down] + n_cols])


def roughness(
    model,
    x: torch.Tensor,
    block,
    form: str = "tv",
    latents: int = 0,
    x_next: torch.Tensor | None = None,
) -> torch.Tensor:
    """Roughness of the encoded latent means across neighbouring grid tiles.

    ``block`` is ``(bh, bw)`` when ``x`` holds the ``bh * bw`` patches of one block of the
    grid, row-major (the pairs: right and lower neighbours inside it), or a tensor ``rows``
    of positions in ``x`` when ``x_next`` holds, one for one, a grid neighbour of each
    ``x[rows]`` (:func:`grid_neighbours`; training's form). Summed over z's dimensions (the
    first ``latents`` only, when > 0: designated phase latents) and the pairs, per tile of
    ``x`` (so it is comparable with the per-patch ELBO): ``|mu(tile) - mu(neighbour)|``
    (``form="tv"``), its square (``"gmrf"``, the energy of a Gaussian Markov random field),
    or the absolute difference over the dimension's standard deviation across ``x``
    (``"tv-relative"``: scale-free, so the encoder cannot meet it by shrinking the map, only
    by smoothing it).
    """
    z_slice = model.layout.slices()["z"]

    def means(patches):
        mean, _ = model.encode_gaussian(model.normalize(patches))
        z = mean[:, z_slice]
        return z[:, :latents] if latents > 0 else z

    z = means(x)
    if x_next is None:  # x is one (bh, bw) block: its own tiles are each other's neighbours
        rows, neighbours = grid_neighbours(torch.arange(len(z), device=z.device), block)
        diff = z[rows] - z[neighbours]
    else:
        diff = z[block] - means(x_next)
    if form == "gmrf":
        return diff.square().sum() / len(z)
    if form == "tv-relative":
        if len(z) < 2:  # one tile (a last batch of one): no spread to measure against
            return diff.abs().sum() * 0.0
        diff = diff / (z.std(dim=0, keepdim=True) + 1e-3)
    return diff.abs().sum() / len(z)


def map_psi(model, x_all: torch.Tensor | _StreamedPatches, grid_shape) -> float:
    """The physics-driven VAE's ``Psi``: mean edge length of the z maps over the grid's mean side.

    Every tile (of a tensor, or streamed from a patch source) is encoded (posterior means, no
    gradient); each z dimension's map is scored by
    :func:`napari_ivae.core.analysis.segmentation.edge_length`, frame by frame, and the scores averaged.
    """
    from napari_ivae.core.analysis.segmentation import edge_length

    n_rows, n_cols = (int(s) for s in grid_shape)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        means = [
            model.encode_gaussian(model.normalize(x_all[i : i + 1024]))[0]
            for i in range(0, len(x_all), 1024)
        ]
    model.train(was_training)
    z = torch.cat(means)[:, model.layout.slices()["z"]].cpu().numpy()
    maps = z.reshape(-1, n_rows, n_cols, z.shape[1])
    scores = [edge_length(maps[f, :, :, d]) for f in range(len(maps)) for d in range(z.shape[1])]
    return float(np.mean(scores)) / ((n_rows + n_cols) / 2)


__all__ = ["grid_neighbours", "map_psi", "roughness"]
