"""benchmarks/heldlike_snr.py: the carbon films' particles handed back without noise, each
particle's whitened SNR, and the scoring's matching."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from tests.core._scripts import load_script

snr = load_script("benchmarks/heldlike_snr.py", "heldlike_snr")


def test_the_drawn_signal_is_the_particles_and_nothing_else():
    case, signal = snr.scene("tem_dark_carbon_26", 0)
    truth = case["truth"]
    assert signal.shape == case["image"].shape
    rows, cols = np.indices(signal.shape)
    near = np.zeros(signal.shape, bool)
    for r, c, radius in truth:
        near |= np.hypot(rows - r, cols - c) < 2.0 * radius + 4
    assert np.abs(signal[~near]).max() < 0.5  # nothing drawn away from the particles
    ij = np.round(truth[:, :2]).astype(int)
    assert (signal[ij[:, 0], ij[:, 1]] < -10).all()  # dark, in 8-bit units
    # the frame less the drawn signal no longer shows the particles: their dip is gone
    image = ndimage.gaussian_filter(case["image"].astype(float), 3.0)
    rest = ndimage.gaussian_filter(case["image"] - signal, 3.0)
    film = float(np.median(rest[~near]))
    dip = film - image[ij[:, 0], ij[:, 1]]
    left = film - rest[ij[:, 0], ij[:, 1]]
    assert np.median(dip) > 20
    assert abs(float(np.median(left))) < 0.1 * float(np.median(dip))


def test_the_signal_follows_the_frame_to_another_magnification():
    case, signal = snr.scene("tem_dark_carbon_26@x0.5", 1)
    assert signal.shape == case["image"].shape
    ij = np.round(case["truth"][:, :2]).astype(int)
    assert (signal[ij[:, 0], ij[:, 1]] < -10).all()


def test_the_snr_of_a_disk_in_white_noise_is_its_norm_over_the_noise():
    rng = np.random.default_rng(3)
    shape, sigma = (256, 256), 2.0
    rows, cols = np.indices(shape)
    truth = np.array([[80.0, 90.0, 5.0], [160.0, 170.0, 3.0]])
    disks = [-8.0 * (np.hypot(rows - r, cols - c) <= radius) for r, c, radius in truth]
    nuisance = sigma * rng.standard_normal(shape)
    inverse = snr.whitening(nuisance, np.ones(shape, bool))
    found = snr.particle_snr(truth, disks[0] + disks[1], inverse)
    expected = [np.sqrt((disk**2).sum()) / sigma for disk in disks]
    assert np.allclose(found, expected, rtol=0.1)  # each particle its own part only


def test_counted_and_matched_as_the_scoring():
    shape = (100, 100)
    truth = np.array([[20.0, 20.0, 4.0], [50.0, 50.0, 4.0], [80.0, 30.0, 4.0], [1.0, 60.0, 4.0]])
    invalid = np.zeros(shape, bool)
    invalid[70:90, 20:40] = True  # the third reference lies in an invalid box
    case = {"truth": truth, "image": np.zeros(shape), "invalid": invalid, "ignore": None}
    found = np.array([[21.0, 22.0], [58.0, 50.0]])  # the second point 8 px off: no match
    counted, matched = snr.counted_and_matched(case, found)
    assert counted.tolist() == [True, True, False, False]  # invalid, and 1 px from the frame
    assert matched.tolist() == [True, False, False, False]


def test_the_log_observer_misses_a_particle_with_no_signal_and_finds_a_strong_one():
    rng = np.random.default_rng(5)
    shape = (256, 256)
    rows, cols = np.indices(shape)
    truth = np.array([[80.0, 90.0, 5.0], [170.0, 160.0, 5.0]])
    signal = -60.0 * (np.hypot(rows - 80.0, cols - 90.0) <= 5.0)  # the second draws nothing
    nuisance = 2.0 * rng.standard_normal(shape)
    valid = np.ones(shape, bool)
    counted = np.ones(2, bool)
    misses = snr.log_misses(truth, signal, nuisance, valid, counted, 0.8)
    assert 0.95 < misses < 1.05
