"""Defects of issue 11 that had no test, each reproduced through the real widgets (buttons
emitted as from the GUI, work in the widgets' workers): the Patches widget pairing another
image's detections with an image, ``fit_ok`` shown when no fit was tried, applying a model
re-detecting with default settings and overwriting the session's results, the two
angle-wrapping rules of the point columns and the angle maps, and the unsupervised demo's saved
model losing its classes. The class traversal's caption is tested in test_train_results, on the
ss-rVAE its cards test trains."""

from __future__ import annotations

import numpy as np
import pytest
from napari_helpers import is_error, open_widget

from napari_ivae._widgets._session import get_session


def lattice(name, viewer, seed, shape=(96, 96), spacing=8.0):
    from napari_ivae.core.synthetic.lattice import make_lattice

    return viewer.add_image(make_lattice(shape, spacing=spacing, seed=seed).image, name=name)


def detect_on(viewer, qtbot, layer, **settings):
    """Run Detect on ``layer`` from its button, with the given widget settings."""
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    detect.image.value = layer
    for name, value in settings.items():
        getattr(detect, name).value = value
    detect.run_button.clicked.emit()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    assert not is_error(detect.status), detect.status.value
    return detect


def test_patches_are_never_cut_at_another_images_detections(viewer, qtbot):
    """Defect 6: after the source image is deleted, the Patches widget paired its detections
    with an unrelated image and cut patches there."""
    source = lattice("A", viewer, seed=1)
    other = lattice("B", viewer, seed=2, spacing=10.0)
    detect_on(viewer, qtbot, source)
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = source
    patches.points.reset_choices()
    assert patches.points.value is viewer.layers["A atoms [ivae]"]
    viewer.layers.remove(source)
    patches.image.value = other
    assert patches.points.value is None  # B's points are not A's
    patches.points.value = viewer.layers["A atoms [ivae]"]  # picked by hand: refused
    patches.extract_button.clicked.emit()
    qtbot.waitUntil(lambda: not patches.busy, timeout=60000)
    assert is_error(patches.status)
    assert "detected on 'A', not on 'B'" in patches.status.value
    assert get_session(viewer).patchset is None
    detect_on(viewer, qtbot, other)  # B's own detections pair with B
    patches.reset_choices()
    patches.points.value = viewer.layers["B atoms [ivae]"]
    patches.extract_button.clicked.emit()
    qtbot.waitUntil(lambda: not patches.busy, timeout=60000)
    assert not is_error(patches.status), patches.status.value
    assert get_session(viewer).patchset is not None


def test_fit_ok_is_shown_only_when_a_fit_was_tried(viewer, qtbot):
    """Defect 5: ``fit_ok`` read False for every atom when no Gaussian fit was tried."""
    layer = lattice("lat", viewer, seed=1)
    detect_on(viewer, qtbot, layer, refine="com")
    assert "fit_ok" not in viewer.layers["lat atoms [ivae]"].features
    detect_on(viewer, qtbot, layer, refine="gaussian")
    fit_ok = viewer.layers["lat atoms [ivae]"].features["fit_ok"].to_numpy()
    assert fit_ok.mean() > 0.9  # a clean lattice: the fits converge


def test_apply_repeats_the_training_detection_and_keeps_the_session_results(viewer, qtbot):
    """Rules written twice: applying a model to another image re-detected with the default
    settings (not the training's) and replaced the session's encoding and columns."""
    source = lattice("lat", viewer, seed=1)
    detect_on(viewer, qtbot, source, refine=None)  # integer positions: no refinement
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = source
    patches.points.value = viewer.layers["lat atoms [ivae]"]
    patches.size.value = 12
    patches.extract_button.clicked.emit()
    qtbot.waitUntil(lambda: not patches.busy, timeout=60000)
    train = open_widget(viewer, "Train")
    results = open_widget(viewer, "Results")
    # one epoch (min steps 0): what apply detects and keeps is checked, not what was learnt
    train.kind.value, train.epochs.value, train.min_steps.value = "rvae", 1, 0
    train.batch_size.value, train.latent_dim.value, train.seed.value = 64, 2, 3
    train.start_button.clicked.emit()
    qtbot.waitUntil(lambda: not train.busy and train._results_worker is None, timeout=120000)
    session = get_session(viewer)
    encoding, columns = session.encoding, session.columns
    assert encoding is not None and columns is not None
    other = lattice("other", viewer, seed=5, shape=(80, 80))
    results.apply_image.reset_choices()
    results.apply_image.value = other
    results.apply_button.clicked.emit()
    qtbot.waitUntil(lambda: results.apply_button.enabled and not results.busy, timeout=60000)
    assert not is_error(results.status), results.status.value
    applied = viewer.layers["other atoms [ivae]"]
    coords = np.asarray(applied.data)
    np.testing.assert_array_equal(coords, np.round(coords))  # refine: none, as in training
    assert applied.metadata["napari_ivae"]["applied_model"] == "rvae"
    assert session.encoding is encoding and session.columns is columns
    assert len(session.columns["z1"]) == len(session.patchset.patches)


def test_point_angles_wrap_as_the_angle_maps_do():
    """Rules written twice: the point columns wrapped angles to (-pi, pi], the maps to
    [-pi, pi): a patch at 180 degrees read +180 in its column and -180 on the map."""
    from napari_ivae._widgets._writer import feature_columns
    from napari_ivae.core.analysis.maps import wrap_angle
    from napari_ivae.core.models.inference import Encoding

    angles = np.array([np.pi, -np.pi, 3 * np.pi, 0.25, -2.0])
    encoding = Encoding(z_mean=np.zeros((5, 1)), z_std=np.ones((5, 1)), angle=angles)
    columns = feature_columns(encoding, [])
    np.testing.assert_allclose(columns["angle"], wrap_angle(angles), atol=1e-6)
    np.testing.assert_allclose(columns["angle_deg"][:3], -180.0, atol=1e-4)


@pytest.mark.slow
def test_the_unsupervised_demos_model_keeps_its_classes(viewer, tmp_path):
    """Rules written twice: the demo listed the keys a saved model keeps apart from the
    Results widget and dropped the classes found by k-means, so ``encode`` could not give
    them again. The demo's own steps and writer (what ``demo --headless`` runs, in this
    process: the command line itself is tested by test_demo_cli)."""
    from napari_ivae.core.analysis.clustering import Clustering
    from napari_ivae.core.models.persistence import load_model
    from napari_ivae.demo import run_workflow, save_outputs

    run_workflow(viewer, "cards_unsupervised", epochs=1, log=lambda _: None)
    written = save_outputs(viewer, get_session(viewer), tmp_path, log=lambda _: None)
    assert tmp_path / "model.ivae.pt" in written
    stored = load_model(tmp_path / "model.ivae.pt").metadata.get("clustering")
    assert stored, "the saved model lost the classes the demo found"
    assert Clustering.from_dict(stored).summary()["n_clusters"] == 4
