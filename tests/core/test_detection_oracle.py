"""The truth-knowing oracle of ``benchmarks/detection_oracle.py`` (an upper bound, not a detector)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def oracle():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "detection_oracle", BENCHMARKS / "detection_oracle.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_templates_are_zero_mean_unit_norm(oracle):
    for template in (
        oracle.sphere_template(5.0),
        oracle.difference_of_gaussians(2.0, 15.0),
        oracle.gaussian_template(1.5, 6.0),
    ):
        assert template.shape[0] == template.shape[1] and template.shape[0] % 2 == 1
        assert abs(template.sum()) < 1e-6 * np.abs(template).sum()
        assert np.linalg.norm(template) == pytest.approx(1.0)


def test_filtered_keeps_the_frame_and_peaks_at_the_object(oracle):
    image = np.zeros((40, 50))
    image[12, 30] = 1.0
    response = oracle.filtered(image, oracle.gaussian_template(1.5, 6.0))
    assert response.shape == image.shape
    assert np.unravel_index(np.argmax(response), image.shape) == (12, 30)


def test_local_maxima_strongest_first_and_apart(oracle):
    response = np.zeros((30, 30))
    response[5, 5], response[5, 7], response[20, 20] = 1.0, 0.8, 2.0
    points, values = oracle.local_maxima(response, 3.0)
    # (5, 7) lies within 3 px of the stronger (5, 5): not a maximum of its disc
    assert points.tolist() == [[20.0, 20.0], [5.0, 5.0]]
    assert values.tolist() == [2.0, 1.0]
    points, _ = oracle.local_maxima(response, 1.0)
    assert len(points) == 3


def test_best_cut_picks_the_cut_between_true_and_false_peaks(oracle):
    # points strongest first, as local_maxima gives them
    truth = np.array([[10.0, 10.0], [10.0, 30.0], [30.0, 10.0]])
    # three true peaks, then two false ones: the best cut keeps the top three
    points = np.vstack([truth, [[30.0, 30.0], [20.0, 20.0]]])
    values = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    result = oracle.best_cut(points, values, truth, 3.0, 3.0, (40, 40))
    assert result["f1"] == pytest.approx(1.0)
    assert result["cut"] == pytest.approx(3.0)
    assert result["reachable"]
    # a false peak stronger than every true one: no cut gives precision >= 0.95 and recall 1
    points = np.vstack([[[30.0, 30.0]], truth, [[20.0, 20.0]]])
    result = oracle.best_cut(points, values, truth, 3.0, 3.0, (40, 40))
    assert result["f1"] < 0.9
    assert not result["reachable"]


def test_particle_oracle_finds_clean_particles_and_not_absent_ones(oracle):
    from napari_ivae.core.synthetic.particles import make_particles

    clean = make_particles(160, count=12, radius=6, polarity="dark", contrast=0.6, seed=3)
    result = oracle.particle_oracle(clean)
    assert result["reachable"] and result["f1"] > 0.95
    # the same frame without contrast: noise only, so nothing is findable
    blank = make_particles(160, count=12, radius=6, polarity="dark", contrast=0.0, seed=3)
    assert oracle.particle_oracle(blank)["f1"] < 0.5


def test_lattice_oracle_on_a_clean_and_a_dark_lattice(oracle):
    from napari_ivae.core.synthetic.lattice import make_lattice

    truth = make_lattice(128, spacing=10, lattice="hexagonal", noise=0.05, seed=2)
    assert oracle.lattice_oracle(truth)["f1"] > 0.95
    # at a dose of 0.05 counts per atom peak the atoms are gone
    faint = make_lattice(128, spacing=10, lattice="hexagonal", noise=0.0, dose=0.05, seed=2)
    assert oracle.lattice_oracle(faint)["f1"] < 0.9


def test_summarise_sorts_rows_by_who_reaches_the_target(oracle):
    def row(group, name, p, r, f1, op, orr, of1, reachable=False):
        return dict(
            group=group,
            name=name,
            precision=p,
            recall=r,
            f1=f1,
            oracle_precision=op,
            oracle_recall=orr,
            oracle_f1=of1,
            oracle_reachable=reachable,
        )

    rows = [
        row("particles", "both", 1.0, 0.97, 0.98, 1.0, 1.0, 1.0, True),
        row("particles", "oracle only", 1.0, 0.80, 0.89, 0.97, 0.93, 0.95, True),
        row("particles", "neither", 1.0, 0.80, 0.89, 0.99, 0.90, 0.94),
        row("particles", "defaults only", 1.0, 0.96, 0.98, 1.0, 0.93, 0.96),
        row("lattice", "faint", 0.8, 0.7, 0.75, 0.9, 0.85, 0.87),
    ]
    summary = oracle.summarise(rows)
    assert summary["particles"]["defaults_met"] == 2
    assert summary["particles"]["oracle_met"] == 2
    assert summary["particles"]["beyond_the_data"] == ["neither"]
    assert summary["particles"]["detector_short"] == ["oracle only"]
    assert summary["particles"]["oracle_short"] == ["defaults only"]
    assert summary["lattice"]["beyond_the_data"] == ["faint"]
