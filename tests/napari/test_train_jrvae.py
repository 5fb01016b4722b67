"""Train widget: the joint rVAE is a model choice with its number of classes."""

from __future__ import annotations

from napari_helpers import open_widget


def test_joint_rvae_choice_shows_classes_and_builds_its_config(viewer):
    train = open_widget(viewer, "Train")
    assert train.n_classes.native.isHidden()  # hidden explicitly (the dock may be unshown)
    train.kind.value = "jrvae"
    assert not train.n_classes.native.isHidden() and not train.rotation.native.isHidden()
    train.n_classes.value = 3
    model_config, train_config = train.configs((24, 24))
    assert model_config.kind == "jrvae" and model_config.n_classes == 3
    assert len(model_config.class_names) == 3
    assert train_config.min_steps == 600
    train.kind.value = "rvae"
    assert train.n_classes.native.isHidden()
