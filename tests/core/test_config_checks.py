"""The configurations' field checks: each bad value is named in one InputError line, and the
configuration modules are one API (``core.models.config`` gathers them)."""

import math

import pytest

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import config
from napari_ivae.core.models.config import ModelConfig, TrainConfig

AT_LEAST_ZERO = ("z_class_share", "smoothness", "psi_slack", "z_class_weight", "pose_consistency")
POSITIVE = ("lr", "lr_bernoulli", "label_weight")


@pytest.mark.parametrize("name", AT_LEAST_ZERO)
@pytest.mark.parametrize("value", [-0.5, math.inf, math.nan])
def test_a_weight_must_be_a_finite_number_at_least_zero(name, value):
    with pytest.raises(InputError, match=f"^{name} must be a number >= 0, got"):
        TrainConfig(**{name: value})
    assert getattr(TrainConfig(**{name: 0.0}), name) == 0.0


@pytest.mark.parametrize("name", POSITIVE)
@pytest.mark.parametrize("value", [0.0, -1.0, math.inf, math.nan])
def test_a_rate_or_weight_must_be_a_finite_positive_number(name, value):
    with pytest.raises(InputError, match=f"^{name} must be a positive number, got"):
        TrainConfig(**{name: value})
    assert getattr(TrainConfig(**{name: 2.0}), name) == 2.0


def test_the_first_bad_field_is_the_one_named():
    with pytest.raises(InputError, match="^z_class_share"):
        TrainConfig(z_class_share=-1.0, pose_consistency=-1.0)
    with pytest.raises(InputError, match="^smoothness_latents"):
        TrainConfig(smoothness_latents=-1, psi_slack=-1.0)


@pytest.mark.parametrize("kind", ["ss-rvae", "jrvae", "crvae"])
def test_class_names_and_their_count_complete_each_other(kind):
    named = ModelConfig(kind, (16, 16), class_names=("a", "b", "c"))
    assert named.n_classes == 3
    counted = ModelConfig(kind, (16, 16), n_classes=2)
    assert counted.class_names == ("class 0", "class 1")
    with pytest.raises(InputError, match="class_names has 2 names for 3 classes"):
        ModelConfig(kind, (16, 16), n_classes=3, class_names=("a", "b"))


def test_class_checks_per_kind():
    with pytest.raises(InputError, match="needs n_classes >= 2 \\(the classes you labeled\\)"):
        ModelConfig("ss-rvae", (16, 16))
    with pytest.raises(InputError, match="needs n_classes >= 2 \\(the classes to find\\)"):
        ModelConfig("jrvae", (16, 16), n_classes=1)
    with pytest.raises(InputError, match="a crvae needs a known class"):
        ModelConfig("crvae", (16, 16), n_classes=1)
    with pytest.raises(InputError, match="class_names must all differ"):
        ModelConfig("ss-rvae", (16, 16), class_names=("a", "a"))
    with pytest.raises(InputError, match="class and condition names must all differ"):
        ModelConfig("crvae", (16, 16), class_names=("a", "b"), condition_names=("a",))
    only_conditions = ModelConfig("crvae", (16, 16), condition_names=("dose",))
    assert only_conditions.n_classes == 0 and only_conditions.class_names == ()
    assert ModelConfig("rvae", (16, 16), class_names=("a", "b")).n_classes == 0  # not a class kind


def test_config_gathers_the_configuration_api():
    from napari_ivae.core.models import likelihood, model_config, train_config

    for module in (model_config, train_config, likelihood):
        for name in module.__all__:
            assert getattr(config, name) is getattr(module, name), name
    assert set(config.__all__) == set(
        model_config.__all__ + train_config.__all__ + likelihood.__all__
    )
