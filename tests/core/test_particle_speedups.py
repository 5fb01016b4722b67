"""The fast forms of the particle search's steps give exactly what their plain forms give."""

import numpy as np
import pytest

from napari_ivae.core.detection._filters import maximum_filter3
from napari_ivae.core.detection._medians import _median
from napari_ivae.core.detection.particle_candidates import OVERLAP, strongest_of_overlaps
from napari_ivae.core.detection.particle_scale_space import (
    blob_scales,
    scale_responses,
    scale_space,
)
from napari_ivae.core.detection.particle_surround import SECTORS, surround_share


def _strongest_of_overlaps_one_by_one(points, sigma, strength):
    """The rule as written: blobs strongest first (ties by position), each kept unless a
    kept one's centre lies within ``OVERLAP`` x the larger of the two radii."""
    radius = np.sqrt(2.0) * np.asarray(sigma)
    kept = np.zeros(len(points), dtype=bool)
    for index in np.argsort(-np.asarray(strength), kind="stable"):
        distance = np.hypot(*(points[kept] - points[index]).T)
        kept[index] = not (distance < OVERLAP * np.maximum(radius[kept], radius[index])).any()
    return kept


@pytest.mark.parametrize("seed", range(12))
def test_strongest_of_overlaps_keeps_what_the_one_by_one_rule_keeps(seed):
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 300))
    points = rng.integers(0, int(rng.integers(4, 80)), (count, 2))
    sigma = rng.choice([1.0, 1.4, 2.0, 3.5, 6.0], count)
    # tied strengths (even seeds) test the order among equals
    strength = rng.choice([1.0, 2.0, 3.0], count) if seed % 2 == 0 else rng.random(count)
    kept = strongest_of_overlaps(points, sigma, strength)
    assert kept.dtype == bool and kept.shape == (count,)
    np.testing.assert_array_equal(kept, _strongest_of_overlaps_one_by_one(points, sigma, strength))


def test_strongest_of_overlaps_a_chain_of_overlaps_is_decided_in_order():
    # each blob overlaps the next; strength falls along the chain: 0 kept, 1 not, 2 kept, ...
    points = np.array([[0, 3 * i] for i in range(7)])
    sigma = np.full(7, 3.0)  # radius 4.2: neighbours 3 px apart overlap, 6 px apart do not
    kept = strongest_of_overlaps(points, sigma, np.arange(7.0)[::-1])
    np.testing.assert_array_equal(kept, [True, False, True, False, True, False, True])
    assert not strongest_of_overlaps(np.zeros((0, 2), dtype=int), np.zeros(0), np.zeros(0)).size


@pytest.mark.parametrize(
    "shape", [(7,), (1, 9), (2, 1), (33, 17), (5, 40, 31), (1, 12, 12), (3, 1, 4, 6)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_maximum_filter3_is_ndimage_maximum_filter_of_size_3(shape, dtype):
    from scipy import ndimage

    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    array = rng.integers(-4, 5, shape).astype(dtype)  # few values: many ties and plateaus
    if dtype != np.int16:
        array += rng.random(shape).astype(dtype) * (rng.random(shape) < 0.5)
    out = maximum_filter3(array)
    assert out.dtype == array.dtype and out.shape == array.shape
    for mode in ("reflect", "nearest"):
        np.testing.assert_array_equal(out, ndimage.maximum_filter(array, size=3, mode=mode))


def _scale_space_by_irfft2(frame, scales):
    """The scale space by the plain formula: a full ``irfft2`` per scale (in float32), then the
    crop."""
    from scipy import fft

    frame = np.asarray(frame, dtype=np.float32)
    pad = int(np.ceil(4.0 * max(scales)))
    shape = [fft.next_fast_len(n + 2 * pad, real=True) for n in frame.shape]
    padded = np.pad(
        frame, [(pad, size - n - pad) for n, size in zip(frame.shape, shape)], mode="symmetric"
    )
    spectrum = fft.rfft2(padded, workers=1)
    freq_sq = (fft.fftfreq(shape[0])[:, None] ** 2 + fft.rfftfreq(shape[1])[None, :] ** 2).astype(
        np.float32
    )
    layers = []
    for sigma in map(float, scales):
        transfer = (
            (4.0 * np.pi**2 * sigma**2) * freq_sq * np.exp(-2.0 * np.pi**2 * sigma**2 * freq_sq)
        )
        response = fft.irfft2(spectrum * transfer, shape, workers=1)
        layers.append(response[pad : pad + frame.shape[0], pad : pad + frame.shape[1]])
    return np.array(layers, dtype=np.float32)


@pytest.mark.parametrize("shape", [(64, 64), (97, 128), (150, 91), (255, 256)])
def test_scale_space_is_bit_for_bit_the_plain_irfft2_formula(shape):
    rng = np.random.default_rng(shape[0])
    frame = (100.0 + 10.0 * rng.standard_normal(shape)).astype(np.float32)
    scales = blob_scales(shape)
    for chosen in (scales, scales[2:5], np.float32(scales[3:4]), [1.0, 2.5]):
        fast, plain = scale_space(frame, chosen), _scale_space_by_irfft2(frame, chosen)
        assert fast.shape == plain.shape and fast.dtype == np.float32
        assert fast.tobytes() == plain.tobytes()


def test_scale_responses_one_at_a_time_are_the_scale_space_bit_for_bit():
    rng = np.random.default_rng(5)
    frame = (100.0 + 10.0 * rng.standard_normal((97, 130))).astype(np.float32)
    scales = blob_scales(frame.shape)
    whole = scale_space(frame, scales)
    layers = list(scale_responses(frame, scales))
    assert len(layers) == len(scales)
    for layer, expected in zip(layers, whole):
        assert layer.dtype == np.float32 and layer.tobytes() == expected.tobytes()


def test_blob_strengths_by_fourier_follow_the_spatial_log_of_every_scale():
    """``_log_strengths`` (one Fourier transform) against ``ndimage.gaussian_laplace``
    (spatial kernels of 8 sigma) on blobs of sigma 3 in noise: every scale within a per cent,
    and the same strongest scale."""
    from scipy import ndimage

    from napari_ivae.core.detection.atom_geometry import _log_strengths

    rng = np.random.default_rng(2)
    frame = np.zeros((160, 192), dtype=np.float32)
    frame[rng.integers(10, 150, 40), rng.integers(10, 182, 40)] = 1.0
    frame = ndimage.gaussian_filter(frame, 3.0) * 200 + rng.normal(0, 0.05, frame.shape)
    frame = frame.astype(np.float32)
    scales = blob_scales(frame.shape)
    centred = frame - float(np.median(frame))
    spatial = []
    for sigma in scales:
        response = -(sigma**2) * ndimage.gaussian_laplace(centred, sigma)
        count = max(4, int(0.1 * frame.size / (np.pi * (2 * sigma) ** 2)))
        spatial.append(np.partition(response.ravel(), -count)[-count:].mean())
    fourier = _log_strengths(frame, scales)
    assert np.allclose(fourier, spatial, rtol=0.01, atol=1e-3 * max(spatial))
    assert int(np.argmax(fourier)) == int(np.argmax(spatial))


def _surround_share_one_by_one(signal, points, sigma):
    """The rule as written: per blob, its window (cut by the frame), the mean within 0.7
    radii, the median of each sector of the ring from 1.3 to 2.3 radii."""
    signal = np.asarray(signal, dtype=np.float32)
    out = np.ones(len(points))
    for index, ((row, col), blob_sigma) in enumerate(zip(points, sigma)):
        radius = np.sqrt(2.0) * blob_sigma
        reach = int(np.ceil(2.3 * radius))
        r0, c0 = max(row - reach, 0), max(col - reach, 0)
        window = signal[r0 : row + reach + 1, c0 : col + reach + 1]
        dy = np.arange(r0, r0 + window.shape[0])[:, None] - row
        dx = np.arange(c0, c0 + window.shape[1])[None, :] - col
        distance = np.hypot(dy, dx) / radius
        ring = (distance >= 1.3) & (distance <= 2.3)
        sector = (np.floor((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * SECTORS) % SECTORS)[ring]
        values = window[ring]
        if len(values):
            medians = [np.median(values[sector == label]) for label in np.unique(sector)]
            out[index] = np.mean(np.array(medians) < window[distance <= 0.7].mean())
    return out


@pytest.mark.parametrize("seed", range(6))
def test_surround_share_is_the_one_by_one_rule(seed):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((90, 70)).astype(np.float32)
    signal[30:40, 20:34] += 3.0  # a plateau: ties and a clear top
    count = 60
    points = np.column_stack([rng.integers(0, 90, count), rng.integers(0, 70, count)])
    sigma = rng.choice([1.0, 1.7, 2.5, 4.0], count)  # blobs near the edge and inside
    shares = surround_share(signal, points, sigma)
    np.testing.assert_array_equal(shares, _surround_share_one_by_one(signal, points, sigma))
    assert 0 <= shares.min() < shares.max() <= 1


@pytest.mark.parametrize("size", [1, 2, 7, 8, 1000, 1001, 20000, 20001, 100000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_median_is_numpys_median_bit_for_bit(size, dtype):
    rng = np.random.default_rng(size)
    plateau = np.full(size, 2.5)
    plateau[: size // 3] = rng.standard_normal(size // 3)  # the middle inside a run of ties
    for values in (
        rng.standard_normal(size),
        rng.integers(0, 3, size),  # ties
        np.abs(rng.standard_normal(size)) ** 4,  # a heavy tail
        plateau,
        np.sort(rng.standard_normal(size)),  # the sample's stride meets an order
    ):
        values = values.astype(dtype)
        fast, plain = _median(values), np.median(values)
        assert type(fast) is type(plain) and fast.tobytes() == plain.tobytes()
    with_nan = rng.standard_normal(size).astype(np.float64)
    with_nan[size // 3] = np.nan
    assert np.isnan(_median(with_nan))
