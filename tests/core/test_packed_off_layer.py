"""Particles kept below the noise floor on a packed layer must lie on it (packed.off_layer).

The points and frames are built here, apart from the benchmarks' generators: for the detection,
a film of dark discs packed on a hexagonal lattice over part of the frame, the rest an empty
patch of the same liquid, at a few counts a pixel (the layer's false discovery rate then stands
below the white-noise floor, where the empty patch's noise reaches it too).
"""

import numpy as np
import pytest
from _particle_data import packed_layer_points, sphere_thickness
from scipy import ndimage
from scipy.spatial import cKDTree

from napari_ivae.core.detection.packed import LAYER_GROUP, off_layer


def _film_with_empty_patch(seed, shape=(320, 384), radius=5.0, gap=2.5, empty=170, dose=8.0):
    """Poisson counts of a hexagonal film of dark discs (``radius``, ``gap`` between them)
    covering the columns from ``empty`` on, 6 % of its sites vacant; the columns before it
    bare liquid. Returns the frame and the discs' centres."""
    rng = np.random.default_rng(seed)
    step = 2 * radius + gap
    centres = []
    for i in range(-1, int(shape[0] / (step * np.sqrt(3) / 2)) + 2):
        for j in range(-1, int(shape[1] / step) + 2):
            point = np.array([i * step * np.sqrt(3) / 2, j * step + (i % 2) * step / 2])
            point += 0.5 * rng.standard_normal(2)
            if point[1] >= empty + radius and rng.random() > 0.06:
                centres.append(point)
    centres = np.array(centres)
    thickness = sphere_thickness(centres, shape, radius)
    ideal = ndimage.gaussian_filter(np.exp(-0.8 * thickness / radius) * 0.75, 1.4)
    frame = (rng.poisson(ideal * dose) / dose).astype(np.float32)
    return frame, centres


def test_off_layer_keeps_a_layer_and_drops_scattered_points():
    rng = np.random.default_rng(0)
    step = 12.0
    layer = np.array(
        [
            [i * step * np.sqrt(3) / 2, j * step + (i % 2) * step / 2]
            for i in range(12)
            for j in range(12)
        ]
    )
    scattered = rng.uniform(0, 400, (15, 2)) + np.array([0.0, 400.0])  # 2.5 x farther apart
    scattered = scattered[cKDTree(scattered).query(scattered, k=2)[0][:, 1] > 2 * step]
    points = np.vstack([layer, scattered])
    weak = np.zeros(len(points), dtype=bool)
    off = off_layer(points, weak)
    assert not off[: len(layer)].any()
    assert off[len(layer) :].all()
    # a point above the white-noise floor stays wherever it lies
    assert not off_layer(points, np.ones(len(points), dtype=bool)).any()


def test_off_layer_keeps_a_small_island_of_the_layer_only_from_its_size():
    step = 12.0
    island = np.array([[i * step, j * step] for i in range(3) for j in range(3)])  # 9 points
    big = np.array([[i * step, 200 + j * step] for i in range(6) for j in range(6)])
    points = np.vstack([island, big])
    off = off_layer(points, np.zeros(len(points), dtype=bool))
    assert len(island) < LAYER_GROUP and off[: len(island)].all()
    assert not off[len(island) :].any()


# before packed._film_parts the film was recognised as a layer on seeds 1, 3 and 8 only (the
# frame's Otsu level split film from liquid, not particles from gaps): 0-21 of ~430 particles
# found on the others, once 278 points on the gaps
@pytest.mark.parametrize("seed", range(9))
def test_no_particles_in_the_empty_patch_beside_a_low_dose_film(seed):
    frame, centres = _film_with_empty_patch(seed)
    points = packed_layer_points(frame)
    # 4 points in the patch on seeds 1 and 8 before off_layer, none after
    assert (points[:, 1] < 170 - 8.0).sum() == 0

    def inner(at):
        return at[((at >= 8) & (at < np.array(frame.shape) - 8)).all(axis=1)]

    truth, points = inner(centres), inner(points)
    assert (cKDTree(points).query(truth)[0] <= 5.0).mean() > 0.95  # 0.988-1.0
    assert (cKDTree(truth).query(points)[0] <= 5.0).mean() > 0.95  # 1.0


@pytest.mark.parametrize("seed", [0, 2])
def test_a_film_over_part_of_the_frame_is_a_layer(seed):
    """The layer test on the film's side of the slow variation, at that side's own level."""
    from napari_ivae.core.detection.packed import packed_phase

    frame, _ = _film_with_empty_patch(seed)
    found = packed_phase(frame)
    assert found is not None and found[0] == "dark"
    assert 0.5 * 5 / np.sqrt(2) < found[1] < 5 / np.sqrt(2)  # the discs' r 5 px
