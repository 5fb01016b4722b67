"""Blobs on one particle's bright outline whose smoothed rim encloses no basin: one point."""

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection.particle_outlines import one_per_outline
from napari_ivae.core.detection.particle_rims import one_per_rim

CENTRES = [(r, c) for r in (40, 110, 180) for c in (40, 110, 180)]


def _shaded_spheres(radius=10.0, seed=0, shape=(220, 220), extra=()):
    """SE spheres: the rim up to 4 x the face (1.8 x the substrate), one side shaded so far
    that the smoothed rim there is barely above the face; ``extra``: (row, col, radius) solid
    particles of the face's level."""
    rows, cols = np.indices(shape, dtype=np.float64)
    image = np.full(shape, 0.5)
    for row, col in CENTRES:
        distance = np.hypot(rows - row, cols - col) / radius
        inside = distance < 1
        tilt = np.sqrt(np.clip(1 - distance[inside] ** 2, 0, 1))
        facing = (cols[inside] - col) / radius
        image[inside] = 0.9 * np.minimum(tilt**-0.9, 4.0) * (1 + 0.45 * facing)
    for row, col, r in extra:
        image[np.hypot(rows - row, cols - col) < r] = 0.9
    ideal = ndimage.gaussian_filter(image, 0.8) * 30
    return np.random.default_rng(seed).poisson(ideal).astype(np.float32), float(np.sqrt(15))


def _blobs(radius=10.0):
    """Per sphere: its blob at its own scale near the middle and two small blobs on its rim."""
    points, radii = [], []
    for row, col in CENTRES:
        points += [(row + 2, col - 1), (row, col + 0.85 * radius), (row - 0.85 * radius, col)]
        radii += [0.9 * radius, 4.0, 4.0]
    return np.round(points).astype(np.int64), np.array(radii)


def test_rim_blobs_inside_a_round_outline_join_the_particle_found_at_its_scale():
    image, noise = _shaded_spheres()
    points, radius = _blobs()
    keep = np.ones(len(points), dtype=bool)
    out, out_radius, kept, count = one_per_outline(image, points, radius, keep, noise)
    assert count == len(CENTRES)
    assert kept.sum() == len(CENTRES)
    assert np.array_equal(np.sort(out_radius[kept]), np.full(len(CENTRES), 9.0))
    assert set(map(tuple, out[kept].tolist())) == set(map(tuple, points[::3].tolist()))


def test_a_particle_beside_one_and_a_solid_cluster_stay_apart():
    # a small particle touching a sphere lies beyond its inscribed circle; blobs on a solid
    # area as bright in its middle as at its blobs are a cluster's particles
    image, noise = _shaded_spheres(extra=[(40, 57, 5.0)])
    points = np.array([[42, 39], [40, 57]], dtype=np.int64)
    radius = np.array([9.0, 4.0])
    keep = np.ones(2, dtype=bool)
    out, _, kept, count = one_per_outline(image, points, radius, keep, noise)
    assert count == 0 and np.array_equal(out[kept], points)
    solid = np.zeros((120, 120), dtype=np.float32)
    rows, cols = np.indices(solid.shape)
    solid[np.hypot(rows - 60, cols - 60) < 20] = 100.0
    solid = np.random.default_rng(1).poisson(ndimage.gaussian_filter(solid, 0.8) + 20)
    ring = np.array([[60, 75], [60, 45], [45, 60], [75, 60]], dtype=np.int64)
    keep = np.ones(4, dtype=bool)
    _, _, kept, count = one_per_outline(solid.astype(np.float32), ring, np.full(4, 6.0), keep, 4.5)
    assert count == 0 and kept.sum() == 4


def test_the_rim_finder_leaves_these_rims_to_the_outlines():
    # the reason for the outlines: the smoothed, shaded rim of a sphere of radius 10 encloses
    # no basin for the rim finder
    image, noise = _shaded_spheres()
    points, radius = _blobs()
    keep = np.ones(len(points), dtype=bool)
    assert one_per_rim(image, points, radius, keep, noise)[3] < len(CENTRES)


def test_a_second_blob_in_the_middle_joins_the_particle_too():
    # the shaded face's brighter half found at a second scale near the middle is no particle
    image, noise = _shaded_spheres()
    points, radius = _blobs()
    second = points[::3] + np.array([-3, 4])
    points = np.concatenate([points, second])
    radius = np.concatenate([radius, np.full(len(second), 6.0)])
    keep = np.ones(len(points), dtype=bool)
    _, _, kept, count = one_per_outline(image, points, radius, keep, noise)
    assert count == len(CENTRES) and kept.sum() == len(CENTRES)


def test_rim_blobs_round_a_fainter_face_are_one_particle_without_its_own_blob():
    image, noise = _shaded_spheres()
    points, radius = _blobs()
    ring = np.ones(len(points), dtype=bool)
    ring[::3] = False  # the blob at its own scale missed: only the rim's segments
    out, out_radius, kept, count = one_per_outline(
        image, points[ring], radius[ring], ring[ring], noise
    )
    assert count == len(CENTRES) and kept.sum() == len(CENTRES)
    found = out[kept]
    assert all(np.hypot(*(found - centre).T).min() <= 3 for centre in CENTRES)


def test_rim_blobs_of_an_outline_the_frame_cuts_stay():
    # the frame's edge through a sphere (or between two cut particles): the outline is not
    # seen whole, its inscribed circle reaches past the edge, nothing is joined
    image, noise = _shaded_spheres()
    points = np.array([[40, 48], [32, 40], [36, 33]])
    keep = np.ones(3, dtype=bool)
    assert one_per_outline(image, points, np.full(3, 4.0), keep, noise)[3] == 1
    assert one_per_outline(image[:44], points, np.full(3, 4.0), keep, noise)[3] == 0


def test_a_particle_on_a_neighbour_s_wake_is_outlined_above_it():
    # a bright wake along the lines past a sphere joins its outline and the next sphere's (not
    # round; main found 7 of 9 outlines); raised above the wake, each outline is round again
    # and holds its rim's blobs, and each is said to stand above its surroundings
    image, noise = _shaded_spheres()
    rows, cols = np.indices(image.shape)
    wake = (np.abs(rows - 40) <= 10) & (cols > 50)
    tail = np.where(wake, 0.3 * np.exp(-np.clip(cols - 50, 0, None) / 40.0), 0.0) * 30
    image = np.random.default_rng(2).poisson(tail).astype(np.float32) + image
    points, radius = _blobs()
    keep = np.ones(len(points), dtype=bool)
    _, _, kept, count, standing = one_per_outline(image, points, radius, keep, noise, raised=True)
    assert count == len(CENTRES) and kept.sum() == len(CENTRES)
    # the charging sphere itself and the next one on its wake
    assert sorted(standing.tolist()) == [[42, 39], [42, 109]]
    assert len(one_per_outline(image, points, radius, keep, noise)) == 4


def test_particles_on_a_support_dome_are_not_its_rim():
    # a carbon-black sphere seen in bright field: thickest (darkest) in its middle, a dome in
    # the particles' polarity; three small particles lie on it off its middle, darker still.
    # Its face stands above the ring they lie on: no rim, the particles stay particles
    rows, cols = np.indices((260, 260), dtype=np.float64)
    q = 1 - ((rows - 130) ** 2 + (cols - 130) ** 2) / 80.0**2
    thick = np.sqrt(np.clip(q, 0, None)) * 80
    points = np.array([[130, 190], [75, 120], [170, 85]])
    for row, col in points:
        thick += 60 * np.sqrt(np.clip(1 - ((rows - row) ** 2 + (cols - col) ** 2) / 25.0, 0, None))
    ideal = 200 * np.exp(-0.004 * thick)
    image = np.random.default_rng(0).poisson(ideal).astype(np.float32)
    signal = -image  # dark particles: their polarity positive
    keep = np.ones(3, dtype=bool)
    noise = float(np.sqrt(200))
    _, _, kept, count = one_per_outline(signal, points, np.full(3, 5.0), keep, noise)
    assert count == 0 and kept.sum() == 3
