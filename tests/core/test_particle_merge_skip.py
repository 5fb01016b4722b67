"""merge_groups' shortcut (a pair whose background level is certainly above what the no-dip and
alike-heights tests allow is skipped before the median) leaves the groups as the full tests."""

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection import particle_merge


def _scene(seed, shape=(220, 220)):
    """Rods along rows of blobs, touching and lone spheres (dark on bright, counts), as a
    polarity-positive frame with the blobs' points and radii (a model of its own)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape, dtype=np.float64)
    thickness = np.zeros(shape)
    points, radii = [], []
    for row in (40, 110, 180):
        col0 = rng.uniform(30, 60)
        # a rod: a row of 3 blobs of its width
        thickness += 2 * np.sqrt(
            np.clip(
                25.0 - (rows - row) ** 2 - np.clip(np.abs(cols - col0 - 14) - 14, 0, None) ** 2,
                0,
                None,
            )
        )
        points += [(row, col0), (row, col0 + 14), (row, col0 + 28)]
        radii += [5.0, 5.0, 5.0]
        # two touching spheres and a lone one
        for col, radius in ((130, 7.0), (142, 6.0), (190, rng.uniform(5, 8))):
            thickness += 2 * np.sqrt(
                np.clip(radius**2 - (rows - row) ** 2 - (cols - col) ** 2, 0, None)
            )
            points.append((row, col))
            radii.append(radius)
    frame = rng.poisson(ndimage.gaussian_filter(60 * np.exp(-thickness / 12.0), 0.7))
    return -frame.astype(np.float32), np.round(points).astype(int), np.array(radii)


def test_shortcut_keeps_the_groups_of_the_full_tests(monkeypatch):
    for seed in range(4):
        signal, points, radii = _scene(seed)
        fast = particle_merge.merge_groups(signal, points, radii)
        monkeypatch.setattr(particle_merge, "_count_above", lambda window, bound, size: False)
        full = particle_merge.merge_groups(signal, points, radii)
        monkeypatch.undo()
        assert np.array_equal(fast, full), seed
        assert fast.max() + 1 < len(points), seed  # some pairs did merge (the rods)


def test_no_passing_pair_lies_above_its_bound():
    # the bound is the highest level at which both tests can pass: just below it they pass
    along = np.array([10.0, 9.8, 9.9, 10.0], dtype=np.float32)
    bound = particle_merge._highest_passing_levels(along, np.array([0]), np.array([4]))[0]
    level = np.float32(bound - 0.1)
    height = along - level
    ends = min(height[0], height[-1])
    assert ends > 0 and height.min() >= particle_merge.LEVEL * ends
    # and at a median above the bound the tests fail
    level = np.float32(bound + 0.5)
    height = along - level
    ends = min(height[0], height[-1])
    assert not (ends > 0 and height.min() >= particle_merge.LEVEL * ends)
    # the median of the background (pixels in a disc are +inf: not counted) against a bound
    window = np.array([[1.0, np.inf], [2.0, 3.0]])
    assert particle_merge._count_above(window, 1.5, 3)
    assert not particle_merge._count_above(window, 2.0, 3)
