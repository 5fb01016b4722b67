"""Writes that fail midway, read-only folders and file modes (issue 12, reproductions 2, 3, 6,
8, 9): the earlier file survives, no traceback, one line, and files get the umask's mode.

Disk-full cases run the CLI in a subprocess under ``RLIMIT_FSIZE`` (``ulimit -f``) with
SIGXFSZ ignored; read-only cases run it as user ``nobody`` through ``setpriv`` (root ignores
permissions), and are skipped without root or setpriv.
"""

import os
import shutil
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest
from bad_inputs_kit import TINY, need_setpriv, run_cli_subprocess, snapshot

from napari_ivae.cli import main
from napari_ivae.core._atomic import write_atomically, write_output
from napari_ivae.core.errors import InputError


def _one_error_line(result, *words):
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "argv, earlier",
    [
        (["detect", "img.npy", "--out", "old.csv"], "old.csv"),
        (["patches", "img.npy", "--grid", "2", "--size", "16", "--out", "old.npz"], "old.npz"),
        (
            ["train", "--model", "vae", "--patches", "p40.npy", "--out", "old.ivae.pt", *TINY],
            "old.ivae.pt",
        ),
    ],
    ids=["detect-csv", "patches-npz", "train-model"],
)
def test_disk_full_midway_keeps_the_earlier_file(ws, tmp_path, argv, earlier):
    for name in ("img.npy", "p40.npy"):
        shutil.copy(ws / name, tmp_path / name)
    (tmp_path / earlier).write_bytes(b"precious earlier result\n" * 1000)  # 24 kB
    before = snapshot(tmp_path)
    result = run_cli_subprocess(argv, tmp_path, file_limit_kb=4)
    assert result.returncode == 2, result.stderr
    _one_error_line(result, "cannot write", "File too large", "nothing was changed")
    assert snapshot(tmp_path) == before  # no partial file, no temporary left behind


def _readonly_workspace(ws) -> Path:
    """A folder user nobody can read but not write, holding the inputs."""
    root = Path(tempfile.mkdtemp(prefix="ivae-ro-"))
    os.chmod(root, 0o755)  # root-owned: nobody may read it, not write to it
    for name in ("img.npy", "p40.npy"):
        shutil.copy(ws / name, root / name)
        os.chmod(root / name, 0o644)
    return root


@pytest.mark.parametrize(
    "argv",
    [
        ["detect", "img.npy", "--out", "a.csv"],
        ["patches", "img.npy", "--grid", "8", "--size", "16", "--out", "p.npz"],
        [
            "train",
            "--model",
            "vae",
            "--patches",
            "p40.npy",
            "--out",
            "m.ivae.pt",
            "--epochs",
            "500",
        ],
    ],
    ids=["detect", "patches", "train-before-training"],
)
def test_read_only_folder_is_refused_up_front(ws, argv):
    need_setpriv()
    root = _readonly_workspace(ws)
    try:
        before = snapshot(root)
        result = run_cli_subprocess(argv, root, as_nobody=True)
        assert result.returncode == 2, result.stderr
        _one_error_line(result, "--out", "not writable", "Permission denied")
        assert "epoch" not in result.stderr and "training" not in result.stderr
        assert snapshot(root) == before
    finally:
        shutil.rmtree(root)


def test_a_read_only_file_in_a_shared_folder_is_not_replaced(ws):
    # the folder lets everybody create files, but the earlier result is not theirs to
    # replace: an atomic rename would have replaced it all the same
    need_setpriv()
    root = _readonly_workspace(ws)
    try:
        os.chmod(root, 0o777)
        (root / "kept.csv").write_text("keep me\n")
        os.chmod(root / "kept.csv", 0o644)
        result = run_cli_subprocess(
            ["detect", "img.npy", "--out", "kept.csv"], root, as_nobody=True
        )
        assert result.returncode == 2, result.stderr
        _one_error_line(result, "--out", "read-only")
        assert (root / "kept.csv").read_text() == "keep me\n"
    finally:
        shutil.rmtree(root)


def test_a_read_only_file_is_not_replaced(ws, tmp_path, capsys):
    out = tmp_path / "kept.csv"
    out.write_text("keep me\n")
    os.chmod(out, 0o444)
    if os.access(out, os.W_OK):  # root: may write anything, the check cannot refuse
        pytest.skip("root ignores read-only files")
    assert main(["detect", str(ws / "img.npy"), "--out", str(out)]) == 2
    assert "read-only" in capsys.readouterr().err and out.read_text() == "keep me\n"


@pytest.mark.parametrize("umask, mode", [(0o002, 0o664), (0o022, 0o644), (0o077, 0o600)])
def test_new_files_get_the_umask_mode(ws, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert main(["detect", str(ws / "img.npy"), "--out", str(tmp_path / "a.csv")]) == 0
        assert (
            main(
                [
                    "patches",
                    str(ws / "img.npy"),
                    "--grid",
                    "16",
                    "--size",
                    "16",
                    "--out",
                    str(tmp_path / "p.npz"),
                ]
            )
            == 0
        )
    finally:
        os.umask(old)
    for name in ("a.csv", "p.npz"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, name


def test_overwriting_keeps_the_file_mode(ws, tmp_path):
    out = tmp_path / "m.ivae.pt"
    out.write_bytes(b"old")
    os.chmod(out, 0o664)  # shared with the group: was turned into 0600 by the rename
    assert (
        main(
            ["train", "--model", "vae", "--patches", str(ws / "p40.npy"), "--out", str(out), *TINY]
        )
        == 0
    )
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o664 and out.read_bytes() != b"old"


def test_write_output_turns_any_failure_into_one_line(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")

    def torch_like_failure(stream):
        stream.write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64")

    with pytest.raises(InputError, match="midway") as info:
        write_output(path, torch_like_failure, "model file")
    assert "\n" not in str(info.value) and "a.bin" in str(info.value)
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["a.bin"]


def test_write_atomically_cleans_up_after_an_interrupt(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(3))

    def interrupted(stream):
        stream.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, interrupted)
    np.testing.assert_array_equal(np.load(path), np.arange(3))
    assert sorted(os.listdir(tmp_path)) == ["a.npy"]


def test_training_survives_a_closed_stderr(ws, tmp_path):
    # `napari-ivae train ... 2>&1 | head -1`: the progress lines hit a closed pipe
    import subprocess
    import sys

    out = tmp_path / "m.ivae.pt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "napari_ivae.cli",
            "train",
            "--model",
            "vae",
            "--patches",
            str(ws / "p40.npy"),
            "--out",
            str(out),
            "--epochs",
            "3",
            "--hidden",
            "16",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0
    from napari_ivae.core.models.persistence import load_model

    assert len(load_model(out).metadata["history"]) == 3
