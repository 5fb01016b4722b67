"""The npe2 manifest is valid, its commands import, and opening widgets stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import npe2

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_validates_with_imports():
    manifest = npe2.PluginManifest.from_distribution("napari-ivae")
    manifest.validate_imports()  # raises if a python_name does not resolve
    widgets = {w.display_name for w in manifest.contributions.widgets}
    assert widgets == {"Detect", "Patches and labels", "Train", "Results", "Latent explorer"}
    samples = {s.key for s in manifest.contributions.sample_data}
    assert {"cards", "lattice", "gold", "stm"} <= samples
    menus = manifest.contributions.menus
    assert "napari/layers/segment" in menus and "napari/layers/classify" in menus


def test_package_manifest_is_the_top_level_file():
    link = ROOT / "src" / "napari_ivae" / "napari.yaml"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "napari.yaml").resolve()


def test_widget_modules_do_not_import_heavy_libraries():
    # scikit-image is not checked: napari.layers itself imports it.
    code = (
        "import json, sys\n"
        "import napari_ivae._widgets.detect, napari_ivae._widgets.patches\n"
        "import napari_ivae._widgets.train, napari_ivae._widgets.results\n"
        "import napari_ivae._widgets.explorer\n"
        "import napari_ivae._sample_data, napari_ivae._workers, napari_ivae._layers\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'pyro'))))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert heavy == []
