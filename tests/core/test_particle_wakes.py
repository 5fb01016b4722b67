"""The wake of a saturated particle along the fast scan holds no particles."""

import numpy as np

from napari_ivae.core.detection.particle_wakes import in_wakes


def _frame(rng, side=1):
    """A saturated disc at (40, 40) whose lines stay bright after it towards ``side`` (1: to
    the right, 0: none), a faint maximum in that wake and a particle well below it."""
    shape = (120, 160)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    frame = 50 + rng.normal(0, 3, shape)
    frame[(rows - 40) ** 2 + (cols - 40) ** 2 <= 64] = 255.0
    if side:
        for row in range(32, 49):
            past = cols[row] - 48
            on = past >= 0
            frame[row, on] += rng.uniform(30, 60) * np.exp(-past[on] / 40)
    frame[(rows - 40) ** 2 + (cols - 64) ** 2 <= 9] += 25  # a noise maximum in the wake
    frame[(rows - 95) ** 2 + (cols - 100) ** 2 <= 36] += 80  # a particle
    return np.minimum(frame, 255.0)


def test_a_blob_in_the_wake_goes_and_the_particle_stays():
    frame = _frame(np.random.default_rng(0))
    points = np.array([[40, 40], [40, 64], [95, 100]])
    wake = in_wakes(frame, points, np.array([8.0, 3.0, 6.0]))
    assert wake.tolist() == [False, True, False]


def test_no_wake_side_no_wake():
    frame = _frame(np.random.default_rng(1), side=0)
    points = np.array([[40, 40], [40, 64], [95, 100]])
    assert not in_wakes(frame, points, np.array([8.0, 3.0, 6.0])).any()


def test_the_dropped_wake_is_warned():
    from napari_ivae.core.detection.particle_wakes import wake_warning

    measures: dict = {}
    assert wake_warning(0, measures) == [] and "wakes" not in measures
    (warning,) = wake_warning(5, measures)
    assert "fast scan" in warning and measures["wakes"] == 5


def test_a_blob_one_window_past_the_edge_is_judged_on_that_window_s_mean():
    # the wake from the source's edge to the blob is exactly one window (the blob's radius)
    # long: its mean, not its lowest line, is what a window of the wake stands at
    rows, cols = np.mgrid[:80, :120]
    frame = np.full((80, 120), 50.0)
    frame[(rows - 40) ** 2 + (cols - 40) ** 2 <= 64] = 255.0
    wake = np.where(cols >= 49, 47.0 * np.exp(-(cols - 49) / 60.0), 0.0)
    wake[:, 50] = 20.0  # one column of the wake below half the blob's excess
    frame[32:49] += wake[32:49]
    frame[(rows - 40) ** 2 + (cols - 53) ** 2 <= 4] += 12.0
    wake = in_wakes(frame, np.array([[40, 40], [40, 53]]), np.array([8.0, 3.0]))
    assert wake.tolist() == [False, True]


def _fading(rng):
    """A saturated disc at (40, 40) whose lines fade after it (over 15 px) in a noisy frame
    (20 per pixel), a maximum of the noise's height where the wake has faded, a particle in
    the wake and one off it."""
    rows, cols = np.mgrid[:120, :200]
    frame = 80 + rng.normal(0, 20, (120, 200))
    frame[(rows - 40) ** 2 + (cols - 40) ** 2 <= 100] = 255.0
    past = np.maximum(cols[30:51] - 51, 0)
    frame[30:51] += np.where(cols[30:51] >= 51, 50 * np.exp(-past / 15), 0)
    frame[(rows - 46) ** 2 + (cols - 88) ** 2 <= 4] += 18  # the noise's height
    frame[(rows - 33) ** 2 + (cols - 70) ** 2 <= 25] += 60  # a particle in the wake
    frame[(rows - 95) ** 2 + (cols - 100) ** 2 <= 64] += 120
    return np.clip(frame, 0, 255)


def test_a_maximum_no_higher_than_the_noise_over_a_fading_wake_goes():
    # the wake before the maximum is below half its excess (the share test keeps it); over
    # the wake's level across it, it stands no higher than white noise reaches in the frame
    frame = _fading(np.random.default_rng(0))
    points = np.array([[40, 40], [46, 88], [33, 70], [95, 100]])
    radius = np.array([10.0, 4.0, 5.0, 8.0])
    assert not in_wakes(frame, points, radius).any()
    assert in_wakes(frame, points, radius, pixel_noise=20.0).tolist() == [
        False,
        True,
        False,
        False,
    ]
