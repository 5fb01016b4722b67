"""crVAE: the between-class share of z's variance (TrainConfig.z_class_share) keeps each known
class's codes where the others' are, without shrinking z."""

import numpy as np
import pytest
import torch
from _loss_terms import added_by_weight, bars_and_crosses, trained_share

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model


def _model(shape=(12, 12), **options):
    return build_model(
        ModelConfig("crvae", patch_shape=shape, hidden=(16, 16), class_names=("a", "b"), **options)
    )


def _with_z(model, z):
    """Encoder means whose z part is ``z`` (the pose latents 0)."""
    mean = torch.zeros(len(z), model.layout.size)
    mean[:, model.layout.slices()["z"]] = torch.as_tensor(z, dtype=torch.float32)
    return mean


def test_the_share_is_the_between_class_over_the_total_variance_of_z():
    model = _model()
    labels = torch.tensor([0, 0, 1, 1])
    # class means (1, 1) and (-1, -1): between 2, within (0, 1) per point: total 3
    z = np.array([[1.0, 0.0], [1.0, 2.0], [-1.0, 0.0], [-1.0, -2.0]])
    assert float(model.z_between_share(_with_z(model, z), labels)) == pytest.approx(2 / 3, 1e-3)
    # scale-free: shrinking z does not lower it
    small = float(model.z_between_share(_with_z(model, z * 0.1), labels))
    assert small == pytest.approx(2 / 3, rel=0.01)
    # a class that does not move z costs nothing, whatever the spread within it
    flat = np.array([[1.0, 0.0], [-1.0, 2.0], [1.0, 0.0], [-1.0, 2.0]])
    assert float(model.z_between_share(_with_z(model, flat), labels)) == pytest.approx(0.0)
    # z that is the class: all of its variance lies between the classes
    pure = np.array([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]])
    assert float(model.z_between_share(_with_z(model, pure), labels)) == pytest.approx(1.0, 1e-3)


def test_the_weight_adds_the_share_to_the_loss():
    torch.manual_seed(0)
    model = _model()
    x = torch.rand(8, 12, 12)
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    model.fit_normalization(x.numpy())

    added, term, plain_terms = added_by_weight(
        model, "z_class_share", 50.0, "z_class_share", x, labels
    )
    assert "z_class_share" not in plain_terms and term > 0
    assert added == pytest.approx(50.0 * term, rel=1e-3)


def test_train_config_checks_the_weight():
    with pytest.raises(InputError, match="z_class_share"):
        TrainConfig(z_class_share=-1.0)
    assert TrainConfig.from_dict(TrainConfig(z_class_share=3.0).to_dict()).z_class_share == 3.0


def test_training_with_the_weight_takes_the_class_out_of_z_and_keeps_z():
    x, labels = bars_and_crosses(class_widens=True)
    share_off, var_off = trained_share("crvae", "z_class_share", 0.0, x, labels)
    share_on, var_on = trained_share("crvae", "z_class_share", 100.0, x, labels)
    assert share_on < 0.5 * share_off
    assert var_on > 0.25 * var_off  # the width is still coded: z did not shrink away
