"""Helpers for the tests of optional loss terms (a weight on the model, a term in the loss)."""

from __future__ import annotations

import numpy as np
import torch


def loss_with_weight(model, attribute: str, weight: float, x, labels) -> tuple:
    """``model.loss(x, labels)`` with ``model.<attribute> = weight`` and a fixed generator:
    ``(loss, terms)``."""
    setattr(model, attribute, weight)
    return model.loss(x, labels, generator=torch.Generator().manual_seed(1))


def added_by_weight(model, attribute: str, weight: float, term: str, x, labels) -> tuple:
    """The loss with the weight less the loss without it, and the term's value:
    ``(added, term value, terms without the weight)``."""
    plain, plain_terms = loss_with_weight(model, attribute, 0.0, x, labels)
    weighted, terms = loss_with_weight(model, attribute, weight, x, labels)
    return float(weighted.detach()) - float(plain.detach()), float(terms[term]), plain_terms


def between_class_share(z: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The share of the codes' variance that lies between two classes, and their variance."""
    between = sum((z[labels == k].mean(0) - z.mean(0)) ** 2 for k in (0, 1)).sum() / 2
    total = z.var(0).sum()
    return float(between / total), float(total)


def bars_and_crosses(
    n: int = 96, size: int = 12, seed: int = 0, *, class_widens: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Bars (class 0) and crosses (class 1) of random width, so z has the width to hold:
    ``(patches, labels)``. Widths 1-3; with ``class_widens`` 1-2 for bars and 2-3 for crosses,
    so the width alone tells the classes apart in half of the cases."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, size, size), dtype=np.float32)
    labels = np.arange(n) % 2
    for i in range(n):
        w = int(rng.integers(1, 3)) + int(labels[i]) if class_widens else int(rng.integers(1, 4))
        c = size // 2
        x[i, :, c - w : c + w] = 1.0
        if labels[i]:
            x[i, c - w : c + w, :] = 1.0
    return x, labels


def trained_share(kind: str, attribute: str, weight: float, x, labels) -> tuple[float, float]:
    """:func:`between_class_share` of the z means of a small ``kind`` model (two classes, no
    invariances) trained 150 steps on ``x`` and ``labels`` with ``TrainConfig.<attribute> =
    weight``, which training handed on to the model."""
    from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
    from napari_ivae.core.models.inference import encode
    from napari_ivae.core.models.training import fit

    config = ModelConfig(
        kind, patch_shape=x.shape[1:], hidden=(32, 32), invariances=(), n_classes=2
    )
    model = build_model(config)
    train = TrainConfig(
        epochs=1,
        min_steps=150,
        batch_size=32,
        lr=3e-3,
        pixels_per_step=0,
        seed=0,
        **{attribute: weight},
    )
    fit(model, x, labels, train)
    assert getattr(model, attribute) == weight
    return between_class_share(encode(model, x).z_mean, labels)
