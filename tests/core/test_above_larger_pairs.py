"""above_larger: the nested pairs found all at once judge as the blobs found one by one."""

import numpy as np

from napari_ivae.core.detection import particle_surround
from napari_ivae.core.detection.particle_surround import NESTED_RATIO


def _nested_one_by_one(points, radius, count):
    """Per blob (of the first ``count``), the larger blobs whose radius holds its centre."""
    nested = []
    for index in range(count):
        distance = np.hypot(*(points - points[index]).T)
        larger = np.flatnonzero((radius >= NESTED_RATIO * radius[index]) & (distance <= radius))
        if len(larger):
            nested.append(index)
    return nested


def test_above_larger_judges_exactly_the_blobs_nested_in_a_larger_one():
    rng = np.random.default_rng(11)
    signal = rng.standard_normal((160, 160)).astype(np.float32)
    for case in range(12):
        count = int(rng.integers(2, 120))
        points = np.column_stack([rng.integers(0, 160, count), rng.integers(0, 160, count)])
        sigma = rng.choice([1.0, 2.0, 3.5, 6.0, 12.0], count)
        aggregates = (np.array([[80, 80], [20, 140]]), np.array([30.0, 25.0]))
        keep = particle_surround.above_larger(signal, points, sigma, aggregates, 0.5)
        every_point = np.concatenate([points, aggregates[0]])
        radius = np.sqrt(2.0) * np.concatenate([sigma, aggregates[1]])
        nested = _nested_one_by_one(every_point, radius, count)
        # a blob no larger one holds is never dropped; the nested ones are judged
        assert keep[np.setdiff1d(np.arange(count), nested)].all()
        if case == 0:
            assert nested and not keep[nested].all()  # noise does not stand above an interior


def test_each_blob_is_judged_as_when_it_is_judged_alone():
    # the pairs from each blob's own radius (not the largest one's) judge the same blobs
    rng = np.random.default_rng(5)
    signal = rng.standard_normal((160, 160)).astype(np.float32)
    signal[60:100, 60:100] += 3.0  # an interior some nested blobs stand above
    count = 90
    points = np.column_stack([rng.integers(0, 160, count), rng.integers(0, 160, count)])
    sigma = rng.choice([1.0, 2.0, 3.5, 6.0, 12.0], count)
    aggregates = (np.array([[80, 80], [20, 140]]), np.array([30.0, 25.0]))
    keep = particle_surround.above_larger(signal, points, sigma, aggregates)
    assert not keep.all() and keep.any()
    for index in range(count):
        rest = np.delete(np.arange(count), index)
        judges = (
            np.concatenate([points[rest], aggregates[0]]),
            np.concatenate([sigma[rest], aggregates[1]]),
        )
        alone = particle_surround.above_larger(
            signal, points[index : index + 1], sigma[index : index + 1], judges
        )
        assert alone[0] == keep[index]
