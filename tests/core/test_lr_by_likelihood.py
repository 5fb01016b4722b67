"""The rVAE's learning rate follows the likelihood its patches resolve to."""

import numpy as np
import pytest
import torch

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model, training


def test_rvae_defaults_take_a_higher_rate_for_near_binary_patches():
    config = TrainConfig.defaults_for("rvae")
    assert (config.lr_for(bernoulli=False), config.lr_for(bernoulli=True)) == (1e-3, 3e-3)
    assert TrainConfig.defaults_for("rvae", lr=config.lr).lr_bernoulli == 3e-3
    chosen = TrainConfig.defaults_for("rvae", lr=5e-4)  # the user's rate is used as it is
    assert chosen.lr_for(bernoulli=True) == chosen.lr_for(bernoulli=False) == 5e-4
    for kind in ("ss-rvae", "shift-vae", "crvae", "jrvae"):
        other = TrainConfig.defaults_for(kind)
        assert other.lr_for(bernoulli=True) == other.lr


def test_lr_bernoulli_must_be_positive():
    from napari_ivae.core.errors import InputError

    with pytest.raises(InputError, match="lr_bernoulli"):
        TrainConfig(lr_bernoulli=0.0)


@pytest.mark.parametrize("binary, expected", [(True, 3e-3), (False, 1e-3)])
def test_training_uses_the_rate_of_the_resolved_likelihood(monkeypatch, binary, expected):
    rng = np.random.default_rng(0)
    if binary:  # near-binary: cut-out shapes on an empty ground
        patches = (rng.random((32, 12, 12)) > 0.6).astype(np.float32)
    else:  # grey intensities
        patches = (0.4 + 0.1 * rng.standard_normal((32, 12, 12))).astype(np.float32)
    rates = []
    adam = torch.optim.Adam

    def recording_adam(params, lr, **kw):
        rates.append(lr)
        return adam(params, lr=lr, **kw)

    monkeypatch.setattr(training.torch.optim, "Adam", recording_adam)
    model = build_model(ModelConfig("rvae", (12, 12), hidden=(16, 16)))
    config = TrainConfig.defaults_for("rvae", epochs=1, min_steps=1, lr_schedule="constant")
    list(training.train(model, patches, config=config))
    assert model.bernoulli is binary
    assert rates[0] == pytest.approx(expected)
