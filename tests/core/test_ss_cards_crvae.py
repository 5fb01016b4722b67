"""The crVAE run of ``benchmarks/ss_cards.py``: its first score is the one Results draws (over
all codes: a crVAE's encoding has no class), and the model can be saved (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest
from _scripts import load_script

from napari_ivae.core.models.persistence import load_model


@pytest.fixture(scope="module")
def ss_cards():
    return load_script("benchmarks/ss_cards.py", "ss_cards_crvae")


def test_the_first_score_spans_all_codes_and_the_model_is_saved(ss_cards, monkeypatch, tmp_path):
    spans = []
    traversal = ss_cards.class_traversal

    def recording(model, n, ranges):
        spans.append(np.ndim(ranges))
        image = traversal(model, n=n, ranges=ranges)
        # all codes: blank images (judged alike); own codes: the real traversal
        return np.zeros_like(image) if np.ndim(ranges) == 2 else image

    monkeypatch.setattr(ss_cards, "class_traversal", recording)
    path = tmp_path / "crvae.pt"
    run = ss_cards.run_crvae(
        60.0, dict(n_unlabeled=4), 0, {}, dict(epochs=1, min_steps=2), str(path)
    )
    assert spans == [2, 3]  # all codes (one span for every row), then each class's own
    assert run["decodings_match"] == pytest.approx(0.25)  # four blank rows: one suit named
    assert run["train_cpu_s"] > 0 and run["steps"] == 2
    assert load_model(path).model.config.kind == "crvae"
