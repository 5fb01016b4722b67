"""Bad outputs of ``napari-ivae search`` (issue 12)."""

import os
import shutil
import tempfile
from pathlib import Path

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
