"""The ss-rVAE's class images polished after training (TrainConfig.class_image_steps /
class_image_rate): only they learn, the rest of the model is as trained."""

import threading

import numpy as np
import pytest
import torch

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import make_cards

BASE = dict(epochs=1, min_steps=30, batch_size=32, lr=3e-3, pixels_per_step=64, seed=0)


def _trained(events=None, stop_after=None, **options):
    cards = make_cards(48, size=24, rotation=30.0, classes=("clubs", "spades"), seed=2)
    labels = np.where(np.arange(len(cards.labels)) % 4 == 0, cards.labels, -1)
    model = build_model(
        ModelConfig("ss-rvae", patch_shape=(24, 24), hidden=(16, 16), class_names=("a", "b"))
    )
    stop = threading.Event()

    def record(event):
        if events is not None:
            events.append(event)
        if stop_after is not None and len(events or ()) >= stop_after:
            stop.set()

    result = fit(model, cards.images, labels, TrainConfig(**BASE, **options), record, stop)
    return model, result


def _images(model) -> torch.Tensor:
    return model.decoder.class_template.detach()


def test_polish_moves_only_the_class_images_and_sharpens_them():
    plain, _ = _trained()
    events: list = []
    polished, result = _trained(events, class_image_steps=20, class_image_rate=10.0)
    for (name, a), b in zip(plain.named_parameters(), polished.parameters(), strict=True):
        if name == "decoder.class_template":
            assert not torch.equal(a, b)
        else:
            assert torch.equal(a, b), name  # training before the polish is unchanged
    assert float(_images(polished).abs().max()) > 2.0 * float(_images(plain).abs().max())
    assert all(p.requires_grad for p in polished.parameters())  # released afterwards
    # 30 training steps then 20 polish steps, counted in the progress
    assert len(events) == 50 and {e.total_steps for e in events} == {50}
    steps_per_epoch = events[0].steps_per_epoch
    done = [e.epoch * steps_per_epoch + e.step + 1 for e in events]
    assert done == list(range(1, 51))
    assert result.timings["class_image_steps"] == 20 and not result.stopped


def test_stop_during_the_polish_keeps_a_partial_polish():
    events: list = []
    _, result = _trained(events, stop_after=35, class_image_steps=20)
    assert result.stopped and result.timings["class_image_steps"] == 5


def test_train_config_checks_the_class_image_options():
    with pytest.raises(InputError, match="class_image_rate"):
        TrainConfig(class_image_rate=0.0)
    with pytest.raises(InputError, match="class_image_steps"):
        TrainConfig(class_image_steps=-1)
    back = TrainConfig.from_dict(TrainConfig(class_image_steps=200).to_dict())
    assert (back.class_image_steps, back.class_image_rate) == (200, 10.0)
    assert TrainConfig().class_image_steps == 0
