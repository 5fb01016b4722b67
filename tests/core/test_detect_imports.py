"""What ``napari-ivae detect`` imports: what it uses, nothing of the other sub-commands, no
torch, no GUI, no reader of another format. Every module imported is time at each start (the
whole start is most of the command's time on a small image)."""

import json
import subprocess
import sys

import numpy as np
import pytest

# one fresh interpreter runs detect on atoms and on particles, then lists sys.modules
_PROBE = """
import json, sys
from napari_ivae.cli import main
for mode, image in (("atoms", sys.argv[1]), ("particles", sys.argv[2])):
    assert main(["detect", image, "--mode", mode, "--out", image + ".csv"]) == 0
print(json.dumps(sorted(sys.modules)))
"""

NOT_FOR_DETECT = (
    "torch",  # the models
    "qtpy",
    "napari",
    "magicgui",
    "vispy",
    "tifffile",  # readers of the formats not read here (.npy in, .csv and .npy out)
    "imageio",
    "PIL",
    "zarr",
    "dask",
    "matplotlib",
    "sklearn",
    "pandas",  # a quarter of a second: the detectors' tables are numpy columns
)


def _lattice(shape=(96, 96), spacing=8.0, width=1.5) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    image = np.zeros(shape, dtype=np.float32)
    for r in np.arange(4.0, shape[0], spacing):
        for c in np.arange(4.0, shape[1], spacing):
            image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * width**2))
    return image + np.random.default_rng(0).normal(0, 0.05, shape).astype(np.float32)


def _discs(shape=(128, 128)) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape, dtype=np.float32)
    for r, c in ((30, 30), (30, 90), (90, 30), (90, 90), (60, 60)):
        image[(rows - r) ** 2 + (cols - c) ** 2 <= 36] = 1.0
    return image + np.random.default_rng(1).normal(0, 0.1, shape).astype(np.float32)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("detect_imports")
    atoms, particles = folder / "atoms.npy", folder / "particles.npy"
    np.save(atoms, _lattice())
    np.save(particles, _discs())
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(atoms), str(particles)],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_detect_imports_no_model_gui_or_other_reader(loaded):
    bad = sorted(m for m in loaded if m.split(".")[0] in NOT_FOR_DETECT)
    assert bad == []


def test_detect_imports_no_other_sub_command(loaded):
    from napari_ivae.cli import _COMMAND_MODULES

    others = {f"napari_ivae.cli._{name}" for name in _COMMAND_MODULES if name != "detect"}
    assert sorted(loaded & others) == []  # before: napari_ivae.cli._patches, for one check
    assert not [
        m for m in loaded if m.startswith(("napari_ivae.core.patches", "napari_ivae.core.models"))
    ]


def test_reading_an_image_imports_no_pandas(tmp_path):
    # pandas (a third of a second) is for point tables: the napari reader and every command
    # that reads an image import imageio
    image = tmp_path / "frame.npy"
    np.save(image, np.zeros((4, 4), dtype=np.float32))
    code = (
        "import sys\n"
        "from napari_ivae.core.io.imageio import read_image\n"
        f"read_image({str(image)!r}, mmap=True)\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_point_tables_still_importable_from_imageio():
    from napari_ivae.core.io import imageio, points_csv

    assert imageio.write_points_csv is points_csv.write_points_csv
    assert imageio.read_points_csv is points_csv.read_points_csv
    with pytest.raises(AttributeError):
        imageio.no_such_name  # noqa: B018
