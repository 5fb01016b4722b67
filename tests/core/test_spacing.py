"""estimate_spacing on synthetic lattices of several spacings, types and rotations."""

import numpy as np
import pytest

from napari_ivae.core.detection.spacing import estimate_spacing
from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.lattice import make_lattice


@pytest.mark.parametrize("spacing", [7.0, 12.0, 19.5])
@pytest.mark.parametrize(
    "lattice, rotation", [("square", 0.0), ("square", 27.0), ("hexagonal", 11.0)]
)
def test_spacing_within_two_percent(spacing, lattice, rotation):
    image = make_lattice(
        (256, 256), spacing=spacing, lattice=lattice, rotation=rotation, noise=0.2, seed=2
    ).image
    assert estimate_spacing(image) == pytest.approx(spacing, rel=0.02)


def test_spacing_ignores_slow_background():
    lattice = make_lattice((200, 200), spacing=10.0, seed=0).image
    rows, cols = np.indices(lattice.shape)
    assert estimate_spacing(lattice + 0.02 * rows + 0.01 * cols) == pytest.approx(10.0, rel=0.02)


def test_no_lattice_and_bad_input():
    with pytest.raises(InputError):
        estimate_spacing(np.random.default_rng(0).random((128, 128)))
    with pytest.raises(InputError, match="2D"):
        estimate_spacing(np.zeros((3, 32, 32)))
    with pytest.raises(InputError, match="too small"):
        estimate_spacing(np.zeros((10, 10)))


def test_large_image_uses_central_crop_and_finds_spacing():
    from napari_ivae.core.detection.spacing import MAX_SIDE

    image = make_lattice((MAX_SIDE + 100, MAX_SIDE + 60), spacing=9.0, seed=1).image
    spacing, details = estimate_spacing(image, return_details=True)
    assert spacing == pytest.approx(9.0, rel=0.02)
    # lags searched only up to the crop's sixth (x 1.2), not the full image's
    assert np.hypot(*details["all_vectors"].T).max() <= MAX_SIDE / 6 * 1.2
