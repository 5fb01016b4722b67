"""The ideal-observer SNR of benchmarks/particle_snr.py in a binned frame (a lower
magnification of the same scene), as benchmarks/particle_binned.py uses it."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from particle_snr import binned, binned_centres, particle_snr  # noqa: E402

from napari_ivae.core.synthetic.particles import make_particles  # noqa: E402


def test_binned_is_the_block_mean_and_centres_follow():
    image = np.arange(36, dtype=np.float64).reshape(6, 6)
    assert np.array_equal(binned(image, 2), image.reshape(3, 2, 3, 2).mean(axis=(1, 3)))
    assert binned(np.ones((7, 5)), 2).shape == (3, 2)  # the last part block is dropped
    # the centre of fine pixels 0 and 1 (0.5) is binned pixel 0's centre
    assert np.allclose(binned_centres(np.array([[0.5, 2.5]]), 2), [[0.0, 1.0]])


def test_binning_keeps_the_visibility_of_particles_under_white_shot_noise():
    # shot noise averages as the signal does: a radius 6 particle binned to radius 3 is as
    # visible as before (its signal has almost no power beyond the binned sampling)
    kwargs = dict(
        shape=256, count=40, radius=6, radius_spread=0.1, texture=0.0, noise=0.0, dose=15, seed=4
    )
    truth = make_particles(**kwargs)
    fine = particle_snr(kwargs, truth)
    coarse = particle_snr(kwargs, truth, binning=2)
    assert coarse.shape == fine.shape
    assert 0.9 < float(np.median(coarse / fine)) <= 1.02
    assert np.array_equal(particle_snr(kwargs, truth, binning=1), fine)
