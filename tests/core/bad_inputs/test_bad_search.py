"""Bad outputs of ``napari-ivae search`` (issue 12)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from bad_inputs_kit import need_setpriv, run_cli_subprocess, snapshot

from napari_ivae.cli import main


def test_a_new_out_folder_in_a_read_only_folder_is_refused_up_front(ws):
    """It failed with a PermissionError traceback creating --out (before any run)."""
    need_setpriv()
    root = Path(tempfile.mkdtemp(prefix="ivae-ro-"))
    try:
        os.chmod(root, 0o755)  # root-owned: user nobody may read it, not write to it
        assert main(["patches", str(ws / "img.npy"), "--grid", "8", "--size", "16",
                     "--out", str(root / "g.npz")]) == 0  # fmt: skip
        os.chmod(root / "g.npz", 0o644)
        before = snapshot(root)
        argv = ["search", "--patches", "g.npz", "--out", "s", "--epochs", "1", "--workers", "1"]
        result = run_cli_subprocess(argv, root, as_nobody=True)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        errors = [line for line in result.stderr.splitlines() if ": error: " in line]
        assert len(errors) == 1 and "--out" in errors[0] and "not writable" in errors[0]
        assert "searching" not in result.stderr  # refused before any run
        assert snapshot(root) == before
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("earlier", [False, True], ids=["new-out", "force-over-earlier"])
def test_a_model_that_cannot_be_written_leaves_no_half_set_of_results(
    ws, tmp_path, capsys, monkeypatch, earlier
):
    """The chosen model cannot be written into --out (its disk full): the table and the maps
    were written before it, and the earlier results replaced, without the model or
    search.json beside them. Now nothing of the run is in --out and the line says where the
    model was kept (the current folder, the next place tried)."""
    from napari_ivae.core.errors import InputError
    from napari_ivae.core.models import persistence

    assert main(["patches", str(ws / "img.npy"), "--grid", "8", "--size", "16",
                 "--out", str(tmp_path / "g.npz")]) == 0  # fmt: skip
    out, elsewhere = tmp_path / "s", tmp_path / "elsewhere"
    elsewhere.mkdir()
    if earlier:  # a finished earlier search, replaced only as a whole (--force)
        out.mkdir()
        for name in ("search.csv", "search.json", "best.ivae.pt"):
            (out / name).write_text(f"earlier {name}")
    save_model = persistence.save_model

    def full_disk(path, *args, **kwargs):
        if str(path).startswith(str(out)):
            raise InputError(f"cannot write the model file {path}: No space left on device")
        return save_model(path, *args, **kwargs)

    monkeypatch.setattr(persistence, "save_model", full_disk)
    monkeypatch.chdir(elsewhere)
    before = snapshot(out) if earlier else None
    argv = ["search", "--patches", str(tmp_path / "g.npz"), "--out", str(out), "--epochs", "1",
            "--workers", "1", "--beta-start", "1", "--beta-end", "1", "--quiet",
            *(["--force"] if earlier else [])]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err
    assert f"cannot write the model file {out / 'best.ivae.pt'}" in errors[0]  # where it goes
    assert f"nothing was written to {out}" in errors[0]
    kept = list(elsewhere.glob("best.recovered-*.ivae.pt"))
    assert len(kept) == 1 and f"the chosen model was kept as {kept[0]}" in errors[0]
    if earlier:
        assert snapshot(out) == before  # the earlier results as they were, nothing added
    else:
        assert not out.exists()  # made by the run, removed again


def test_a_file_size_limit_gives_one_line_and_no_half_set_of_results(ws, tmp_path):
    """Under ``ulimit -f`` (as a full disk or a container's small /dev/shm) the runs' weights,
    sent back through a file in /dev/shm, failed with a traceback; the model (the largest
    file) then could not be written either. Now one line, and --out is as it was: absent."""
    assert main(["patches", str(ws / "img.npy"), "--grid", "8", "--size", "16",
                 "--out", str(tmp_path / "g.npz")]) == 0  # fmt: skip
    before = snapshot(tmp_path)
    argv = ["search", "--patches", "g.npz", "--out", "s", "--epochs", "1", "--workers", "1",
            "--beta-start", "1", "--beta-end", "1", "--quiet"]  # fmt: skip
    result = run_cli_subprocess(argv, tmp_path, file_limit_kb=64, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr
    assert "best.ivae.pt" in errors[0] and "nothing was written to s" in errors[0]
    assert "could not be kept anywhere" in errors[0]
    assert snapshot(tmp_path) == before
