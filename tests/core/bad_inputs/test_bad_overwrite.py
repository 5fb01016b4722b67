"""An output that replaces an earlier file of that name says so on the command's last line
(it was silent before; issue 12: no user data is overwritten silently)."""

import pytest
from bad_inputs_kit import TINY

from napari_ivae.cli import main

RUNS = {
    "detect": ["detect", "{ws}/img.npy", "--out", "{out}/a.csv"],
    "detect-particles": ["detect", "{ws}/img.npy", "--mode", "particles", "--out", "{out}/a.csv"],
    "patches": ["patches", "{ws}/img.npy", "--grid", "8", "--size", "16", "--out", "{out}/a.npz"],
    "encode": ["encode", "{ws}/model.ivae.pt", "--patches", "{ws}/p40.npy", "--out", "{out}/a.npz"],
    "train": ["train", "--model", "vae", "--patches", "{ws}/p40.npy", "--out", "{out}/a.ivae.pt"],
}


@pytest.mark.parametrize("argv", RUNS.values(), ids=RUNS.keys())
def test_replacing_an_earlier_output_is_said(ws, tmp_path, capsys, argv):
    argv = [a.replace("{ws}", str(ws)).replace("{out}", str(tmp_path)) for a in argv]
    argv += TINY if argv[0] == "train" else []
    capsys.readouterr()
    assert main(argv) == 0
    first = capsys.readouterr().err
    assert "replaced" not in first, first
    assert main(argv) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if str(tmp_path) in line]
    assert lines and all("replaced the earlier file" in line for line in lines), lines
