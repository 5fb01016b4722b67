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


def _touching_spheres(seed, far_side=False):
    """A round host (Gaussian, sigma 6 px, height 1) and a smaller, lower particle touching it
    (sigma 3 px, 0.4 high, 11.3 px away): PtCo1's bin0.7 counterexample (host radius 8.4,
    candidate sigma 3.04 at 10.6 px, standing just above the host's half height). With
    ``far_side`` a second particle overlaps the host opposite (its outline is no longer round).
    White noise of 0.03; the pair's direction turns with the seed."""
    rows, cols = np.indices(SHAPE).astype(float)
    turn = 0.37 * seed
    way = np.array([np.sin(turn), np.cos(turn)])
    small_at = CENTRE + 11.3 * way
    signal = np.exp(-((rows - CENTRE[0]) ** 2 + (cols - CENTRE[1]) ** 2) / (2 * 6.0**2))
    signal += 0.4 * np.exp(-((rows - small_at[0]) ** 2 + (cols - small_at[1]) ** 2) / (2 * 3.0**2))
    if far_side:
        other = CENTRE - 10.0 * way
        signal += 0.6 * np.exp(-((rows - other[0]) ** 2 + (cols - other[1]) ** 2) / (2 * 3.0**2))
    signal += np.random.default_rng(seed).normal(0.0, 0.03, SHAPE)
    return signal, np.rint(small_at).astype(int)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_small_particle_touching_a_round_one_is_no_corner(seed):
    # the pair's union outline is a tent whose straight flanks meet at the small particle:
    # taken as a corner on seeds 0-3 by the flank test alone (on 3 by it and the shelf test);
    # a round host has no facets beyond the flanks
    signal, candidate = _touching_spheres(seed)
    assert not _judged(signal, candidate, 3.0, 6.0)[0]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_lower_particle_beside_a_non_round_host_is_no_corner(seed):
    # the host's outline is not round (a particle overlaps its far side), so only the frame
    # along the way tells: it falls to a shelf at the small particle's own height before the
    # small particle's inner rim, where a corner stays at its host's height (taken as a
    # corner on seeds 0-2 without it)
    signal, candidate = _touching_spheres(seed, far_side=True)
    assert not _judged(signal, candidate, 3.0, 6.0)[0]
