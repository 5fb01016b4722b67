"""Held-out (k-fold) confusion matrix of an ss-rVAE's classes."""

import numpy as np
import pytest
from _model_data import two_class_blobs

from napari_ivae.core.analysis.heldout import (
    confusion_matrix,
    heldout_confusion,
    model_heldout_confusion,
    stratified_folds,
)
from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, build_model
from napari_ivae.core.models.inference import classify


def test_noise_labels_learned_by_heart_are_at_chance_when_held_out(noise_label_ss_rvae):
    model, _, x, y = noise_label_ss_rvae
    labeled = y >= 0
    on_training_labels = (classify(model, x[labeled]).argmax(1) == y[labeled]).mean()
    held = model_heldout_confusion(model, x, y)
    assert on_training_labels > 0.95  # the matrix of the training labels looks perfect
    assert held.accuracy < 0.75 and abs(held.accuracy - held.chance) < 0.25, held.to_dict()
    assert held.matrix.sum() == labeled.sum() and held.folds == 5


def test_real_classes_stay_separable_when_held_out():
    x, truth = two_class_blobs(40, 16, seed=3)
    held = heldout_confusion(x, truth, 2, hidden=(32, 32), seed=1)
    assert held.accuracy > 0.9, held.to_dict()
    np.testing.assert_array_equal(held.true, truth)  # labeled rows in their given order
    assert held.chance == pytest.approx(0.5)


def test_unlabeled_rows_are_ignored_and_folds_shrink_to_the_labels():
    x, truth = two_class_blobs(20, 16, seed=4)
    y = np.full(len(x), -1)
    y[[0, 1, 25, 30]] = truth[[0, 1, 25, 30]]
    held = heldout_confusion(x, y, 2, folds=10, hidden=(8,), steps=20)
    assert held.folds == 4 and len(held.true) == 4 and held.matrix.sum() == 4


def test_stratified_folds_spread_every_class():
    labels = np.array([0] * 23 + [1] * 11 + [2] * 3)
    fold = stratified_folds(labels, 5, seed=2)
    sizes = np.bincount(fold, minlength=5)
    assert sizes.max() - sizes.min() <= 1
    for k, n in ((0, 23), (1, 11)):
        per_fold = np.bincount(fold[labels == k], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1 and per_fold.sum() == n
    assert len(set(fold[labels == 2])) == 3


def test_confusion_matrix_rows_true_columns_predicted():
    matrix = confusion_matrix([0, 0, 1, -1, 2], [0, 1, 1, 2, 7], 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [0, 0, 1]])


def test_bad_inputs():
    x = np.random.default_rng(0).random((12, 8, 8)).astype(np.float32)
    with pytest.raises(InputError, match="two classes"):
        heldout_confusion(x, np.zeros(12, dtype=int), 2)
    with pytest.raises(InputError, match="0..1"):
        heldout_confusion(x, np.arange(12) % 3, 2)
    with pytest.raises(InputError, match="folds"):
        heldout_confusion(x, np.arange(12) % 2, 2, folds=1)
    with pytest.raises(InputError, match="classifier"):
        model_heldout_confusion(
            build_model(ModelConfig("rvae", (8, 8), hidden=(8,))), x, np.arange(12) % 2
        )
