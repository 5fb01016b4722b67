"""Bad options of ``napari-ivae demo``, refused before napari starts (issue 12)."""

import pytest
from bad_inputs_kit import assert_refused

CASES = {
    "out-is-a-file": (["--out", "{ws}/pts.csv"], ["--out", "is a file"]),
    "epochs-0": (["--out", "{ws}/folder.csv", "--epochs", "0"], ["--epochs", "at least 1"]),
    "seed-negative": (["--out", "{ws}/folder.csv", "--seed", "-4"], ["--seed"]),
}


@pytest.mark.parametrize("argv, words", CASES.values(), ids=CASES.keys())
def test_demo_refuses(ws, capsys, argv, words):
    assert_refused(ws, ["demo", "--headless", *argv], capsys, *words)
