"""The core's sub-packages: each declares a public API that resolves, and loads it lazily."""

import importlib
import json
import subprocess
import sys

import pytest

PACKAGES = ["detection", "patches", "models", "analysis", "io"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_to_its_module(package):
    module = importlib.import_module(f"napari_ivae.core.{package}")
    assert module.__all__, f"{package} declares no public API"
    for name in module.__all__:
        value = getattr(module, name)
        home = getattr(value, "__module__", None)
        if home is not None:  # classes and functions live in a module of this package
            assert home.startswith(f"napari_ivae.core.{package}."), (name, home)
    with pytest.raises(AttributeError, match="no attribute"):
        module.not_a_public_name  # noqa: B018


def test_importing_the_packages_loads_no_module_until_a_name_is_used():
    code = (
        "import json, sys\n"
        f"for p in {PACKAGES!r}: __import__('napari_ivae.core.' + p)\n"
        "before = sorted(sys.modules)\n"
        "from napari_ivae.core.detection import detect_atoms\n"
        "print(json.dumps([before, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert "torch" not in before and "skimage" not in before
    assert "napari_ivae.core.detection.atoms" not in before
    assert "napari_ivae.core.detection.atoms" in after
    assert "torch" not in after  # detection does not need torch
