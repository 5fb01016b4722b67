"""rVAE: the pose from templates of its own patches, grouped by shape without labels
(ModelConfig.pose_templates for rvae, pose_search.group_shapes)."""

import numpy as np
import torch

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model, pose_search
from napari_ivae.core.models.persistence import load_model, save_model
from napari_ivae.core.models.training import fit
from napari_ivae.core.patches.cutting import grid_patches
from napari_ivae.core.synthetic.cards import make_cards
from napari_ivae.core.synthetic.lattice import make_lattice

SUITS = ("clubs", "hearts", "diamonds")


def _cards(n=24, rotation=60.0, seed=4, classes=SUITS):
    cards = make_cards(n, size=32, rotation=rotation, translation=0.05, classes=classes, seed=seed)
    return cards.images, cards.labels, np.asarray(cards.angles)


def _model(**options):
    return build_model(ModelConfig("rvae", patch_shape=(32, 32), hidden=(16, 16), **options))


def _frame_consistency(found, truth):
    """Length of the mean resultant of (found - true) angles: 1 when the found angles follow
    the true ones up to one constant (one frame), near 0 when they scatter."""
    return float(np.abs(np.exp(1j * (np.asarray(found) - np.asarray(truth))).mean()))


def test_shapes_are_grouped_whatever_their_pose_and_one_shape_is_one_group():
    x, labels, _ = _cards()
    groups = pose_search.group_shapes(torch.from_numpy(x), max_groups=8).numpy()
    # a group per suit (the 8 starting groups merged back), each pure
    assert groups.max() + 1 == len(SUITS)
    for g in range(len(SUITS)):
        assert len(np.unique(labels[groups == g])) == 1
    one, _, _ = _cards(classes=("hearts",))
    assert pose_search.group_shapes(torch.from_numpy(one), max_groups=8).max() == 0


def test_each_kind_of_card_is_encoded_in_one_frame():
    x, labels, truth = _cards()
    with_templates, without = _model(), _model(pose_templates=False)
    for model in (with_templates, without):
        model.init_weights(0)
        model.fit_normalization(x)
    assert with_templates.uses_pose_templates and with_templates.replaces_pose
    assert (with_templates.pose_orders > 0).sum() == len(SUITS)
    xn = with_templates.normalize(torch.from_numpy(x))
    t = with_templates.layout.slices()["theta"]
    with torch.no_grad():
        found = with_templates.encode_gaussian(xn)[0][:, t][:, 0].numpy()
        hinted = without.encode_gaussian(xn)[0][:, t][:, 0].numpy()
    for k in range(len(SUITS)):
        # diamonds: known modulo a half turn
        order = 2 if SUITS[k] == "diamonds" else 1
        sel = labels == k
        assert _frame_consistency(order * found[sel], order * truth[sel]) > 0.97
    # the angular-moment guess alone has no frame for a diamond (2-fold: no first moment)
    diamonds = labels == SUITS.index("diamonds")
    assert _frame_consistency(2 * hinted[diamonds], 2 * truth[diamonds]) < 0.9


def test_lattice_sites_keep_the_encoders_pose():
    image = make_lattice((96, 96), spacing=12.0, seed=0).image
    patches = grid_patches(image, 24, 6, normalize="global").patches.astype(np.float32)
    model, control = (
        build_model(ModelConfig("rvae", patch_shape=(24, 24), hidden=(16, 16), pose_templates=p))
        for p in (None, False)
    )
    for m in (model, control):
        m.init_weights(0)
        m.fit_normalization(patches)
    assert int(model.angle_hint_order) != 1
    assert not model.uses_pose_templates
    xn = model.normalize(torch.from_numpy(patches))
    with torch.no_grad():
        assert torch.equal(model.encode_gaussian(xn)[0], control.encode_gaussian(xn)[0])


def test_a_trained_rvae_saves_its_templates(tmp_path):
    x, _, _ = _cards(8)
    model = _model()
    result = fit(model, x, None, TrainConfig.defaults_for("rvae", min_steps=4, device="cpu"))
    assert model.uses_pose_templates
    path = tmp_path / "m.ivae.pt"
    save_model(path, model, result)
    loaded = load_model(path).model
    assert torch.equal(loaded.pose_templates, model.pose_templates)
    xn = model.normalize(torch.from_numpy(x))
    with torch.no_grad():
        assert torch.allclose(loaded.encode_gaussian(xn)[0], model.encode_gaussian(xn)[0])
