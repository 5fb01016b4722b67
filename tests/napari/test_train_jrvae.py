"""Train widget: the joint rVAE is a model choice with its number of classes; the shift
prior follows the model kind."""

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


def test_the_shift_prior_follows_the_model_kind(viewer):
    """The crVAE's offsets have a narrower prior (0.05 of the patch width, the others 0.1):
    choosing the kind puts its default in the box, and the config carries the box's value."""
    train = open_widget(viewer, "Train")
    assert train.translation_prior.value == 0.1
    train.kind.value = "crvae"
    assert train.translation_prior.value == 0.05
    assert train.configs((24, 24), ["a", "b"])[0].translation_prior == 0.05
    train.kind.value = "rvae"
    assert train.translation_prior.value == 0.1


def test_the_joint_demo_trains_four_classes_and_draws_their_traversal(viewer):
    """The ``cards_joint`` demo (docs/tutorials/cards_unsupervised.md): a joint rVAE with 4
    classes through the widgets, its own pose templates and class images (the defaults), and
    Results' class traversal of 4 rows beside the image."""
    from napari_ivae._sample_data import CARD_SIZE
    from napari_ivae._widgets._session import get_session
    from napari_ivae.demo import run_workflow

    run_workflow(viewer, "cards_joint", epochs=2, log=lambda _: None)
    model = get_session(viewer).bundle.model
    assert model.config.kind == "jrvae" and model.config.n_classes == 4
    assert model.replaces_pose and model.decoder.class_template is not None
    manifold = next(
        layer
        for layer in viewer.layers
        if layer.metadata.get("napari_ivae", {}).get("role") == "manifold"
    )
    assert manifold.data.shape == (4 * CARD_SIZE, 8 * CARD_SIZE)


def test_more_classes_than_patches_is_refused_at_start(viewer):
    """A joint rVAE of 20 classes on 16 patches (a 64 px crop): the k-means start after the
    warm-up failed ('cannot make 20 clusters from 16 distinct codes'); now Train refuses at
    once, naming its 'classes' box, and nothing runs."""
    import numpy as np
    from napari_helpers import is_error

    from napari_ivae._widgets._session import get_session
    from napari_ivae.core.patches import extract_patches

    image = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    centres = np.array([(16 + 8 * (i // 4), 16 + 8 * (i % 4)) for i in range(16)], float)
    get_session(viewer).update(patchset=extract_patches(image, centres, size=16))
    train = open_widget(viewer, "Train")
    train.kind.value = "jrvae"
    train.n_classes.value = 20
    assert train.start() is None and not train.busy
    assert is_error(train.status)
    assert "'classes' 20 is more than the 16 patches" in train.status.value
