"""merge_groups on rods through noise: blobs far apart along one rod (where the blobs between
were not kept) are one particle, and so are blobs whose segment dips by noise alone; two
touching discs under the same noise stay two."""

import numpy as np
import pytest

from napari_ivae.core.detection import particle_merge

SHAPE = (160, 320)
HALF_WIDTH = 6.0


def _rod(cols, row=80.0):
    """A bright capsule (height 40) along ``row`` from ``cols[0]`` to ``cols[1]``."""
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(np.float64)
    along = np.clip(cc, cols[0], cols[1])
    distance = np.hypot(rr - row, cc - along)
    return 40.0 * np.sqrt(np.clip(1.0 - (distance / HALF_WIDTH) ** 2, 0.0, 1.0))


def _groups(frame, points):
    radius = np.full(len(points), HALF_WIDTH)
    return particle_merge.merge_groups(frame, np.asarray(points), radius)


def _pitted_rod(noise, seed=0):
    """A clean rod (height 40) with a pit 3 deep (7.5 %) midway; white noise of sigma ``noise``
    on the background only, where merge_groups reads the frame's noise."""
    rod = _rod((60, 140))
    rod *= 1.0 - 0.075 * np.exp(-(((np.arange(SHAPE[1]) - 100.0) / 3.0) ** 2))[None, :]
    background = noise * np.random.default_rng(seed).standard_normal(SHAPE)
    return np.where(rod > 0, rod, background)


@pytest.mark.parametrize("seed", range(3))
def test_a_pit_within_the_frames_noise_is_no_contact(seed):
    # 50 px apart (a 38 px gap between the discs): the noise's lowest over the gap is about
    # 2.2 sigmas, more than the pit where the background's noise is 14 (before: split)
    groups = _groups(_pitted_rod(14.0, seed), [(80, 75), (80, 125)])
    assert groups[0] == groups[1]


@pytest.mark.parametrize("seed", range(3))
def test_the_same_pit_on_a_quiet_frame_is_a_contact(seed):
    groups = _groups(_pitted_rod(0.5, seed), [(80, 75), (80, 125)])
    assert groups[0] != groups[1]


@pytest.mark.parametrize("seed", range(3))
def test_overlapping_discs_get_no_noise_allowance(seed):
    # discs of radius 8 and 10, 10 px apart, a shallow dip between them: no gap, no allowance
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(np.float64)
    discs = [
        40.0 * np.sqrt(np.clip(1.0 - (np.hypot(rr - 80.0, cc - c) / r) ** 2, 0.0, 1.0))
        for c, r in ((150.0, 8.0), (160.0, 10.0))
    ]
    shape = np.maximum(discs[0], discs[1])
    background = 14.0 * np.random.default_rng(seed).standard_normal(SHAPE)
    frame = np.where(shape > 0, shape, background)
    radius = np.array([8.0, 10.0])
    groups = particle_merge.merge_groups(frame, np.array([(80, 150), (80, 160)]), radius)
    assert groups[0] != groups[1]


def test_blobs_far_apart_on_one_rod_are_one_particle():
    frame = _rod((40, 280)) + 0.5 * np.random.default_rng(0).standard_normal(SHAPE)
    # 44 px apart: 3.7 x the sum of the radii
    groups = _groups(frame, [(80, 50), (80, 94), (80, 138), (80, 182), (80, 226), (80, 270)])
    assert len(set(groups.tolist())) == 1


@pytest.mark.parametrize("seed", range(3))
def test_touching_discs_under_the_same_noise_stay_two(seed):
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(np.float64)
    discs = sum(
        40.0 * np.sqrt(np.clip(1.0 - (np.hypot(rr - 80.0, cc - c) / 7.0) ** 2, 0.0, 1.0))
        for c in (150.0, 162.0)
    )
    frame = np.minimum(discs, 40.0) + 10.0 * np.random.default_rng(seed).standard_normal(SHAPE)
    groups = _groups(frame, [(80, 150), (80, 162)])
    assert groups[0] != groups[1]


def test_separate_discs_in_a_row_within_the_reach_stay_apart():
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(np.float64)
    cols = (60.0, 104.0, 148.0, 192.0)  # 44 px apart: within the reach, background between
    discs = sum(
        40.0 * np.sqrt(np.clip(1.0 - (np.hypot(rr - 80.0, cc - c) / HALF_WIDTH) ** 2, 0.0, 1.0))
        for c in cols
    )
    frame = discs + 0.5 * np.random.default_rng(0).standard_normal(SHAPE)
    groups = _groups(frame, [(80, int(c)) for c in cols])
    assert len(set(groups.tolist())) == len(cols)


def test_passing_levels_with_a_noise_slack_are_those_of_each_pair():
    rng = np.random.default_rng(2)
    steps = rng.integers(2, 40, 500)
    along = (100.0 + 20.0 * rng.standard_normal(int(steps.sum()))).astype(np.float32)
    starts = np.concatenate([[0], np.cumsum(steps)[:-1]])
    slack = rng.uniform(0.0, 30.0, len(steps))
    levels = particle_merge._highest_passing_levels(along, starts, steps, slack)
    level, alike = particle_merge.LEVEL, particle_merge.ALIKE_HEIGHT
    for k, (start, count) in enumerate(zip(starts, steps)):
        segment = along[start : start + count]
        ends = float(min(segment[0], segment[-1]))
        higher = float(max(segment[0], segment[-1]))
        lowest = float(segment.min())
        no_dip = ends if lowest >= ends - slack[k] else (lowest - level * ends) / (1.0 - level)
        bound = min(ends, no_dip, (ends - alike * higher) / (1.0 - alike))
        margin = 1e-4 * (abs(ends) + abs(higher) + abs(lowest)) + 1e-30
        assert levels[k] == bound + margin, k
