"""Joint rVAE (kind "jrvae"): classes found without labels, persistence, CLI."""

import numpy as np
import pytest
import torch

from napari_ivae.cli import main
from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import class_traversal, decode, encode
from napari_ivae.core.models.persistence import load_model, save_model
from napari_ivae.core.models.training import fit
from napari_ivae.core.synthetic.cards import make_cards

SIZE = 16
FAST = dict(epochs=1, batch_size=32, pixels_per_step=128, min_steps=80, device="cpu")


def _two_suits(n=48, seed=0):
    cards = make_cards(n, size=SIZE, rotation=30, classes=("clubs", "hearts"), seed=seed)
    return cards.images.astype(np.float32), cards.labels


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    x, truth = _two_suits()
    model = build_model(ModelConfig("jrvae", (SIZE, SIZE), n_classes=2, hidden=(32, 32)))
    result = fit(model, x, None, TrainConfig.defaults_for("jrvae", seed=1, **FAST))
    return result, x, truth


def test_jrvae_config_needs_classes_and_names_them():
    with pytest.raises(InputError, match="n_classes >= 2"):
        ModelConfig("jrvae", (SIZE, SIZE))
    cfg = ModelConfig("jrvae", (SIZE, SIZE), n_classes=3)
    assert cfg.class_names == ("class 0", "class 1", "class 2")
    assert cfg.angle_hint and cfg.invariances == ("rotation", "translation")


def test_jrvae_finds_both_classes_without_labels(trained):
    result, x, truth = trained
    assert bool(result.model.classes_ready)
    pred = encode(result.model, x).class_prob.argmax(1)
    assert len(np.unique(pred)) == 2  # not collapsed into one class
    agree = max(np.mean(pred == truth), np.mean(pred != truth))
    assert agree > 0.9, agree
    assert "kl_y" in result.history[-1]  # the joint objective (eq. 5) ran after the warm-up


def test_jrvae_round_trip_keeps_classes(trained, tmp_path):
    result, x, _ = trained
    path = save_model(tmp_path / "j.ivae.pt", result.model, result)
    bundle = load_model(path)
    assert bundle.config.kind == "jrvae" and bool(bundle.model.classes_ready)
    a, b = encode(result.model, x), encode(bundle.model, x)
    assert np.allclose(a.class_prob, b.class_prob, atol=1e-6)
    assert class_traversal(bundle.model, n=3).shape == (2 * SIZE, 3 * SIZE)


def test_cli_trains_jrvae_with_classes(tmp_path, capsys):
    x, _ = _two_suits(16, seed=3)
    np.save(tmp_path / "p.npy", x)
    out = tmp_path / "j.ivae.pt"
    args = [
        "train",
        "--model",
        "jrvae",
        "--patches",
        str(tmp_path / "p.npy"),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--batch-size",
        "16",
        "--quiet",
    ]
    assert main(args) == 2  # no --classes: refused with a message, nothing written
    assert "--classes" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--classes", "3"]) == 0
    bundle = load_model(out)
    assert bundle.config.n_classes == 3
    assert encode(bundle.model, x).class_prob.shape == (len(x), 3)


def _matched(pred, truth, k=4):
    from itertools import permutations

    return max(np.mean(np.array(perm)[pred] == truth) for perm in permutations(range(k)))


def test_start_classes_follow_elongated_groups_that_kmeans_cuts_across():
    from napari_ivae.core.analysis.clustering import cluster_latents
    from napari_ivae.core.models.joint_rvae import start_classes

    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(4), 150)
    # four long parallel bars: k-means on standardised codes cuts them in a 2 x 2 grid
    bars = np.stack(
        [
            np.array([-3.0, -1.0, 1.0, 3.0])[truth] + rng.normal(0, 0.3, 600),
            rng.normal(0, 4.0, 600),
        ],
        1,
    )
    assert _matched(cluster_latents(bars, 4, seed=0).labels, truth) < 0.8
    assert _matched(start_classes(bars, 4, seed=0), truth) > 0.95
    # four round groups: k-means is kept as it is
    blobs = np.stack(
        [np.array([-3.0, 3.0, -3.0, 3.0])[truth], np.array([-3.0, -3.0, 3.0, 3.0])[truth]], 1
    ) + rng.normal(0, 1.0, (600, 2))
    kmeans = cluster_latents(blobs, 4, seed=0).labels
    assert np.array_equal(start_classes(blobs, 4, seed=0), kmeans)
    assert _matched(kmeans, truth) > 0.95


@pytest.fixture(scope="module")
def trained_templates():
    torch.set_num_threads(1)
    x, truth = _two_suits()
    cfg = ModelConfig("jrvae", (SIZE, SIZE), n_classes=2, hidden=(32, 32), pose_templates="replace")
    result = fit(build_model(cfg), x, None, TrainConfig.defaults_for("jrvae", seed=1, **FAST))
    return result, x, truth


def test_jrvae_uses_its_own_templates_and_class_images_by_default_and_not_when_off():
    model = build_model(ModelConfig("jrvae", (SIZE, SIZE), n_classes=2, hidden=(32, 32)))
    assert model.config.pose_templates == "replace" and model.config.class_template
    assert model.decoder.class_template is not None and "pose_templates" in model.state_dict()
    off = ModelConfig("jrvae", (SIZE, SIZE), n_classes=2, hidden=(32, 32), pose_templates=False)
    assert off.class_template is False  # the model as it was before the templates
    model = build_model(off)
    assert not model.uses_pose_templates and model.decoder.class_template is None
    assert not any("pose_" in key for key in model.state_dict())


def test_each_class_decodes_as_its_own_template_from_the_switch():
    torch.set_num_threads(1)
    x, _ = _two_suits()
    model = build_model(ModelConfig("jrvae", (SIZE, SIZE), n_classes=2, hidden=(32, 32)))
    model.init_weights(0)
    model.fit_normalization(x)
    model.initialise_classes(torch.as_tensor(x), torch.Generator().manual_seed(0))
    assert (model.pose_orders > 0).all()
    assert not model.decoder.out.weight.any() and not model.decoder.out.bias.any()
    templates = model.pose_templates.numpy()
    # each class drawn upright (z at 0) is its own template, not the other class's
    drawn = decode(model, np.zeros((2, model.config.latent_dim), np.float32), y=[0, 1])
    for k in range(2):
        corr = [np.corrcoef(drawn[k].ravel(), t.ravel())[0, 1] for t in templates]
        assert corr[k] > 0.99 and corr[k] > corr[1 - k], corr


def test_jrvae_own_templates_come_from_its_classes(trained_templates):
    from napari_ivae.core.models import pose_search

    result, x, _ = trained_templates
    model = result.model
    assert (model.pose_orders > 0).all() and model.replaces_pose
    start = np.asarray(model.initial_classes)
    assert len(np.unique(start)) == 2
    # each patch's best-matching template is the template of its own start class
    xn = model.normalize(torch.as_tensor(x))
    with torch.no_grad():
        _, cls, _ = pose_search.best_angles(
            pose_search.centred(xn).flatten(1), model._pose_bank(), model.pose_orders
        )
    assert np.mean(cls.numpy() == start) > 0.9
    # the encoding's angle is the searched one, not the encoder's
    angle, _ = model.template_pose(xn)
    assert np.allclose(encode(model, x).angle, angle.numpy(), atol=1e-5)


def test_jrvae_own_templates_round_trip(trained_templates, tmp_path):
    result, x, _ = trained_templates
    bundle = load_model(save_model(tmp_path / "t.ivae.pt", result.model, result))
    assert bundle.config.pose_templates == "replace"
    assert torch.equal(bundle.model.pose_templates, result.model.pose_templates)
    a, b = encode(result.model, x), encode(bundle.model, x)
    assert np.allclose(a.class_prob, b.class_prob, atol=1e-6)
    assert np.allclose(a.angle, b.angle, atol=1e-6)
