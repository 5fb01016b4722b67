"""benchmarks/stranger_fresh.py: its scenes draw, are seeded, and one runs end to end (so the
fifth stranger generator cannot break unnoticed)."""

from __future__ import annotations

import json

import numpy as np
from _scripts import load_script

fresh = load_script("benchmarks/stranger_fresh.py", "stranger_fresh_under_test")


def test_every_scene_draws_an_image_and_references_inside_it():
    for name in fresh.CASES:
        if "2048" in name:  # the two large frames draw the same way, at 4x the cost
            continue
        case = fresh.make(name, 0)
        image, truth = case["image"], case["truth"]
        assert image.ndim == 2 and case["rule"] and case["mode"] in ("atoms", "particles"), name
        assert len(truth) >= 10 and np.isfinite(image).any(), name
        inside = (truth[:, :2] >= -1) & (truth[:, :2] <= np.array(image.shape))
        assert inside.all(), name


def test_a_scene_is_seeded():
    name = "clusters"
    assert np.array_equal(fresh.make(name, 1)["image"], fresh.make(name, 1)["image"])
    assert not np.array_equal(fresh.make(name, 1)["image"], fresh.make(name, 2)["image"])


def test_the_clusters_scene_runs_passes_and_reports_a_json_line(capsys):
    # clusters of touching particles, each one counted (recall 0.24-0.27 while the scale
    # choice took a cluster for a particle)
    assert fresh.main(["--only", "clusters", "--seeds", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["benchmark"] == "stranger_fresh" and result["summary"]["cases"] == 2
    for row in result["rows"]:
        assert row["mode"] == "particles" and row["ok"], row["image"]
        assert row["recall"] >= 0.95 and row["precision"] >= 0.95, row["image"]
