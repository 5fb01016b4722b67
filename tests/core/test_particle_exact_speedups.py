"""Issue 9's faster steps of the particle search give bit for bit what their plain forms give:
the minima of the dark side (no negated copy), the merge's window counts, the noise ratio's
linear interpolation, and the spreads the bound and the weak shift share."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection import particle_merge, particle_scales
from napari_ivae.core.detection._filters import maximum_filter3, minimum_filter3
from napari_ivae.core.detection.local_noise import _linear_at
from napari_ivae.core.detection.particle_candidates import blob_candidates
from napari_ivae.core.detection.particle_peak_shape import signed_peaks
from napari_ivae.core.detection.particle_scale_space import blob_scales, scale_space
from napari_ivae.core.detection.particle_threshold import background_strengths


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((40, 57), np.float32),
        ((1, 9), np.float64),
        ((3, 30, 41), np.float32),
        ((5, 300, 1000), np.float32),
    ],
)
def test_minimum_filter3_is_ndimage_minimum_filter(shape, dtype):
    array = np.random.default_rng(0).integers(-4, 5, shape).astype(dtype)  # ties, plateaus
    np.testing.assert_array_equal(minimum_filter3(array), ndimage.minimum_filter(array, size=3))
    np.testing.assert_array_equal(maximum_filter3(array), ndimage.maximum_filter(array, size=3))


@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_signed_peaks_are_the_signed_responses_maxima(polarity):
    rng = np.random.default_rng(1)
    frame = rng.normal(size=(90, 110)).astype(np.float32)
    response = scale_space(frame, blob_scales(frame.shape)[:5])
    response[:, 10:14, 20:30] = 0.0  # a plateau at 0: never a peak
    signed = response if polarity == "bright" else -response
    plain = (signed == ndimage.maximum_filter(signed, size=3)) & (signed > 0)
    np.testing.assert_array_equal(signed_peaks(response, polarity), plain)
    points, _, strength = blob_candidates(
        None, blob_scales(frame.shape)[:5], polarity, response=response, overlaps=False
    )
    found = np.argwhere(plain)
    np.testing.assert_array_equal(points, found[:, 1:])
    np.testing.assert_array_equal(strength, signed[tuple(found.T)])


def test_window_counts_are_the_windows_sums():
    rng = np.random.default_rng(2)
    mask = rng.random((70, 90)) < 0.6
    top = rng.integers(0, 60, (200, 2))
    bottom = np.minimum(top + rng.integers(1, 40, (200, 2)), mask.shape)
    counts = particle_merge._window_counts(mask, top, bottom)
    plain = [mask[t[0] : b[0], t[1] : b[1]].sum() for t, b in zip(top, bottom)]
    np.testing.assert_array_equal(counts, plain)


@pytest.mark.parametrize("seed", range(4))
def test_linear_at_is_map_coordinates(seed):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(2, 25, 2)
    grid = rng.random((rows, cols)) * 10.0 ** rng.integers(-3, 4)
    block = int(rng.integers(8, 64))
    row_at = np.clip(
        (np.arange(rng.integers(50, 400)) - 3 - 0.5 * (block - 1)) / block, 0, rows - 1
    )
    col_at = np.clip(
        (np.arange(rng.integers(50, 400)) - 5 - 0.5 * (block - 1)) / block, 0, cols - 1
    )
    plain = ndimage.map_coordinates(
        grid, np.meshgrid(row_at, col_at, indexing="ij"), order=1, mode="nearest"
    )
    np.testing.assert_array_equal(_linear_at(grid, row_at, col_at), plain)


@pytest.mark.parametrize("skipped", [False, True])
def test_weak_shift_with_the_bounds_spreads_is_the_same(skipped):
    rng = np.random.default_rng(3)
    frame = rng.normal(size=(120, 130)).astype(np.float32)
    scales = blob_scales(frame.shape)[:6]
    response = scale_space(frame, scales)
    skip = np.zeros(frame.shape, dtype=bool)
    skip[:10, :20] = skipped
    spreads: dict = {}
    background_strengths(response, scales, "bright", skip, scales[2:], spreads)
    assert bool(spreads) is not skipped  # shared only where both measure the same pixels
    core = np.repeat(scales[2:], [3, 1, 0, 2])
    plain = particle_scales.weak_shift(response, scales, 2, core, skip)
    np.testing.assert_array_equal(
        particle_scales.weak_shift(response, scales, 2, core, skip, spreads), plain
    )


@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_a_second_search_takes_the_first_ones_layers_background_measures(polarity):
    rng = np.random.default_rng(4)
    frame = rng.normal(size=(140, 150)).astype(np.float32)
    frame[40:60, 50:70] += 3.0
    skip = np.zeros(frame.shape, dtype=bool)
    skip[:12, :30] = True
    grid = blob_scales(frame.shape)
    first, second = grid[3:8], grid[1:8]  # the second search lowered, the same top scale
    known: dict = {}
    background_strengths(scale_space(frame, first), first, polarity, skip, first, None, known)
    lowered = scale_space(frame, second)
    np.testing.assert_array_equal(lowered[2:], scale_space(frame, first))  # the same layers
    plain = background_strengths(lowered, second, polarity, skip, second)
    remembered = background_strengths(lowered, second, polarity, skip, second, None, known)
    np.testing.assert_array_equal(remembered, plain)
    assert len(known) == len(second)
    # another top scale pads the transform otherwise: its layers are measured anew
    wider = grid[3:9]
    np.testing.assert_array_equal(
        background_strengths(scale_space(frame, wider), wider, polarity, skip, wider, None, known),
        background_strengths(scale_space(frame, wider), wider, polarity, skip, wider),
    )
    assert len(known) == len(second) + len(wider)


def test_beyond_top_with_the_first_searchs_spreads_is_the_same():
    rng = np.random.default_rng(5)
    frame = rng.normal(size=(130, 140)).astype(np.float32)
    for row, col in ((30, 30), (80, 90), (100, 40)):  # broad mounds: responses growing on
        frame[row - 12 : row + 12, col - 12 : col + 12] += 1.5
    scales = blob_scales(frame.shape)[6:12]
    response = scale_space(frame, scales)
    points, sigma, strength = blob_candidates(frame, scales[:1], "bright", response=response[:1])
    plain = particle_scales.beyond_top(strength, points, sigma, response, scales, "bright")
    known: dict = {}
    first = particle_scales.beyond_top(
        strength, points, sigma, response, scales, "bright", None, known
    )
    assert known  # some grew on above the top scale: their layers' spreads were measured
    again = particle_scales.beyond_top(
        strength, points, sigma, response, scales, "bright", None, known
    )
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(again, plain)


@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_a_second_search_takes_the_first_ones_candidates_at_the_candidate_scales(polarity):
    from napari_ivae.core.detection.particle_candidates import searched_candidates

    rng = np.random.default_rng(6)
    frame = rng.normal(size=(150, 160)).astype(np.float32)
    skip = np.zeros(frame.shape, dtype=bool)
    skip[:15, :40] = True
    grid = blob_scales(frame.shape)
    core, first, second = grid[5:9], grid[3:9], grid[1:9]
    known: dict = {}
    searched_candidates(frame, first, core, polarity, skip, scale_space(frame, first), known)
    assert known
    lowered = scale_space(frame, second)
    plain = searched_candidates(frame, second, core, polarity, skip, lowered)
    again = searched_candidates(frame, second, core, polarity, skip.copy(), lowered, known)
    for part, plain_part in zip(again, plain, strict=True):
        np.testing.assert_array_equal(part, plain_part)
    # another skip: searched anew
    other = skip.copy()
    other[-20:, -20:] = True
    np.testing.assert_array_equal(
        searched_candidates(frame, second, core, polarity, other, lowered, known)[0],
        searched_candidates(frame, second, core, polarity, other, lowered)[0],
    )
