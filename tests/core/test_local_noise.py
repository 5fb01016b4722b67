"""The particle cut's noise floor follows the noise where each candidate lies (local_noise.py).

The frames here are built for these tests, apart from the benchmarks' generators: a support
shaped as a wedge (its thickness, and with it the counts and their noise, growing from one
side of the frame to the other) under small bright particles of one height.
"""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_ivae.core.detection.local_noise import noise_ratio
from napari_ivae.core.detection.particles import detect_particles


def _wedge_frame(seed, shape=(384, 384), count=60, dose=30.0, thin=0.3, thick=3.0, height=3.0):
    """Poisson counts (``dose`` per unit) of a support thickening linearly from ``thin`` at the
    left edge to ``thick`` at the right, with ``count`` Gaussian particles (sigma 1.5 px) of
    ``height`` at least 16 px apart. Returns the frame and the particles' centres."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    ideal = thin + (thick - thin) * cols / (shape[1] - 1)
    centres: list[np.ndarray] = []
    while len(centres) < count:
        point = rng.uniform(8, np.array(shape) - 8)
        if all(np.hypot(*(point - other)) > 16 for other in centres):
            centres.append(point)
    for row, col in centres:
        ideal = ideal + height * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / 4.5)
    return (rng.poisson(ideal * dose) / dose).astype(np.float32), np.array(centres)


def test_noise_ratio_is_none_where_the_noise_is_even():
    rng = np.random.default_rng(3)
    frame = rng.normal(5.0, 1.0, (256, 256)).astype(np.float32)
    frame[100:110, 100:110] += 8.0  # a particle does not make the noise uneven
    assert noise_ratio(frame) is None


def test_noise_ratio_follows_counts_on_a_wedge():
    frame, _ = _wedge_frame(0, count=0)
    ratio = noise_ratio(frame)
    assert ratio is not None
    thin, thick = float(np.median(ratio[:, :64])), float(np.median(ratio[:, -64:]))
    # Poisson noise grows as the square root of the counts: at the outer 64 columns' middles
    # the support is 0.53 and 2.78 thick, sqrt(2.78 / 0.53) = 2.3
    assert 1.9 < thick / thin < 2.7


def test_noise_ratio_leaves_out_skipped_pixels():
    frame, _ = _wedge_frame(0, count=0)
    skip = np.zeros(frame.shape, dtype=bool)
    skip[:, :40] = True
    frame[:, :40] = 0.0  # constant padding: no noise there, and none counted
    ratio = noise_ratio(frame, skip)
    assert ratio is not None
    assert np.isfinite(ratio).all() and ratio.min() > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_counting_noise_on_a_thick_support_side_gives_no_false_particle(seed):
    """Fails before local_noise (seeds 1, 2: 2 and 3 false points, all on the thick side,
    where the counts' noise is 1.6 x the frame's median): one floor for the whole frame."""
    frame, centres = _wedge_frame(seed)
    found = np.asarray(detect_particles(frame).coords)[:, 1:]
    nearest = cKDTree(centres).query(found)[0]
    assert int((nearest > 3).sum()) == 0
    assert int((cKDTree(found).query(centres)[0] > 3).sum()) == 0  # every particle found


def test_row_percentiles_are_numpy_s_nanpercentile_bit_for_bit():
    from napari_ivae.core.detection._medians import _median_of_numbers
    from napari_ivae.core.detection.local_noise import TRIM, _row_percentile

    rng = np.random.default_rng(3)
    for rows, width, nans in ((40, 1024, 0.3), (7, 37, 0.5), (3, 600, 0.0), (5, 2, 0.0)):
        values = np.round(rng.normal(size=(rows, width)) * 4) / 4  # ties
        values[rng.random(values.shape) < nans] = np.nan
        values[:, 0] = rng.normal(size=rows)  # every row holds a number
        median = np.nanmedian(values, axis=1, keepdims=True)
        assert np.array_equal(_median_of_numbers(values)[:, None], median)
        deviation = np.abs(values - median)
        expected = np.nanpercentile(deviation, 100 * TRIM, axis=1, keepdims=True)
        assert np.array_equal(_row_percentile(deviation, 100 * TRIM), expected)
