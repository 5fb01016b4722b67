"""detect_particles on synthetic discs: counts, watershed split, border, mask, LoG, polarity."""

from pathlib import Path

import numpy as np
import pytest

from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.errors import InputError

SHARED = Path(__file__).parents[2] / ".." / "shared" / "data"


def _discs(centres, radius=10, shape=(160, 160), noise=0.05, seed=0):
    rows, cols = np.indices(shape)
    image = np.zeros(shape)
    for r, c in centres:
        image[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = 1.0
    return image + np.random.default_rng(seed).normal(0, noise, shape)


ISOLATED = [(30, 30), (30, 100), (100, 40)]
TOUCHING = [(110, 100), (110, 119)]  # overlapping discs, one blob before the watershed


def test_counts_and_watershed_split():
    image = _discs(ISOLATED + TOUCHING)
    detections = detect_particles(image)
    assert len(detections) == 5
    assert detections.labels.shape == image.shape and detections.labels.max() == 5
    found = detections.coords[:, 1:]
    for centre in ISOLATED + TOUCHING:
        assert np.hypot(*(found - centre).T).min() < 2.0
    assert len(detect_particles(image, method="otsu", split=False)) == 4
    row = detections.properties.iloc[0]
    assert {"area", "equivalent_diameter", "eccentricity", "orientation", "mean_intensity"} <= set(
        detections.properties
    )
    assert row["equivalent_diameter"] == pytest.approx(20.0, rel=0.15)


def test_border_objects_dropped_unless_kept():
    image = _discs(ISOLATED + [(0, 80)])
    assert len(detect_particles(image)) == 3
    assert len(detect_particles(image, exclude_border=False)) == 4


def test_exclude_mask_removes_scale_bar():
    image = _discs(ISOLATED)
    image[140:148, 20:90] = 1.0  # burned-in scale bar
    with_bar = detect_particles(image)
    assert len(with_bar) > 3
    mask = np.zeros(image.shape, dtype=bool)
    mask[135:152, 15:95] = True
    assert len(detect_particles(image, exclude=mask)) == 3
    with pytest.raises(InputError, match="exclude mask"):
        detect_particles(image, exclude=np.zeros((3, 3), bool))


@pytest.mark.parametrize("method", ["li", "local", "log"])
def test_other_methods(method):
    image = _discs(ISOLATED, radius=6)
    detections = detect_particles(image, method=method, max_sigma=8.0)
    assert len(detections) == 3
    found = detections.coords[:, 1:]
    for centre in ISOLATED:
        assert np.hypot(*(found - centre).T).min() < 2.0


def test_dark_particles_and_empty_result():
    image = 1.0 - _discs(ISOLATED)
    assert len(detect_particles(image, polarity="dark")) == 3
    noise_only = np.random.default_rng(0).normal(0, 1, (64, 64))
    empty = detect_particles(noise_only, min_size=500)
    assert len(empty) == 0 and "No particles" in empty.message
    assert empty.labels.shape == (64, 64) and empty.labels.max() == 0


def test_stack_and_bad_arguments():
    stack = np.stack([_discs(ISOLATED, seed=s) for s in range(2)])
    detections = detect_particles(stack, frame_axis=0)
    assert detections.labels.shape == stack.shape
    assert np.bincount(detections.coords[:, 0].astype(int)).tolist() == [3, 3]
    with pytest.raises(InputError, match="method"):
        detect_particles(stack, method="magic")
    with pytest.raises(InputError, match="polarity"):
        detect_particles(stack, polarity="grey")


@pytest.mark.shared_data
def test_real_particle_images_if_available():
    path = SHARED / "particles" / "tem_np_ericzqu" / "exp.npy"
    if not path.exists():
        pytest.skip("../shared/data not available")
    detections = detect_particles(np.load(path), polarity="dark")
    assert 20 < len(detections) < 80


def test_group_medians_equal_numpy_median_per_group():
    from napari_ivae.core.detection._medians import _group_medians

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        values = rng.random(n).astype(np.float32)
        groups = rng.integers(0, 8, n)
        expected = np.array([np.median(values[groups == k]) for k in np.unique(groups)])
        got = _group_medians(values, groups)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
