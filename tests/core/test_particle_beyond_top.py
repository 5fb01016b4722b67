"""A broad mound of the support at the top of the particle search (issue 9, round 32).

The search stops at the largest candidate scale, where a smooth bump wider than any particle
answers as a maximum in scale while its response still grows above it; such a blob is judged
where its response peaks, against the cut raised by how much more the background spreads
there (:func:`~napari_ivae.core.detection.particle_scales.beyond_top`).
"""

import numpy as np
import pytest

from napari_ivae.core.detection.particle_scales import beyond_top
from napari_ivae.core.detection.particles import detect_particles


def _stack(rng, spreads, size=64):
    return np.stack([s * rng.standard_normal((size, size)) for s in spreads])


def test_a_blob_growing_above_the_top_scale_is_judged_where_it_peaks():
    rng = np.random.default_rng(0)
    scales = np.array([4.0, 5.0, 6.5, 8.0])
    response = _stack(rng, [1.0, 1.5, 2.0, 2.5])  # the background spreads more at each scale
    points = np.array([[10, 10], [30, 30], [50, 50], [20, 40]])
    sigma = np.array([4.0, 4.0, 4.0, 3.0])
    strength = np.array([10.0, 10.0, 10.0, 10.0])
    response[:, 10, 10] = [10.0, 12.0, 13.0, 12.5]  # grows to the third scale, then falls
    response[:, 30, 30] = [10.0, 9.0, 8.0, 7.0]  # peaks at the top scale: a particle
    response[:, 50, 50] = [10.0, 30.0, 20.0, 10.0]  # grows much more than the background
    response[:, 20, 40] = [10.0, 20.0, 30.0, 40.0]  # not at the top scale: not judged here
    judged = beyond_top(strength, points, sigma, response, scales, "bright")
    spread = [float(np.median(np.abs(r - np.median(r)))) for r in response]
    assert judged[0] == pytest.approx(13.0 / (spread[2] / spread[0]))
    assert judged[0] < 10.0
    assert judged[1] == 10.0 and judged[3] == 10.0
    assert judged[2] == 10.0  # never more than its own strength
    dark = beyond_top(strength, points, sigma, -response, scales, "dark")
    assert np.allclose(dark, judged)
    assert (beyond_top(strength, points, sigma, None, scales, "bright") == strength).all()


def test_no_shift_where_the_background_spreads_less_above():
    """White noise spreads less at larger scales: the shift never falls below 1, so a particle
    larger than the search keeps its strength."""
    rng = np.random.default_rng(1)
    scales = np.array([4.0, 5.0, 6.5])
    response = _stack(rng, [1.0, 0.7, 0.5])
    points, sigma, strength = np.array([[32, 32]]), np.array([4.0]), np.array([10.0])
    response[:, 32, 32] = [10.0, 11.0, 12.0]
    assert beyond_top(strength, points, sigma, response, scales, "bright")[0] == 10.0


def _particles_on_mounds(seed=0, amplitude=0.5, mound_sigma=12.0, size=256):
    """Projected spheres of radius 4 px on a grid, broad Gaussian mounds (12 px) between them."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size].astype(float)
    image = np.zeros((size, size))
    centres = []
    for r in range(20, size - 10, 40):
        for c in range(20, size - 10, 40):
            centres.append((r + rng.uniform(-4, 4), c + rng.uniform(-4, 4)))
    for r, c in centres:
        image += np.sqrt(np.clip(16.0 - (rows - r) ** 2 - (cols - c) ** 2, 0, None)) / 4.0
    mounds = []
    for r in range(40, size - 10, 40):
        for c in range(40, size - 10, 40):
            if len(mounds) < 14 and rng.random() < 0.8:
                mounds.append((r + rng.uniform(-3, 3), c + rng.uniform(-3, 3)))
    for r, c in mounds:
        image += amplitude * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * mound_sigma**2))
    image += rng.normal(0.0, 0.05, image.shape)
    return image, np.array(centres), np.array(mounds)


def test_broad_mounds_between_particles_are_not_particles():
    """Before: the 14 mounds (3 x the top searched scale) gave 15 points; now none,
    and every particle is still found."""
    image, centres, mounds = _particles_on_mounds()
    found = detect_particles(image).coords[:, 1:]
    to_particle = np.linalg.norm(found[:, None] - centres[None], axis=2).min(axis=1)
    to_mound = np.linalg.norm(found[:, None] - mounds[None], axis=2).min(axis=1)
    assert (to_mound < 6).sum() == 0
    assert (to_particle < 4).sum() == len(centres)
