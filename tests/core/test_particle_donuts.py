"""Donut-shaped particles (a ring round a dim centre) and DIC beads (a bright and a dark side):
one point each."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection.particle_donuts import one_per_donut
from napari_ivae.core.detection.particle_shoulders import on_shoulders

CENTRES = [(r, c) for r in (40, 110, 180) for c in (40, 110, 180)]


def _donuts(width, seed, shape=(220, 220), peak=60.0):
    """Rings of the profile ``(q / width)^2 exp(-(q / width)^2)`` round each centre, on a
    background of 10 counts, Poisson noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape, dtype=np.float64)
    image = np.full(shape, 10.0)
    for row, col in CENTRES:
        q2 = ((rows - row) ** 2 + (cols - col) ** 2) / width**2
        image += peak * np.e * q2 * np.exp(-q2)
    return rng.poisson(image).astype(np.float32)


def _dic_bead(seed, shape=(80, 80), angle=0.7):
    """A bead of radius 10 at the middle in differential interference contrast: the optical
    path's gradient along ``angle`` through a biased cosine, one side bright, the other dark;
    and the unit vector along ``angle``."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape, dtype=np.float64)
    distance = np.hypot(rows - 40, cols - 40) / 10.0
    path = 1.25 * np.sqrt(np.clip(1 - distance**2, 0, 1))
    grad_r, grad_c = np.gradient(ndimage.gaussian_filter(path, 1.0))
    shear = np.cos(angle) * grad_r + np.sin(angle) * grad_c
    bias = 0.35 * np.pi
    intensity = (1 - np.cos(bias + 2.5 * shear)) / (1 - np.cos(bias))
    image = rng.poisson(ndimage.gaussian_filter(intensity, 1.0) * 200).astype(np.float32)
    return image, np.array([np.cos(angle), np.sin(angle)])


@pytest.mark.parametrize("width,seed", [(2.5, 0), (3.5, 1)])
def test_blobs_on_one_small_ring_become_one_particle_at_its_centre(width, seed):
    # two maxima facing each other on some rings, three on the others (as stranger_optical's
    # dark-field gold donuts give): one particle each, at the ring's centre
    image = _donuts(width, seed, peak=25.0)
    points, radius = [], []
    for k, (row, col) in enumerate(CENTRES):
        angles = np.arange(2 + k % 2) * 2 * np.pi / (2 + k % 2) + 0.3 * k
        for angle in angles:
            points.append((row + width * np.sin(angle), col + width * np.cos(angle)))
            radius.append(1.2 * width)
    points, radius = np.round(points).astype(np.int64), np.array(radius)
    kept = np.ones(len(points), dtype=bool)
    out_points, _, keep, donuts = one_per_donut(image, points, radius, kept, np.sqrt(10.0))
    assert donuts == len(CENTRES) and keep.sum() == len(CENTRES)
    centres = out_points[keep]
    order = np.argsort(centres[:, 0] * 1000 + centres[:, 1])
    assert np.abs(centres[order] - np.array(CENTRES)).max() <= 1


@pytest.mark.parametrize("count,dose", [(6, 10.0), (3, 10.0), (3, 1e4)])
def test_separate_particles_round_a_hole_are_no_donut(count, dose):
    shape = (200, 200)
    rows, cols = np.indices(shape, dtype=np.float64)
    radius = 10.0
    spacing = radius / np.sin(np.pi / count)  # neighbours touch
    thickness = np.zeros(shape)
    ring = [
        (100 + spacing * np.sin(a), 100 + spacing * np.cos(a))
        for a in np.arange(count) * 2 * np.pi / count
    ]
    for row, col in ring:
        thickness += np.sqrt(np.clip(radius**2 - (rows - row) ** 2 - (cols - col) ** 2, 0, None))
    ideal = ndimage.gaussian_filter(5 + thickness, 0.8) * dose
    image = np.random.default_rng(0).poisson(ideal).astype(np.float32)
    points = np.round(ring).astype(np.int64)
    kept = np.ones(len(points), dtype=bool)
    noise = float(np.sqrt(5 * dose))
    _, _, keep, donuts = one_per_donut(image, points, np.full(count, 14.0), kept, noise)
    assert donuts == 0 and keep.sum() == count


def test_two_touching_spots_are_no_donut():
    rows, cols = np.indices((60, 60), dtype=np.float64)
    image = sum(
        100 * np.exp(-((rows - 30) ** 2 + (cols - c) ** 2) / (2 * 2.5**2)) for c in (26, 34)
    )
    image = np.random.default_rng(2).poisson(image + 10).astype(np.float32)
    points = np.array([[30, 26], [30, 34]])
    out_points, _, keep, donuts = one_per_donut(
        image, points, np.full(2, 3.5), np.ones(2, bool), np.sqrt(10.0)
    )
    assert donuts == 0 and keep.tolist() == [True, True] and len(out_points) == 2


def test_the_background_beyond_a_dic_beads_dark_side_is_a_shoulder():
    image, along = _dic_bead(3)
    # the bright side (where the path rises along the shear) stays; the background just past
    # the dark side, only bright beside it, is a shoulder (stranger_optical's dic_beads: one
    # or two such points per bead)
    bright = np.round(40 - 8 * along).astype(int)
    beyond = np.round(40 + 16 * along).astype(int)
    shoulder = on_shoulders(image, np.array([bright, beyond]), np.array([7.0, 5.0]), 14.0)
    assert shoulder.tolist() == [False, True]


def test_a_spot_beside_a_dark_spot_as_deep_is_no_shoulder():
    rows, cols = np.indices((60, 60), dtype=np.float64)
    spot = [np.exp(-((rows - 30) ** 2 + (cols - c) ** 2) / (2 * 3.0**2)) for c in (24, 36)]
    image = 100 + 60 * spot[0] - 60 * spot[1]
    image = np.random.default_rng(4).poisson(image).astype(np.float32)
    assert not on_shoulders(image, np.array([[30, 24]]), np.array([4.2]), 10.0).any()
    # ... while the background beyond a dark spot, at the background's level, is one
    assert on_shoulders(image, np.array([[30, 46]]), np.array([4.2]), 10.0).all()


def test_a_dark_core_in_its_bright_halo_is_no_donut():
    # the other polarity's particle (both_polarities finds it): its hollow lies below the
    # background, not at it
    rows, cols = np.indices((80, 80), dtype=np.float64)
    q2 = ((rows - 40) ** 2 + (cols - 40) ** 2) / 3.0**2
    image = 50 + 40 * np.e * q2 * np.exp(-q2) - 45 * np.exp(-q2 / 0.5)
    image = np.random.default_rng(5).poisson(image).astype(np.float32)
    points = np.array([[37, 40], [43, 40]])
    _, _, keep, donuts = one_per_donut(image, points, np.full(2, 3.6), np.ones(2, bool), 7.0)
    assert donuts == 0 and keep.all()
    # ... while the same ring round a hollow at the background's level is one
    image = 50 + 40 * np.e * q2 * np.exp(-q2)
    image = np.random.default_rng(5).poisson(image).astype(np.float32)
    _, _, keep, donuts = one_per_donut(image, points, np.full(2, 3.6), np.ones(2, bool), 7.0)
    assert donuts == 1
