"""Shared pieces of the bad-input catalogue (issue 12): a workspace of tiny input files, a
runner that calls the CLI in-process, and the checks every refused case must pass.

Every case asserts: the exit code; exactly one ``error:`` line on stderr naming the problem and
the flag; no ``Traceback``; and that no file of the workspace changed or appeared (SHA-256
of every file, hidden temporary files included, before and after).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_ivae.cli import main

TINY = ["--epochs", "1", "--hidden", "16", "--batch-size", "16", "--quiet"]


def snapshot(folder: Path) -> dict:
    """``{relative path: sha256}`` of every file under ``folder`` (dot files included)."""
    digests = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            digests[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_symlink() or not path.is_dir():
            digests[str(path.relative_to(folder))] = "special"
    return digests


def expand(argv, ws: Path) -> list:
    return [str(arg).replace("{ws}", str(ws)) for arg in argv]


def error_line(err: str) -> str:
    """The one ``error:`` line of a refused command (fails when there are none or several)."""
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    return lines[0]


def assert_refused(ws: Path, argv, capsys, *words, code: int = 2) -> str:
    """Run ``napari-ivae argv`` in-process; check exit code, message, and that nothing changed.

    ``words`` must all appear in the error line (case-insensitive); the first is usually the
    flag. Returns the error line.
    """
    before = snapshot(ws)
    capsys.readouterr()
    rc = main(expand(argv, ws))
    err = capsys.readouterr().err
    assert rc == code, err
    assert "Traceback" not in err
    line = error_line(err)
    for word in words:
        assert word.lower() in line.lower(), line
    assert snapshot(ws) == before, "an input or an earlier output changed"
    return line


def run_cli_subprocess(
    argv,
    cwd: Path,
    *,
    file_limit_kb: int | None = None,
    as_nobody: bool = False,
    timeout: float = 120,
):
    """Run the CLI in a fresh Python, optionally under ``ulimit -f`` or as user ``nobody``."""
    command = [sys.executable, "-m", "napari_ivae.cli", *map(str, argv)]

    def limit_file_size():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG instead
        limit = file_limit_kb * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    preexec = limit_file_size if file_limit_kb is not None else None
    if as_nobody:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = dict(os.environ, HOME=str(cwd), PYTHONWARNINGS="ignore::DeprecationWarning")
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
        env=env,
    )


def need_setpriv() -> None:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run a command as an ordinary user")


def make_workspace(root: Path) -> Path:
    """Tiny inputs: a lattice image, its points, patches, labels, a trained model..."""
    from napari_ivae.core.synthetic.cards import make_cards
    from napari_ivae.core.synthetic.lattice import make_lattice

    ws = root / "ws"
    ws.mkdir()
    np.save(ws / "img.npy", make_lattice((64, 64), spacing=8.0, seed=0).image)
    rng = np.random.default_rng(0)
    np.save(ws / "noise.npy", rng.normal(size=(64, 64)))
    np.save(ws / "img4d.npy", rng.random((2, 32, 32, 5)).astype(np.float32))
    np.save(ws / "amb3d.npy", rng.random((3, 32, 32)).astype(np.float32))
    np.save(ws / "rgb.npy", rng.random((32, 32, 3)).astype(np.float32))
    np.save(ws / "const.npy", np.ones((32, 32)))
    np.save(ws / "text.npy", np.array([["a"] * 16] * 16))
    (ws / "broken.npy").write_bytes(b"this is not numpy")
    (ws / "empty.tif").write_bytes(b"")
    (ws / "notimg.png").write_text("hello")
    (ws / "damaged.tif").write_bytes(b"II*\x00garbage" * 10)
    (ws / "pts.csv").write_text("frame,row,col\n0,20,20\n0,30,40\n0,40,24\n")
    (ws / "nocols.csv").write_text("a,b\n1,2\n")
    (ws / "words.csv").write_text("row,col\nx,y\n")
    (ws / "nan_pts.csv").write_text("row,col\n20,20\n,30\n40,inf\n")
    np.save(ws / "one_d.npy", np.arange(100.0))
    cards = make_cards(10, size=16, rotation=45, seed=1)  # 40 patches 16x16, classes 0..3
    labels = np.where(cards.labels < 2, cards.labels, -1)
    np.save(ws / "p40.npy", cards.images)
    np.savez(ws / "p.npz", patches=cards.images, centres=rng.random((40, 2)))
    np.save(ws / "labels.npy", labels)
    np.save(ws / "labels_str.npy", np.array(["a"] * 20 + ["b"] * 20))
    np.save(ws / "labels_nan.npy", np.where(labels >= 0, labels, np.nan))
    np.save(ws / "labels_short.npy", labels[:10])
    np.save(ws / "labels_big.npy", np.where(labels >= 0, labels * 5, -1))
    nan_patches = cards.images.copy()
    nan_patches[3, 2, 2] = np.nan
    np.save(ws / "p_nan.npy", nan_patches)
    np.save(ws / "p_2d.npy", cards.images[0])
    np.save(ws / "p_tiny.npy", cards.images[:, :4, :4])
    np.save(ws / "p_obj.npy", np.array([1, "x"], dtype=object), allow_pickle=True)
    np.save(ws / "p24.npy", np.zeros((5, 24, 24), np.float32) + rng.random((5, 24, 24)))
    assert (
        main(
            [
                "train",
                "--model",
                "vae",
                "--patches",
                str(ws / "p40.npy"),
                "--out",
                str(ws / "model.ivae.pt"),
                *TINY,
            ]
        )
        == 0
    )
    _nan_model(ws / "model.ivae.pt", ws / "nan.ivae.pt")
    (ws / "garbage.ivae.pt").write_bytes(b"PK\x03\x04 not a model")
    (ws / "folder.csv").mkdir()
    os.mkfifo(ws / "fifo.csv")
    os.symlink(ws / "img.npy", ws / "link_to_img.npz")
    os.symlink(ws / "p.npz", ws / "link_to_p.npz")
    os.link(ws / "p40.npy", ws / "hardlink.ivae.pt")
    return ws


def _nan_model(source: Path, target: Path) -> None:
    import torch

    bundle = torch.load(source, weights_only=True)
    name = next(k for k, v in bundle["state_dict"].items() if v.is_floating_point())
    bundle["state_dict"][name] = torch.full_like(bundle["state_dict"][name], float("nan"))
    torch.save(bundle, target)


@pytest.fixture(scope="session")
def ws(tmp_path_factory):
    """The shared workspace (created once; every case checks that it stays unchanged)."""
    return make_workspace(tmp_path_factory.mktemp("bad_inputs"))
