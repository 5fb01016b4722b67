"""Model construction, configuration round-trips, latent layout and the coordinate transform."""

import numpy as np
import pytest
import torch
from _model_data import adam_losses

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import MODEL_KINDS, ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.latent import (
    LatentLayout,
    canonical_resample,
    pixel_grid,
    transform_grid,
)


def _config(kind, **kw):
    extra = dict(n_classes=3) if kind in ("ss-rvae", "jrvae", "crvae") else {}
    return ModelConfig(kind, patch_shape=(12, 16), hidden=(16, 16), **extra, **kw)


def test_config_round_trip_and_defaults():
    cfg = ModelConfig("ss-rvae", (24, 24), n_classes=2, class_names=("a", "b"))
    again = ModelConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.invariances == ("rotation", "translation")
    tc = TrainConfig.defaults_for("ss-rvae", epochs=3)
    assert TrainConfig.from_dict(tc.to_dict()) == tc and tc.epochs == 3
    assert ModelConfig("vae", (16, 16)).invariances == ()
    assert ModelConfig("shift-vae", (16, 16)).invariances == ("translation",)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(kind="gan"), "unknown model kind"),
        (dict(kind="rvae", patch_shape=(4, 4)), ">= 8"),
        (dict(kind="rvae", invariances=("shear",)), "invariance"),
        (dict(kind="shift-vae", shift_scale=1.5), "0 < k <= 1"),
        (dict(kind="ss-rvae", n_classes=1), "n_classes >= 2"),
        (dict(kind="rvae", likelihood="poisson"), "likelihood"),
    ],
)
def test_bad_model_config(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        ModelConfig(**kwargs)


def test_bad_train_config_and_unknown_fields():
    with pytest.raises(InputError, match="lr"):
        TrainConfig(lr=-1.0)
    with pytest.raises(InputError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"epochs": 2, "bogus": 1})
    with pytest.raises(InputError, match="unknown model kind"):
        TrainConfig.defaults_for("gan")


def test_beta_schedule_ramps_linearly():
    tc = TrainConfig(beta_start=0.1, beta_end=1.1, beta_ramp_epochs=4)
    assert tc.beta_at(0) == pytest.approx(0.1)
    assert tc.beta_at(2) == pytest.approx(0.6)
    assert tc.beta_at(10) == pytest.approx(1.1)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_state_dict_restores_model_and_normalisation(kind):
    model = build_model(_config(kind))
    model.fit_normalization(np.array([2.0, 6.0]))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    clone = build_model(ModelConfig.from_dict(model.config.to_dict()))
    clone.load_state_dict(model.state_dict())
    x = torch.rand(3, 12, 16) * 4 + 2
    gen = False  # use the posterior mean: deterministic
    for m in (model, clone):
        m.eval()
    a = model.loss(x, generator=gen)[0]
    b = clone.loss(x, generator=gen)[0]
    assert float(clone.norm_scale) == 4.0 and float(clone.norm_offset) == 2.0
    assert torch.allclose(a, b)


def test_build_model_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b = build_model(_config("rvae")), build_model(_config("rvae"))
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_latent_layout_order():
    layout = LatentLayout.from_invariances(("rotation", "translation", "scale"), 2)
    assert layout.size == 6 and layout.n_special == 4
    parts = layout.split(torch.arange(6.0)[None])
    assert parts["theta"].item() == 0 and parts["offsets"].tolist() == [[1.0, 2.0]]
    assert parts["scale"].item() == 3 and parts["z"].tolist() == [[4.0, 5.0]]


def test_canonical_resample_inverts_the_decoder_transform():
    """A patch rendered from a template with (theta, offset) and resampled back matches it."""
    h = w = 33
    grid = pixel_grid((h, w))

    def template(coords):  # an asymmetric blob pattern in template coordinates
        x, y = coords[..., 0], coords[..., 1]
        return torch.exp(-((x - 0.35) ** 2 + y**2) / 0.02) + torch.exp(
            -((x + 0.1) ** 2 + (y - 0.3) ** 2) / 0.01
        )

    theta = torch.tensor([0.7, -1.2])
    offsets = torch.tensor([[0.1, -0.05], [-0.08, 0.12]])
    rendered = template(transform_grid(grid, theta, offsets)).reshape(2, h, w)
    back = canonical_resample(rendered, theta, offsets)
    canonical = template(grid).reshape(h, w)
    inner = (slice(6, -6), slice(6, -6))
    for i in range(2):
        err = (back[i][inner] - canonical[inner]).abs().max()
        assert err < 0.15, err
    # a wrong angle does not match: the test can fail
    wrong = canonical_resample(rendered, -theta, offsets)
    assert (wrong[0][inner] - canonical[inner]).abs().max() > 0.3


def test_ss_decoder_shares_geometry_across_classes():
    model = build_model(_config("ss-rvae"))
    latent = torch.randn(4, model.layout.size)
    eye = torch.eye(3)
    joint = model.render_logits(latent, eye.expand(4, 3, 3))
    assert joint.shape == (4, 3, 12 * 16)
    single = model.render_logits(latent, eye[[2]].expand(4, 1, 3))[:, 0]
    assert torch.allclose(joint[:, 2], single, atol=1e-5)
    assert not torch.allclose(joint[:, 0], joint[:, 1])


@pytest.mark.parametrize(
    "options",
    [
        dict(likelihood="gaussian"),
        dict(angle_prior="von_mises"),
        dict(invariances=("rotation", "translation", "scale")),
        dict(activation="relu"),
    ],
)
def test_model_options_train(options):
    """Every option gives a finite loss that goes down on a fixed batch."""
    # white noise: the PCA start (template, test_decoder.py) would already be its optimum, and
    # the likelihood is fixed so that "auto" does not pick it from the noise
    options = {"likelihood": "bernoulli", "template": False, **options}
    model = build_model(ModelConfig("rvae", (12, 12), hidden=(32, 32), **options))
    x = torch.from_numpy(np.random.default_rng(0).random((16, 12, 12)).astype(np.float32))
    model.fit_normalization(x.numpy())
    losses = adam_losses(model, x, 30)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_shift_vae_scales_offsets_by_k():
    model = build_model(ModelConfig("shift-vae", (12, 12), hidden=(16,), shift_scale=0.25))
    latent = torch.tensor([[1.0, -2.0, 0.5, 0.5]])
    parts = model.geometry(latent)
    assert parts["offsets"].tolist() == [[0.25, -0.5]] and "theta" not in parts
    assert model.offset_prior_std() == 1.0
