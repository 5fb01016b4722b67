"""Conditional rVAE (crvae): a known class and/or continuous values condition the decoder."""

import numpy as np
import pytest
import torch
from _model_data import two_class_blobs

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import class_traversal, decode, encode
from napari_ivae.core.models.persistence import load_model, save_model
from napari_ivae.core.models.training import fit


def _config(**kw):
    base = dict(
        kind="crvae",
        patch_shape=(16, 16),
        hidden=(32, 32),
        latent_dim=2,
        class_names=("one", "two"),
    )
    return ModelConfig(**{**base, **kw})


def test_config_needs_a_class_or_values():
    with pytest.raises(InputError, match="crvae needs"):
        ModelConfig(kind="crvae", patch_shape=(16, 16))
    only_values = ModelConfig(kind="crvae", patch_shape=(16, 16), condition_names=("dose",))
    assert only_values.n_classes == 0 and only_values.class_film
    with pytest.raises(InputError, match="differ"):
        _config(condition_names=("one",))
    assert _config().n_classes == 2
    assert ModelConfig.from_dict(_config(condition_names=("dose",)).to_dict()) == _config(
        condition_names=("dose",)
    )


def test_every_patch_needs_its_class_and_values():
    x, y = two_class_blobs(8)
    model = build_model(_config())
    tc = TrainConfig.defaults_for("crvae", epochs=1, min_steps=0, device="cpu")
    y_missing = y.copy()
    y_missing[3] = -1
    with pytest.raises(InputError, match="no class"):
        fit(model, x, y_missing, tc)
    with pytest.raises(InputError, match="class of every patch"):
        fit(build_model(_config()), x, None, tc)
    with pytest.raises(InputError, match="condition values"):
        fit(build_model(_config(condition_names=("dose",))), x, y, tc)
    with pytest.raises(InputError, match="per patch"):
        fit(
            build_model(_config(condition_names=("dose",))),
            x,
            y,
            tc,
            conditions=np.ones(len(x) + 1),
        )


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    x, y = two_class_blobs(100, seed=1)
    dose = np.where(y == 1, 2.0, 1.0) + np.random.default_rng(0).normal(0, 0.1, len(y))
    # the conditioning, not the cards' defaults: all pixels, a gentle rate, Fourier features
    model = build_model(_config(condition_names=("dose",), coord_features=32))
    tc = TrainConfig.defaults_for(
        "crvae", epochs=1, min_steps=150, device="cpu", seed=0, lr=1e-3, pixels_per_step=0
    )
    fit(model, x, y, tc, conditions=dose)
    return model, x, y, dose


def test_decodings_follow_the_class(trained):
    model, x, y, dose = trained
    # the same code (the data's mean code) decoded for each class at the class's own dose
    z = encode(model, x).z_mean.mean(0, keepdims=True)
    means = [x[y == k].mean(0) for k in (0, 1)]
    for k in (0, 1):
        image = decode(model, z, y=k, conditions=[[dose[y == k].mean()]])[0]
        corr = [np.corrcoef(image.ravel(), m.ravel())[0, 1] for m in means]
        assert corr[k] > corr[1 - k] + 0.1, (k, corr)
    rows = class_traversal(model, n=4).reshape(2, 16, -1)
    assert np.abs(rows[0] - rows[1]).mean() > 0.05 * np.ptp(x)


def test_round_trip_without_running_code(trained, tmp_path):
    model, x, y, dose = trained
    path = save_model(tmp_path / "c.ivae.pt", model)
    loaded = load_model(path).model
    assert loaded.config == model.config
    assert torch.equal(loaded.cond_mean, model.cond_mean)
    z = np.zeros((3, 2), np.float32)
    for k in (0, 1):
        a = decode(model, z, y=k, conditions=[[0.5], [1.5], [2.5]])
        b = decode(loaded, z, y=k, conditions=[[0.5], [1.5], [2.5]])
        np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(InputError):
        decode(loaded, z, y=2)


def test_class_latent_ranges_per_class():
    from napari_ivae.core.models.inference import class_latent_ranges, latent_ranges

    z = np.concatenate([np.full((20, 2), -3.0), np.full((20, 2), 3.0)])
    z += np.random.default_rng(0).normal(0, 0.1, z.shape)
    classes = np.repeat([0, 1], 20)
    classes[0] = 2  # a single patch: class 2 gets the ranges of all codes
    ranges = class_latent_ranges(z, classes, 3)
    assert ranges.shape == (3, 2, 2)
    assert ranges[0, 0, 1] < -2.5 and ranges[1, 0, 0] > 2.5
    np.testing.assert_allclose(ranges[2], latent_ranges(z))


def test_z_kl_schedule_and_validation():
    tc = TrainConfig(z_kl_start=10.0, z_kl_ramp=0.5)
    assert tc.z_kl_at(0.0) == 10.0 and tc.z_kl_at(0.25) == pytest.approx(5.5)
    assert tc.z_kl_at(0.5) == tc.z_kl_at(0.9) == 1.0
    assert TrainConfig().z_kl_at(0.0) == 1.0
    with pytest.raises(InputError, match="z_kl"):
        TrainConfig(z_kl_ramp=1.5)
    # the weight multiplies z's KL only, not the angle's or the offsets'
    model = build_model(_config())
    mean, std = torch.zeros(2, model.layout.size) + 0.5, torch.ones(2, model.layout.size)
    base = model.kl(mean, std, mean)
    model.z_kl_weight = 3.0
    # KL(N(0.5, 1) || N(0, 1)) = 0.125 per z dimension, two of them, now counted 3 times
    assert float((model.kl(mean, std, mean) - base)[0]) == pytest.approx(2 * 2 * 0.125)


def test_class_film_decodes_every_class_separately():
    from napari_ivae.core.models.nets import SpatialDecoder

    torch.manual_seed(0)
    dec = SpatialDecoder(2, (8, 8), class_dim=3, class_film=True)
    coords, code = torch.rand(2, 5, 2), torch.rand(2, 2)
    out = dec(coords, code, torch.eye(3).expand(2, 3, 3))
    assert out.shape == (2, 3, 5)
    single = dec(coords, code, torch.eye(3)[1].expand(2, 1, 3))[:, 0]
    torch.testing.assert_close(out[:, 1], single)
    assert (out[:, 0] - out[:, 2]).abs().max() > 1e-3
