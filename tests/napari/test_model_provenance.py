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
