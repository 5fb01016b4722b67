"""Particles kept below the noise floor on a packed layer must lie on it (packed.off_layer).

The points and frames are built here, apart from the benchmarks' generators.
"""

import numpy as np
from scipy.spatial import cKDTree

from napari_ivae.core.detection.packed import LAYER_GROUP, off_layer


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
