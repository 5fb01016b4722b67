"""The core must be importable without Qt, napari or magicgui."""

import json
import pkgutil
import subprocess
import sys

import napari_ivae.core

FORBIDDEN = (
    "qtpy",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "napari",
    "magicgui",
    "superqt",
    "vispy",
)


def test_core_modules_import_no_gui():
    modules = [
        m.name for m in pkgutil.walk_packages(napari_ivae.core.__path__, prefix="napari_ivae.core.")
    ]
    assert "napari_ivae.core.errors" in modules
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN and not m.startswith("napari_ivae")]
    assert bad == [], f"core pulled in GUI modules: {bad}"
