"""Beside candidates at a kept faceted particle's corner are its own, not neighbours."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.particle_corners import host_corners
from napari_ivae.core.detection.particle_profiles import profile_model
from napari_ivae.core.detection.particles import detect_particles

SHAPE = (160, 160)
CENTRE = np.array([80.0, 80.0])


def _frame(mask, seed=0):
    """A particle ``mask`` as a dome of height 1 (its distance to the outline), blurred by
    1.5 px, with white noise of 0.03."""
    depth = ndimage.distance_transform_edt(mask)
    dome = np.sqrt(np.clip(1 - (1 - depth / depth.max()) ** 2, 0, 1)) * mask
    noise = np.random.default_rng(seed).normal(0.0, 0.03, SHAPE)
    return ndimage.gaussian_filter(dome, 1.5) + noise


def _pentagon(circumradius, turn=0.3):
    rows, cols = np.indices(SHAPE).astype(float)
    angles = turn + 2 * np.pi * np.arange(5) / 5
    corners = CENTRE + circumradius * np.column_stack([np.sin(angles), np.cos(angles)])
    inside = np.ones(SHAPE, bool)
    for k in range(5):
        (ay, ax), (by, bx) = corners[k], corners[(k + 1) % 5]
        inside &= (bx - ax) * (rows - ay) - (by - ay) * (cols - ax) >= 0
    if inside.sum() < 100:
        inside = np.ones(SHAPE, bool)
        for k in range(5):
            (ay, ax), (by, bx) = corners[k], corners[(k + 1) % 5]
            inside &= (bx - ax) * (rows - ay) - (by - ay) * (cols - ax) <= 0
    return inside, corners


def _judged(signal, candidate, candidate_sigma, host_sigma):
    kept = CENTRE.astype(int)[None]
    drawn = profile_model(signal, kept.astype(float), [host_sigma])
    return host_corners(signal, drawn, np.array([candidate]), [candidate_sigma], kept, [host_sigma])


def _pentagons(seed):
    """Five dark pentagons (circumradius 28 px, domes of their distance to the outline) on a
    bright 8-bit film, 1 px blur, white noise of 12 counts."""
    rng = np.random.default_rng(seed)
    shape = (256, 512)
    rows, cols = np.indices(shape).astype(float)
    thickness = np.zeros(shape)
    centres = []
    for k in range(5):
        centre = np.array([128.0, 60.0 + 98 * k]) + rng.uniform(-8, 8, 2)
        centres.append(centre)
        angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(5) / 5
        corners = centre + 28.0 * np.column_stack([np.sin(angles), np.cos(angles)])
        inside = np.ones(shape, bool)
        for j in range(5):
            (ay, ax), (by, bx) = corners[j], corners[(j + 1) % 5]
            inside &= (bx - ax) * (rows - ay) - (by - ay) * (cols - ax) >= 0
        depth = ndimage.distance_transform_edt(inside)
        dome = np.sqrt(np.clip(1 - (1 - depth / depth.max()) ** 2, 0, 1)) * inside
        thickness = np.maximum(thickness, dome)
    image = 200 - 120 * ndimage.gaussian_filter(thickness, 1.0) + rng.normal(0, 12, shape)
    return np.clip(image, 0, 255).astype(np.uint8), np.array(centres)


@pytest.mark.parametrize("seed", [5, 9])
def test_no_point_at_the_corners_of_large_pentagons(seed):
    # the beside pass draws each kept particle from its radial median profile; a pentagon's
    # corners reach past it and leave lobes that the mirror-twin test keeps (a corner mirrors
    # to an edge's middle): 7 points on both frames before, the 5 particles now
    image, centres = _pentagons(seed)
    found = detect_particles(image).coords[:, 1:]
    assert len(found) == 5
    assert match_points(found, centres, 5.0).true_positives == 5


def test_a_round_particle_overlapping_a_round_one_is_no_corner():
    # a small sphere overlapping a large one at 0.8 x the sum of their radii: its round
    # outline bends the flanks away from a tip
    rows, cols = np.indices(SHAPE).astype(float)
    small_at = CENTRE + np.array([0.0, 0.8 * (24.0 + 7.0)])
    large = np.hypot(rows - CENTRE[0], cols - CENTRE[1]) <= 24.0
    small = np.hypot(rows - small_at[0], cols - small_at[1]) <= 7.0
    signal = np.maximum(_frame(large, 1), _frame(small, 2))
    assert not _judged(signal, np.rint(small_at).astype(int), 7.0 / np.sqrt(2.0), 24.0 / 2**0.5)[0]


def test_a_particle_apart_from_the_host_is_no_corner():
    rows, cols = np.indices(SHAPE).astype(float)
    mask, _ = _pentagon(28.0)
    apart = CENTRE + np.array([0.0, 45.0])
    small = np.hypot(rows - apart[0], cols - apart[1]) <= 7.0
    signal = np.maximum(_frame(mask, 3), _frame(small, 4))
    host_sigma = np.sqrt(mask.sum() / np.pi) / np.sqrt(2.0)
    assert not _judged(signal, np.rint(apart).astype(int), 7.0 / np.sqrt(2.0), host_sigma)[0]
