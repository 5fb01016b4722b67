"""Blobs on one saturated plateau are one particle (a CCD bead's bloom streak); two saturated
particles meeting at a neck stay two; a beside candidate on the plain background is none."""

import numpy as np

from napari_ivae.core.detection import particle_beside, particle_plateaus


def _bloomed(shape=(120, 120), top=4095.0):
    """A saturated bead at (60, 40) with a 40 px vertical streak at the clip value, and two
    saturated discs at (60, 85) and (60, 97) meeting at a 2 px neck."""
    rows, cols = np.indices(shape, dtype=np.float64)
    rng = np.random.default_rng(3)
    frame = 200.0 + rng.normal(0, 10, shape)
    bead = np.hypot(rows - 60, cols - 40) <= 4.5
    streak = (np.abs(rows - 60) <= 20) & (np.abs(cols - 40) <= 2)
    frame[bead | streak] = top
    left = np.hypot(rows - 60, cols - 85) <= 6
    right = np.hypot(rows - 60, cols - 97) <= 6
    neck = (np.abs(rows - 60) <= 1) & (cols >= 85) & (cols <= 97)
    frame[left | right] = top
    frame[50, 40] = top - 15.0  # read noise left one pixel of the streak below the clip
    frame[(left | right) & ~neck & (np.abs(cols - 91) <= 1)] = 1500.0  # the waist
    return frame


def test_blobs_along_a_bloom_streak_are_one_particle_at_its_centre():
    frame = _bloomed()
    points = np.array([[60, 40], [50, 40], [70, 40], [76, 40], [60, 85], [60, 97]])
    groups = np.arange(len(points))
    joined, centres = particle_plateaus.plateau_groups(frame, points, groups)
    assert len(set(joined[:4].tolist())) == 1  # the bead and its streak: one
    assert len(set(joined.tolist())) == 3  # the two discs at a neck stay two
    row, col = centres[int(joined[0])]
    assert abs(row - 60) < 0.5 and abs(col - 40) < 0.5


def test_no_plateau_leaves_the_groups():
    rng = np.random.default_rng(0)
    frame = rng.normal(0, 1, (64, 64))
    points = np.array([[20, 20], [22, 20], [40, 40]])
    groups = np.array([0, 1, 2])
    joined, centres = particle_plateaus.plateau_groups(frame, points, groups)
    assert joined.tolist() == [0, 1, 2] and centres == {}


def test_a_candidate_at_the_background_level_is_not_above_it():
    rng = np.random.default_rng(1)
    shape = (100, 100)
    rows, cols = np.indices(shape, dtype=np.float64)
    frame = 200.0 + rng.normal(0, 10, shape)
    frame += 30.0 * np.exp(-(np.hypot(rows - 50, cols - 70) ** 2) / (2 * 3.0**2))  # a faint bead
    drawn = np.zeros(shape)
    drawn[np.hypot(rows - 50, cols - 20) <= 8] = 500.0  # a kept particle's drawn profile
    points = np.array([[50, 35], [50, 70]])  # beside the kept one on plain background; a bead
    sigma = np.array([3.0, 3.0])
    above = particle_beside.above_background(frame, drawn, points, sigma, 10.0)
    assert above.tolist() == [False, True]
