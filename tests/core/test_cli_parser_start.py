"""The command line imports only the sub-command it runs."""

import subprocess
import sys

import pytest

from napari_ivae.cli import _COMMAND_MODULES, build_parser

_PROBE = """
import sys
from napari_ivae.cli import build_parser
build_parser({command!r})
print(" ".join(sorted(m for m in sys.modules if m.startswith("napari_ivae.cli._"))))
"""


def _cli_modules_after(command):
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(command=command)],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_a_run_imports_only_its_own_sub_command():
    loaded = _cli_modules_after("detect")
    assert "napari_ivae.cli._detect" in loaded
    assert not loaded & {
        f"napari_ivae.cli._{name}" for name in _COMMAND_MODULES if name != "detect"
    }


@pytest.mark.parametrize("first", [None, "--help", "detec"])
def test_without_a_known_sub_command_every_one_is_registered(first):
    loaded = _cli_modules_after(first)
    assert {f"napari_ivae.cli._{name}" for name in _COMMAND_MODULES} <= loaded


def test_the_one_sub_command_parses_as_in_the_full_parser():
    words = ["detect", "image.npy", "--mode", "particles", "--out", "p.csv"]
    assert vars(build_parser("detect").parse_args(words)) == vars(build_parser().parse_args(words))


def test_detect_does_not_import_the_patch_code():
    probe = (
        "import sys\n"
        "import napari_ivae.cli._detect, napari_ivae.core.detection.streaming\n"
        "import napari_ivae.core.detection.particles, napari_ivae.core.detection.atoms\n"
        "print([m for m in sys.modules if m.startswith('napari_ivae.core.patches')])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
