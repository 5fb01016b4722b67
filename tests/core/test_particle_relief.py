"""Differential interference contrast (a relief along one shear): one point per bead."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection.particle_relief import in_relief_shadows

CENTRES = [(r, c) for r in (50, 140, 230) for c in (50, 140, 230)]


def _dic(shear_angle, seed, shape=(280, 280), centres=CENTRES, radii=None):
    """Beads' optical path (projected spheres, a phase of radius / 8 at the centre)
    differentiated along ``shear_angle`` on a bias, 200 counts of background, Poisson noise
    (benchmarks/stranger_optical.py's ``dic_beads`` recipe)."""
    rng = np.random.default_rng(seed)
    radii = np.full(len(centres), 11.0) if radii is None else radii
    rows, cols = np.indices(shape, dtype=np.float64)
    path = np.zeros(shape)
    for (row, col), radius in zip(centres, radii):
        d2 = (rows - row) ** 2 + (cols - col) ** 2
        path += np.sqrt(np.clip(radius**2 - d2, 0, None)) / 8.0
    grad_r, grad_c = np.gradient(ndimage.gaussian_filter(path, 1.0))
    shear = np.cos(shear_angle) * grad_r + np.sin(shear_angle) * grad_c
    bias = 0.35 * np.pi
    intensity = (1 - np.cos(bias + 2.5 * shear)) / (1 - np.cos(bias))
    return rng.poisson(ndimage.gaussian_filter(intensity, 1.0) * 200.0).astype(np.float32)


@pytest.mark.parametrize("shear_angle,seed", [(0.4, 0), (4.4, 7)])
def test_one_point_per_dic_bead(shear_angle, seed):
    # beads of radius 6-16 px: without the relief rule the background past the dark side of
    # the large ones came out as 6 and 10 more blobs
    from napari_ivae.core.detection.particles import detect_particles

    rng = np.random.default_rng(seed)
    grid = [(r, c) for r in range(40, 400, 64) for c in range(40, 400, 64)]
    centres = np.array(grid) + rng.uniform(-8, 8, (len(grid), 2))
    radii = rng.uniform(6, 16, len(centres))
    image = _dic(shear_angle, seed, (400, 400), centres, radii)
    found = np.asarray(detect_particles(image).coords, dtype=np.float64).reshape(-1, 3)[:, 1:]
    gaps = np.hypot(*(found[:, None, :] - centres[None]).transpose(2, 0, 1))
    assert len(found) == len(centres)
    assert (gaps.min(axis=0) <= radii).all()


def test_blobs_past_the_shadow_are_flagged_and_beads_kept():
    image = _dic(0.4, 2)
    way = np.array([np.cos(0.4), np.sin(0.4)])  # the shear: toward the dark side
    beads = np.round(np.array(CENTRES) - 8.0 * way).astype(np.int64)
    past = np.round(np.array(CENTRES) + 19.0 * way).astype(np.int64)
    points = np.concatenate([beads, past])
    radius = np.full(len(points), 7.5)
    flagged = in_relief_shadows(image, points, radius, np.sqrt(200.0))
    assert not flagged[: len(beads)].any() and flagged[len(beads) :].all()


def test_touching_particles_with_dips_in_every_direction_are_kept():
    # pairs of touching particles (a gap lower than both between them, a dark fringe round
    # each), oriented every which way: no frame-wide axis, nothing flagged
    shape = (300, 300)
    rows, cols = np.indices(shape, dtype=np.float64)
    rng = np.random.default_rng(3)
    image = np.full(shape, 100.0)
    points, radius = [], []
    for k, (row, col) in enumerate([(r, c) for r in (50, 150, 250) for c in (50, 150, 250)]):
        angle = k * 0.7
        for side, height in ((1, 80.0), (-1, 30.0)):
            at = (row + side * 7 * np.sin(angle), col + side * 7 * np.cos(angle))
            d2 = (rows - at[0]) ** 2 + (cols - at[1]) ** 2
            image += height * np.exp(-d2 / 18.0) - 0.5 * height * np.exp(-d2 / 60.0)
            points.append(at)
            radius.append(6.0)
    image = rng.poisson(image).astype(np.float32)
    flagged = in_relief_shadows(image, np.round(points).astype(np.int64), radius, 10.0)
    assert not flagged.any()
