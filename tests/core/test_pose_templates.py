"""ss-rVAE: the encoder's angle from the labeled patches' aligned class templates
(ModelConfig.pose_templates, core.models.pose_search)."""

import math

import numpy as np
import pytest
import torch

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model, pose_search
from napari_ivae.core.models.latent import canonical_resample
from napari_ivae.core.models.persistence import load_model, save_model
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import make_cards

SUITS = ("clubs", "diamonds")


def _cards(n, rotation, seed, size=32):
    cards = make_cards(n, size=size, rotation=rotation, translation=0.0, classes=SUITS, seed=seed)
    return cards.images, cards.labels, np.asarray(cards.angles)


def _model(**options):
    return build_model(
        ModelConfig("ss-rvae", patch_shape=(32, 32), hidden=(16, 16), class_names=SUITS, **options)
    )


def _circular_error(found, truth, order=1):
    """Median error (radians) of ``found`` against ``truth`` modulo ``2 pi / order``, after the
    template frame's constant offset is taken out."""
    d = order * (np.asarray(found) - np.asarray(truth))
    centre = np.angle(np.exp(1j * d).mean())
    return float(np.median(np.abs(np.angle(np.exp(1j * (d - centre)))))) / order


def _fitted(labeled_rotation, mode=True):
    """A model whose pose templates (``pose_templates=mode``) are fitted on 24 labeled cards of
    each suit turned within +/- ``labeled_rotation`` deg."""
    x, labels, _ = _cards(24, labeled_rotation, seed=1)
    model = _model(pose_templates=mode)
    model.fit_normalization(x)
    model.fit_class_templates(x, labels)
    return model


def test_aligned_templates_find_known_turns_of_their_own_template():
    x, labels, _ = _cards(24, 180.0, seed=1)
    xn = torch.from_numpy(x)
    template, order = pose_search.align_class(xn[labels == 0])
    assert order == 1  # a club is no turn of itself
    turns = torch.linspace(-3.0, 3.0, 9)
    copies = canonical_resample(template[None].expand(len(turns), -1, -1), -turns)
    bank = pose_search.turned_bank(template[None])
    found, cls, _ = pose_search.best_angles(copies.flatten(1), bank)
    assert (cls == 0).all()
    err = (found - turns + math.pi) % (2 * math.pi) - math.pi
    assert float(err.abs().max()) < math.radians(0.5)


def test_a_diamond_is_its_own_half_turn_and_a_club_is_not():
    x, labels, _ = _cards(24, 4.0, seed=1)
    xn = torch.from_numpy(x)
    clubs = pose_search.align_class(xn[labels == 0])[0]
    diamonds = pose_search.align_class(xn[labels == 1])[0]
    assert pose_search.symmetry_order(clubs) == 1
    assert pose_search.symmetry_order(diamonds) == 2


def test_the_hint_follows_the_cards_turns_whatever_pose_the_labeled_cards_had():
    cards = make_cards(40, size=32, rotation=60.0, translation=0.1, classes=SUITS, seed=2)
    x, labels, truth = cards.images, cards.labels, np.asarray(cards.angles)
    for labeled_rotation in (4.0, 180.0):
        model = _fitted(labeled_rotation)
        assert model.uses_pose_templates
        assert model.pose_orders.tolist() == [1, 2]
        found = model.template_angle(model.normalize(torch.from_numpy(x))).numpy()
        # the card's angle, up to a constant (the class's frame) and the diamond's half turn
        for k, order in enumerate((1, 2)):
            sel = labels == k
            assert _circular_error(found[sel], truth[sel], order) < math.radians(5)
        # added to the encoder network's angle: the classifier reads the card turned back
        xn = model.normalize(torch.from_numpy(x))
        t = model.layout.slices()["theta"]
        with torch.no_grad():
            theta = model.encode_gaussian(xn)[0][:, t]
            network = model.encoder(xn)[0][:, t]
        assert torch.allclose(theta, network + torch.from_numpy(found)[:, None], atol=1e-6)


def test_without_templates_the_angle_is_the_encoders_alone():
    x, labels, _ = _cards(8, 60.0, seed=1)
    model = _model(pose_templates=False)
    model.fit_normalization(x)
    model.fit_class_templates(x, labels)
    assert not model.uses_pose_templates and "pose_templates" not in model.state_dict()
    xn = model.normalize(torch.from_numpy(x))
    assert torch.equal(model.encode_gaussian(xn)[0], model.encoder(xn)[0])
    # an unfitted model (no labeled patch yet) adds nothing either
    unfitted = _model()
    assert not unfitted.uses_pose_templates
    assert torch.equal(unfitted.encode_gaussian(xn)[0], unfitted.encoder(xn)[0])


def test_a_trained_model_saves_its_templates_and_an_older_file_loads_without(tmp_path):
    x, labels, _ = _cards(12, 60.0, seed=3)
    labels = labels.copy()
    labels[1::2] = -1  # every other card unlabeled
    config = TrainConfig.defaults_for("ss-rvae", min_steps=6, class_image_steps=2, device="cpu")
    model = _model()
    result = fit(model, x, labels, config)
    assert model.uses_pose_templates
    path = tmp_path / "m.ivae.pt"
    save_model(path, model, result)
    loaded = load_model(path).model
    assert torch.equal(loaded.pose_templates, model.pose_templates)
    xn = model.normalize(torch.from_numpy(x))
    assert torch.allclose(loaded.encode_gaussian(xn)[0], model.encode_gaussian(xn)[0])
    # a file written before the templates existed: no such key, no such buffers
    bundle = torch.load(path, weights_only=True)
    del bundle["model_config"]["pose_templates"]
    for key in ("pose_templates", "pose_orders"):
        del bundle["state_dict"][key]
    torch.save(bundle, tmp_path / "old.ivae.pt")
    old = load_model(tmp_path / "old.ivae.pt")
    assert old.config.pose_templates is False and not old.model.uses_pose_templates


def test_replacing_the_pose_searches_it_and_a_saved_model_keeps_the_mode(tmp_path):
    cards = make_cards(40, size=32, rotation=60.0, translation=0.1, classes=SUITS, seed=2)
    x, labels = cards.images, cards.labels
    lab = labels.copy()
    lab[1::2] = -1
    config = TrainConfig.defaults_for("ss-rvae", min_steps=6, class_image_steps=2, device="cpu")
    model = _model(pose_templates="replace")
    result = fit(model, x, lab, config)
    assert model.replaces_pose and model.config.pose_templates == "replace"
    xn = model.normalize(torch.from_numpy(x))
    parts = model.layout.slices()
    angle, centre = model.template_pose(xn)
    with torch.no_grad():
        mean = model.encode_gaussian(xn)[0]
        # the angle and the offsets are the search's, whatever the encoder network says
        model.encoder.mean.bias.add_(1.0)
        moved = model.encode_gaussian(xn.clone())[0]
    for m in (mean, moved):
        assert torch.allclose(m[:, parts["theta"]][:, 0], angle)
        assert torch.allclose(m[:, parts["offsets"]] * model.offset_gain, centre, atol=1e-6)
    assert not torch.allclose(moved[:, parts["z"]], mean[:, parts["z"]])
    with torch.no_grad():
        model.encoder.mean.bias.sub_(1.0)
    path = tmp_path / "m.ivae.pt"
    save_model(path, model, result)
    loaded = load_model(path).model
    assert loaded.replaces_pose
    assert torch.allclose(loaded.encode_gaussian(xn)[0], model.encode_gaussian(xn)[0], atol=1e-6)


def test_pose_templates_accepts_only_booleans_or_replace():
    assert _model().config.pose_templates == "replace"  # the ss-rVAE's default
    with pytest.raises(InputError):
        _model(pose_templates="add")
    assert _model(pose_templates="replace").config.pose_templates == "replace"
    # the rVAE's own templates (test_rvae_own_templates.py): on by default with rotation
    assert ModelConfig("rvae", patch_shape=(32, 32)).pose_templates == "replace"
    fixed = ModelConfig("rvae", patch_shape=(32, 32), invariances=("translation",))
    assert fixed.pose_templates is False
    shift = ModelConfig("shift-vae", patch_shape=(32, 32), pose_templates="replace")
    assert shift.pose_templates is False
