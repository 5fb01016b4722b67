"""Clusters of touching particles: the scale choice takes the particles', not the clusters'."""

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection import (
    particle_blobs,
    particle_groups,
    particle_peak_shape,
    particle_scale_space,
)
from napari_ivae.core.detection.particles import detect_particles


def _clusters(seed: int = 0, size: int = 512, count: int = 6):
    """Tight clusters of 5-14 touching spheres (radius 3.5-6) on a textured support, counts."""
    rng = np.random.default_rng(seed)
    centres, radii = [], []
    step = size // 3
    seeds = [(step * (i // 3) + step // 2, step * (i % 3) + step // 2) for i in range(count)]
    for seed_point in seeds:
        members, sizes = [np.array(seed_point, dtype=float)], [rng.uniform(3.5, 6)]
        for _ in range(400):
            if len(members) >= rng.integers(5, 15):
                break
            radius = rng.uniform(3.5, 6)
            k = rng.integers(len(members))
            angle = rng.uniform(0, 2 * np.pi)
            point = members[k] + (sizes[k] + radius) * rng.uniform(1.0, 1.12) * np.array(
                [np.cos(angle), np.sin(angle)]
            )
            apart = np.hypot(*(np.array(members) - point).T)
            if np.all(apart >= (np.array(sizes) + radius) * 0.97):
                members.append(point)
                sizes.append(radius)
        centres += members
        radii += sizes
    rows, cols = np.mgrid[:size, :size]
    body = np.zeros((size, size))
    for (r, c), radius in zip(centres, radii):
        depth = np.clip(radius**2 - (rows - r) ** 2 - (cols - c) ** 2, 0, None)
        body += 2 * np.sqrt(depth) / 5
    support = 0.08 + 0.024 * ndimage.gaussian_filter(rng.standard_normal((size, size)), 2.0) * 4
    image = rng.poisson(150 * ndimage.gaussian_filter(body, 0.8) + 150 * support).astype(float)
    return image, np.array(centres)


def test_clusters_of_touching_particles_take_the_particles_scale():
    image, centres = _clusters()
    polarity, sigma = particle_blobs.blob_polarity_and_scale(image)
    assert polarity == "bright" and 2.0 < sigma < 6.0
    found = detect_particles(image)
    assert abs(len(found) - len(centres)) <= 0.05 * len(centres)


def test_without_the_groups_test_the_clusters_scale_wins(monkeypatch):
    image, _ = _clusters()
    monkeypatch.setattr(particle_groups, "grouped", lambda *args: False)
    assert particle_blobs.blob_polarity_and_scale(image)[1] > 8.0


def test_a_large_particle_with_noise_on_top_is_no_group():
    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[:256, :256]
    body = np.zeros((256, 256))
    for r, c in ((64, 64), (64, 190), (190, 64), (190, 190)):
        body += 2 * np.sqrt(np.clip(30.0**2 - (rows - r) ** 2 - (cols - c) ** 2, 0, None)) / 30
    image = rng.poisson(40 * (body + 0.2)).astype(float)
    response = particle_scale_space.scale_space(
        image, particle_scale_space.blob_scales(image.shape)
    )
    scales = particle_scale_space.blob_scales(image.shape)
    index = int(np.argmin(np.abs(scales - 30 / np.sqrt(2))))
    assert particle_groups.inner_strong_blobs(response, scales, index, 1.0, 64, 64) == 0


def test_noise_alone_holds_no_groups():
    rng = np.random.default_rng(1)
    image = rng.poisson(2.0, (512, 512)).astype(float)
    scales = particle_scale_space.blob_scales(image.shape)
    response = particle_scale_space.scale_space(image, scales)
    index = len(scales) - 4
    layer = response[index]
    peaks = np.flatnonzero(particle_peak_shape.signed_peaks(layer, "bright"))
    peaks = peaks[np.argsort(-layer.ravel()[peaks])][:4]
    assert not particle_groups.grouped(
        response, scales, index, "bright", peaks, float(np.sqrt(2.0))
    )
