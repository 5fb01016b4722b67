"""A packed layer up-sampled (a higher magnification, a smaller pixel): its lattice's cells
from the spectrum's ring, the white-equivalent noise of grainy noise, and the search run again
on it where the points outnumber the cells."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.layer_grain import grain_block, white_equivalent_noise
from napari_ivae.core.detection.packed_period import lattice_cells
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.detection.peaks import smoothed_noise
from napari_ivae.core.detection.quality_particles import _crowded_warning
from napari_ivae.core.synthetic.particles import make_monolayer


def _layer(seed):
    """Dark r 5 px particles, gaps of 2.5 px blurred by 1.4 px, at 12 counts a pixel."""
    truth = make_monolayer(
        256, radius=5, gap=2.5, blur=1.4, noise=0.0, texture=0.0, vacancies=0.05, seed=seed
    )
    rng = np.random.default_rng(seed)
    return truth, (rng.poisson(truth.image * 12) / 12).astype(np.float32)


def test_white_equivalent_noise_spans_the_grain():
    """White noise reads its pixel noise (blocks of 2 px); cubic x2 up-sampled white noise 4 x
    its neighbour differences' (blocks of 4 px), as its blobs' strengths at a particle's
    scale (4.15-4.22 x) say; the neighbour differences alone read a quarter of it."""
    rng = np.random.default_rng(0)
    white = rng.standard_normal((512, 512)).astype(np.float32)
    assert grain_block(white) == 2
    assert 0.9 < white_equivalent_noise(white) / smoothed_noise(white, 0.0) < 1.1
    grainy = ndimage.zoom(rng.standard_normal((256, 256)), 2, order=3).astype(np.float32)
    assert grain_block(grainy) == 4
    assert 3.5 < white_equivalent_noise(grainy) / smoothed_noise(grainy, 0.0) < 4.8


def test_a_layers_cells_follow_its_period_at_any_magnification():
    """The ring's cells: as many at x1 as at x2, no fewer than the particles."""
    truth, image = _layer(1)
    cells = lattice_cells(image)
    larger = lattice_cells(ndimage.zoom(image, 2, order=3))
    assert cells is not None and larger is not None
    assert len(truth.centres) <= cells < 1.4 * len(truth.centres)
    assert abs(larger / cells - 1) < 0.05


@pytest.mark.parametrize("zoom", [1, 2])
def test_an_up_sampled_layer_keeps_its_particles(zoom):
    """x2: floors on the pixel noise kept 2 907 points for 463 particles (P 0.15, silent); on
    the white-equivalent noise (5.2 x the pixel noise) P 0.99, R 0.98. x1: no second search."""
    truth, image = _layer(1)
    image = ndimage.zoom(image, zoom, order=3).astype(np.float32) if zoom > 1 else image
    detections = detect_particles(image)
    resolved = detections.params["resolved"]
    assert resolved["packed_cut"]
    assert (resolved["noise_grain"] is None) == (zoom == 1)
    radius = 5.0 * zoom
    shape = np.asarray(image.shape)

    def inside(points):
        return points[((points >= radius) & (points < shape - radius)).all(axis=1)]

    centres = truth.centres * zoom + (zoom - 1) / 2
    match = match_points(inside(detections.coords[:, 1:]), inside(centres), 0.5 * radius)
    assert match.precision > 0.95 and match.recall > 0.95
    assert not detections.quality["warnings"]


def test_more_points_than_cells_warn():
    """Twice the cells' count on the frame: most points are no particles."""
    found = SimpleNamespace(coords=np.zeros((200, 3)))
    measures: dict = {}
    assert _crowded_warning(found, {"layer_cells": 100.0}, measures)
    assert measures["points_per_cell"] == 2.0
    assert not _crowded_warning(found, {"layer_cells": 160.0}, {})
    assert not _crowded_warning(found, {"layer_cells": None}, {})
