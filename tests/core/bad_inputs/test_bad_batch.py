"""Bad inputs to ``napari-ivae batch``: one clear line, exit 2, nothing written (issue 12)."""

import pytest
from bad_inputs_kit import assert_refused

import napari_ivae.cli._paths as paths

MODEL = "{ws}/model.ivae.pt"
IMG = "{ws}/img.npy"
OUT = ["--out", "{ws}/results"]

CASES = {
    # detection options on grid patches did nothing (exit 0) before
    "mode-with-grid": (
        [MODEL, IMG, *OUT, "--grid", "8", "--mode", "particles"],
        ["--mode", "grid"],
    ),
    "spacing-and-polarity-with-grid": (
        [MODEL, IMG, *OUT, "--grid", "8", "--spacing", "8", "--polarity", "dark"],
        ["--spacing and --polarity", "every 8 px"],
    ),
    "model-corrupt": (["{ws}/garbage.ivae.pt", IMG, *OUT], ["corrupt"]),
    "grid-0": ([MODEL, IMG, *OUT, "--grid", "0"], ["--grid"]),
    "out-is-a-file": ([MODEL, IMG, "--out", "{ws}/pts.csv"], ["--out", "folder"]),
}


@pytest.mark.parametrize("argv, words", CASES.values(), ids=CASES.keys())
def test_batch_refuses(ws, capsys, argv, words):
    assert_refused(ws, ["batch", *argv], capsys, *words)
    assert not (ws / "results").exists(), "a refused batch left its --out folder behind"


@pytest.mark.parametrize("command", ["batch", "detect"])
def test_an_unreachable_scheduler_is_refused_up_front(ws, capsys, monkeypatch, command):
    """batch waited 30 s and failed once per image; a small detect ignored the address."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(paths, "SCHEDULER_TIMEOUT", 1)
    where = ["--scheduler", "tcp://127.0.0.1:1"]
    argv = [MODEL, IMG, *OUT] if command == "batch" else [IMG, "--out", "{ws}/new.csv"]
    assert_refused(ws, [command, *argv, *where], capsys, "--scheduler", "cannot reach")
    assert not (ws / "results").exists()


def test_a_failed_write_names_the_result_not_the_hidden_folder(ws, tmp_path):
    """The error named ``OUT/.img.napari-ivae-partial-XXXX/img.csv``, a folder already gone."""
    from bad_inputs_kit import run_cli_subprocess

    argv = ["batch", ws / "model.ivae.pt", ws / "img.npy", "--out", tmp_path / "res", "--grid", "8"]
    result = run_cli_subprocess(argv, tmp_path, file_limit_kb=2)
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "napari-ivae-partial" not in errors[0] and str(tmp_path / "res" / "img") in errors[0]
    assert [p.name for p in (tmp_path / "res").iterdir() if not p.name.startswith(".")] == []
