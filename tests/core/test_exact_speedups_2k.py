"""Speed-ups of the 2048 px particle path that must give the same numbers as before."""

import numpy as np
import pytest
from scipy import fft, ndimage

from napari_ivae.core.detection import (
    _filters,
    count_noise,
    detection_memo,
    particle_line_offsets,
)
from napari_ivae.core.detection._filters import gaussian_smooth
from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.detection_memo import DetectionMemo, shared_gaussian, using_memo


def _axis0_fft_smooth(image, kernel):
    """The wide Gaussian as it was computed before: the columns' transforms along axis 0."""
    radius = len(kernel) // 2

    def gain(n):
        wrapped = np.zeros(2 * n)
        np.add.at(wrapped, np.arange(-radius, radius + 1) % (2 * n), kernel)
        return fft.rfft(wrapped).real[:n]

    out = fft.dct(np.asarray(image, dtype=np.float64), type=2, axis=1)
    out *= gain(image.shape[1])
    out = fft.dct(fft.idct(out, type=2, axis=1), type=2, axis=0)
    out *= gain(image.shape[0])[:, None]
    return fft.idct(out, type=2, axis=0).astype(np.float32)


@pytest.mark.parametrize(
    ("shape", "sigma"), [((96, 130), 9.0), ((61, 40), 25.0), ((128, 128), 12.5)]
)
@pytest.mark.parametrize("block", [128, 7])
def test_wide_gaussian_on_transposed_blocks_is_bit_for_bit_the_axis0_transforms(
    shape, sigma, block, monkeypatch
):
    monkeypatch.setattr(_filters, "FFT_COLUMNS", block)  # 7: blocks that end inside the frame
    image = np.random.default_rng(0).normal(100.0, 7.0, shape).astype(np.float32)
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = taps / taps.sum()
    out = _filters._reflected_fft_smooth(image, kernel)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert np.array_equal(out, _axis0_fft_smooth(image, kernel))


def test_shared_gaussian_is_ndimages_and_computed_once_per_frame(monkeypatch):
    signal = np.random.default_rng(1).normal(size=(64, 80))
    expected = ndimage.gaussian_filter(signal.astype(np.float32), 1.0)
    calls = []
    original = detection_memo._ndimage_gaussian
    monkeypatch.setattr(
        detection_memo, "_ndimage_gaussian", lambda *args: calls.append(1) or original(*args)
    )
    assert np.array_equal(shared_gaussian(signal, 1.0), expected)  # no memo: computed
    with using_memo(DetectionMemo()):
        first = shared_gaussian(signal, 1.0)
        first[:] = 0.0  # a caller's change does not reach the next caller
        second = shared_gaussian(signal.astype(np.float32), 1.0)
        other = shared_gaussian(signal, 2.0)
    assert np.array_equal(second, expected)
    assert np.array_equal(other, ndimage.gaussian_filter(signal.astype(np.float32), 2.0))
    assert len(calls) == 3  # once without the memo, once per sigma with it


def _bins_by_masks(frame, use):
    """count_noise_line's bins as they were taken: one boolean mask per bin."""
    frame = np.asarray(frame, dtype=np.float64)
    neighbours = (frame[:-2, 1:-1] + frame[2:, 1:-1] + frame[1:-1, :-2] + frame[1:-1, 2:]) / 4.0
    residual = (frame[1:-1, 1:-1] - neighbours) / np.sqrt(1.25)
    chosen = np.asarray(use, dtype=bool)
    window = count_noise.COUNT_WINDOW
    weight = count_noise._less_cross(gaussian_smooth(chosen.astype(np.float32), window), chosen)
    mean = count_noise._less_cross(
        gaussian_smooth(np.where(chosen, frame, 0.0), window), frame * chosen
    )
    mean = mean / np.maximum(weight, 1e-6)
    chosen = chosen[1:-1, 1:-1] & (weight > 0.5)
    residual, mean = residual[chosen], mean[chosen]
    edges = np.quantile(mean, np.linspace(0.01, 0.99, count_noise.COUNT_BINS + 1))
    which = np.searchsorted(edges, mean, side="right") - 1
    out = []
    for index in range(count_noise.COUNT_BINS):
        inside = which == index
        values = residual[inside]
        spread = 1.2533 * float(np.mean(np.abs(values - _median(values))))
        out.append((float(np.mean(mean[inside])), spread**2, np.sqrt(len(values))))
    return out


def test_count_noise_bins_grouped_by_one_sort_are_the_masks_bins(monkeypatch):
    rng = np.random.default_rng(2)
    level = 5.0 + 40.0 * np.linspace(0.0, 1.0, 160)[None, :] * np.ones((120, 1))
    frame = 3.0 * rng.poisson(level) + 50.0
    use = rng.random(frame.shape) > 0.1
    fitted = []
    original = np.polyfit
    monkeypatch.setattr(
        count_noise.np,
        "polyfit",
        lambda x, y, *a, **k: fitted.append((x, y)) or original(x, y, *a, **k),
    )
    line = count_noise.count_noise_line(frame, use)
    assert line is not None and line[1] == pytest.approx(3.0, rel=0.2)  # gain 3: b = 3
    bins = _bins_by_masks(frame, use)
    assert np.array_equal(fitted[0][0], [b[0] for b in bins])
    assert np.array_equal(fitted[0][1], [b[1] for b in bins])


def test_lines_levelled_skips_the_whole_frames_gaussian_where_every_pixel_is_measured(
    monkeypatch,
):
    rng = np.random.default_rng(3)
    frame = rng.normal(10.0, 1.0, (80, 90)).astype(np.float32)
    sizes = []
    original = _filters.gaussian_smooth
    monkeypatch.setattr(
        _filters, "gaussian_smooth", lambda image, sigma: sizes.append(1) or original(image, sigma)
    )
    everywhere = np.ones(frame.shape, dtype=bool)
    particle_line_offsets.lines_levelled(frame, everywhere, 6.0, 20)
    assert len(sizes) == 2  # the weight and the level, no third whole-frame Gaussian
    partly = np.zeros(frame.shape, dtype=bool)
    partly[:, :20] = True  # far from these, the whole frame's level is read
    levelled, _ = particle_line_offsets.lines_levelled(frame, partly, 3.0, 20)
    assert len(sizes) == 5
    weight = original(partly.astype(np.float32), 3.0)
    level = original(np.where(partly, frame, 0.0).astype(np.float32), 3.0)
    measured = weight > 0.05
    level[measured] /= weight[measured]
    level[~measured] = original(frame, 3.0)[~measured]
    expected, _ = particle_line_offsets.line_offsets(frame, partly, level, 20)
    assert np.array_equal(levelled, expected)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.5, 0.97, 1.0])
def test_less_cross_of_a_mask_by_its_table_is_the_float_paths_numbers(share):
    use = np.random.default_rng(4).random((70, 90)) < share
    smoothed = gaussian_smooth(use.astype(np.float32), count_noise.COUNT_WINDOW)
    by_table = count_noise._less_cross(smoothed, use)
    as_floats = count_noise._less_cross(smoothed, use.astype(np.float64))
    assert by_table.dtype == as_floats.dtype == np.float64
    assert by_table.tobytes() == as_floats.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("step", [1, 3])
def test_residual_variance_is_the_spread_of_the_summed_neighbours_residual(dtype, step):
    rng = np.random.default_rng(5)
    frame = np.round(rng.normal(0.0, 2.0, (90, 70))).astype(dtype)  # zeros of either sign
    frame[::7] *= -1.0
    use = rng.random(frame.shape) > 0.2
    height, width = frame.shape
    inner = (slice(step, height - step), slice(step, width - step))
    shifts = [
        (slice(0, height - 2 * step), inner[1]),
        (slice(2 * step, height), inner[1]),
        (inner[0], slice(0, width - 2 * step)),
        (inner[0], slice(2 * step, width)),
    ]
    chosen = use[inner].copy()
    for shift in shifts:
        chosen &= use[shift]
    residual = (frame[inner] - sum(frame[shift] for shift in shifts) / 4.0)[chosen]
    expected = (1.2533 * float(np.mean(np.abs(residual - _median(residual))))) ** 2
    assert count_noise.residual_variance(frame, use, step) == expected
