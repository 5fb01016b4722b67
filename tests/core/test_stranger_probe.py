"""benchmarks/stranger_probe.py: every scene draws, and one tiny scene runs end to end (so the
fourth stranger generator cannot break unnoticed)."""

from __future__ import annotations

import json

import numpy as np
from _scripts import load_script

probe = load_script("benchmarks/stranger_probe.py", "stranger_probe_under_test")


def test_every_scene_draws_an_image_and_references_inside_it():
    for name in probe.CASES:
        case = probe.make(name, 0)
        image, truth = case["image"], case["truth"]
        frame = image.shape[:2]
        assert image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3), name
        assert len(truth) >= 10 and case["rule"], name
        assert np.all((truth[:, :2] >= -1) & (truth[:, :2] <= np.array(frame))), name
        if case["invalid"] is not None:
            assert case["invalid"].shape == frame, name


def test_a_scene_is_seeded():
    name = "64 x 64 crop, hex 8"
    assert np.array_equal(probe.make(name, 1)["image"], probe.make(name, 1)["image"])
    assert not np.array_equal(probe.make(name, 1)["image"], probe.make(name, 2)["image"])


def test_the_crop_scene_runs_and_reports_a_row_and_a_json_line(capsys):
    assert probe.main(["--only", "64 x 64", "--seeds", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("64 x 64 crop")
    result = json.loads(lines[-1])
    assert result["benchmark"] == "stranger_probe" and result["summary"]["cases"] == 1
    row = result["rows"][0]
    assert row["truth"] == len(probe.make("64 x 64 crop, hex 8", 0)["truth"])
    assert 0 <= row["f1"] <= 1 and row["mode"] == "atoms"


def test_the_crop_scene_shows_its_lattice_on_every_seed():
    """The 64 px crop's columns stand out of its background: its 30 px smooth background,
    once normalised over the 64 px frame alone, clipped some seeds' frames to no counts."""
    for seed in range(6):
        case = probe.make("64 x 64 crop, hex 8", seed)
        image = case["image"]
        at = np.round(case["truth"]).astype(int)
        assert image[at[:, 0], at[:, 1]].mean() - np.median(image) > 5.0, seed
