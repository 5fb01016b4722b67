"""Latent layout ``[theta, dx, dy, (s), z...]`` and the coordinate transform of spatial decoders.

Conventions (docs/architecture.md): the pixel grid spans [-1, 1] along both axes, coordinates
are ``(x, y)`` = (column, row, row axis pointing down); offsets ``(dx, dy)`` are in units of the
patch half-width. Angles are radians, positive = counter-clockwise *as displayed* (the same as
``synthetic.cards``). A patch whose content is the canonical template rotated by ``theta`` and
shifted by ``(dx, dy)`` is rendered by evaluating the template at ``R(theta) (c - offset) /
exp(s)`` for every pixel coordinate ``c``, where ``R(a)`` rotates (x, y) from the x axis
towards the y (down) axis by ``a``, i.e. clockwise as displayed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LatentLayout:
    """Where each latent variable lives in the flat latent vector.

    Parameters
    ----------
    rotation, translation, scale : bool
        Which special (geometric) latents are present, in the order theta, (dx, dy), s.
    latent_dim : int
        Number of conventional latents z, stored after the special ones.
    """

    rotation: bool
    translation: bool
    scale: bool
    latent_dim: int

    @classmethod
    def from_invariances(cls, invariances, latent_dim: int) -> LatentLayout:
        """Layout for a tuple of invariance names."""
        return cls(
            "rotation" in invariances,
            "translation" in invariances,
            "scale" in invariances,
            int(latent_dim),
        )

    @property
    def n_special(self) -> int:
        """Number of geometric latents before z."""
        return int(self.rotation) + 2 * int(self.translation) + int(self.scale)

    @property
    def size(self) -> int:
        """Total length of the latent vector."""
        return self.n_special + self.latent_dim

    @property
    def spatial(self) -> bool:
        """True when any geometric latent exists (the decoder must be coordinate-based)."""
        return self.n_special > 0

    def slices(self) -> dict:
        """``{"theta": slice, "offsets": slice, "scale": slice, "z": slice}`` (present ones)."""
        out, i = {}, 0
        if self.rotation:
            out["theta"], i = slice(i, i + 1), i + 1
        if self.translation:
            out["offsets"], i = slice(i, i + 2), i + 2
        if self.scale:
            out["scale"], i = slice(i, i + 1), i + 1
        out["z"] = slice(i, i + self.latent_dim)
        return out

    def split(self, latent: torch.Tensor) -> dict:
        """Split ``(..., size)`` latents into named parts (theta squeezed to ``(...)``)."""
        parts = {name: latent[..., sl] for name, sl in self.slices().items()}
        if "theta" in parts:
            parts["theta"] = parts["theta"][..., 0]
        if "scale" in parts:
            parts["scale"] = parts["scale"][..., 0]
        return parts


def pixel_grid(shape, device=None) -> torch.Tensor:
    """``(H*W, 2)`` float32 coordinates ``(x, y)`` in [-1, 1], row-major like the patch pixels."""
    h, w = shape
    ys = torch.linspace(-1.0, 1.0, h, device=device)
    xs = torch.linspace(-1.0, 1.0, w, device=device)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)


def transform_grid(grid: torch.Tensor, theta=None, offsets=None, log_scale=None) -> torch.Tensor:
    """Map pixel coordinates into the template frame, per sample.

    Parameters
    ----------
    grid : (M, 2) tensor
        Pixel coordinates (x, y).
    theta : (B,) tensor or None
        Rotation angles (radians).
    offsets : (B, 2) tensor or None
        Shifts (dx, dy) in half-width units.
    log_scale : (B,) tensor or None
        Log of the zoom factor.

    Returns
    -------
    (B, M, 2) tensor ``R(theta) (grid - offsets) / exp(log_scale)``.
    """
    batch = next(t.shape[0] for t in (theta, offsets, log_scale) if t is not None)
    coords = grid.unsqueeze(0).expand(batch, -1, -1)
    if offsets is not None:
        coords = coords - offsets.unsqueeze(1)
    if theta is not None:
        cos, sin = torch.cos(theta)[:, None], torch.sin(theta)[:, None]
        x, y = coords[..., 0], coords[..., 1]
        coords = torch.stack([cos * x - sin * y, sin * x + cos * y], dim=-1)
    if log_scale is not None:
        coords = coords * torch.exp(-log_scale)[:, None, None]
    return coords


def canonical_resample(images: torch.Tensor, theta=None, offsets=None, log_scale=None):
    """Resample ``(B, H, W)`` images into the template frame (inverse of the decoder's transform).

    The value at template coordinate ``u`` is read from the image at ``exp(s) R(-theta) u +
    offset``, bilinearly, zero outside the patch.
    """
    b = images.shape[0]
    eye = torch.eye(2, device=images.device, dtype=images.dtype).expand(b, 2, 2)
    mat = eye
    if theta is not None:
        cos, sin = torch.cos(theta), torch.sin(theta)
        mat = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)
    if log_scale is not None:
        mat = mat * torch.exp(log_scale)[:, None, None]
    shift = offsets if offsets is not None else images.new_zeros(b, 2)
    affine = torch.cat([mat, shift.unsqueeze(-1)], dim=-1)
    grid = torch.nn.functional.affine_grid(affine, [b, 1, *images.shape[1:]], align_corners=True)
    out = torch.nn.functional.grid_sample(
        images.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )
    return out[:, 0]
