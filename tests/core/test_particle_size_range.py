"""The searched scales cover the kept particles' size distribution:
core/detection/particle_size_range.py."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from napari_ivae.core.detection.particle_size_range import (
    apart_from,
    covered_blobs,
    piled_at_floor,
)
from napari_ivae.core.detection.particles import detect_particles


def _lognormal(seed: int, shape=(768, 768), count=160):
    """HAADF-like spheres with log-normal radii (median 7 px, clipped to 3-30): projected
    thickness on a smooth support, Poisson at 2 counts per unit of thickness. Returns the
    image, the centres and the radii."""
    rng = np.random.default_rng(seed)
    wanted = np.clip(rng.lognormal(np.log(7.0), 0.6, count), 3.0, 30.0)
    centres, radii = [], []
    for radius in wanted:
        for _ in range(60):
            point = rng.uniform(3.0, np.array(shape) - 3.0)
            if all(
                np.hypot(*(point - other)) >= 3.0 + radius + r for other, r in zip(centres, radii)
            ):
                centres.append(point)
                radii.append(radius)
                break
    rows, cols = np.indices(shape)
    thickness = np.zeros(shape)
    for (row, col), radius in zip(centres, radii):
        distance_sq = (rows - row) ** 2 + (cols - col) ** 2
        thickness += 2 * np.sqrt(np.clip(radius**2 - distance_sq, 0, None))
    support = ndimage.gaussian_filter(rng.standard_normal(shape), 2.0, mode="wrap")
    ideal = 0.3 * thickness + 1.0 + 0.3 * support / support.std()
    image = rng.poisson(np.clip(ndimage.gaussian_filter(ideal, 1.0) * 2.0, 0, None))
    return image.astype(np.float32), np.array(centres), np.array(radii)


def test_piled_at_floor_is_most_of_the_kept_at_the_floor():
    assert piled_at_floor([2.0] * 21 + [3.0] * 10 + [5.0] * 10, 2.0)
    assert not piled_at_floor([2.0] * 21 + [3.0] * 21, 2.0)  # half is not most
    assert not piled_at_floor([2.0] * 5 + [3.0], 2.0)  # a few noise blobs tell no distribution
    assert not piled_at_floor([3.0] * 30, 2.0)
    assert not piled_at_floor([], 2.0)


def test_apart_from():
    centres = np.array([[10.0, 10.0], [40.0, 40.0]])
    points = np.array([[10.0, 14.0], [10.0, 18.0], [40.0, 51.0], [80.0, 80.0]])
    radius = np.array([2.0, 2.0, 2.0, 2.0])
    apart = apart_from(points, radius, centres, np.array([5.0, 8.0]))
    assert apart.tolist() == [False, True, True, True]
    assert apart_from(points, radius, np.empty((0, 2)), np.empty(0)).all()


def test_lowered_search_only_adds_particles_below_the_first_floor():
    """The second search's particles at the first floor, overlapping a first one or on a ridge
    (not round) are not added; the first search's result is kept whole."""
    from napari_ivae.core.detection.particle_scale_space import blob_scales

    grid = blob_scales((256, 256))
    floor = grid[6]
    calls = []

    def kept_blobs(filled, masked, skip, requested, below=None):
        calls.append(below)
        if below is None:  # most at the floor: the distribution runs on below it
            points = np.array([[20, 20], [60, 60], [100, 100], [140, 140]])
            points = np.concatenate([points, np.column_stack([np.full(20, 250), np.arange(20)])])
            sigma = np.concatenate([[floor, floor, floor, grid[8]], np.full(20, floor)])
            keep = np.ones(len(points), dtype=bool)
        else:
            points = np.array([[20, 21], [200, 200], [60, 60], [220, 30], [230, 100]])
            sigma = np.array([grid[4], grid[4], floor, grid[5], grid[4]])
            keep = np.array([True, True, True, False, True])
        used = {"search_sigmas": [float(floor), float(grid[9])], "polarity": "bright"}
        return points, np.sqrt(2.0) * sigma, keep, False, used

    rows, cols = np.indices((256, 256))
    frame = np.exp(-((rows - 200.0) ** 2 + (cols - 200.0) ** 2) / (2 * grid[4] ** 2))
    frame += np.exp(-((rows - 230.0) ** 2) / (2 * grid[4] ** 2)) * (cols > 60) * (cols < 140)
    points, radius, keep, _, used = covered_blobs(kept_blobs, frame, None, None, "auto")
    assert len(calls) == 2 and calls[1][0] < floor / 1.9 and calls[1][1] == floor
    assert points[keep][:4].tolist() == [[20, 20], [60, 60], [100, 100], [140, 140]]
    assert points[keep][24:].tolist() == [[200, 200]]
    assert used["range_added"] == 1


def test_log_normal_sizes_small_particles_found():
    """Sizes over a decade: the large particles set the chosen scale, whose search floor lay
    X
    this frame). The lowered search finds most of them without false ones on the support."""
    image, centres, radii = _lognormal(5)
    found = detect_particles(image)
    points = np.asarray(found.coords, dtype=np.float64).reshape(-1, 3)[:, 1:]
    to_found, _ = cKDTree(points).query(centres)
    hit = to_found <= np.maximum(radii, 3.0)
    small = radii <= 3.5
    to_truth, index = cKDTree(centres).query(points)
    false = to_truth > np.maximum(radii[index], 3.0)
    assert hit[small].mean() >= 0.5
    assert false.sum() <= 0.05 * len(points)


def test_background_sides_ratio_reads_a_skewed_noise(monkeypatch):
    """The lowered scales' levels are raised by the particles' side's background maxima over
    the opposite side's, or by the counts' skew model, the lower of the two: counting noise
    at a few counts a pixel (a photomultiplier's dim background) reaches further on its
    particles' side; a symmetric noise gives 1."""
    from napari_ivae.core.detection.particle_scale_space import scale_space
    from napari_ivae.core.detection.particle_size_range import (
        background_maxima_levels,
        side_ratios,
    )

    rng = np.random.default_rng(3)
    scales = np.array([0.8, 1.0, 1.26])
    kept = np.array([[40, 40], [200, 200]])
    radius = np.array([3.0, 3.0])
    everywhere = np.ones((256, 256), dtype=bool)
    skewed = scale_space(rng.poisson(1.5, (256, 256)).astype(np.float32), scales)
    ratios = side_ratios(skewed, "bright", everywhere)
    assert np.all(ratios > 1.1)
    assert np.all(side_ratios(skewed, "dark", everywhere) < 1.0)  # its other side is shorter
    normal = scale_space((100.0 + 3.0 * rng.standard_normal((256, 256))).astype(np.float32), scales)
    np.testing.assert_allclose(side_ratios(normal, "bright", everywhere), 1.0, atol=0.05)
    # the skewed side's levels are the opposite side's scaled up
    from napari_ivae.core.detection import particle_size_range

    frame = rng.poisson(1.5, (256, 256)).astype(np.float32)
    skewed = scale_space(frame, scales)
    opposite = background_maxima_levels(skewed, "bright", kept, radius)
    high = background_maxima_levels(skewed, "bright", kept, radius, None, (scales, frame))
    assert np.all(high > opposite) and high[0] > 1.2 * opposite[0]
    # ... to the lower of the skew model's level and the ratio's
    monkeypatch.setattr(particle_size_range, "side_ratios", lambda r, p, b, *rest: np.ones(len(r)))
    assert np.allclose(
        background_maxima_levels(skewed, "bright", kept, radius, None, (scales, frame)), opposite
    )
