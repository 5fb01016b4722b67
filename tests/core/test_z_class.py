"""ss-rVAE: the between-class variance of z (TrainConfig.z_class_weight) keeps the class out of z."""

import numpy as np
import pytest
import torch
from _loss_terms import added_by_weight, bars_and_crosses, trained_share

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model


def _model(shape=(12, 12)):
    return build_model(
        ModelConfig("ss-rvae", patch_shape=shape, hidden=(16, 16), class_names=("a", "b"))
    )


def _with_z(model, z):
    """Encoder means whose z part is ``z`` (the pose latents 0)."""
    mean = torch.zeros(len(z), model.layout.size)
    mean[:, model.layout.slices()["z"]] = torch.as_tensor(z, dtype=torch.float32)
    return mean


def test_the_spread_is_the_between_class_variance_of_z():
    model = _model()
    z = np.array([[1.0, 0.0], [1.0, 2.0], [-1.0, 0.0], [-1.0, -2.0]])
    labels = torch.tensor([0, 0, 1, 1])
    logits = torch.zeros(4, 2)
    spread = model.z_class_spread(_with_z(model, z), logits, labels)
    # class means (1, 1) and (-1, -1) around (0, 0), each half of the batch
    assert float(spread) == pytest.approx(2.0)
    # a class that does not move z costs nothing, whatever the spread within it
    flat = np.array([[1.0, 0.0], [-1.0, 2.0], [1.0, 0.0], [-1.0, 2.0]])
    assert float(model.z_class_spread(_with_z(model, flat), logits, labels)) == pytest.approx(0.0)


def test_unlabeled_patches_count_by_the_classifier_and_leave_it_alone():
    model = _model()
    z = torch.tensor([[2.0, 0.0], [-2.0, 0.0]])
    unlabeled = torch.tensor([-1, -1])
    logits = torch.tensor([[8.0, -8.0], [-8.0, 8.0]], requires_grad=True)
    spread = model.z_class_spread(_with_z(model, z), logits, unlabeled)
    assert float(spread) == pytest.approx(4.0, rel=1e-4)  # confidently split by the classifier
    unsure = model.z_class_spread(_with_z(model, z), torch.zeros(2, 2), unlabeled)
    assert float(unsure) == pytest.approx(0.0, abs=1e-6)  # q = 1/2 each: no class to separate
    mean = _with_z(model, z).requires_grad_(True)
    model.z_class_spread(mean, logits, unlabeled).backward()
    assert logits.grad is None and float(mean.grad.abs().sum()) > 0


def test_the_weight_adds_the_spread_to_the_loss():
    torch.manual_seed(0)
    model = _model()
    x = torch.rand(8, 12, 12)
    labels = torch.tensor([0, 1, 0, 1, -1, -1, -1, -1])
    model.fit_normalization(x.numpy())

    # the encoder starts near 0: a small spread, a large weight
    added, term, plain_terms = added_by_weight(model, "z_class_weight", 1e5, "z_class", x, labels)
    assert "z_class" not in plain_terms and term > 0
    assert added == pytest.approx(1e5 * term, rel=1e-3)


def test_train_config_checks_the_weight():
    with pytest.raises(InputError, match="z_class_weight"):
        TrainConfig(z_class_weight=-1.0)
    assert TrainConfig.from_dict(TrainConfig(z_class_weight=3.0).to_dict()).z_class_weight == 3.0


def test_training_with_the_weight_keeps_the_class_out_of_z():
    x, labels = bars_and_crosses()
    share_on = trained_share("ss-rvae", "z_class_weight", 100.0, x, labels)[0]
    assert share_on < 0.5 * trained_share("ss-rvae", "z_class_weight", 0.0, x, labels)[0]
