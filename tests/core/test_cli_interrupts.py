"""Ctrl-C in the middle of ``train``, ``search`` and ``batch``: what is kept, and what each
says (issue 12: long work can be stopped and keeps what it has, nothing is lost)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from napari_ivae.cli import main
from napari_ivae.core.models.persistence import load_model
from napari_ivae.core.synthetic.cards import make_cards

TINY = ["--hidden", "16", "--batch-size", "16"]


def _command():
    script = shutil.which("napari-ivae")
    return [script] if script else [sys.executable, "-m", "napari_ivae.cli"]


def _as_foreground_job():
    """Ctrl-C's default action, as a terminal's foreground job has it: a test runner or a
    shell's background job may ignore SIGINT, and Python then never raises KeyboardInterrupt
    in its children (batch relies on it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_after(argv, marker: str, cwd, how=signal.SIGINT):
    """Run ``napari-ivae argv``, press Ctrl-C (SIGINT to its process group, as a terminal
    does; or send ``how``) once a stderr line starts with ``marker``; return (exit code, all
    stderr)."""
    proc = subprocess.Popen(
        [*_command(), *map(str, argv)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_as_foreground_job,
    )
    seen, deadline = [], time.monotonic() + 120
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(marker) or time.monotonic() > deadline:
            break
    os.killpg(proc.pid, how)
    _, rest = proc.communicate(timeout=120)
    return proc.returncode, "".join(seen) + rest


@pytest.fixture
def patches(tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, make_cards(10, size=16, rotation=45, seed=1).images)
    return path


def test_ctrl_c_never_replaces_an_earlier_model_with_a_partial_one(patches, tmp_path):
    out = tmp_path / "m.ivae.pt"
    assert main(["train", "--model", "vae", "--patches", str(patches), "--out", str(out),
                 "--epochs", "1", "--quiet", *TINY]) == 0  # fmt: skip
    before = out.read_bytes()
    argv = ["train", "--model", "rvae", "--patches", patches, "--out", out, "--epochs", "100000"]
    rc, err = _interrupt_after([*argv, *TINY], "epoch 1/100000", tmp_path)
    assert rc == 130, err
    assert out.read_bytes() == before, "the earlier model was replaced by a partial one"
    partial = sorted(tmp_path.glob("m.partial-*.ivae.pt"))
    assert len(partial) == 1, err
    assert f"saved to {partial[0]}" in err and "the earlier m.ivae.pt is kept" in err
    bundle = load_model(partial[0])
    assert bundle.config.kind == "rvae" and bundle.metadata["stopped"] is True


def test_ctrl_c_in_search_keeps_the_finished_runs_and_says_so(tmp_path):
    grid = tmp_path / "grid.npz"
    rng = np.random.default_rng(0)
    image = rng.random((64, 64)).astype(np.float32)
    np.save(tmp_path / "img.npy", image)
    assert main(["patches", str(tmp_path / "img.npy"), "--grid", "8", "--size", "16",
                 "--out", str(grid)]) == 0  # fmt: skip
    out = tmp_path / "search"
    argv = ["search", "--patches", grid, "--out", out, "--epochs", "2", "--workers", "1"]
    argv += ["--beta-start", "0.1,1", "--beta-end", "1,2"]
    rc, err = _interrupt_after(argv, "[1/4]", tmp_path)
    assert rc == 130, err
    assert "napari-ivae search: stopping" in err
    assert "partial model" not in err and "napari-ivae train" not in err
    report = json.loads((out / "search.json").read_text())
    assert report["stopped"] is True and 1 <= len(report["runs"]) < 4


def test_ctrl_c_in_batch_keeps_the_finished_images_and_says_how_to_finish(tmp_path, patches):
    from napari_ivae.core.synthetic.lattice import make_lattice

    model = tmp_path / "m.ivae.pt"
    assert main(["train", "--model", "vae", "--patches", str(patches), "--out", str(model),
                 "--epochs", "1", "--quiet", *TINY]) == 0  # fmt: skip
    images = tmp_path / "images"
    images.mkdir()
    for i in range(40):
        np.save(images / f"img_{i:02d}.npy", make_lattice((96, 96), spacing=8.0, seed=i).image)
    out = tmp_path / "results"
    rc, err = _interrupt_after(
        ["batch", model, images, "--out", out, "--grid", "8"],
        "napari-ivae batch: [3/40]",
        tmp_path,
    )
    assert rc == 130, err
    last = err.strip().splitlines()[-1]
    assert "interrupted at [" in last and "run the same command again" in last, err
    done = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert 3 <= len(done) < 40 and f"{len(done)} done" in last, err
    assert f"do the {40 - len(done)} images left" in last, err


def test_sigterm_stops_training_and_keeps_the_partial_model(patches, tmp_path):
    """``kill`` (or a job scheduler's time limit) stops like Ctrl-C; it lost the model before."""
    out = tmp_path / "m.ivae.pt"
    argv = ["train", "--model", "rvae", "--patches", patches, "--out", out, "--epochs", "100000"]
    rc, err = _interrupt_after([*argv, *TINY], "epoch 1/100000", tmp_path, signal.SIGTERM)
    assert rc == 130, err
    assert "partial model saved" in err
    assert load_model(out).metadata["stopped"] is True
