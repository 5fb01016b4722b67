"""match_points: optimal one-to-one matching and the derived scores."""

import numpy as np
import pytest

from napari_ivae.core.analysis.metrics import match_points


def test_optimal_not_greedy_assignment():
    detected = np.array([[0.0, 0.0], [0.0, 1.9]])
    reference = np.array([[0.0, 1.0], [0.0, 3.0]])
    match = match_points(detected, reference, 1.2)  # greedy (B-X first) would match only one
    assert match.true_positives == 2 and match.f1 == 1.0
    assert match.rmse == pytest.approx(np.sqrt((1.0**2 + 1.1**2) / 2))


def test_scores_with_misses_and_extras():
    reference = np.array([[10.0, 10.0], [10.0, 20.0], [10.0, 30.0]])
    detected = np.array([[10.2, 10.0], [10.0, 20.3], [50.0, 50.0]])
    summary = match_points(detected, reference, 1.0).summary()
    assert (summary["tp"], summary["fp"], summary["fn"]) == (2, 1, 1)
    assert summary["precision"] == pytest.approx(2 / 3) and summary["f1"] == pytest.approx(2 / 3)


def test_empty_inputs():
    assert match_points(np.zeros((0, 2)), np.ones((3, 2)), 1.0).recall == 0.0
    assert np.isnan(match_points(np.zeros((0, 2)), np.zeros((0, 2)), 1.0).f1)
