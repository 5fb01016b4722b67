"""Neural-network building blocks: MLP encoder, MLP and spatial (coordinate) decoders, classifier."""

from __future__ import annotations

import math

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

    def __init__(
        self,
        n_pixels: int,
        out_dim: int,
        hidden=(128, 128),
        activation="tanh",
        linear: bool = False,
    ):
        super().__init__()
        self.body = mlp((n_pixels, *hidden), activation, last_activation=True)
        self.mean = nn.Linear(hidden[-1], out_dim)
        self.log_std = nn.Linear(hidden[-1], out_dim)
        # optional linear path from the pixels to the mean (set to the PCA projection)
        self.linear = nn.Linear(n_pixels, out_dim) if linear else None

    def forward(self, x: torch.Tensor):
        flat = x.flatten(1)
        h = self.body(flat)
        mean = self.mean(h)
        if self.linear is not None:
            mean = mean + self.linear(flat)
        return mean, torch.exp(self.log_std(h).clamp(-10.0, 5.0))


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


def fourier_frequencies(n: int, max_frequency: float) -> torch.Tensor:
    """``(n, 2)`` deterministic frequency vectors (cycles per patch width) for coordinate features.

    Radii are spread geometrically from 0.5 to ``max_frequency`` and directions follow the golden
    angle, so every scale comes in many directions (no preferred axis, no random draw: the
    features are the same in every process and need not be stored).
    """
    k = torch.arange(n, dtype=torch.float64)
    radius = 0.5 * (max(max_frequency, 0.5) / 0.5) ** (k / max(n - 1, 1))
    angle = k * math.pi * (3.0 - math.sqrt(5.0))
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], -1).float()


class SpatialDecoder(nn.Module):
    """Coordinate-based decoder: intensity = f(transformed pixel coordinate, code[, class]).

    As in pyroVED's rVAE: ``act(Linear(2, h)(coord) + Linear(code, h)(code))`` followed by
    the remaining hidden layers and a scalar output per pixel. An optional discrete condition
    (one-hot class, ss-rVAE) enters as a bias of the *last* hidden layer: everything before it
    is computed once per sample and pixel and shared by the K enumerated classes, so summing
    out y costs K cheap element-wise passes instead of K full decoder passes.

    With ``template_shape`` the output also has a linear part read bilinearly at the
    transformed coordinate: a learned canonical image plus one learned image per z (channels
    of ``template``), set before training to the training patches' mean and principal
    components (:meth:`BaseIVAE.fit_normalization`). The decoder then starts as probabilistic
    PCA moved and turned by each patch's pose, and the network learns what is not linear.

    With ``class_template`` (needs ``class_dim`` and ``template_shape``) each condition channel
    also has a learned image read at the transformed coordinate, weighted by the condition
    (one-hot: class k's image) and added to the output: class k's canonical shape is an image
    of its own, which z and the network only modify.
    """

    frequencies: torch.Tensor  # a buffer, present when coord_features > 0

    def __init__(
        self,
        code_dim: int,
        hidden=(128, 128),
        activation="tanh",
        class_dim: int = 0,
        coord_features: int = 0,
        max_frequency: float = 4.0,
        film: bool = False,
        template_shape=None,
        class_film: bool = False,
        class_template_shape=None,
    ):
        super().__init__()
        self.template = (
            nn.Parameter(torch.zeros(1, 1 + code_dim, *template_shape))
            if template_shape is not None
            else None
        )
        self.class_template = (
            nn.Parameter(torch.zeros(1, class_dim, *class_template_shape))
            if class_dim and class_template_shape is not None
            else None
        )
        self.n_features = int(coord_features)
        if self.n_features:
            self.register_buffer(
                "frequencies", fourier_frequencies(self.n_features, max_frequency), persistent=False
            )
        self.coord_embed = nn.Linear(2 + 2 * self.n_features, hidden[0])
        self.code_embed = nn.Linear(code_dim, hidden[0], bias=False)
        # FiLM: z also scales the coordinate embedding (1 + A z), so one template can change shape
        self.code_scale = nn.Linear(code_dim, hidden[0], bias=False) if film else None
        self.act = _ACTIVATIONS[activation]()
        self.trunk = mlp(hidden, activation) if len(hidden) > 1 else nn.Identity()
        self.class_embed = nn.Linear(class_dim, hidden[-1], bias=False) if class_dim else None
        # class FiLM: the condition shifts and scales the pre-activation of every hidden layer
        self.class_film = (
            nn.ModuleList(nn.Linear(class_dim, 2 * h, bias=False) for h in hidden)
            if class_dim and class_film
            else None
        )
        self.out = nn.Linear(hidden[-1], 1)

    def embed_coords(self, coords: torch.Tensor) -> torch.Tensor:
        """``(x, y)`` followed by ``sin`` and ``cos`` of ``pi * f . (x, y)`` for each frequency."""
        if not self.n_features:
            return coords
        phase = math.pi * coords @ self.frequencies.T
        return torch.cat([coords, torch.sin(phase), torch.cos(phase)], dim=-1)

    def forward(self, coords: torch.Tensor, code: torch.Tensor, condition=None) -> torch.Tensor:
        """Decode.

        Parameters
        ----------
        coords : (B, M, 2) tensor
            Transformed coordinates of the M pixels of each sample.
        code : (B, C) tensor
            Continuous latents z.
        condition : (B, K, D) tensor, optional
            K discrete conditions per sample (one-hot classes), decoded in parallel.

        Returns
        -------
        (B, M) tensor of logits, or (B, K, M) with ``condition``.
        """
        pre = self.coord_embed(self.embed_coords(coords))
        if self.code_scale is not None:
            pre = pre * (1.0 + self.code_scale(code).unsqueeze(1))
        pre = pre + self.code_embed(code).unsqueeze(1)
        if condition is not None and self.class_film is not None:
            return self._forward_film(coords, code, pre, condition)
        if isinstance(self.trunk, nn.Identity):
            last_pre, h = pre, None
        else:
            h = self.act(pre)
            layers = list(self.trunk)
            for layer in layers[:-1]:
                h = layer(h)
            last_pre = layers[-1](h)  # pre-activation of the last hidden layer
        base = self.sample_template(coords, code)
        if condition is None:
            out = self.out(self.act(last_pre)).squeeze(-1)
            return out if base is None else out + base
        assert self.class_embed is not None, "a condition needs class_dim > 0"
        bias = self.class_embed(condition).unsqueeze(2)  # (B, K, 1, h)
        out = self.out(self.act(last_pre.unsqueeze(1) + bias)).squeeze(-1)
        out = out + self.sample_class_template(coords, condition)
        return out if base is None else out + base.unsqueeze(1)

    def _forward_film(self, coords, code, pre, condition):
        """Every hidden layer's pre-activation becomes ``(1 + g(c)) * pre + b(c)``: each of the
        K conditions takes its own pass through the whole network, ``(B, K, M)``."""
        linears = (
            [m for m in self.trunk if isinstance(m, nn.Linear)]
            if not isinstance(self.trunk, nn.Identity)
            else []
        )
        h = None
        for i, film in enumerate(self.class_film):
            if i:
                pre = linears[i - 1](h)
            gain, shift = film(condition).unsqueeze(2).chunk(2, dim=-1)  # (B, K, 1, h) each
            pre = pre.unsqueeze(1) if pre.dim() == 3 else pre
            h = self.act(pre * (1.0 + gain) + shift)
        out = self.out(h).squeeze(-1) + self.sample_class_template(coords, condition)
        base = self.sample_template(coords, code)
        return out if base is None else out + base.unsqueeze(1)

    def sample_class_template(self, coords: torch.Tensor, condition: torch.Tensor):
        """``(B, K, M)``: the condition-weighted class images at the coordinates (0 without
        ``class_template``); outside the patch each image keeps its border value."""
        if self.class_template is None:
            return coords.new_zeros(())
        image = self.class_template.expand(coords.shape[0], -1, -1, -1)
        read = torch.nn.functional.grid_sample(
            image, coords.unsqueeze(2), mode="bilinear", padding_mode="border", align_corners=True
        )
        return torch.einsum("bkd,bdm->bkm", condition, read[..., 0])

    def sample_template(self, coords: torch.Tensor, code: torch.Tensor):
        """``(B, M)`` linear part (mean + sum of code x image) at the coordinates, or None.

        Outside the patch each image keeps its border value.
        """
        if self.template is None:
            return None
        b = coords.shape[0]
        image = self.template.expand(b, -1, -1, -1)
        out = torch.nn.functional.grid_sample(
            image, coords.unsqueeze(2), mode="bilinear", padding_mode="border", align_corners=True
        )
        out = out[..., 0]  # (B, 1 + C, M)
        return out[:, 0] + torch.einsum("bcm,bc->bm", out[:, 1:], code)
