"""benchmarks/stranger_networks.py: every case draws a frame with its atoms inside it, the
networks have the bonds they are drawn with, and one crop runs end to end."""

from __future__ import annotations

import json

import numpy as np
from _scripts import load_script
from scipy.spatial import cKDTree

networks = load_script("benchmarks/stranger_networks.py", "stranger_networks_under_test")


def test_every_case_draws_a_frame_and_atoms_inside_it():
    for name in networks.CASES:
        image, truth = networks.make(name, 0)
        assert image.ndim == 2 and len(truth) >= 5, name
        assert np.all((truth >= 0) & (truth < np.array(image.shape))), name


def test_a_random_network_is_three_fold_with_bonds_of_one_length():
    image, truth = networks.make("CRN rings 14, dose 10", 0)
    distances = cKDTree(truth).query(truth, k=5)[0][:, 1:]
    bond = float(np.median(distances[:, 0]))
    assert 7.0 < bond < 10.0  # the rings' spacing over sqrt(3), about
    assert np.percentile(distances[:, 0], 5) > 0.9 * bond
    # three neighbours at the bond for most atoms, the fourth across a ring
    assert np.median(distances[:, 2]) < 1.1 * bond < 1.3 * bond < np.median(distances[:, 3])


def test_a_case_is_seeded():
    name = "crop 3 cells hex 10"
    assert np.array_equal(networks.make(name, 1)[0], networks.make(name, 1)[0])
    assert not np.array_equal(networks.make(name, 1)[0], networks.make(name, 2)[0])


def test_a_crop_runs_and_reports_a_row_and_a_json_line(capsys):
    assert networks.main(["--only", "crop 6 cells square 10", "--seeds", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("crop 6 cells square 10")
    result = json.loads(lines[-1])
    assert result["benchmark"] == "stranger_networks" and result["summary"]["cases"] == 1
    assert 0 <= result["rows"][0]["f1"] <= 1
