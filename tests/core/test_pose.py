"""The equivariant angle guess that starts the rVAE's angle encoder."""

import numpy as np
import torch
from _model_data import circular_correlation, rotated_shapes

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import encode
from napari_ivae.core.models.latent import pixel_grid, transform_grid
from napari_ivae.core.models.pose import angle_guess, dominant_order, moment_basis
from napari_ivae.core.models.training import fit


def _asymmetric(c):
    u, v = c[..., 0], c[..., 1]
    return torch.exp(-((u - 0.45) ** 2 + v**2) / 0.03) + 0.8 * torch.exp(
        -((u + 0.2) ** 2 + (v - 0.35) ** 2) / 0.02
    )


def _square_site(c):
    u, v = c[..., 0], c[..., 1]
    out = torch.exp(-(u**2 + v**2) / 0.01)
    for a, b in [(0.6, 0), (-0.6, 0), (0, 0.6), (0, -0.6)]:
        out = out + 0.7 * torch.exp(-((u - a) ** 2 + (v - b) ** 2) / 0.01)
    return out


def test_guess_rotates_with_the_decoders_angle_convention():
    grid = pixel_grid((32, 32))
    basis = moment_basis(grid)
    theta = torch.linspace(-2.5, 2.5, 11)
    images = _asymmetric(transform_grid(grid, theta)).reshape(-1, 32, 32)
    guess = angle_guess(images, basis, 1)
    diff = guess - guess[5] - (theta - theta[5])
    assert torch.allclose(torch.atan2(torch.sin(diff), torch.cos(diff)), torch.zeros(11), atol=1e-4)


def test_dominant_order_is_1_for_a_shape_and_4_for_a_square_lattice_site():
    grid = pixel_grid((32, 32))
    basis = moment_basis(grid)
    theta = torch.linspace(-1.0, 1.0, 16)
    assert dominant_order(_asymmetric(transform_grid(grid, theta)).reshape(-1, 32, 32), basis) == 1
    assert dominant_order(_square_site(transform_grid(grid, theta)).reshape(-1, 32, 32), basis) == 4


def test_rvae_angle_learns_with_two_kinds_of_shape():
    # two different shapes: without the guess the angle latent of such a mixture stays constant
    a, angles_a = rotated_shapes(200, 20, seed=0)
    b, angles_b = rotated_shapes(200, 20, seed=1)
    b = np.ascontiguousarray(b[:, ::-1, :])  # the mirror image is a different shape
    x = np.concatenate([a, b])
    model = build_model(
        ModelConfig("rvae", (20, 20), latent_dim=1, invariances=("rotation",), hidden=(64, 64))
    )
    assert model.config.angle_hint
    fit(
        model,
        x,
        config=TrainConfig(
            epochs=4, lr=3e-3, seed=0, pixels_per_step=96, batch_size=64, device="cpu"
        ),
    )
    assert int(model.angle_hint_order) == 1
    angle = encode(model, x).angle
    assert abs(circular_correlation(angle[:200], angles_a)) > 0.8
    assert abs(circular_correlation(angle[200:], -angles_b)) > 0.8
