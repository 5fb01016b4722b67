"""The self-check's notes: information that says nothing about a result's reliability (a
masked scale bar), kept apart from its warnings (quality.py, the Detect dock's line)."""

from __future__ import annotations

import pandas as pd

from napari_ivae._widgets.detect_text import result_message
from napari_ivae.core.detection.detections import make_detections
from napari_ivae.core.detection.quality import assess


def _particles(annotation_pixels: int):
    table = pd.DataFrame(
        {"row": [10.0, 40.0, 70.0], "col": [10.0, 40.0, 70.0], "equivalent_diameter": 8.0}
    )
    resolved = {"polarity": "bright", "annotation_pixels": annotation_pixels}
    return make_detections(table, params={"resolved": resolved})


def test_a_masked_data_bar_is_a_note_not_a_warning():
    """Fails before: the mask of an SEM data bar was a warning, so every frame with a bar was
    flagged as unreliable (stranger_blind 'sem_databar_jpeg' P 1.0, R 1.0, warned)."""
    found = assess(_particles(75776), "particles")
    assert found["warnings"] == []
    assert len(found["notes"]) == 1 and "75776 px" in found["notes"][0]
    assert assess(_particles(0), "particles")["notes"] == []


def test_the_dock_says_a_note_without_the_amber_of_a_warning():
    det = _particles(900)
    det.quality = assess(det, "particles")
    params = {"mode": "particles", "polarity": "auto"}
    message, warned = result_message(det, params, {}, [])
    assert not warned
    assert "scale bar or label (900 px) was masked" in message
    det.quality["warnings"] = ["only 3 particles: check the polarity (--polarity)"]
    message, warned = result_message(det, params, {}, [])
    assert warned and "was masked" in message and "Check: Only 3 particles" in message
