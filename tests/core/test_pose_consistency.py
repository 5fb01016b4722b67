"""ss-rVAE: the encoder's angle must turn with the patch (TrainConfig.pose_consistency)."""

import math

import numpy as np
import pytest
import torch
from _loss_terms import added_by_weight, loss_with_weight

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model, pose
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import make_cards


def _model(shape=(32, 32), invariances=("rotation", "translation"), **options):
    return build_model(
        ModelConfig(
            "ss-rvae",
            patch_shape=shape,
            hidden=(16, 16),
            class_names=("a", "b"),
            invariances=invariances,
            **options,
        )
    )


def _cards(n=8, size=32, rotation=60.0, seed=0):
    cards = make_cards(n, size=size, rotation=rotation, classes=("clubs", "spades"), seed=seed)
    return cards.images, cards.labels


def _with_angle(model, angle_of):
    """The model's encoder replaced by one whose mean angle is ``angle_of(xn)``, std 0.1."""

    def encode_gaussian(xn):
        mean = torch.zeros(len(xn), model.layout.size)
        mean[:, model.layout.slices()["theta"]] = angle_of(xn)[:, None]
        return mean, torch.full_like(mean, 0.1)

    model.encode_gaussian = encode_gaussian
    return model


def test_an_angle_that_turns_with_the_patch_agrees_and_a_fixed_one_does_not():
    x, _ = _cards()
    basis = pose.moment_basis(_model().grid)

    def gap(angle_of):
        model = _with_angle(_model(), angle_of)
        xn = model.normalize(torch.from_numpy(x))
        return float(model.pose_disagreement(xn, torch.Generator().manual_seed(0)))

    turning = gap(lambda xn: pose.angle_guess(xn, basis, 1))  # exact up to resampling
    fixed = gap(lambda xn: torch.zeros(len(xn)))
    mirrored = gap(lambda xn: -pose.angle_guess(xn, basis, 1))
    # the fixed angle misses each turn delta: (1 - cos delta) / 0.02 on average, ~8 for +/-60
    assert fixed > 4.0
    assert turning < 0.1 * fixed
    assert mirrored > 2.0 * fixed  # the copy's angle must move the other way: twice the miss


def test_the_weight_adds_the_gap_to_the_training_loss_only():
    x, labels = _cards()
    model = _model()
    model.fit_normalization(x)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
    yt[::2] = -1

    added, term, plain_terms = added_by_weight(model, "pose_consistency", 2.0, "pose_gap", xt, yt)
    assert "pose_gap" not in plain_terms and term > 0
    assert added == pytest.approx(2.0 * term, rel=1e-4)
    model.eval()
    assert "pose_gap" not in loss_with_weight(model, "pose_consistency", 2.0, xt, yt)[1]
    # a model without an angle (the ss-VAE control) has nothing to turn
    control = _model(invariances=())
    control.fit_normalization(x)
    control.pose_consistency = 2.0
    assert "pose_gap" not in control.loss(xt, yt, generator=torch.Generator().manual_seed(1))[1]


def test_the_largest_turn_follows_the_patches_symmetry():
    x, _ = _cards()
    model = _model()
    model.fit_normalization(x)
    assert model.fit_pose_consistency(x, 1.0) == pytest.approx(math.pi / 3)
    assert model.pose_consistency == 1.0
    # a plus sign: 4-fold, so turns within pi / 12 (a turn by pi / 2 gives the same patch)
    plus = np.zeros((16, 32, 32), dtype=np.float32)
    plus[:, 14:18, 6:26] = 1.0
    plus[:, 6:26, 14:18] = 1.0
    plus += np.random.default_rng(0).uniform(0, 0.05, plus.shape).astype(np.float32)
    sym = _model()
    sym.fit_normalization(plus)
    assert sym.fit_pose_consistency(plus, 1.0) == pytest.approx(math.pi / 12)


def test_training_with_the_weight_makes_the_angle_turn_with_the_patch():
    x, labels = _cards(n=48, rotation=60.0, seed=1)
    labels = np.where(np.arange(len(labels)) % 4 == 0, labels, -1)
    base = dict(epochs=1, min_steps=60, batch_size=32, lr=3e-3, pixels_per_step=64, seed=0)

    def gap(weight):
        # the encoder's own angle: with the labeled cards' templates (the default) the angle
        # turns with the card from the first step, whatever the weight (gap ~4e-4 at 0)
        model = _model(pose_templates=False)
        fit(model, x, labels, TrainConfig(pose_consistency=weight, **base))
        model.eval()
        with torch.no_grad():
            xn = model.normalize(torch.from_numpy(x))
            # scored at a fixed width, so both models are measured alike
            std = model.encode_gaussian
            model.encode_gaussian = lambda v: (std(v)[0], torch.full_like(std(v)[1], 0.1))
            return float(model.pose_disagreement(xn, torch.Generator().manual_seed(5)))

    # 60 steps of a small model: without the term its angle barely leaves its start (~8.6
    # at a fixed angle); a large weight shows the term's gradient reaches the encoder
    assert gap(300.0) < 0.5 * gap(0.0)


def test_train_config_checks_the_weight():
    with pytest.raises(InputError, match="pose_consistency"):
        TrainConfig(pose_consistency=-1.0)
    assert TrainConfig.from_dict(TrainConfig(pose_consistency=2.0).to_dict()).pose_consistency == 2
    assert TrainConfig().pose_consistency == 0.0
