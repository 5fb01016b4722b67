"""benchmarks/particle_census.py: every miss and false point gets the step that decided it,
and the detector is left as it was."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection import particle_auto, particle_binning, particle_candidates
from napari_ivae.core.synthetic.particles import make_particles
from tests.core._scripts import load_script


def test_census_classifies_a_missing_reference_and_a_false_point():
    census = load_script("benchmarks/particle_census.py", "particle_census")
    before = (
        particle_auto.judged,
        particle_candidates.blob_candidates,
        particle_binning.labelled,
    )
    truth = make_particles(
        192, count=12, radius=5, polarity="bright", contrast=0.6, noise=0.03, seed=3
    )
    centres = truth.centres
    inside = ((centres >= 20) & (centres < 172)).all(axis=1)
    dropped = int(np.flatnonzero(inside)[0])
    others = np.delete(centres, dropped, axis=0)
    # a reference on the bare support, where nothing stands out: no detection can match it
    bare = np.array([[96.0, 96.0]])
    while np.linalg.norm(centres - bare, axis=1).min() < 25:
        bare = bare + 7.0
    ref = np.vstack([others, bare])
    scores, rows, *_ = census.census(truth.image, ref, np.full(len(ref), 5.0))
    false = [r for r in rows if r["kind"] == "FP"]
    missed = [r for r in rows if r["kind"] == "FN"]
    # the particle left out of the reference is a false point, far from every other box
    assert any(
        np.hypot(r["row"] - centres[dropped, 0], r["col"] - centres[dropped, 1]) < 3
        and r["class"] == "isolated"
        and r["source"] == "first"
        and r["over_cut"] >= 1.0
        for r in false
    )
    # the bare reference is a miss that no candidate passed
    assert [r["class"] for r in missed if r["row"] == bare[0, 0]] in (["none"], ["cut"])
    # every reference and point inside the margin is either matched or in the census
    assert scores["n_ref"] - scores["tp"] == len(missed)
    assert scores["n_det"] - scores["tp"] == len(false)
    after = (
        particle_auto.judged,
        particle_candidates.blob_candidates,
        particle_binning.labelled,
    )
    assert all(a is b for a, b in zip(before, after))


def test_census_records_the_first_search_where_a_second_runs_below_its_floor():
    # small faint particles pile at the search's floor: the search runs again an octave
    # lower, and the steps recorded must stay those of the first search, whose cuts
    # ``used["scale_cuts"]`` reports (the second one's candidates lie below its floor)
    from napari_ivae.core.detection.particles import detect_particles

    census = load_script("benchmarks/particle_census.py", "particle_census")
    truth = make_particles(
        384,
        count=40,
        radius=5,
        polarity="bright",
        touching=0.0,
        contrast=0.6,
        noise=0.0,
        dose=15,
        texture=0.08,
        illumination=0.3,
        seed=45,
    )
    with census.recorded() as record:
        used = detect_particles(truth.image).params["resolved"]
    assert used["range_floor"] is not None and record["searches"] == 2
    _, sigma, _, step = record["judged"]
    assert sigma.min() >= used["search_sigmas"][0] - 1e-6
    assert len(record["labelled"]) == 4
    assert particle_auto._kept_blobs.__name__ == "_kept_blobs"
