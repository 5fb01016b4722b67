"""Neural-network building blocks: MLP encoder, MLP and spatial (coordinate) decoders, classifier."""

from __future__ import annotations

import torch
from torch import nn

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def mlp(sizes, activation: str = "tanh", last_activation: bool = False) -> nn.Sequential:
    """Fully connected stack ``sizes[0] -> ... -> sizes[-1]``."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or last_activation:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class GaussianEncoder(nn.Module):
    """Flattened patch -> mean and standard deviation of a diagonal Gaussian."""

    def __init__(self, n_pixels: int, out_dim: int, hidden=(128, 128), activation="tanh"):
        super().__init__()
        self.body = mlp((n_pixels, *hidden), activation, last_activation=True)
        self.mean = nn.Linear(hidden[-1], out_dim)
        self.log_std = nn.Linear(hidden[-1], out_dim)

    def forward(self, x: torch.Tensor):
        h = self.body(x.flatten(1))
        return self.mean(h), torch.exp(self.log_std(h).clamp(-10.0, 5.0))


class Classifier(nn.Module):
    """Flattened patch -> class logits (the y-encoder q(y|x))."""

    def __init__(self, n_pixels: int, n_classes: int, hidden=(128, 128), activation="tanh"):
        super().__init__()
        self.net = mlp((n_pixels, *hidden, n_classes), activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class MLPDecoder(nn.Module):
    """Latent code -> logits of every pixel (the plain VAE decoder)."""

    def __init__(self, code_dim: int, n_pixels: int, hidden=(128, 128), activation="tanh"):
        super().__init__()
        self.net = mlp((code_dim, *hidden, n_pixels), activation)

    def forward(self, code: torch.Tensor, pixel_index=None) -> torch.Tensor:
        out = self.net(code)
        return out if pixel_index is None else out[..., pixel_index]


class SpatialDecoder(nn.Module):
    """Coordinate-based decoder: intensity = f(transformed pixel coordinate, code).

    As in pyroVED's rVAE: ``act(Linear(2, h)(coord) + Linear(code, h)(code))`` followed by
    ``len(hidden) - 1`` hidden layers and a scalar output per pixel. ``code`` may carry extra
    leading dimensions that share the coordinates (the K enumerated classes of ss-rVAE), so the
    coordinate embedding is computed once per sample and broadcast.
    """

    def __init__(self, code_dim: int, hidden=(128, 128), activation="tanh"):
        super().__init__()
        width = hidden[0]
        self.coord_embed = nn.Linear(2, width)
        self.code_embed = nn.Linear(code_dim, width, bias=False)
        self.act = _ACTIVATIONS[activation]()
        self.body = mlp((*hidden, 1), activation)

    def forward(self, coords: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Decode.

        Parameters
        ----------
        coords : (B, M, 2) tensor
            Transformed coordinates of the M pixels of each sample.
        code : (B, ..., C) tensor
            Conventional latents (and one-hot class), any number of middle dimensions.

        Returns
        -------
        (B, ..., M) tensor of logits.
        """
        middle = code.shape[1:-1]
        c = self.coord_embed(coords)  # (B, M, h)
        c = c.view(c.shape[0], *([1] * len(middle)), *c.shape[1:])
        e = self.code_embed(code).unsqueeze(-2)  # (B, ..., 1, h)
        return self.body(self.act(c + e)).squeeze(-1)
