"""Failure classes found on h2's independent particle images (issue 9, round 18b): rods found
as rows of blobs, saturated particles beside a scale bar masked as its label."""

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection.overlays import annotation_mask
from napari_ivae.core.detection.particle_merge import merge_groups
from napari_ivae.core.detection.particles import detect_particles


def _capsule(shape, centre, half_length, half_width, angle):
    """Projected thickness of a capsule (a rod with round caps)."""
    rows, cols = np.indices(shape, dtype=np.float64)
    dy, dx = rows - centre[0], cols - centre[1]
    along = np.cos(angle) * dx + np.sin(angle) * dy
    across = -np.sin(angle) * dx + np.cos(angle) * dy
    beyond = np.clip(np.abs(along) - (half_length - half_width), 0.0, None)
    return np.sqrt(np.clip(half_width**2 - beyond**2 - across**2, 0.0, None))


def _sphere(shape, centre, radius):
    return _capsule(shape, centre, radius, radius, 0.0)


def _bright_field(thickness, seed, dose=400.0):
    """Dark particles on a bright support: Beer-Lambert, a little blur, shot noise."""
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(np.exp(-0.15 * thickness), 0.8) * dose
    return rng.poisson(image).astype(np.float32)


def test_rods_are_counted_once_each():
    shape = (320, 320)
    rng = np.random.default_rng(2)
    centres = [(r, c) for r in (60, 160, 260) for c in (60, 160, 260)]
    thickness = sum(_capsule(shape, centre, 32.0, 7.0, rng.uniform(0, np.pi)) for centre in centres)
    detections = detect_particles(_bright_field(thickness, 3))
    assert detections.params["resolved"]["polarity"] == "dark"
    assert len(detections) == len(centres)  # each rod once: HEAD found 2-3 blobs on each
    found = detections.coords[:, 1:]
    nearest = np.min(np.linalg.norm(found[:, None] - np.array(centres)[None], axis=2), axis=0)
    assert (nearest < 7.0).all()  # near each rod's middle, not at a cap


def test_touching_spheres_are_not_merged():
    shape = (320, 320)
    pairs = [((80, 60 + 40 * k), (80, 60 + 40 * k + 17)) for k in range(5)]
    pairs += [((220, 60 + 40 * k), (220 + 12, 60 + 40 * k + 12)) for k in range(5)]
    thickness = sum(_sphere(shape, a, 9.0) + _sphere(shape, b, 9.0) for a, b in pairs)
    detections = detect_particles(_bright_field(thickness, 4))
    assert len(detections) == 2 * len(pairs)


def test_saturated_sphere_touching_a_small_one_is_not_a_rod():
    shape = (160, 160)
    big, small = (80.0, 70.0), (80.0, 92.0)  # overlapping: their thicknesses add up
    thickness = _sphere(shape, big, 14.0) + _sphere(shape, small, 7.0)
    signal = -_bright_field(thickness, 5)
    groups = merge_groups(signal, np.array([[80, 70], [80, 92]]), np.array([14.0, 7.0]))
    assert groups[0] != groups[1]


def _bar_and_label(image, value):
    """A filled scale bar and a crisp text-like label (two glyphs) at ``value``."""
    image[300:306, 200:300] = value
    image[270:290, 205:209] = value  # an "l"
    glyph = np.zeros((20, 14), dtype=bool)
    glyph[[0, -1], :] = glyph[:, [0, -1]] = True  # an "o"
    glyph[:, [1, -2]] = glyph[[1, -2], :] = True
    image[270:290, 215:229][glyph] = value
    return image


def test_a_saturated_particle_beside_the_scale_bar_is_not_its_label():
    shape = (340, 340)
    thickness = _sphere(shape, (285.0, 265.0), 14.0) + _sphere(shape, (100.0, 100.0), 14.0)
    image = np.minimum(_bright_field(thickness, 6, dose=200.0), 200.0)
    image = np.where(image < 40.0, 0.0, image)  # the particles' cores saturate at 0
    image = _bar_and_label(image, 0.0)
    mask = annotation_mask(image)
    assert mask[300:306, 200:300].all() and mask[275, 206] and mask[270, 220]
    assert not mask[285, 265]  # HEAD masked the saturated particle with the label
    detections = detect_particles(image)
    found = detections.coords[:, 1:]
    assert np.min(np.linalg.norm(found - [285.0, 265.0], axis=1)) < 4.0
    assert len(detections) == 2
