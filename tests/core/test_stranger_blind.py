"""benchmarks/stranger_blind.py: its scenes draw, are seeded, and two run end to end (so the
sixth stranger generator cannot break unnoticed)."""

from __future__ import annotations

import json

import numpy as np
from _scripts import load_script

blind = load_script("benchmarks/stranger_blind.py", "stranger_blind_under_test")


def test_every_scene_draws_an_image_and_references_inside_it():
    for name in blind.CASES:
        if name == "pt_on_crystal":  # the slowest to draw (a lattice per particle)
            continue
        case = blind.make(name, 0)
        image, truth = case["image"], case["truth"]
        assert image.ndim == 2 and case["rule"] and case["mode"] in ("atoms", "particles"), name
        assert len(truth) >= 10 and np.isfinite(image).all(), name
        inside = (truth[:, :2] >= -1) & (truth[:, :2] <= np.array(image.shape))
        assert inside.all(), name


def test_a_scene_is_seeded():
    name = "eds_map"
    assert np.array_equal(blind.make(name, 1)["image"], blind.make(name, 1)["image"])
    assert not np.array_equal(blind.make(name, 1)["image"], blind.make(name, 2)["image"])


def test_the_data_bar_is_invalid_and_the_references_are_above_it():
    case = blind.make("sem_databar_jpeg", 0)
    bar = np.flatnonzero(case["invalid"].any(axis=1))
    assert case["image"].dtype == np.uint8 and len(bar) and bar[-1] == case["image"].shape[0] - 1
    assert (case["truth"][:, 0] < bar[0]).all()


def test_two_scenes_run_end_to_end_and_report_a_json_line(capsys):
    assert blind.main(["--only", "eds_map,incommensurate", "--seeds", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["benchmark"] == "stranger_blind" and result["summary"]["cases"] == 2
    assert {row["mode"] for row in result["rows"]} == {"atoms", "particles"}
    for row in result["rows"]:
        assert row["truth"] >= 10 and row["cpu_seconds"] >= 0, row["image"]
        assert set(result["summary"]) == {"cases", "ok", "failing_warned", "false_alarms"}
