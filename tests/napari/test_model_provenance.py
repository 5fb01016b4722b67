"""A trained model keeps the pipeline that made its patches, detection settings included."""

from __future__ import annotations

from napari_helpers import open_widget

from napari_ivae._widgets._session import get_session
from napari_ivae.core.models.persistence import load_model


def test_detection_settings_travel_with_the_saved_model(
    viewer, lattice_layer, ready_patches, qtbot, tmp_path
):
    detect, _ = ready_patches
    train = open_widget(viewer, "Train")
    results = open_widget(viewer, "Results")
    train.kind.value, train.epochs.value, train.seed.value = "rvae", 1, 3
    train.min_steps.value = 0  # one epoch: the settings travel with any model, however short
    train.start()
    qtbot.waitUntil(lambda: not train.busy, timeout=60000)
    detection = get_session(viewer).bundle.metadata["detection"]
    assert detection["role"] == "detections_atoms" and detection["spacing"] > 0
    assert detection["widget_settings"]["mode"] == "atoms" and "warnings" in detection["quality"]
    results.model_file.value = str(tmp_path / "m.ivae.pt")
    assert results.save() is not None
    stored = load_model(tmp_path / "m.ivae.pt").metadata
    assert stored["detection"]["spacing"] == detection["spacing"]
    assert {"source", "patch_params", "detection"} <= set(stored)


def test_a_model_trained_on_the_command_line_on_particles_applies_as_particles(tmp_path):
    """A model made by `detect --mode particles` -> `patches` -> `train` carries the points'
    mode in its patch_params: *apply a saved model* detects particles, not atoms."""
    import numpy as np

    from napari_ivae._widgets._apply import compute_apply
    from napari_ivae.cli import main

    rng = np.random.default_rng(0)
    rows, cols = np.indices((128, 128))
    image = rng.normal(0, 0.05, (128, 128))
    for r in range(16, 116, 24):
        for c in range(16, 116, 24):
            image += np.exp(-((rows - r - rng.integers(-3, 4)) ** 2 + (cols - c) ** 2) / 18)
    np.save(tmp_path / "p.npy", image.astype(np.float32))
    csv, npz, model = tmp_path / "p.csv", tmp_path / "p.npz", tmp_path / "m.ivae.pt"
    for step in (
        ["detect", str(tmp_path / "p.npy"), "--mode", "particles", "--out", str(csv)],
        [
            "patches",
            str(tmp_path / "p.npy"),
            "--points",
            str(csv),
            "--size",
            "16",
            "--out",
            str(npz),
        ],
        ["train", "--model", "rvae", "--patches", str(npz), "--out", str(model), "--epochs", "1"]
        + ["--hidden", "16", "--quiet"],
    ):
        assert main(step) == 0
    applied = compute_apply(load_model(model), image.astype(np.float32))
    assert len(applied.detections.coords) == 25
    assert "equivalent_diameter" in applied.detections.properties.columns
    # their maps stay on the particles (1.5 radii), not over the whole image (1.5 x 24 px)
    assert applied.patchset.particle_diameter is not None
    assert np.isfinite(applied.results.maps["dx"]).mean() < 0.6
