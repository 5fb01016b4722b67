"""Fixtures shared by the core tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def noise_label_ss_rvae():
    """An ss-rVAE trained on two-class blobs with labels drawn at random (every 4th patch):
    ``(model, train_result, patches, labels)``. Shared: tests must not train or change it."""
    from _model_data import two_class_blobs

    from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
    from napari_ivae.core.models.training import fit

    x, _ = two_class_blobs(80, 16, seed=3)
    noise = np.random.default_rng(0).integers(0, 2, len(x))
    y = np.full(len(x), -1)
    y[::4] = noise[::4]
    # without class templates the classifier learns the noise labels by heart in 20 epochs,
    # the case the held-out check exists for
    model = build_model(
        ModelConfig(
            "ss-rvae",
            (16, 16),
            hidden=(32, 32),
            n_classes=2,
            class_names=("a", "b"),
            class_template=False,
        )
    )
    result = fit(
        model,
        x,
        y,
        TrainConfig(epochs=20, lr=3e-3, seed=0, label_weight=300.0, batch_size=32, device="cpu"),
    )
    return model, result, x, y
