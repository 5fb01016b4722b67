"""ss-rVAE: labeled patches get the unlabeled patches' measured noise during training."""

import numpy as np
import pytest
import torch

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.ss_rvae import matching_noise, noise_level
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import make_cards

SIZE = 24


def _cards(n, seed, noise=0.0):
    cards = make_cards(n, size=SIZE, rotation=30, noise=noise, seed=seed)
    return cards.images.astype(np.float32), cards.labels


def test_noise_level_reads_white_noise_and_ignores_clean_edges():
    clean, _ = _cards(20, 0)
    assert noise_level(clean) == 0.0
    rng = np.random.default_rng(0)
    assert noise_level(clean + rng.normal(0, 0.2, clean.shape)) == pytest.approx(0.2, rel=0.1)


@pytest.mark.parametrize("std", [0.3, 1.0])
def test_matching_noise_recovers_clipped_noise(std):
    clean, _ = _cards(20, 0)
    noisy, _ = _cards(20, 1, noise=std)  # other cards, clipped to [0, 1] by make_cards
    assert matching_noise(clean, noisy) == pytest.approx(std, rel=0.15)
    assert matching_noise(clean, _cards(20, 1)[0]) == 0.0  # equally clean: nothing to add
    assert matching_noise(noisy, noisy) == 0.0


def _split(noise):
    lab_x, lab_y = _cards(6, 0)
    unl_x, _ = _cards(24, 1, noise=noise)
    x = np.concatenate([lab_x, unl_x])
    y = np.concatenate([lab_y, np.full(len(unl_x), -1)])
    return x, y


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_training_measures_the_labeled_noise_from_the_data(noise):
    torch.set_num_threads(1)
    x, y = _split(noise)
    model = build_model(ModelConfig("ss-rvae", (SIZE, SIZE), n_classes=4, hidden=(16, 16)))
    fit(
        model,
        x,
        y,
        TrainConfig.defaults_for("ss-rvae", epochs=1, min_steps=1, batch_size=32, device="cpu"),
    )
    if noise == 0:
        assert model.label_noise == 0.0
    else:
        assert model.label_noise == pytest.approx(noise / float(model.norm_scale), rel=0.2)
    off = build_model(ModelConfig("ss-rvae", (SIZE, SIZE), n_classes=4, hidden=(16, 16)))
    fit(
        off,
        x,
        y,
        TrainConfig.defaults_for(
            "ss-rvae", epochs=1, min_steps=1, batch_size=32, device="cpu", label_noise=0.0
        ),
    )
    assert off.label_noise == 0.0


def test_only_labeled_patches_are_perturbed():
    x, y = _split(0.5)
    model = build_model(ModelConfig("ss-rvae", (SIZE, SIZE), n_classes=4, hidden=(16, 16)))
    model.init_weights(0)
    model.fit_normalization(x)
    model.train()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def loss(rows, label_noise):
        model.label_noise = label_noise
        value, _ = model.loss(xt[rows], yt[rows], generator=torch.Generator().manual_seed(0))
        return float(value.detach())

    n_lab = int((y >= 0).sum())
    unl, mixed = np.arange(n_lab, len(x)), np.arange(n_lab - 4, n_lab + 20)
    assert loss(unl, 0.3) == loss(unl, 0.0)  # no labeled patch: the same draws, the same loss
    assert loss(mixed, 0.3) != loss(mixed, 0.0)
    model.eval()
    assert loss(mixed, 0.3) == loss(mixed, 0.0)  # never outside training
