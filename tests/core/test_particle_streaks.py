"""particle_streaks.on_scan_streaks: a faint maximum on a streak along the rows that leads
to a kept particle (SEM charging) is marked; a faint particle of any other shape is not."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_streaks import on_scan_streaks, without_streaks

RADIUS = 5.66  # the faint pass's radius for kept particles of blob radius ~8


def _frame(seed=0):
    """Counts (~25 a pixel) with two kept spheres (r 12) at (60, 60) and (200, 200)."""
    rows, cols = np.mgrid[:256, :320]
    ideal = np.full(rows.shape, 25.0)
    for r, c in ((60, 60), (200, 200)):
        ideal[np.hypot(rows - r, cols - c) < 12] = 40.0
    return ideal, rows, cols


def _counts(ideal, seed=0):
    return np.random.default_rng(seed).poisson(ideal).astype(np.float64)


KEPT = np.array([[60, 60], [200, 200]])
KEPT_RADIUS = np.array([12.0, 12.0])


def test_maxima_on_a_charging_streak_are_marked():
    ideal, rows, cols = _frame()
    # 5 rows from the first sphere's right edge, fading over 60 px (stranger_probe's SEM scene)
    band = (np.abs(rows - 60) <= 2) & (cols >= 72)
    ideal[band] += 20.0 * np.exp(-(cols[band] - 72) / 60.0)
    faint = np.array([[60, 95], [60, 120], [61, 140]])
    for seed in range(3):
        marked = on_scan_streaks(_counts(ideal, seed), faint, RADIUS, KEPT, KEPT_RADIUS)
        assert marked.all(), seed


def test_faint_particles_of_other_shapes_are_not_marked():
    ideal, rows, cols = _frame()
    round_alone = np.hypot(rows - 150, cols - 80) < 6
    round_beside = np.hypot(rows - 200, cols - 219) < 6  # touching the second sphere on its row
    rod_across = (np.abs(cols - 280) <= 3) & (np.abs(rows - 100) <= 20)
    rod_along = (np.abs(rows - 30) <= 3) & (np.abs(cols - 200) <= 20)  # leads to no kept one
    for shape in (round_alone, round_beside, rod_across, rod_along):
        ideal[shape] += 12.0
    faint = np.array([[150, 80], [200, 219], [100, 280], [30, 200]])
    for seed in range(3):
        marked = on_scan_streaks(_counts(ideal, seed), faint, RADIUS, KEPT, KEPT_RADIUS)
        assert not marked.any(), (seed, marked)


def test_a_faint_particle_in_a_row_of_particles_is_not_marked():
    """A row of touching particles (a crowded low-dose frame): beside the kept one, a faint
    one, and another beyond it; the row stays high, but each is as tall as it is wide."""
    ideal, rows, cols = _frame()
    for c in (222, 236, 250):
        ideal[np.hypot(rows - 200, cols - c) < 7] += 12.0
    for seed in range(3):
        frame = _counts(ideal, seed)
        assert not on_scan_streaks(frame, np.array([[200, 222]]), RADIUS, KEPT, KEPT_RADIUS)[0]


def test_nothing_to_judge_marks_nothing():
    ideal, _, _ = _frame()
    frame = _counts(ideal)
    assert on_scan_streaks(frame, np.empty((0, 2), int), RADIUS, KEPT, KEPT_RADIUS).shape == (0,)
    none_kept = on_scan_streaks(frame, np.array([[60, 95]]), RADIUS, np.empty((0, 2)), [])
    assert not none_kept.any()


def test_without_streaks_drops_the_marked_and_counts_them():
    ideal, rows, cols = _frame()
    band = (np.abs(rows - 60) <= 2) & (cols >= 72)
    ideal[band] += 20.0 * np.exp(-(cols[band] - 72) / 60.0)
    ideal[np.hypot(rows - 150, cols - 80) < 6] += 12.0
    faint = np.array([[60, 120], [150, 80]])
    used = {"faint_radius": RADIUS, "faint": 2}
    kept, counted = without_streaks(_counts(ideal), faint, used, KEPT, KEPT_RADIUS)
    assert kept.tolist() == [[150, 80]]
    assert counted["faint"] == 1 and counted["faint_streaks"] == 1


def test_points_sharing_a_row_are_judged_as_each_alone():
    """Points are judged row by row (one smoothed band a row): in any order, each gets the
    verdict it gets alone, streak or not, and a point by a kept particle is not judged."""
    ideal, rows, cols = _frame()
    band = (np.abs(rows - 60) <= 2) & (cols >= 72)
    ideal[band] += 20.0 * np.exp(-(cols[band] - 72) / 60.0)
    ideal[np.hypot(rows - 60, cols - 280) < 6] += 12.0  # a round one on the streak's row
    frame = _counts(ideal)
    faint = np.array([[60, 120], [150, 80], [60, 280], [60, 95], [60, 65], [61, 140]])
    together = on_scan_streaks(frame, faint, RADIUS, KEPT, KEPT_RADIUS)
    alone = [on_scan_streaks(frame, point[None], RADIUS, KEPT, KEPT_RADIUS)[0] for point in faint]
    np.testing.assert_array_equal(together, alone)
    assert together.tolist() == [True, False, False, True, False, True]


def _gap_frame():
    """Three kept spheres on row 60 (60, 100 apart: a short gap between the last two) and a
    charging streak from the first that runs along the row into the next ones."""
    rows, cols = np.mgrid[:256, :320]
    ideal = np.full(rows.shape, 25.0)
    kept = np.array([[60, 60], [60, 160], [60, 205], [200, 200]])
    for r, c in kept:
        ideal[np.hypot(rows - r, cols - c) < 12] = 40.0
    band = (np.abs(rows - 60) <= 2) & (cols >= 72)
    ideal[band] += 20.0 * np.exp(-(cols[band] - 72) / 120.0)
    return ideal, kept, np.full(len(kept), 12.0)


def test_a_streak_between_two_particles_is_marked_where_the_frame_charges():
    """Between two kept particles a streak has no free side to follow; where the frame's
    other maxima are marked streaks (its scan charges), a thin maximum joining the two is
    one too; alone, it stays (a rod's middle between its found ends reads the same)."""
    ideal, kept, kept_radius = _gap_frame()
    gap, confirmed = np.array([[60, 183]]), np.array([[60, 95], [60, 120]])
    for seed in range(3):
        frame = _counts(ideal, seed)
        marked = on_scan_streaks(frame, np.concatenate([confirmed, gap]), RADIUS, kept, kept_radius)
        assert marked.tolist() == [True, True, True], seed
        assert not on_scan_streaks(frame, gap, RADIUS, kept, kept_radius)[0], seed
