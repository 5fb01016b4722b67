"""The decoder's class images held fixed, then learnt at their own rate
(TrainConfig.class_image_rate / class_image_start)."""

import numpy as np
import pytest
import torch

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import make_cards

BASE = dict(epochs=1, min_steps=40, batch_size=32, lr=3e-3, pixels_per_step=64, seed=0)


def _trained(trace=None, **options):
    """A small ss-rVAE trained on two suits; ``trace`` collects the class images' largest
    absolute logit after every step."""
    cards = make_cards(48, size=24, rotation=30.0, classes=("clubs", "spades"), seed=2)
    labels = np.where(np.arange(len(cards.labels)) % 4 == 0, cards.labels, -1)
    model = build_model(
        ModelConfig("ss-rvae", patch_shape=(24, 24), hidden=(16, 16), class_names=("a", "b"))
    )

    def record(event):
        if trace is not None:
            trace.append(float(_images(model).abs().max()))

    fit(model, cards.images, labels, TrainConfig(**BASE, **options), callback=record)
    return model


def _images(model) -> torch.Tensor:
    return model.decoder.class_template.detach().clone()


def test_class_images_held_fixed_until_the_start_then_learnt_faster():
    plain = float(_images(_trained()).abs().max())
    fast = float(_images(_trained(class_image_rate=10.0)).abs().max())
    trace: list[float] = []
    late = float(_images(_trained(trace, class_image_rate=10.0, class_image_start=0.5)).abs().max())
    assert plain > 0.01  # learnt from 0 with everything else
    assert fast > 3.0 * plain
    # held at 0 for the first half of the 40 steps, moving from the first step after it
    assert trace[:20] == [0.0] * 20
    assert trace[20] > 0.0
    assert 1.5 * plain < late < fast


def test_class_images_held_for_every_step_stay_at_zero():
    trace: list[float] = []
    _trained(trace, class_image_start=1.0)
    assert len(trace) == 40 and max(trace) == 0.0


def test_train_config_checks_the_class_image_options():
    with pytest.raises(InputError, match="class_image_rate"):
        TrainConfig(class_image_rate=0.0)
    with pytest.raises(InputError, match="class_image_start"):
        TrainConfig(class_image_start=1.5)
    config = TrainConfig(class_image_rate=20.0, class_image_start=0.5)
    back = TrainConfig.from_dict(config.to_dict())
    assert (back.class_image_rate, back.class_image_start) == (20.0, 0.5)
