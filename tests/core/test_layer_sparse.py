"""A packed layer's self-check on its own area: the share of the frame that holds the layer,
and the warning when far fewer points than the layer's cells there were found."""

from types import SimpleNamespace

import numpy as np

from napari_ivae.core.detection.layer_candidates import layer_area, layer_share
from napari_ivae.core.detection.particle_scale_space import scale_space
from napari_ivae.core.detection.quality_particles import LAYER_SPARSE, _sparse_warning
from napari_ivae.core.synthetic.particles import make_monolayer


def test_the_layer_share_is_the_films_part_of_the_frame():
    """A film of dark r 5 px particles over the left half, bare liquid (noise alone, at the
    same counts) over the right: the layer's area is about half of the frame."""
    truth = make_monolayer(
        256, radius=5, gap=2.5, blur=1.4, noise=0.0, texture=0.0, vacancies=0.05, seed=3
    )
    clean = truth.image.copy()
    clean[:, 128:] = np.median(clean[:, :128])
    rng = np.random.default_rng(3)
    frame = (rng.poisson(clean * 12) / 12).astype(np.float32)
    scales = np.array([5 / np.sqrt(2)])
    structure = layer_area(frame, scale_space(frame, scales), scales, float(scales[0]))
    share = layer_share(structure, np.zeros(frame.shape, dtype=bool))
    assert 0.4 < share < 0.65
    masked = np.zeros(frame.shape, dtype=bool)
    masked[:, :128] = True  # only the liquid left: noise alone
    assert layer_share(structure, masked) < 0.15


def test_few_points_per_cell_of_the_layers_area_warn():
    """100 points where the layer's area holds 400 cells warn; where it holds 100, or where
    no area was measured, nothing is said."""
    found = SimpleNamespace(coords=np.zeros((100, 3)))
    measures: dict = {}
    assert _sparse_warning(found, {"layer_cells": 800.0, "layer_share": 0.5}, measures)
    assert measures["points_per_layer_cell"] == 0.25
    assert 0.25 < LAYER_SPARSE <= 0.75
    assert not _sparse_warning(found, {"layer_cells": 200.0, "layer_share": 0.5}, {})
    assert not _sparse_warning(found, {"layer_cells": 400.0, "layer_share": None}, {})
    assert not _sparse_warning(found, {"layer_cells": None, "layer_share": 0.5}, {})
