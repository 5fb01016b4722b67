"""benchmarks/stranger_optical.py: its scenes draw, are seeded, keep their references in the
frame, and two run end to end (so the seventh stranger generator cannot break unnoticed)."""

from __future__ import annotations

import json

import numpy as np
from _scripts import load_script

optical = load_script("benchmarks/stranger_optical.py", "stranger_optical_under_test")


def test_every_scene_draws_an_image_and_references_inside_it():
    for name in optical.CASES:
        if name in ("puncta_cells_2048", "smlm_render"):  # 2048 x 2048: the slowest to draw
            continue
        case = optical.make(name, 0)
        image, truth = case["image"], case["truth"]
        assert image.ndim == 2 and case["rule"] and case["mode"] in ("atoms", "particles"), name
        assert len(truth) >= 10 and np.isfinite(image).all(), name
        inside = (truth[:, :2] >= -1) & (truth[:, :2] <= np.array(image.shape))
        assert inside.all(), name


def test_a_scene_is_seeded():
    name = "qd_emccd_blink"
    assert np.array_equal(optical.make(name, 1)["image"], optical.make(name, 1)["image"])
    assert not np.array_equal(optical.make(name, 1)["image"], optical.make(name, 2)["image"])


def test_the_cameras_leave_their_offsets_and_types():
    smlm = optical.make("smlm_scmos", 0)["image"]
    assert smlm.dtype == np.uint16 and 95 < np.median(smlm) < 200  # a 100 ADU offset
    confocal = optical.make("confocal_depth", 0)
    assert confocal["image"].dtype == np.uint8 and confocal["ignore"].any()
    ij = np.round(confocal["truth"][:, :2]).astype(int)
    assert not confocal["ignore"][ij[:, 0], ij[:, 1]].any()  # a counted bead is never left out


def test_two_scenes_run_end_to_end_and_report_a_json_line(capsys):
    assert optical.main(["--only", "qd_emccd,vortex", "--seeds", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["benchmark"] == "stranger_optical" and result["summary"]["cases"] == 2
    assert {row["mode"] for row in result["rows"]} == {"atoms", "particles"}
    for row in result["rows"]:
        assert row["truth"] >= 10 and row["cpu_seconds"] >= 0, row["image"]
        assert row["f1"] is not None, row["image"]
    assert set(result["summary"]) == {"cases", "ok", "failing_warned", "false_alarms"}
