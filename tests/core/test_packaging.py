"""The package as users get it: a wheel built from this tree, installed on its own, carries the
napari manifest, the sample data and their licences, and imports from where it was installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    tree = tmp_path_factory.mktemp("tree")  # a copy: no stale build/ of the checkout gets in
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(tree),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (found,) = out.glob("napari_ivae-*.whl")
    return found


def test_the_wheel_carries_manifest_data_licences_and_no_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "napari_ivae/napari.yaml" in names
    assert "napari_ivae/data/stm_defects.npz" in names
    assert any(n.startswith("napari_ivae/data/LICENSE.") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_the_installed_wheel_imports_and_serves_its_manifest(wheel, tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    probe = (
        "import json, napari_ivae, npe2; from importlib.resources import files; "
        "m = npe2.PluginManifest.from_file(files('napari_ivae') / 'napari.yaml'); "
        "from napari_ivae.core.synthetic.cards import make_cards; "
        "print(json.dumps({'file': napari_ivae.__file__, 'name': m.name, "
        "'widgets': len(m.contributions.widgets or [])}))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(found["file"]).is_relative_to(site)
    assert found["name"] == "napari-ivae" and found["widgets"] >= 4
