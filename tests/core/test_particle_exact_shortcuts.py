"""The vectorised forms of merge_groups' and beside_kept's steps give bit for bit what their
pair-by-pair (point-by-point) plain forms give."""

import itertools

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection import particle_merge, particle_profiles


def test_segments_are_those_of_linspace():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 500, (300, 2)).astype(np.float64)
    b = rng.integers(0, 500, (300, 2)).astype(np.float64)
    steps = np.maximum(2, np.ceil(np.linalg.norm(b - a, axis=1)).astype(int) + 1)
    lines, starts = particle_merge._segments(a, b, steps)
    for k in range(len(a)):
        plain = a[k][None] + np.linspace(0.0, 1.0, steps[k])[:, None] * (b[k] - a[k])[None]
        assert np.array_equal(lines[starts[k] : starts[k] + steps[k]], plain), k


def _plain_level(along):
    ends = float(min(along[0], along[-1]))
    higher = float(max(along[0], along[-1]))
    lowest = float(along.min())
    bound = min(
        ends,
        (lowest - particle_merge.LEVEL * ends) / (1.0 - particle_merge.LEVEL),
        (ends - particle_merge.ALIKE_HEIGHT * higher) / (1.0 - particle_merge.ALIKE_HEIGHT),
    )
    return bound + 1e-4 * (abs(ends) + abs(higher) + abs(lowest)) + 1e-30


def test_passing_levels_are_those_of_each_pair():
    rng = np.random.default_rng(1)
    steps = rng.integers(2, 40, 500)
    along = (100.0 + 20.0 * rng.standard_normal(int(steps.sum()))).astype(np.float32)
    starts = np.concatenate([[0], np.cumsum(steps)[:-1]])
    levels = particle_merge._highest_passing_levels(along, starts, steps)
    plain = [_plain_level(along[s : s + n]) for s, n in zip(starts, steps)]
    assert np.array_equal(levels, np.array(plain))


@pytest.mark.parametrize("seed", range(3))
def test_maxima_among_are_those_of_a_maximum_filter(seed):
    rng = np.random.default_rng(seed)
    # few levels: many ties, between neighbours too; maxima on every face and corner
    values = rng.integers(0, 6, (4, 30, 41)).astype(np.float32)
    found = np.argwhere(values >= 3)
    padded = np.pad(values, 1, constant_values=-np.inf)
    highest = ndimage.maximum_filter(padded, size=3)[1:-1, 1:-1, 1:-1]
    plain = found[values[tuple(found.T)] >= highest[tuple(found.T)]]
    kept, value = particle_profiles._maxima_among(values, found)
    assert np.array_equal(kept, plain)
    assert np.array_equal(value, values[tuple(plain.T)])


@pytest.mark.parametrize("seed", range(3))
def test_kept_near_and_nearest_rims_are_those_over_every_pair(seed):
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 200, (120, 2))
    radius = np.sqrt(2.0) * rng.choice([1.5, 2.5, 4.0, 9.0], len(points))  # ties of gaps
    reach = np.ceil(particle_profiles.PROFILE_REACH * radius)
    found = rng.integers(0, 200, (400, 2))
    distance = np.hypot(*(found[:, None] - points[None]).transpose(2, 0, 1))
    pairs, near = particle_profiles._kept_near(found, points, radius, reach)
    assert np.array_equal(near, distance[pairs[:, 0], pairs[:, 1]])
    within = np.argwhere(distance <= reach[None])  # every pair within reach is listed
    listed = set(map(tuple, pairs.tolist()))
    assert all(tuple(pair) in listed for pair in within.tolist())
    host = particle_profiles._nearest_rims(pairs, near - radius[pairs[:, 1]], len(found))
    assert np.array_equal(host, np.argmin(distance - radius[None], axis=1))


def _plain_beside_kept(residual, model, scales, points, sigma, cuts, skip):
    """beside_kept over every pair, with a padded copy (its form before the shortcuts)."""
    shape = residual.shape[1:]
    found = np.argwhere(
        (residual >= cuts.astype(np.float32)[:, None, None])
        & (model <= -particle_profiles.HIDDEN * cuts.astype(np.float32)[:, None, None])
    )
    found = found[~skip[found[:, 1], found[:, 2]]]
    padded = np.pad(residual, 1, constant_values=-np.inf)
    value = residual[tuple(found.T)]
    for step in itertools.product((-1, 0, 1), repeat=3):
        if any(step):
            stands = value >= padded[tuple((found + 1 + np.array(step)).T)]
            found, value = found[stands], value[stands]
    kept_radius = np.sqrt(2.0) * sigma
    distance = np.hypot(*(found[:, None, 1:] - points[None]).transpose(2, 0, 1))
    host = points[np.argmin(distance - kept_radius[None], axis=1)]
    mirror = np.clip(2 * host - found[:, 1:], 0, np.array(shape) - 1)
    twin = np.full(len(found), -np.inf, dtype=np.float32)
    for step in itertools.product((-1, 0, 1), repeat=2):
        twin = np.maximum(
            twin, padded[found[:, 0] + 1, mirror[:, 0] + 1 + step[0], mirror[:, 1] + 1 + step[1]]
        )
    one_sided = twin < cuts[found[:, 0]]
    found, value, distance = found[one_sided], value[one_sided], distance[one_sided]
    reach = np.ceil(particle_profiles.PROFILE_REACH * kept_radius)
    near = distance <= reach[None]
    bar = np.zeros(len(found))
    for blob in np.flatnonzero(near.any(axis=0)):
        area, _, _ = particle_profiles._around(points[blob], int(reach[blob]), shape)
        misfit = -residual[:, area[0], area[1]].min(axis=(1, 2))
        close = near[:, blob]
        bar[close] = np.maximum(bar[close], misfit[found[close, 0]])
    above = value > bar
    return found[above, 1:], scales[found[above, 0]], value[above].astype(np.float64)


@pytest.mark.parametrize("seed", range(3))
def test_beside_kept_is_its_plain_form(seed):
    rng = np.random.default_rng(seed)
    shape = (3, 90, 110)
    residual = ndimage.gaussian_filter(rng.standard_normal(shape), (0, 2, 2)).astype(np.float32)
    model = ndimage.gaussian_filter(rng.standard_normal(shape), (0, 3, 3)).astype(np.float32)
    scales = np.array([1.5, 2.1, 3.0])
    points = rng.integers(0, 90, (25, 2))
    sigma = rng.choice(scales, len(points))
    cuts = np.full(3, 0.05)
    skip = np.zeros(shape[1:], dtype=bool)
    skip[:, :6] = True
    fast = particle_profiles.beside_kept(residual, model, scales, points, sigma, cuts, skip)
    plain = _plain_beside_kept(residual, model, scales, points, sigma, cuts, skip)
    assert len(plain[0]) > 3
    for got, want in zip(fast, plain):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("seed", range(4))
def test_ring_ordered_is_the_stable_sort_of_its_keys(seed):
    rng = np.random.default_rng(seed)
    rows, columns, rings = 9, 37 * 37, 18
    # few distinct values (ties), a share clipped to the top of their ring, -0.0 among them
    values = rng.integers(0, 40, (rows, columns)).astype(np.float32)
    ring = rng.integers(0, rings, (rows, columns))
    valid = rng.random((rows, columns)) < 0.8
    low = values.min(axis=1, keepdims=True)
    span = values.max(axis=1, keepdims=True) - low
    unit = np.clip((values - low) / span, 0.0, 0.999)
    unit[:, ::13] = np.float32(0.999)
    unit[:, 5::17] = np.float32(-0.0)
    key = np.where(valid, ring + unit, rings + 1.0)
    stable = np.take_along_axis(values, np.argsort(key, axis=1, kind="stable"), axis=1)
    ordered = particle_profiles._ring_ordered(values, valid, ring, rings, unit)
    counted = np.sort(key, axis=1) < rings + 1.0
    assert np.array_equal(ordered[counted], stable[counted])
    # a NaN: the plain stable sort
    unit[0, 3] = np.nan
    ordered = particle_profiles._ring_ordered(values, valid, ring, rings, unit)
    plain = particle_profiles._stably_ordered(
        values, np.where(valid, ring + unit, rings + 1.0), rings + 1.0
    )
    assert np.array_equal(ordered, plain, equal_nan=True)


def _two_gaussians_on_columns(values, iterations=100):
    """particle_threshold._two_gaussians as first written: the EM on (N, 2) arrays."""
    means = np.array([np.median(values), np.percentile(values, 97)])
    sds = np.full(2, max(values.std() / 2.0, 1e-6))
    weights = np.array([0.9, 0.1])
    for _ in range(iterations):
        density = weights / sds * np.exp(-0.5 * ((values[:, None] - means) / sds) ** 2) + 1e-300
        share = density / density.sum(axis=1, keepdims=True)
        total = share.sum(axis=0) + 1e-12
        weights = total / len(values)
        means = (share * values[:, None]).sum(axis=0) / total
        sds = np.sqrt((share * (values[:, None] - means) ** 2).sum(axis=0) / total) + 1e-6
    order = np.argsort(means)
    return means[order], sds[order], weights[order]


def test_two_gaussians_per_component_equals_the_column_form():
    from napari_ivae.core.detection.particle_threshold import _two_gaussians

    rng = np.random.default_rng(5)
    for size in (50, 3_000, 40_000):
        values = np.concatenate(
            [rng.normal(0.0, 1.0, size), rng.normal(3.0, 0.5, size // 10), np.zeros(size // 20)]
        )
        for fast, plain in zip(_two_gaussians(values), _two_gaussians_on_columns(values)):
            assert np.array_equal(fast, plain)


@pytest.mark.parametrize("seed", range(3))
def test_ring_medians_of_the_kept_pixels_with_the_squares_range_are_the_whole_squares(seed):
    # profile_model's last step reads only the pixels that can be valid, with the value range
    # of the whole square (the sort's key and so its ties depend on it): the same medians
    rng = np.random.default_rng(seed)
    rows, side, rings = 7, 25, 12
    values = rng.integers(0, 30, (rows, side * side)).astype(np.float32)
    values[:, ::11] = 29.0  # ties clipped to the top of their ring
    grid_y, grid_x = np.divmod(np.arange(side * side), side)
    distance = np.broadcast_to(np.hypot(grid_y - 12.0, grid_x - 12.0), values.shape)
    valid = (distance <= 11.2) & (rng.random(values.shape) < 0.9)
    ring = np.minimum(distance.astype(np.int64), rings - 1)
    outside = distance >= 6.0
    whole = particle_profiles._ring_medians(values, valid, ring, rings, outside)
    keep = np.flatnonzero(distance[0] <= 12.2)
    assert len(keep) < side * side and not valid[:, distance[0] > 12.2].any()
    bounds = values.min(axis=1), values.max(axis=1)
    values[:, distance[0] > 12.2] = -5.0  # the range is the caller's, not these pixels'
    part = particle_profiles._ring_medians(
        values[:, keep], valid[:, keep], ring[:, keep], rings, outside[:, keep], bounds
    )
    for got, want in zip(part, whole):
        assert np.array_equal(got, want, equal_nan=True)


def test_rings_are_the_clipped_ring_of_each_distance_and_leave_the_distances():
    from napari_ivae.core.detection.particle_profiles import _rings

    rng = np.random.default_rng(2)
    distance = rng.random((5, 49)) * 9.0
    before = distance.copy()
    expected = np.minimum(np.floor(distance).astype(np.int64), 6)
    assert np.array_equal(_rings(distance, 7, False), expected)
    whole = np.broadcast_to(distance[:1], distance.shape)
    assert np.array_equal(_rings(whole, 7, True), np.broadcast_to(expected[:1], distance.shape))
    assert np.array_equal(distance, before)
