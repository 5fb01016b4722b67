"""The transforms of benchmarks/real_variants.py: each variant's references still sit on what
they mark, the stored kinds are what they say, and the benchmark skips without ../shared."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import ndimage

from tests.core._scripts import ROOT, load_script

sys.path.insert(0, str(ROOT / "benchmarks"))
import real_variant_transforms as transforms  # noqa: E402


def _blobs(shape=(96, 120)):
    """Gaussian spots (sigma 3 px) at off-grid positions, and the positions."""
    points = np.array([[20.3, 30.7], [60.6, 85.2], [35.1, 50.4], [15.4, 95.8], [75.2, 20.6]])
    rows, cols = np.indices(shape, dtype=float)
    image = sum(np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 18.0) for r, c in points)
    return 10.0 + 100.0 * image, points


def _centroid(image, point, radius):
    """Centre of mass of the spot near ``point`` (above its window's median)."""
    r, c = np.round(point).astype(int)
    k = int(np.ceil(radius))
    window = image[max(r - k, 0) : r + k + 1, max(c - k, 0) : c + k + 1]
    weight = np.clip(window - np.median(window), 0, None)
    centre = ndimage.center_of_mass(weight)
    return np.array(centre) + [max(r - k, 0), max(c - k, 0)]


@pytest.mark.parametrize("name", [n for n in transforms.VARIANTS if n not in ("dose1/4",)])
def test_references_follow_each_transform(name):
    image, points = _blobs()
    variant = transforms.VARIANTS[name][0](image, points)
    picture = variant.image.astype(float)
    if picture.ndim == 3:  # RGB
        picture = picture.mean(axis=2)
    if name == "inverted":
        picture = -picture
    keep = np.ones(len(points), bool) if variant.keep is None else variant.keep
    assert keep.any()
    for point in variant.points[keep]:
        found = _centroid(picture, point, 2.5 * 3 * variant.scale)
        assert np.hypot(*(found - point)) < 0.35 * max(variant.scale, 1), (name, point, found)


def test_binning_is_area_averaging():
    image = np.arange(256, dtype=float).reshape(16, 16) ** 1.5
    variant = transforms.binned(image, np.zeros((0, 2)), 0.5)
    assert np.allclose(variant.image, image.reshape(8, 2, 8, 2).mean(axis=(1, 3)))
    weights = transforms.area_matrix(10, 7)
    assert np.allclose(weights.sum(axis=1), 1) and np.allclose(weights.sum(axis=0), 0.7)


def test_lower_dose_quadruples_the_noise_variance_of_poisson_counts():
    rng = np.random.default_rng(3)
    counts = rng.poisson(np.full((200, 200), 40.0))
    image = 2.5 * counts + 300.0  # gain 2.5 per count on a dark level of 300
    variant = transforms.lower_dose(image, np.zeros((0, 2)), rng=np.random.default_rng(4))
    ratio = (transforms.white_noise(variant.image) / transforms.white_noise(image)) ** 2
    assert 3.0 < ratio < 5.0
    assert abs(variant.image.mean() / image.mean() - 1) < 0.02


def test_stored_kinds():
    image, points = _blobs()
    assert transforms.eight_bit(image, points).image.dtype == np.uint8
    sixteen = transforms.sixteen_bit(image, points).image
    assert sixteen.dtype == np.uint16 and sixteen.min() == transforms.OFFSET_16BIT
    jpeg = transforms.jpeg(image, points)
    assert jpeg.encoded[:3] == b"\xff\xd8\xff" and jpeg.image.shape == image.shape


def test_scale_bar_hides_the_references_under_it():
    image, _ = _blobs((200, 200))
    mask = transforms.scale_bar_mask(image.shape)
    rows, cols = np.nonzero(mask)
    under = np.array([[rows[cols == cols.max()].mean(), cols.max() - 2.0]])  # the bar's end
    variant = transforms.scale_bar(image, np.vstack([under, [[20.0, 20.0]]]))
    assert list(variant.keep) == [False, True]
    assert (variant.image[mask] == 255).all()
    # the label: more than one piece of text above the bar
    assert ndimage.label(mask)[1] >= 4


def test_rotation_crop_holds_no_padding():
    variant = transforms.rotated(np.ones((150, 200)), np.zeros((0, 2)))
    assert variant.image.min() > 0.99


def test_benchmark_skips_without_shared(tmp_path, capsys):
    bench = load_script("benchmarks/real_variants.py", "real_variants")
    bench.SCOREBOARD = tmp_path / "absent.py"
    assert bench.main(["--variants", "x1"]) == 0
    assert "skipped" in capsys.readouterr().out
