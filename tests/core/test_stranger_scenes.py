"""benchmarks/stranger_scenes.py's scoring: points in a padding region are false, points beside
it or in an ignored region are left out, HRTEM's other sublattice counts as well."""

from __future__ import annotations

import numpy as np
from _scripts import load_script

scenes = load_script("benchmarks/stranger_scenes.py", "stranger_scenes_under_test")


def _case(truth, invalid=None, ignore=None, other=None):
    return {
        "mode": "atoms",
        "image": np.zeros((100, 100), np.float32),
        "truth": np.asarray(truth, float),
        "invalid": invalid,
        "ignore": ignore,
        "expect_none": False,
        "other": other,
    }


def _grid(offset=0.0):
    i, j = np.mgrid[10:90:10, 10:90:10]
    return np.column_stack([i.ravel(), j.ravel()]).astype(float) + offset


def test_points_in_the_padding_are_false_and_beside_it_left_out():
    truth = _grid()
    invalid = np.zeros((100, 100), bool)
    invalid[:, 60:] = True  # the right part is padding: no reference is drawn there
    found = truth[truth[:, 1] < 60]
    precision, recall, _, in_pad = scenes.score_scene(_case(truth, invalid=invalid), found)
    assert (precision, recall, in_pad) == (1.0, 1.0, 0)
    false = np.array([[30.0, 80.0], [50.0, 80.0]])  # two points inside the padding
    precision, recall, _, in_pad = scenes.score_scene(
        _case(truth, invalid=invalid), np.concatenate([found, false])
    )
    assert in_pad == 2 and recall == 1.0 and precision < 1.0
    beside = np.array([[30.0, 57.0]])  # within the margin of the padding: left out
    precision = scenes.score_scene(_case(truth, invalid=invalid), np.concatenate([found, beside]))[
        0
    ]
    assert precision == 1.0


def test_the_better_of_the_two_sublattices_counts():
    truth, between = _grid(), _grid(5.0)
    score = scenes.score_scene(_case(truth, other=between), between)
    assert score[2] == 1.0
    assert scenes.score_scene(_case(truth), between)[2] == 0.0


def test_every_scene_draws_an_image_and_references_inside_it():
    for name in ("JPEG blocking", "fluorescence sparse uint16"):
        case = scenes.make(name, 0)
        image, truth = case["image"], case["truth"]
        assert image.ndim == 2 and len(truth)
        assert np.all((truth[:, :2] > -50) & (truth[:, :2] < np.array(image.shape) + 50))
