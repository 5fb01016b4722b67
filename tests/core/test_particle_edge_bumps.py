"""Large particles with surface relief (a raised rim, texture): one point each, and a smaller
particle touching a larger one stays a particle of its own."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection.particle_edge_bumps import edge_bumps
from napari_ivae.core.detection.particles import detect_particles

# (row, col, radius): a size spread on a grid, and two small particles touching large ones
DISCS = [
    (45, 45, 24),
    (45, 125, 18),
    (45, 205, 28),
    (45, 290, 20),
    (135, 45, 20),
    (135, 130, 26),
    (135, 215, 16),
    (135, 290, 22),
    (225, 50, 26),
    (225, 135, 20),
    (230, 215, 24),
    (225, 295, 18),
    (135, 130 + 26 + 12, 12),
    (230 - 24 - 11, 215, 11),
]


def _relief_discs(seed, shape=(280, 340), noise=0.04):
    """Bright discs on a flat dark background, each with a raised rim (the outer sixth of its
    radius 1.25 x its face) and a face of random relief (bumps of 3-6 px, +-10 %)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape, dtype=np.float64)
    image = np.full(shape, 0.2)
    texture = ndimage.gaussian_filter(rng.normal(size=shape), 3.0)
    texture *= 0.1 / texture.std()
    for row, col, radius in DISCS:
        distance = np.hypot(rows - row, cols - col) / radius
        inside = distance < 1
        face = 1.0 + texture[inside]
        image[inside] = np.where(distance[inside] > 5 / 6, 1.25, face)
    image = ndimage.gaussian_filter(image, 1.0)
    return (image + rng.normal(0, noise, shape)).astype(np.float32)


def _on_discs(points, discs):
    """How many discs hold a point within their radius, and how many points within a disc's
    radius are not the one nearest its centre (second points on one particle)."""
    centres = np.array([d[:2] for d in discs], dtype=float)
    radii = np.array([d[2] for d in discs], dtype=float)
    distance = np.hypot(*(points[:, None, :] - centres[None, :, :]).transpose(2, 0, 1)) / radii
    inside = distance <= 1.0
    found = inside.any(axis=0)
    return int(found.sum()), int(inside.any(axis=1).sum() - found.sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_relief_on_large_particles_is_no_particle_of_its_own(seed):
    image = _relief_discs(seed)
    found = detect_particles(image)
    found, second = _on_discs(np.asarray(found.coords)[:, -2:].astype(float), DISCS)
    assert found == len(DISCS)
    assert second == 0


def test_a_blob_on_the_edge_goes_one_touching_or_on_top_stays():
    rows, cols = np.indices((140, 160), dtype=np.float64)
    image = np.full(rows.shape, 0.1)
    image[np.hypot(rows - 70, cols - 60) < 24] = 1.0
    image[np.hypot(rows - 70, cols - 60 - 24 - 9) < 9] = 1.0  # a smaller particle touching
    image[np.hypot(rows - 70 - 22, cols - 60) < 5] = 1.8  # one over its edge (thicker there)
    image = ndimage.gaussian_filter(image, 1.0).astype(np.float32)
    points = np.array([(70, 60), (70, 93), (70 - 22, 60), (75, 55), (70, 60 - 23), (92, 60)])
    radius = np.array([24.0, 9.0, 6.0, 5.0, 7.0, 5.0])
    bumps = edge_bumps(image, points, radius)
    # the large one, the touching one, one on its top and one over its edge stay; two of its
    # edge's own spots go
    assert bumps.tolist() == [False, False, True, False, True, False]
