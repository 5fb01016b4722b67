"""Segmentation of latent maps and the two smoothness scores."""

import numpy as np
import pytest

from napari_ivae.core.analysis.segmentation import edge_length, fourier_peak_ratio, segment_map
from napari_ivae.core.errors import InputError

SEED = 11


def _two_domains(noise=0.15, shape=(64, 64)):
    rng = np.random.default_rng(SEED)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    domains = (xx + 0.3 * yy > 35).astype(float)  # a slanted boundary
    return domains + rng.normal(0, noise, shape), domains


@pytest.mark.parametrize("method", ["otsu", "chan_vese", "multiotsu"])
def test_two_domain_map_gives_two_regions(method):
    noisy, truth = _two_domains()
    labels = segment_map(noisy, method=method)
    assert labels.dtype == np.int32 and set(np.unique(labels)) == {1, 2}
    agreement = np.mean(labels == truth + 1)
    assert agreement > 0.97  # label 2 = the higher-valued domain


def test_denoising_helps_on_noisy_maps():
    noisy, truth = _two_domains(noise=0.45)
    raw = np.mean(segment_map(noisy, denoise=False) == truth + 1)
    denoised = np.mean(segment_map(noisy, denoise=True, sigma_spatial=2.0) == truth + 1)
    assert denoised > raw


def test_multiotsu_three_domains_ordered_by_value():
    xx = np.mgrid[:30, :60][1]
    three = np.digitize(xx, [20, 40]).astype(float) * 2.0 - 1.0
    labels = segment_map(three, method="multiotsu", n_classes=3)
    np.testing.assert_array_equal(labels, np.digitize(xx, [20, 40]) + 1)


def test_nan_pixels_stay_background_and_flat_map_is_one_domain():
    noisy, _ = _two_domains()
    noisy[:6] = np.nan
    labels = segment_map(noisy)
    assert np.all(labels[:6] == 0) and set(np.unique(labels[6:])) == {1, 2}
    flat = np.full((10, 10), 3.0)
    flat[0, 0] += 1e-4
    np.testing.assert_array_equal(segment_map(flat), np.ones((10, 10)))
    stack = segment_map(np.stack([noisy, noisy]))
    assert stack.shape == (2, 64, 64) and np.array_equal(stack[0], labels)


def test_fourier_ratio_smooth_beats_noisy():
    rng = np.random.default_rng(SEED)
    yy, xx = np.mgrid[:64, :64]
    smooth = np.sin(2 * np.pi * xx / 64) + 0.5 * np.cos(2 * np.pi * yy / 64)
    noisy = smooth + rng.normal(0, 1.0, smooth.shape)
    periodic = smooth + np.sin(2 * np.pi * xx / 4)  # lattice-like high frequency
    for spectrum in ("power", "log"):
        s, n, p = (fourier_peak_ratio(m, spectrum=spectrum) for m in (smooth, noisy, periodic))
        assert s > n and s > p and 0 <= n <= 1 and s <= 1
    assert fourier_peak_ratio(smooth) == pytest.approx(1.0)  # all power in the lowest frequencies
    assert fourier_peak_ratio(np.full((8, 8), 2.0)) == 1.0
    assert fourier_peak_ratio(smooth * 7 + 3) == pytest.approx(fourier_peak_ratio(smooth))


def test_edge_length_counts_boundaries():
    xx = np.mgrid[:64, :64][1]
    one = (xx >= 32).astype(float)
    three = ((xx // 16) % 2).astype(float)
    assert edge_length(one) == pytest.approx(64, rel=0.05)  # a full-contrast boundary 64 px long
    assert edge_length(three) == pytest.approx(3 * 64, rel=0.05)
    assert edge_length(np.zeros((16, 16))) == 0.0
    noisy, _ = _two_domains(noise=0.3)
    assert edge_length(noisy, denoise=True, sigma_spatial=2.0) < edge_length(noisy, denoise=False)


def test_scores_ignore_nan_border():
    xx = np.mgrid[:40, :40][1]
    one = (xx >= 20).astype(float)
    padded = np.pad(one, 5, constant_values=np.nan)
    assert edge_length(padded) == pytest.approx(edge_length(one), rel=0.05)
    assert fourier_peak_ratio(padded) == pytest.approx(fourier_peak_ratio(one))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: segment_map(np.zeros((4, 4)), method="kmeans"), "method"),
        (lambda: segment_map(np.zeros((4, 4)), n_classes=3), "multiotsu"),
        (lambda: segment_map(np.full((4, 4), np.nan)), "no valid"),
        (lambda: edge_length(np.zeros((2, 3, 4))), "score each"),
        (lambda: fourier_peak_ratio(np.zeros((4, 4)), spectrum="amplitude"), "spectrum"),
        (lambda: fourier_peak_ratio(np.array([[1.0, np.inf], [0.0, 1.0]])), "infinite"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(InputError, match=match):
        call()
