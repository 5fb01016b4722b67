"""The command line imports only the sub-command it runs."""

import json
import subprocess
import sys

import pytest

from napari_ivae.cli import _COMMAND_MODULES, build_parser

# One fresh interpreter for every probe (each start costs about a second): what `detect`
# imports is read first, then each command line's parser is built with the sub-command
# modules taken out of sys.modules before it.
_PROBE = """
import json, sys
import napari_ivae.cli._detect, napari_ivae.core.detection.streaming
import napari_ivae.core.detection.particles, napari_ivae.core.detection.atoms
found = {"patches": [m for m in sys.modules if m.startswith("napari_ivae.core.patches")]}
from napari_ivae.cli import build_parser
for command in ("detect", None, "--help", "detec"):
    for name in [m for m in sys.modules if m.startswith("napari_ivae.cli._")]:
        del sys.modules[name]
    build_parser(command)
    found[str(command)] = sorted(m for m in sys.modules if m.startswith("napari_ivae.cli._"))
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def probed():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_run_imports_only_its_own_sub_command(probed):
    loaded = set(probed["detect"])
    assert "napari_ivae.cli._detect" in loaded
    assert not loaded & {
        f"napari_ivae.cli._{name}" for name in _COMMAND_MODULES if name != "detect"
    }


@pytest.mark.parametrize("first", [None, "--help", "detec"])
def test_without_a_known_sub_command_every_one_is_registered(probed, first):
    loaded = set(probed[str(first)])
    assert {f"napari_ivae.cli._{name}" for name in _COMMAND_MODULES} <= loaded


def test_the_one_sub_command_parses_as_in_the_full_parser():
    words = ["detect", "image.npy", "--mode", "particles", "--out", "p.csv"]
    assert vars(build_parser("detect").parse_args(words)) == vars(build_parser().parse_args(words))


def test_detect_does_not_import_the_patch_code(probed):
    assert probed["patches"] == []
