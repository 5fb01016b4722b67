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
