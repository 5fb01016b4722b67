"""Camera noise of single pixels is no particle (:mod:`napari_ivae.core.detection.particle_impulse`)."""

import numpy as np
from scipy.spatial import cKDTree

from napari_ivae.core.detection.particle_impulse import one_pixel
from napari_ivae.core.detection.particles import detect_particles


def _spots(shape, count, width, amplitude, rng, gap=14):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    centres: list = []
    while len(centres) < count:
        p = rng.uniform(12, shape[0] - 12, 2)
        if all(np.hypot(*(p - q)) > gap for q in centres):
            centres.append(p)
    image = np.zeros(shape)
    for r, c in centres:
        image += amplitude * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * width**2))
    return image, np.array(centres)


def test_noisy_camera_pixels_are_no_particles():
    """30 spots (sigma 1.5 px, 60 counts) on 100 +- 4, and 0.4 % pixels whose read noise is
    15 x the others' (an sCMOS's noisy pixels): main found 184 points, 154 on noisy pixels."""
    rng = np.random.default_rng(3)
    image, centres = _spots((256, 256), 30, 1.5, 60.0, rng)
    image += 100 + rng.normal(0, 4, image.shape)
    noisy = rng.random(image.shape) < 0.004
    image[noisy] += np.abs(rng.normal(0, 60, noisy.sum()))
    found = np.asarray(detect_particles(image).coords)[:, 1:]
    distance, index = cKDTree(centres).query(found)
    assert (distance < 3).all()
    assert len(np.unique(index)) == len(centres)


def test_small_faint_particles_are_not_one_pixel():
    """Spikes among small spots are told by their ring; small faint spots without spikes are
    all kept (their ring is within the noise, and no spike weighs on that side)."""
    rng = np.random.default_rng(5)
    spots, centres = _spots((256, 256), 40, 0.9, 40.0, rng)
    noise = rng.normal(0, 4, spots.shape)
    points = np.round(centres).astype(int)
    ones = np.full(len(points), 1.3)  # radius: sqrt(2) x the 0.9 px width
    assert not one_pixel(spots + noise, points, ones, np.full(len(points), 4.0)).any()
    faint = 0.5 * spots + noise  # peaks at 5 x the noise, about where the floor keeps them
    assert not one_pixel(faint, points, ones, np.full(len(points), 4.0)).any()
    spiked = spots + noise
    pixels = np.argwhere(np.ones((240, 240), dtype=bool)) + 8
    free = pixels[cKDTree(centres).query(pixels)[0] > 8]
    spikes = free[rng.choice(len(free), 10, replace=False)]
    spiked[spikes[:, 0], spikes[:, 1]] += 60.0
    both = np.concatenate([points, spikes])
    judged = one_pixel(spiked, both, np.full(len(both), 1.3), np.full(len(both), 4.0))
    assert judged[len(points) :].all() and not judged[: len(points)].any()
