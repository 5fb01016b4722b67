"""Camera noise of single pixels is no particle (:mod:`napari_ivae.core.detection.particle_impulse`)."""

import numpy as np
from scipy.spatial import cKDTree

from napari_ivae.core.detection.particle_impulse import not_one_pixel
from napari_ivae.core.detection.particles import detect_particles


def _spots_with_noisy_pixels(seed=3):
    """30 spots (sigma 1.5 px, 60 counts) on 100 +- 4, and 0.4 % pixels whose read noise is
    15 x the others' (an sCMOS's noisy pixels)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:256, 0:256]
    centres: list = []
    while len(centres) < 30:
        p = rng.uniform(12, 244, 2)
        if all(np.hypot(*(p - q)) > 14 for q in centres):
            centres.append(p)
    image = np.full((256, 256), 100.0)
    for r, c in centres:
        image += 60 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 1.5**2))
    image += rng.normal(0, 4, image.shape)
    noisy = rng.random(image.shape) < 0.004
    image[noisy] += np.abs(rng.normal(0, 60, noisy.sum()))
    return image, np.array(centres)


def test_noisy_camera_pixels_are_no_particles():
    image, centres = _spots_with_noisy_pixels()
    found = np.asarray(detect_particles(image).coords)[:, 1:]
    distance, index = cKDTree(centres).query(found)
    assert (distance < 3).all()  # before: 184 points, 154 of them on noisy pixels
    assert len(np.unique(index)) == len(centres)


def test_a_spike_falls_under_the_floor_a_spot_does_not():
    rows, cols = np.mgrid[0:41, 0:41]
    spot = 50 * np.exp(-((rows - 20) ** 2 + (cols - 20) ** 2) / (2 * 1.5**2))
    spike = np.zeros((41, 41))
    spike[20, 20] = 200.0
    points, sigma, floor, noise = np.array([[20, 20]]), np.array([1.5]), np.array([5.0]), [1.0]
    assert not_one_pixel(spot, points, sigma, floor, noise)[0]
    assert not not_one_pixel(spike, points, sigma, floor, noise)[0]
    # a faint spot at the floor whose peak pixel is within the noise is not judged by it
    faint = 0.2 * spot
    faint[20, 20] += 0.5
    assert not_one_pixel(faint, points, sigma, np.array([4.8]), noise)[0]  # 4.6 without it
