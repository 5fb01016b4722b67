"""Hot pixels and X-ray hits replaced before detection; the specimen's own extremes kept."""

import numpy as np
import pytest

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.io.image import prepare_image
from napari_ivae.core.io.outlier_pixels import replace_outlier_pixels
from napari_ivae.core.synthetic.lattice import make_lattice
from napari_ivae.core.synthetic.particles import make_particles


def _counts_lattice(seed=0):
    """A square lattice in raw detector counts (50-300), as a 16-bit camera gives it."""
    lattice = make_lattice((256, 256), spacing=12.0, dose=30, seed=seed)
    return 50.0 + 250.0 * lattice.image / lattice.image.max(), lattice


def test_one_saturated_pixel_no_longer_hides_the_lattice():
    image, lattice = _counts_lattice()
    clean = len(detect_atoms(image).coords)
    hot = image.copy()
    hot[100, 37] = 65535.0
    with pytest.warns(
        UserWarning, match="1 isolated extreme pixel .hot pixels or X-ray hits. was replaced"
    ):
        found = len(detect_atoms(hot).coords)
    assert clean > 300
    assert abs(found - clean) <= 2  # before: one atom found


def test_hot_pixels_pairs_and_a_cold_pixel_are_replaced_by_their_surroundings():
    image, _ = _counts_lattice()
    frame = image.copy()
    frame[10, 10] = 65535.0
    frame[50, 60:62] = 40000.0  # an X-ray hit over two pixels
    frame[200, 200] = -30000.0  # a dead pixel read far below the bulk
    assert replace_outlier_pixels(frame) == 4
    assert frame.max() <= image.max() and frame.min() >= image.min()
    untouched = np.ones(frame.shape, bool)
    untouched[10, 10] = untouched[50, 60:62] = untouched[200, 200] = False
    np.testing.assert_array_equal(frame[untouched], image[untouched])


def test_a_very_bright_but_smooth_spot_is_the_image_and_is_kept():
    yy, xx = np.mgrid[:128, :128]
    rng = np.random.default_rng(1)
    frame = 100 + rng.normal(0, 5, (128, 128))
    frame += 20000 * np.exp(-((yy - 64.0) ** 2 + (xx - 40.0) ** 2) / (2 * 1.5**2))
    before = frame.copy()
    assert replace_outlier_pixels(frame) == 0
    np.testing.assert_array_equal(frame, before)


def test_low_dose_shot_noise_is_not_taken_for_hot_pixels():
    for dose in (0.1, 0.5, 3.0):
        frame = make_lattice((512, 512), spacing=17.5, lattice="honeycomb", dose=dose).image
        frame = frame.astype(np.float64)
        assert replace_outlier_pixels(frame.copy()) == 0, dose


def test_particles_with_a_hot_pixel_are_found_as_without():
    scene = make_particles((384, 384), count=40, radius=6, polarity="bright", seed=3)
    image = 1000 + 3000 * scene.image
    clean = len(detect_particles(image).coords)
    hot = image.copy()
    hot[5::97, 7::89] = 65535.0
    with pytest.warns(
        UserWarning, match="isolated extreme pixels .hot pixels or X-ray hits. were replaced"
    ):
        found = len(detect_particles(hot).coords)
    assert abs(found - clean) <= 1


def test_prepare_image_reports_the_count():
    image, _ = _counts_lattice()
    image[3, 3] = 1e6
    report: dict = {}
    with pytest.warns(UserWarning):
        prepare_image(image, report=report)
    assert report["outliers_replaced"] == 1
