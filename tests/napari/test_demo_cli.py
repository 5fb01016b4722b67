"""The main job, headless: a short run of the whole pipeline writes layers and a screenshot."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tifffile


def _demo(out, workflow: str):
    """``napari-ivae demo --headless`` for one epoch: the finished process and its summary."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_ivae.cli",
            "demo",
            "--headless",
            "--workflow",
            workflow,
            "--epochs",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run, json.loads((out / "summary.json").read_text())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")
def test_headless_demo_writes_results_and_screenshot(tmp_path):
    out = tmp_path / "demo-out"
    run, summary = _demo(out, "lattice_shift_vae")
    assert summary["workflow"] == "lattice_shift_vae" and summary["seed"] == 0
    assert "atoms found" in summary["detect"]
    shot = out / "screenshot.png"
    assert shot.stat().st_size > 10_000 and "wrote" in run.stdout
    z1 = tifffile.imread(out / "lattice_z1.tif")
    assert z1.shape == (256, 256) and np.isfinite(z1).mean() > 0.5
    atoms = pd.read_csv(out / "lattice_atoms.csv")
    assert {"frame", "row", "col"} <= set(atoms.columns) and len(atoms) > 100
    assert (out / "model.ivae.pt").exists()
    assert json.loads(run.stdout.strip().splitlines()[-1])["demo"] == "lattice_shift_vae"


@pytest.mark.slow
def test_cards_demo_reports_the_held_out_check(viewer, monkeypatch):
    """The demo's own steps (``run_workflow``, which ``demo --headless`` runs and writes as
    summary.json) in this process: the command line itself is tested above."""
    from napari_ivae._widgets import _writer
    from napari_ivae.core.analysis.heldout import model_heldout_confusion
    from napari_ivae.demo import run_workflow

    # that the demo runs the held-out check and reports it, on fewer steps per fold; that the
    # Results widget asks for the default folds and steps is tested in
    # test_ss_rvae_on_cards_writes_classes_and_confusion, the check's own results in
    # tests/core/test_heldout.py
    def quick_heldout(model, patches, labels):
        return model_heldout_confusion(model, patches, labels, steps=30)

    monkeypatch.setattr(_writer, "compute_heldout", quick_heldout)
    summary = run_workflow(viewer, "cards_ss_rvae", epochs=1, log=lambda _: None)
    assert "not held out" in summary["confusion"]
    assert "held-out accuracy on the 24 labeled patches" in summary["confusion_heldout"]


def test_the_headless_demo_keeps_the_progress_indicator_still(viewer):
    """napari animates a GIF while a progress bar runs; under Xvfb its frames cost the GUI
    thread as much CPU as the training, so the headless demo stops it."""
    from napari.utils import progress
    from qtpy.QtGui import QMovie

    from napari_ivae.demo import still_activity_indicator

    label = viewer.window._qt_window._activity_dialog._toggleButton._inProgressIndicator
    running = QMovie.MovieState.Running
    with progress(total=2):
        assert label.movie().state() == running  # napari's own: animated
    still_activity_indicator(viewer)
    with progress(total=2):
        assert label.movie().state() != running and not label.movie().isValid()


def _add_map(viewer, role, data, kind="image"):
    add = viewer.add_labels if kind == "labels" else viewer.add_image
    return add(data, name=role, metadata={"napari_ivae": {"role": role}})


def _two_blocks(low, high, rng, noise):
    """A 64 x 64 map: ``low`` on the left half, ``high`` on the right, plus Gaussian noise."""
    values = np.full((64, 64), float(low))
    values[:, 32:] = high
    return values + rng.normal(0.0, noise, values.shape)


def test_the_demo_segments_z1_when_it_holds_the_grains_and_the_angle_is_noise(viewer):
    """The gold demo today: the angle map is noise, z1 shows two grains; a constant z map (no
    edges at all) is inactive, not the smoothest."""
    from napari_ivae.demo import smoothest_map

    rng = np.random.default_rng(0)
    _add_map(viewer, "angle_map", rng.uniform(-60.0, 60.0, (64, 64)))
    _add_map(viewer, "z1_map", _two_blocks(-1.0, 1.0, rng, 0.05))
    _add_map(viewer, "z2_map", rng.normal(0.0, 1.0, (64, 64)))
    _add_map(viewer, "z3_map", np.zeros((64, 64)))
    role, why = smoothest_map(viewer)
    assert role == "z1_map"
    assert why.startswith("segmenting z1") and "z3 inactive" in why


def test_the_demo_segments_the_angle_when_it_holds_the_grains_across_180_degrees(viewer):
    """The reverse: two grains 90 deg apart in the angle map, one of them at 175 +- 3 deg (its
    angles cross +-180), and noisy z maps. Read as plain numbers, the 175-deg grain would be
    speckled with -180-deg pixels; as a circular map it is one clean boundary."""
    from napari_ivae.core.analysis.segmentation import edge_length
    from napari_ivae.demo import map_coherence, smoothest_map

    rng = np.random.default_rng(1)
    grains = (_two_blocks(175.0, 265.0, rng, 3.0) + 180.0) % 360.0 - 180.0
    assert (grains[:, :32] < 0).any() and (grains[:, :32] > 0).any()  # crosses the seam
    _add_map(viewer, "angle_map", grains)
    _add_map(viewer, "z1_map", rng.normal(0.0, 1.0, (64, 64)))
    _add_map(viewer, "z2_map", _two_blocks(-1.0, 1.0, rng, 1.0))
    role, why = smoothest_map(viewer)
    assert role == "angle_map" and why.startswith("segmenting angle")
    assert map_coherence("angle_map", grains) < 0.5 * edge_length(grains)


def test_the_demo_segments_nothing_when_every_map_is_flat(viewer):
    from napari_ivae.demo import smoothest_map

    rng = np.random.default_rng(2)
    _add_map(viewer, "angle_map", rng.normal(0.0, 1.0, (64, 64)))  # 1 deg: below the floor
    _add_map(viewer, "z1_map", _two_blocks(0.0, 0.1, rng, 0.01))  # variance 0.0026
    role, why = smoothest_map(viewer)
    assert role is None and "nothing segmented" in why


def test_the_screenshot_shows_the_segmented_map_and_its_segmentation(viewer):
    from napari_ivae.demo import arrange_view

    rng = np.random.default_rng(3)
    image = viewer.add_image(rng.random((64, 64)), name="gold")
    angle = _add_map(viewer, "angle_map", rng.uniform(-60.0, 60.0, (64, 64)))
    z1 = _add_map(viewer, "z1_map", _two_blocks(-1.0, 1.0, rng, 0.05))
    labels = (z1.data > 0).astype(np.int32) + 1
    segmentation = _add_map(viewer, "segmentation_z1_map", labels, kind="labels")
    arrange_view(viewer, "atoms_rvae")
    assert image.visible and z1.visible and segmentation.visible
    assert not angle.visible


def test_a_border_without_data_adds_no_edges_to_a_maps_score():
    """Maps of points or grid cells have no data near the image border (NaN): the score is
    over the pixels with data, so the border does not count as a domain wall."""
    from napari_ivae.demo import map_coherence

    blocks = _two_blocks(-1.0, 1.0, np.random.default_rng(4), 0.05)
    framed = np.pad(blocks, 8, constant_values=np.nan)
    assert map_coherence("z1_map", framed) < 1.1 * map_coherence("z1_map", blocks)


def test_demo_outputs_say_what_they_replace_and_never_share_a_file(viewer, tmp_path):
    """Two layers whose names make one file name ("lat z1" and "lat_z1"): the second map was
    written over the first; a second run over the same --out replaced every file unsaid."""
    from napari_ivae._widgets._session import get_session
    from napari_ivae.demo import save_outputs

    _add_map(viewer, "lat z1 [ivae]", np.zeros((8, 8), np.float32))
    _add_map(viewer, "lat_z1 [ivae]", np.ones((8, 8), np.float32))
    session = get_session(viewer)
    first, second = [], []
    paths = save_outputs(viewer, session, tmp_path, log=first.append)
    assert [p.name for p in paths] == ["lat_z1.tif", "lat_z1_2.tif"]
    assert not any("replaced" in line for line in first)
    save_outputs(viewer, session, tmp_path, log=second.append)
    assert len(second) == 2
    assert all(line.endswith("(it replaced the earlier file of that name)") for line in second)
