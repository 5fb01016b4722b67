"""Class templates: one decoder image per class, read at the pose-transformed coordinates."""

import math

import numpy as np
import pytest
import torch

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import decode
from napari_ivae.core.models.latent import pixel_grid
from napari_ivae.core.models.nets import SpatialDecoder
from napari_ivae.core.models.persistence import load_model, save_model
from napari_ivae.core.models.training import fit


def _silent_decoder(k=3, shape=(9, 9)):
    """A decoder whose network outputs 0, so only the class images remain."""
    torch.manual_seed(0)
    dec = SpatialDecoder(2, (8, 8), class_dim=k, class_template_shape=shape)
    with torch.no_grad():
        dec.out.weight.zero_()
        dec.out.bias.zero_()
        dec.class_template.copy_(torch.randn(dec.class_template.shape))
    return dec


@pytest.mark.parametrize("class_film", [False, True])
def test_each_class_draws_its_own_image_at_the_coordinates(class_film):
    dec = _silent_decoder()
    if class_film:
        dec = SpatialDecoder(2, (8, 8), class_dim=3, class_template_shape=(9, 9), class_film=True)
        with torch.no_grad():
            dec.out.weight.zero_()
            dec.out.bias.zero_()
            dec.class_template.copy_(torch.randn(dec.class_template.shape))
    grid = pixel_grid((9, 9)).expand(2, -1, -1)
    out = dec(grid, torch.randn(2, 2), torch.eye(3).expand(2, 3, 3))
    images = dec.class_template[0].detach().reshape(3, 81)
    for k in range(3):
        torch.testing.assert_close(out[:, k], images[k].expand(2, -1))
    # a mixed condition reads the same mixture of the images
    mix = torch.tensor([[[0.25, 0.75, 0.0]]]).expand(2, 1, 3)
    torch.testing.assert_close(
        dec(grid, torch.randn(2, 2), mix)[:, 0], (0.25 * images[0] + 0.75 * images[1]).expand(2, -1)
    )


def test_the_class_image_turns_with_the_pose():
    model = build_model(
        ModelConfig("ss-rvae", patch_shape=(9, 9), hidden=(8, 8), class_names=("a", "b"))
    )
    image = torch.zeros(9, 9)
    image[1, 4] = 5.0  # a bright pixel straight above the centre
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.zero_()
        model.decoder.class_template.zero_()
        model.decoder.class_template[0, 1] = image
    model.norm_fitted.fill_(True)
    upright = decode(model, np.zeros((1, 2)), y=1)[0]
    assert np.unravel_index(np.argmax(upright), upright.shape) == (1, 4)
    assert upright.max() > 0.99 and decode(model, np.zeros((1, 2)), y=0)[0].max() == 0.5
    turned = decode(model, np.zeros((1, 2)), angle=np.array([math.pi / 2]), y=1)[0]
    assert np.unravel_index(np.argmax(turned), turned.shape) in {(4, 1), (4, 7)}


def test_class_images_start_at_the_labeled_class_means():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (30, 10, 10)).astype(np.float32)
    x[0, 0, 0], x[1, 0, 0] = 0.0, 1.0  # the normalisation is the identity
    labels = np.repeat([0, 1, -1], 10)
    x[labels == 1] = np.clip(x[labels == 1] + 0.4, 0, 1)
    # ss-rvae: the class images start at 0 (from its class means the classifier collapsed)
    semi = build_model(
        ModelConfig("ss-rvae", patch_shape=(10, 10), hidden=(8, 8), class_names=("a", "b"))
    )
    semi.fit_normalization(x)
    semi.fit_class_templates(x, labels)
    assert float(semi.decoder.class_template.detach().abs().max()) == 0.0
    model = build_model(
        ModelConfig(
            "crvae",
            patch_shape=(10, 10),
            hidden=(8, 8),
            class_names=("a", "b"),
            likelihood="bernoulli",
        )
    )
    model.fit_normalization(x)
    model.fit_class_templates(x, labels)
    got = model.decoder.class_template.detach()[0]
    for k in range(2):
        want = torch.logit(torch.as_tensor(x[labels == k].mean(0)).clamp(0.02, 0.98))
        torch.testing.assert_close(got[k], want, atol=1e-5, rtol=1e-5)
    # without labeled patches a class's image stays 0
    model.fit_class_templates(x, np.where(labels == 1, -1, labels))
    assert float(model.decoder.class_template[0, 1].detach().abs().max()) == 0.0


def test_training_fits_and_saving_keeps_the_class_images(tmp_path):
    x = np.zeros((40, 12, 12), np.float32)
    x[:20, 2:6, 2:10] = 1.0  # class 0: a bar at the top, class 1: a block at the bottom
    x[20:, 6:11, 4:8] = 1.0
    labels = np.repeat([0, 1], 20)
    config = ModelConfig(
        "crvae", patch_shape=(12, 12), hidden=(8, 8), class_names=("a", "b"), class_template=True
    )
    model = build_model(config)
    fit(model, x, labels, TrainConfig.defaults_for("crvae", epochs=1, min_steps=2, device="cpu"))
    mean0 = torch.logit(torch.as_tensor(x[:20].mean(0)).clamp(0.02, 0.98))
    # trained from the class mean, not from 0
    assert float((model.decoder.class_template[0, 0].detach() - mean0).abs().mean()) < 0.5
    path = tmp_path / "m.ivae.pt"
    save_model(path, model)
    again = load_model(path).model
    torch.testing.assert_close(again.decoder.class_template, model.decoder.class_template)
    z = np.zeros((2, 2), np.float32)
    np.testing.assert_allclose(decode(again, z, y=[0, 1]), decode(model, z, y=[0, 1]))


def test_on_for_class_models_off_elsewhere_and_for_models_saved_before_it():
    assert ModelConfig("ss-rvae", class_names=("a", "b")).class_template
    assert ModelConfig("crvae", class_names=("a", "b")).class_template
    assert not ModelConfig("rvae").class_template
    # the joint rVAE: with its own pose templates (its default), not without them
    assert ModelConfig("jrvae", n_classes=2).class_template
    assert not ModelConfig("jrvae", n_classes=2, pose_templates=False).class_template
    joint = ModelConfig("jrvae", n_classes=2).to_dict()
    del joint["class_template"]  # a joint rVAE saved before its class images: none
    assert ModelConfig.from_dict(joint).class_template is False
    old = ModelConfig("ss-rvae", class_names=("a", "b")).to_dict()
    del old["class_template"]
    assert ModelConfig.from_dict(old).class_template is False
    assert build_model(ModelConfig.from_dict(old)).decoder.class_template is None


def test_class_traversal_draws_each_shape_centred():
    from napari_ivae.core.models.inference import class_traversal

    model = build_model(
        ModelConfig("ss-rvae", patch_shape=(15, 15), hidden=(8, 8), class_names=("a", "b"))
    )
    image = torch.full((15, 15), -6.0)
    image[1:5, 1:5] = 6.0  # class 1: a block in the top left corner at offsets 0
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.zero_()
        model.decoder.class_template.fill_(-6.0)
        model.decoder.class_template[0, 1] = image
    model.norm_fitted.fill_(True)
    tile = class_traversal(model, n=2)[15:, :15]  # class 1, first image
    rows, cols = np.mgrid[:15, :15]
    mass = np.abs(tile - np.median(tile))
    centre = ((mass * rows).sum() / mass.sum(), (mass * cols).sum() / mass.sum())
    np.testing.assert_allclose(centre, (7.0, 7.0), atol=0.75)
    assert tile.max() > 0.99  # the block is drawn whole, not cut by the frame
