"""Train widget (background run, stop, abort, errors, closing) and Results widget."""

from __future__ import annotations

import numpy as np
import pytest
from napari_helpers import PLUGIN, assert_untouched, is_error, is_warning, open_widget, snapshot

from napari_ivae._widgets._session import get_session

# Enough steps for a model whose results differ from patch to patch; the tests using it check
# what is written, not how well it learned (that the kinds' own minimum, 300-600 steps, reaches
# the training is tested by test_train_writes_aligned_results_and_leaves_user_layers).
QUICK_MIN_STEPS = 40


def tiny(train, kind="rvae", epochs=1, min_steps=None):
    train.kind.value = kind
    train.epochs.value = epochs
    train.batch_size.value = 64
    train.latent_dim.value = 2
    train.seed.value = 3
    if min_steps is not None:
        train.min_steps.value = min_steps


def wait_idle(qtbot, train, timeout=180000):  # a wait, not a time limit: CI shares its cores
    qtbot.waitUntil(lambda: not train.busy, timeout=timeout)


def trained(viewer, qtbot, kind="rvae", min_steps=QUICK_MIN_STEPS):
    """Open Train and Results, train a tiny model on the session's patches, wait for it."""
    train = open_widget(viewer, "Train")
    results = open_widget(viewer, "Results")
    tiny(train, kind=kind, min_steps=min_steps)
    train.start()
    wait_idle(qtbot, train)
    return train, results


def shared_training(kind):
    """``use(viewer, qtbot) -> (train, results)``: the session's model is a tiny ``kind`` model
    of :func:`trained` on the session's patches, its results written.

    Trained once, through the Train widget the first time ``use`` is called; later calls get
    the same training run as a model of their own session (the bundle the Train widget makes,
    with this session's provenance; the patches must be the same) and Results writes its
    results, so they do not train again. The model is shared: tests must not train or change it.
    """
    from napari_ivae._widgets.train import check_labels, trained_bundle

    cache = {}

    def use(viewer, qtbot):
        train = open_widget(viewer, "Train")
        results = open_widget(viewer, "Results")
        tiny(train, kind=kind, min_steps=QUICK_MIN_STEPS)
        session = get_session(viewer)
        if not cache:
            train.start()
            wait_idle(qtbot, train)
            assert not is_error(train.status), train.status.value
            bundle = session.bundle
            cache.update(result=session.train_result, configs=(bundle.config, bundle.train_config))
            return train, results
        config, train_config = cache["configs"]
        names = None  # the classes of this session's labels, as the Train widget reads them
        if kind == "ss-rvae":
            names = check_labels(session.labels, list(session.classes.names))[1]
        assert train.configs(session.patchset.patches.shape[1:], names) == (config, train_config)
        extra = train.provenance(session.patchset)
        session.update(
            bundle=trained_bundle(cache["result"], config, train_config, extra),
            train_result=cache["result"],
        )
        assert results.write() != [], results.status.value
        return train, results

    return use


@pytest.fixture(scope="module")
def lattice_rvae():
    """:func:`shared_training` of an rVAE on the lattice's atom patches (``ready_patches``)."""
    return shared_training("rvae")


@pytest.fixture(scope="module")
def cards_ss_rvae():
    """:func:`shared_training` of an ss-rVAE on the cards sample's patches and labels."""
    return shared_training("ss-rvae")


def cards_patches(viewer, qtbot):
    """The cards sample opened and its patches extracted from the button (in the worker)."""
    viewer.open_sample(PLUGIN, "cards")
    patches = open_widget(viewer, "Patches and labels")
    patches.extract_button.clicked.emit()
    qtbot.waitUntil(lambda: not patches.busy, timeout=60000)
    assert not is_error(patches.status), patches.status.value
    return patches


def test_train_writes_aligned_results_and_leaves_user_layers(
    viewer, lattice_layer, ready_patches, qtbot
):
    user = snapshot(lattice_layer)
    points = viewer.layers["lat atoms [ivae]"]
    train = open_widget(viewer, "Train")
    assert train.device.choices[0] == "cpu"
    tiny(train)
    job = train.start()
    assert job is not None and train.busy
    # a small set: the epochs are raised to the model's minimum number of steps, and it says so
    assert "raised from 1 to make at least 300 steps" in train.status.value
    assert not train.start_button.enabled and train.stop_button.enabled
    # the training itself runs them (its first step reports the total); the results below come
    # from one epoch (two steps), which writes them the same way
    totals = []
    job.worker.yielded.connect(lambda event: (totals.append(event.total_steps), train.abort()))
    wait_idle(qtbot, train)
    assert totals and totals[0] >= 300 and get_session(viewer).bundle is None
    train.min_steps.value = 0
    assert train.start() is not None
    wait_idle(qtbot, train)
    assert not is_error(train.status), train.status.value
    assert train.start_button.enabled and not train.stop_button.enabled
    bundle = get_session(viewer).bundle
    assert bundle is not None and bundle.config.kind == "rvae" and bundle.metadata["seed"] == 3
    assert train.progress.value == train.progress.max and len(train.loss_plot.values) > 0
    for what in ("z1", "z2", "angle", "dx", "dy"):
        layer = viewer.layers[f"lat {what} [ivae]"]
        assert layer.data.shape == lattice_layer.data.shape
        np.testing.assert_allclose(layer.scale, lattice_layer.scale)
        np.testing.assert_allclose(layer.translate, lattice_layer.translate)
        meta = layer.metadata["napari_ivae"]
        assert meta["source"] == "lat" and meta["model"] == "rvae" and meta["seed"] == 3
    assert viewer.layers["lat angle [ivae]"].colormap.name.startswith("twilight")
    for column in ("z1", "z2", "angle", "dx", "dy"):
        assert f"ivae_{column}" in points.features
    kept = points.features["ivae_z1"].notna()
    assert kept.sum() == len(get_session(viewer).patchset.patches)
    assert_untouched(viewer, user)
    # re-running replaces its own result layers instead of adding more (one epoch: two steps)
    n_layers = len(viewer.layers)
    train.min_steps.value = 0
    train.start()
    wait_idle(qtbot, train)
    assert len(viewer.layers) == n_layers


def test_stop_keeps_partial_model(viewer, lattice_layer, ready_patches, qtbot):
    train = open_widget(viewer, "Train")
    tiny(train, epochs=500)
    job = train.start()
    job.worker.yielded.connect(lambda event: train.stop())
    wait_idle(qtbot, train)
    bundle = get_session(viewer).bundle
    assert bundle is not None and bundle.metadata["stopped"] is True
    assert "stopped early" in train.status.value
    assert len(bundle.metadata["history"]) < 500


def test_abort_discards_model(viewer, lattice_layer, ready_patches, qtbot):
    train = open_widget(viewer, "Train")
    tiny(train, epochs=500)
    job = train.start()
    job.worker.yielded.connect(lambda event: train.abort())
    wait_idle(qtbot, train)
    assert get_session(viewer).bundle is None
    assert "discarded" in train.status.value
    assert "lat z1 [ivae]" not in viewer.layers


def test_torch_runtime_error_is_reported_and_widget_idle(
    viewer, lattice_layer, ready_patches, qtbot, monkeypatch
):
    import napari_ivae.core.models.training as training

    def broken_train(model, patches, labels=None, config=None, stop_event=None, **options):
        yield from ()
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training, "train", broken_train)
    train = open_widget(viewer, "Train")
    tiny(train)
    train.start()
    wait_idle(qtbot, train, timeout=20000)
    assert is_error(train.status) and "out of memory" in train.status.value
    assert train.start_button.enabled and not train.abort_button.enabled
    assert get_session(viewer).bundle is None


def test_training_without_patches_explains(viewer, lattice_layer):
    train = open_widget(viewer, "Train")
    assert train.start() is None
    assert is_error(train.status) and "Extract patches" in train.status.value
    assert not train.busy


def test_ss_rvae_with_one_class_explains(viewer, qtbot):
    viewer.open_sample(PLUGIN, "cards")
    shapes = viewer.layers["card labels"]
    shapes.features = shapes.features.assign(**{"class": 0})
    patches = open_widget(viewer, "Patches and labels")
    patches.extract()
    train = open_widget(viewer, "Train")
    tiny(train, kind="ss-rvae")
    assert train.start() is None
    assert "only one class" in train.status.value and is_error(train.status)


def test_ss_rvae_on_cards_writes_classes_and_confusion(viewer, qtbot, cards_ss_rvae, monkeypatch):
    from napari_ivae.core.analysis import heldout

    # the held-out check runs its whole path from the button with its default folds and
    # steps (recorded), each fold's classifier trained 30 steps: its text is what is checked
    # here, the check's own results in tests/core/test_heldout.py
    asked = []

    def fewer_steps(features, labels, n_classes, **options):
        asked.append(options)
        return original(features, labels, n_classes, **{**options, "steps": 30})

    original = heldout.heldout_confusion
    monkeypatch.setattr(heldout, "heldout_confusion", fewer_steps)
    patches = cards_patches(viewer, qtbot)
    train, results = cards_ss_rvae(viewer, qtbot)
    assert not is_error(train.status), train.status.value
    class_map = viewer.layers["cards class [ivae]"]
    assert class_map._type_string == "labels"
    assert class_map.data.shape == viewer.layers["cards"].data.shape
    assert set(np.unique(class_map.data)) <= {0, 1, 2, 3, 4}
    # the classes are what an ss-rVAE is trained for: its class map is the one shown (a
    # microscopist's STM session got z1 shown and the class map hidden under it)
    assert class_map.visible and not viewer.layers["cards z1 [ivae]"].visible
    from napari.utils.colormaps.standardize_color import transform_color

    hearts = patches.classes.colours[2]  # class 2 is drawn as label 3, in the table's colour
    np.testing.assert_allclose(
        np.asarray(class_map.colormap.map(3)).ravel()[:3], transform_color(hearts)[0][:3], atol=0.01
    )
    points = viewer.layers["card centres"]
    assert {"ivae_class", "ivae_p_clubs", "ivae_p_diamonds"} <= set(points.features.columns)
    assert "suit" in points.features  # the user's own columns are kept
    results._update_confusion()
    assert "accuracy on the 24 labeled patches" in results.confusion.value
    assert not results.heldout_button.native.isHidden() and results.heldout.value == ""
    assert results.heldout_in_background() is not None
    qtbot.waitUntil(lambda: "held-out accuracy" in results.heldout.value, timeout=120000)
    assert "held-out accuracy on the 24 labeled patches" in results.heldout.value
    assert "5-fold" in results.heldout.value and not is_error(results.status)
    assert [(a["folds"], a["steps"]) for a in asked] == [
        (heldout.DEFAULT_FOLDS, heldout.DEFAULT_STEPS)
    ]
    results.colour_by.reset_choices()
    results.colour_by.value = "ivae_class"  # points take their predicted class's colour
    from napari.utils.colormaps.standardize_color import transform_color

    predicted = points.features["ivae_class"].to_numpy()
    palette = transform_color(patches.classes.colours)
    np.testing.assert_allclose(
        np.asarray(points.face_color)[:, :3], palette[predicted][:, :3], atol=0.01
    )


def test_class_traversal_caption_says_one_row_per_class(viewer, qtbot, cards_ss_rvae):
    """Issue 11, defect 5: the traversal's caption was wrong for class rows (it read as a z1/z2
    manifold)."""
    cards_patches(viewer, qtbot)
    _, results = cards_ss_rvae(viewer, qtbot)
    results.manifold_button.clicked.emit()
    qtbot.waitUntil(lambda: not results.busy, timeout=60000)
    caption = results.status.value
    assert "class traversal" in caption and "one row per class" in caption, caption
    assert "classified into that row's class" in caption and "bottom to top" not in caption
    n_classes = len(get_session(viewer).bundle.config.class_names)
    size = get_session(viewer).patchset.patches.shape[1]
    assert viewer.layers[caption.split(":")[0]].data.shape[0] == n_classes * size


def test_closing_viewer_during_training_stops_the_thread(make_napari_viewer, qtbot):
    from napari_ivae.core.synthetic.lattice import make_lattice

    viewer = make_napari_viewer()
    viewer.add_image(make_lattice((64, 64), spacing=8.0, seed=2).image, name="small")
    patches = open_widget(viewer, "Patches and labels")
    patches.source.value = "grid"
    patches.size.value = 12
    patches.extract()
    train = open_widget(viewer, "Train")
    tiny(train, epochs=10000)
    job = train.start()
    qtbot.waitUntil(lambda: train.progress.value > 0, timeout=20000)
    viewer.close()
    qtbot.waitUntil(lambda: not job.is_running, timeout=20000)


def test_results_save_load_segment_and_patch_size_check(
    viewer, lattice_layer, ready_patches, qtbot, tmp_path, lattice_rvae
):
    _, patches = ready_patches
    _, results = lattice_rvae(viewer, qtbot)
    # segmentation of a latent map, aligned with the source
    results.segment_map.reset_choices()
    results.segment_map.value = viewer.layers["lat z1 [ivae]"]
    labels = results.segment()
    assert labels is not None and labels.data.shape == lattice_layer.data.shape
    np.testing.assert_allclose(labels.scale, lattice_layer.scale)
    assert "boundary length" in results.status.value  # how clean the domains are
    # manifold
    manifold = results.show_manifold()
    assert manifold.data.shape == (8 * 12, 8 * 12)
    # drawn where the data's codes lie, at the patches' contrast, and it says so
    session = get_session(viewer)
    assert "over the data's codes" in results.status.value
    z1_low, z1_high = np.percentile(session.encoding.z_mean[:, 0], [2, 98])
    assert f"z1 {z1_low:.2f} to {z1_high:.2f}" in results.status.value
    np.testing.assert_allclose(
        manifold.contrast_limits, np.percentile(session.patchset.patches, [1, 99]), rtol=1e-5
    )
    # a model file named like the user's image or table is refused, the file left as it was
    for name in ("lat.png", "atoms.csv"):
        theirs = tmp_path / name
        theirs.write_bytes(b"the user's own file")
        results.model_file.value = theirs
        assert results.save() is None and is_error(results.status)
        assert "must end in .ivae.pt" in results.status.value
        assert theirs.read_bytes() == b"the user's own file"
    # save, forget, load
    path = tmp_path / "lat.ivae.pt"
    results.model_file.value = path
    assert results.save() == path and path.exists()
    assert "replac" not in results.status.value
    # saving over a file of that name says so, in amber (was a plain "saved")
    assert results.save() == path
    assert "replacing the earlier" in results.status.value and is_warning(results.status)
    session = get_session(viewer)
    session.bundle = None
    bundle = results.load()
    assert bundle is not None and tuple(bundle.config.patch_shape) == (12, 12)
    # the line labelled "model" describes it once ("model  model: rvae, ..." before)
    assert results.model_info.value.startswith("rvae, 12×12 px patches, latent size 2, seed 3")
    # a model applied to patches of another size: clear message, no traceback
    patches.size.value = 16
    patches.extract()
    assert results.write() == []
    assert is_error(results.status) and "12×12" in results.status.value
    # broken model file
    bad = tmp_path / "bad.ivae.pt"
    bad.write_bytes(b"not a model")
    results.model_file.value = bad
    assert results.load() is None and is_error(results.status)


def test_apply_model_to_another_image(viewer, lattice_layer, ready_patches, qtbot, lattice_rvae):
    from napari_ivae.core.synthetic.lattice import make_lattice

    _, results = lattice_rvae(viewer, qtbot)
    other = viewer.add_image(make_lattice((80, 80), spacing=8.0, seed=5).image, name="other")
    results.apply_image.reset_choices()
    results.apply_image.value = other
    results.apply_button.clicked.emit()  # in a worker, as from the GUI
    qtbot.waitUntil(lambda: results.apply_button.enabled, timeout=30000)
    assert not is_error(results.status), results.status.value
    names = {layer.name for layer in viewer.layers}
    assert {"other atoms [ivae]", "other z1 [ivae]", "other angle [ivae]"} <= names
    assert viewer.layers["other z1 [ivae]"].data.shape == other.data.shape
    assert "ivae_z1" in viewer.layers["other atoms [ivae]"].features


def test_results_leave_points_alone_that_changed_since_the_patches(
    viewer, lattice_layer, ready_patches, qtbot, lattice_rvae
):
    """Detect ran again after the patches were cut (here: the same atoms in another order, as
    a re-detection lists them): the patches' codes would land on other points by index, so
    the points get no ivae_ column and the status says why; the maps are still written."""
    _, results = lattice_rvae(viewer, qtbot)
    points = viewer.layers["lat atoms [ivae]"]
    assert "ivae_z1" in points.features  # the patches' own points: written
    detected = points.features.drop(columns=[c for c in points.features if c.startswith("ivae_")])
    points.data = np.asarray(points.data)[::-1].copy()  # as Detect writes its new result
    points.features = detected.iloc[::-1].reset_index(drop=True)
    written = results.write()
    assert "lat z1 [ivae]" in {layer.name for layer in written}
    assert "ivae_z1" not in points.features
    assert "changed since the patches were cut" in results.status.value
    assert "#ffb347" in results.status.native.styleSheet()  # amber


def test_a_particle_model_applied_to_another_image_gives_particles(viewer, qtbot):
    """A model trained on particles' patches finds particles on the next image: a layer named
    and drawn as Detect's ("other particles [ivae]", half the particles' diameter), not atoms."""
    from test_detect_patches import _detect, _discs

    layer = viewer.add_image(_discs(margin=45), name="discs")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    _detect(viewer, detect, layer, "particles", qtbot)
    patches.image.value, patches.points.value = layer, viewer.layers["discs particles [ivae]"]
    patches.size.value = 40
    assert patches.extract() is not None, patches.status.value
    _, results = trained(viewer, qtbot)
    other = viewer.add_image(np.rot90(_discs(margin=45, seed=1)).copy(), name="other")
    results.apply_image.reset_choices()
    results.apply_image.value = other
    written = results.apply()
    assert not is_error(results.status), results.status.value
    names = {w.name for w in written}
    assert "other particles [ivae]" in names and "other atoms [ivae]" not in names, names
    found = viewer.layers["other particles [ivae]"]
    assert len(found.data) == 25 and "ivae_z1" in found.features
    diameter = float(np.median(found.features["equivalent_diameter"]))
    assert np.median(found.size) == pytest.approx(0.5 * diameter)


@pytest.mark.parametrize("feature", ["ivae_z1", "ivae_angle_deg"])
def test_colour_points_by_feature(
    viewer, lattice_layer, ready_patches, qtbot, feature, lattice_rvae
):
    _, results = lattice_rvae(viewer, qtbot)
    results.colour_by.reset_choices()
    assert feature in results.colour_by.choices
    results.colour_by.value = feature
    points = viewer.layers["lat atoms [ivae]"]
    colours = np.asarray(points.face_color)
    assert len(np.unique(colours.round(3), axis=0)) > 1


def test_train_widget_parameters_reach_the_configs(viewer):
    from napari_ivae.core.models.config import TrainConfig

    train = open_widget(viewer, "Train")
    train.kind.value = "shift-vae"
    defaults = TrainConfig.defaults_for("shift-vae")
    assert train.epochs.value == defaults.epochs
    assert train.beta_ramp.value == defaults.beta_ramp_epochs
    assert train.shift_scale.native.isHidden() is False and train.rotation.native.isHidden()
    train.shift_scale.value = 0.5
    train.latent_dim.value = 3
    train.seed.value = 11
    model_config, train_config = train.configs((16, 16))
    assert model_config.kind == "shift-vae" and model_config.shift_scale == 0.5
    assert model_config.latent_dim == 3 and model_config.patch_shape == (16, 16)
    assert train_config.seed == 11 and train_config.device == "cpu"
    train.smoothness.value = 0.5  # grid patches: the latent maps' roughness term
    config = train.configs((16, 16))[1]
    assert config.smoothness == 0.5  # by default on z1 only, scale-free
    assert (config.smoothness_form, config.smoothness_latents) == ("tv-relative", 1)
    train.smoothness_latents.value = 0  # "all z"
    train.smoothness_form.value = "gmrf"
    config = train.configs((16, 16))[1]
    assert (config.smoothness_form, config.smoothness_latents) == ("gmrf", 0)
    train.kind.value = "rvae"
    train.translation.value = False
    train.angle_prior_kind.value = "von_mises"
    model_config, _ = train.configs((16, 16))
    assert model_config.invariances == ("rotation",) and model_config.angle_prior == "von_mises"


def test_grid_model_applies_to_another_image_on_a_grid(viewer, lattice_layer, qtbot):
    from napari_ivae.core.synthetic.lattice import make_lattice

    patches = open_widget(viewer, "Patches and labels")
    patches.source.value = "grid"
    patches.size.value = 12
    patches.stride.value = 6
    patches.extract()
    train, results = trained(viewer, qtbot, kind="shift-vae", min_steps=0)  # one epoch
    assert not is_error(train.status), train.status.value
    n_points_layers = sum(layer._type_string == "points" for layer in viewer.layers)
    other = viewer.add_image(make_lattice((72, 72), spacing=8.0, seed=7).image, name="other")
    results.apply_image.reset_choices()
    results.apply_image.value = other
    written = results.apply()
    assert {layer.name for layer in written} >= {"other z1 [ivae]", "other dx [ivae]"}
    assert viewer.layers["other z1 [ivae]"].data.shape == (72, 72)
    assert sum(layer._type_string == "points" for layer in viewer.layers) == n_points_layers


def test_classes_found_on_grid_patches_colour_the_explorer(viewer, lattice_layer, qtbot):
    """A microscopist's session (lattice sample, grid patches, shift-VAE, Find classes): the
    class map came, but the Latent explorer offered only 'none' to colour by: it read the
    classes from the points' ivae_cluster column, and grid patches have no points. The
    session's result columns now hold them too."""
    patches = open_widget(viewer, "Patches and labels")
    patches.source.value = "grid"
    patches.size.value = 12
    patches.stride.value = 6
    patches.extract()
    train, results = trained(viewer, qtbot, kind="shift-vae", min_steps=0)  # one epoch
    assert not is_error(train.status), train.status.value
    explorer = open_widget(viewer, "Latent explorer")
    results.n_clusters.value = 3
    results.cluster_button.clicked.emit()
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
    assert not is_error(results.status), results.status.value
    assert "cluster" in explorer.colour.choices and explorer.colour.value == "cluster"
    labels = explorer._columns["cluster"]
    assert len(labels) == len(get_session(viewer).patchset.patches)
    assert set(np.unique(labels)) == {0, 1, 2}


def test_maps_of_particles_hide_the_particle_labels_under_them(viewer, qtbot):
    """A microscopist's session on PtCo1: the particles' Labels layer (napari's random colours)
    stayed shown under the z1 map, half transparent, so each particle's colour mixed a random
    one into the map's. Writing the maps hides it (it stays in the layer list)."""
    side = 60 + 4 * 40
    yy, xx = np.mgrid[:side, :side]
    image = np.zeros((side, side), np.float32)
    for i in range(5):
        for j in range(5):
            image[(yy - 30 - 40 * i) ** 2 + (xx - 30 - 40 * j) ** 2 <= 100] = 1.0
    image += np.random.default_rng(0).normal(0, 0.15, image.shape).astype(np.float32)
    layer = viewer.add_image(image, name="discs")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    detect.image.value, detect.mode.value = layer, "particles"
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    labels = viewer.layers["discs particle labels [ivae]"]
    assert labels.visible
    patches.image.value = layer
    patches.points.value = viewer.layers["discs particles [ivae]"]
    assert patches.extract() is not None, patches.status.value
    train, _ = trained(viewer, qtbot, min_steps=0)  # one epoch: what is shown is checked
    assert not is_error(train.status), train.status.value
    assert viewer.layers["discs z1 [ivae]"].visible
    assert not labels.visible and labels in viewer.layers


def test_with_the_term_on_z1_results_segments_z1(viewer, lattice_layer, qtbot):
    patches = open_widget(viewer, "Patches and labels")
    patches.source.value = "grid"
    patches.size.value = 12
    patches.stride.value = 6
    patches.extract()
    train = open_widget(viewer, "Train")
    results = open_widget(viewer, "Results")
    tiny(train, kind="shift-vae", min_steps=0)
    train.smoothness.value = 1.0  # the term on z1 (the default): z1 is the phase map
    train.start()
    wait_idle(qtbot, train)
    assert not is_error(train.status), train.status.value
    assert get_session(viewer).bundle.train_config.smoothness_latents == 1
    results.segment_map.reset_choices()
    assert results.segment_map.value.name == "lat z1 [ivae]"


def test_write_button_computes_maps_in_a_worker(viewer, lattice_layer, ready_patches, qtbot):
    train = open_widget(viewer, "Train")
    results = open_widget(viewer, "Results")
    tiny(train, min_steps=0)  # one epoch: what is written is checked, not what was learnt
    train.write_maps.value = False
    train.start()
    wait_idle(qtbot, train)
    assert "lat z1 [ivae]" not in viewer.layers
    results.write_button.clicked.emit()
    assert not results.write_button.enabled  # busy while the worker computes
    qtbot.waitUntil(lambda: results.write_button.enabled, timeout=30000)
    assert "wrote" in results.status.value and not is_error(results.status)
    assert viewer.layers["lat z1 [ivae]"].data.shape == lattice_layer.data.shape


def test_find_classes_writes_a_class_map_and_point_column(
    viewer, lattice_layer, ready_patches, qtbot, lattice_rvae
):
    results = open_widget(viewer, "Results")
    user = snapshot(lattice_layer)
    # no model yet: a clear message, nothing written
    assert results.find_classes() is None
    assert is_error(results.status) and "no model" in results.status.value
    assert not any("unsupervised" in layer.name for layer in viewer.layers)
    lattice_rvae(viewer, qtbot)
    held = get_session(viewer).bundle  # the model object a user may hold (or have saved)
    held_metadata = dict(held.metadata)
    results.n_clusters.value = 3
    results.cluster_button.clicked.emit()  # in a worker, as from the GUI
    assert not results.cluster_button.enabled
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
    assert not is_error(results.status), results.status.value
    # the classes go with the session's model, a copy: the held bundle is not changed
    bundle = get_session(viewer).bundle
    assert bundle is not held and bundle.model is held.model
    assert bundle.metadata["clustering"]["n_clusters"] == 3
    assert held.metadata == held_metadata and "clustering" not in held.metadata
    classes = viewer.layers["lat unsupervised classes [ivae]"]
    assert classes.data.shape == lattice_layer.data.shape
    np.testing.assert_allclose(classes.scale, lattice_layer.scale)
    assert set(np.unique(classes.data)) <= {0, 1, 2, 3} and classes.data.max() == 3
    meta = classes.metadata["napari_ivae"]
    assert meta["clustering"]["n_clusters"] == 3 and meta["clustering"]["seed"] == 3
    points = viewer.layers["lat atoms [ivae]"]
    kept = points.features["ivae_cluster"].to_numpy()
    assert set(kept[kept >= 0]) == {0, 1, 2}
    # colouring the points by cluster uses the class map's colours
    results.colour_by.reset_choices()
    results.colour_by.value = "ivae_cluster"
    first = int(np.flatnonzero(kept == 0)[0])
    np.testing.assert_allclose(
        np.asarray(points.face_color)[first], classes.get_color(1), atol=1e-6
    )
    assert_untouched(viewer, user)


def test_found_classes_look_the_same_in_the_image_and_the_explorer(
    viewer, lattice_layer, ready_patches, qtbot, lattice_rvae
):
    """A microscopist's session on a real Au image: Find classes drew its class map in
    napari's random label colours (olive, blue, violet), half transparent over the z1 map left
    shown (so mixed with viridis), while the Latent explorer coloured the same classes orange,
    blue and green. Cluster k is now the explorer's colour of cluster k in the map, and the
    other maps of the image are hidden (not removed) when the class map is shown."""
    _, results = lattice_rvae(viewer, qtbot)
    z1 = viewer.layers["lat z1 [ivae]"]
    z1.visible = True
    explorer = open_widget(viewer, "Latent explorer")
    results.n_clusters.value = 3
    results.cluster_button.clicked.emit()
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
    assert not is_error(results.status), results.status.value
    classes = viewer.layers["lat unsupervised classes [ivae]"]
    assert classes.visible and not z1.visible and z1 in viewer.layers
    explorer.refresh()
    explorer.colour.value = "cluster"
    clusters = explorer._columns["cluster"]
    dots = explorer.scatter.colours
    for k in range(3):
        i = int(np.flatnonzero(clusters == k)[0])
        in_map = np.asarray(classes.get_color(k + 1), dtype=float).ravel()[:3]
        np.testing.assert_allclose(in_map * 255, dots[i], atol=1.0)


def test_found_classes_travel_with_the_model(
    viewer, lattice_layer, ready_patches, qtbot, tmp_path, lattice_rvae
):
    from napari_ivae.cli import main

    _, results = lattice_rvae(viewer, qtbot)
    results.n_clusters.value = 3
    results.cluster_button.clicked.emit()
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
    first = viewer.layers["lat unsupervised classes [ivae]"].data.copy()
    # saved with the model and loaded back
    path = tmp_path / "classes.ivae.pt"
    results.model_file.value = path
    assert results.save() == path
    get_session(viewer).bundle = None
    bundle = results.load()
    assert bundle.metadata["clustering"]["n_clusters"] == 3
    # the same image under another name: the same classes, not a fresh clustering
    twin = viewer.add_image(lattice_layer.data.copy(), name="twin", scale=lattice_layer.scale)
    results.apply_image.reset_choices()
    results.apply_image.value = twin
    assert results.apply() != []
    np.testing.assert_array_equal(viewer.layers["twin unsupervised classes [ivae]"].data, first)
    # and the command line puts patches into the stored classes too
    patches = get_session(viewer).patchset.patches
    np.save(tmp_path / "p.npy", patches)
    assert (
        main(
            [
                "encode",
                str(path),
                "--patches",
                str(tmp_path / "p.npy"),
                "--out",
                str(tmp_path / "e.npz"),
            ]
        )
        == 0
    )
    kept = viewer.layers["twin atoms [ivae]"].features["ivae_cluster"].to_numpy()
    assert set(np.load(tmp_path / "e.npz")["cluster"]) == set(kept[kept >= 0]) == {0, 1, 2}
    assert twin in viewer.layers


@pytest.mark.parametrize("rgb", [False, True])
def test_the_manifold_is_placed_beside_a_colour_image_not_over_it(viewer, rgb):
    """A stranger's RGB optical micrograph: the decoded manifold was placed 3 px right of the
    image's origin (its width taken from the colour axis), over the picture."""
    from types import SimpleNamespace

    from napari_ivae._widgets._writer import show_manifold

    data = np.zeros((48, 64, 3), np.uint8) if rgb else np.zeros((48, 64), np.float32)
    layer = viewer.add_image(data, name="micrograph", rgb=rgb)
    bundle = SimpleNamespace(config=SimpleNamespace(kind="rvae"))
    manifold = show_manifold(viewer, layer, bundle, (np.zeros((24, 24)), "latent manifold"))
    assert manifold.translate[-1] >= 64, manifold.translate


def test_the_manifold_beside_a_calibrated_image_takes_its_units(viewer):
    """A micrograph opened in nm: the manifold took its scale but stayed in pixels, so napari
    dropped the units of every layer ("Inconsistent units across layers") and the scale bar
    read a bare number."""
    from types import SimpleNamespace

    from napari_ivae._widgets._writer import show_manifold

    layer = viewer.add_image(
        np.zeros((48, 64), np.float32), name="grain", scale=(0.02, 0.02), units=("nm", "nm")
    )
    bundle = SimpleNamespace(config=SimpleNamespace(kind="rvae"))
    manifold = show_manifold(viewer, layer, bundle, (np.zeros((24, 24)), "latent manifold"))
    assert [str(u) for u in manifold.units] == ["nanometer", "nanometer"]
    assert [str(u) for u in viewer.layers.extent.units] == ["nanometer", "nanometer"]
    assert manifold.translate[-1] >= 64 * 0.02


def test_points_take_the_angle_then_the_found_classes_until_the_user_chooses(
    viewer, lattice_layer, ready_patches, qtbot, lattice_rvae
):
    """A microscopist's session: 'colour points by' started blank, so the detected points
    stayed plain yellow over the maps. It starts on the angle (no classes), moves to the found
    classes when Find classes makes them, and keeps a colouring the user picks, blank too."""
    from napari.utils.colormaps.standardize_color import transform_color

    _, results = lattice_rvae(viewer, qtbot)
    points = viewer.layers["lat atoms [ivae]"]
    yellow = transform_color("#ffd400")[0]
    assert results.colour_by.value == "ivae_angle_deg"
    assert not np.allclose(np.asarray(points.face_color), yellow)
    results.n_clusters.value = 3
    results.cluster_button.clicked.emit()
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
    assert not is_error(results.status), results.status.value
    assert results.colour_by.value == "ivae_cluster"
    classes = viewer.layers["lat unsupervised classes [ivae]"]
    kept = points.features["ivae_cluster"].to_numpy()
    first = int(np.flatnonzero(kept == 1)[0])
    np.testing.assert_allclose(
        np.asarray(points.face_color)[first], classes.get_color(2), atol=1e-6
    )
    # in the class map's own colours a point vanishes into its region: a dark rim shows it
    assert np.all(np.asarray(points.border_width) > 0) and points.border_width_is_relative
    np.testing.assert_allclose(np.asarray(points.border_color)[:, :3], 0.1, atol=0.01)
    results.colour_by.value = "ivae_z1"  # the user's choice stays through later results
    assert np.all(np.asarray(points.border_width) == 0)  # viridis over the image: no rim
    results.cluster_button.clicked.emit()
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
    results.reset_choices()
    assert results.colour_by.value == "ivae_z1"
    results.colour_by.value = ""  # blank: the points as Detect drew them, and they stay so
    np.testing.assert_allclose(
        np.asarray(points.face_color), np.tile(yellow, (len(points.data), 1))
    )
    assert np.all(np.asarray(points.border_width) == 0)
    results.reset_choices()
    assert results.colour_by.value == ""


def test_points_take_the_models_classes_at_once(viewer, qtbot, cards_ss_rvae):
    """An ss-rVAE's points start coloured by their predicted class, in the class table's
    colours (no pick of 'colour points by' needed)."""
    from napari.utils.colormaps.standardize_color import transform_color

    patches = cards_patches(viewer, qtbot)
    _, results = cards_ss_rvae(viewer, qtbot)
    assert results.colour_by.value == "ivae_class"
    points = viewer.layers["card centres"]
    predicted = points.features["ivae_class"].to_numpy()
    palette = transform_color(patches.classes.colours)
    np.testing.assert_allclose(
        np.asarray(points.face_color)[:, :3], palette[predicted][:, :3], atol=0.01
    )


def test_explorer_dots_take_the_angle_then_the_found_classes_until_the_user_chooses(
    viewer, lattice_layer, ready_patches, qtbot, lattice_rvae
):
    """The Latent explorer's 'colour by' started on 'none' when the model has no classes (plain
    dots) and kept the angle once there, so clusters found later did not show; it now starts on
    the angle, moves to the found classes, and keeps the user's pick (none too)."""
    _, results = lattice_rvae(viewer, qtbot)
    explorer = open_widget(viewer, "Latent explorer")
    explorer.refresh()
    assert explorer.colour.value == "angle_deg"
    results.n_clusters.value = 3
    results.cluster_button.clicked.emit()
    qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
    assert not is_error(results.status), results.status.value
    explorer.refresh()
    assert explorer.colour.value == "cluster"
    for pick in ("z1", "none"):
        explorer.colour.value = pick
        results.cluster_button.clicked.emit()
        qtbot.waitUntil(lambda: results.cluster_button.enabled, timeout=30000)
        explorer.reset_choices()
        explorer.refresh()
        assert explorer.colour.value == pick
