"""layer_candidates: on a packed layer at a low dose, the maxima at the particles' own scale
(the noise's maxima over the scales sit at smaller ones), where the frame holds a layer
(layer_area); packed.off_layer: below the floor, a particle where the frame holds noise alone
is off the layer."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from test_packed_off_layer import _film_with_empty_patch
from test_particles_packed_low_dose import _in_situ_layer

from napari_ivae.core.detection.layer_candidates import (
    LAYER_NOISE,
    LAYER_STRUCTURE,
    layer_area,
    layer_candidates,
    layer_structure,
)
from napari_ivae.core.detection.packed import off_layer
from napari_ivae.core.detection.particle_candidates import blob_candidates, search_scales
from napari_ivae.core.detection.particle_scale_space import scale_space


@pytest.mark.parametrize("dose", [2.0, 5.0, 50.0])
def test_noise_alone_stays_below_the_noise_level(dose):
    rng = np.random.default_rng(int(dose))
    frame = (rng.poisson(0.7 * dose, (384, 384)) / dose).astype(np.float32)
    sigma = 2.52
    structure = layer_structure(frame, scale_space(frame, np.array([sigma]))[0], sigma)
    assert 0.9 < np.median(structure) < 1.1
    assert structure.max() < LAYER_NOISE < LAYER_STRUCTURE


def _search(frame, sigma):
    scales = search_scales(frame.shape, sigma)
    response = scale_space(frame, scales)
    return scales, response, layer_area(frame, response, scales, sigma)


def test_the_particle_scale_maxima_join_on_a_low_dose_layer():
    truth, frame = _in_situ_layer(1)
    sigma = 5 / np.sqrt(2)
    scales, response, structure = _search(frame, sigma)
    at = scales[int(np.argmin(np.abs(np.log(scales / sigma))))]

    def covered(found):
        points = found[0][found[1] == at]
        return (cKDTree(points).query(truth.centres)[0] <= 2.0).mean()

    # maxima over the scales too: 0.7 % of the particles have one at their scale
    assert covered(blob_candidates(None, scales, "dark", None, response, overlaps=False)) < 0.05
    found = layer_candidates(response, scales, "dark", None, sigma, structure)
    assert covered(found) > 0.95


def test_no_particle_scale_maximum_joins_in_the_empty_liquid_beside_a_film():
    frame, _ = _film_with_empty_patch(0)
    sigma = 5 / np.sqrt(2)
    scales, response, structure = _search(frame, sigma)
    plain = blob_candidates(None, scales, "dark", None, response, overlaps=False)
    found = layer_candidates(response, scales, "dark", None, sigma, structure)
    added = found[0][len(plain[0]) :]
    assert len(added) > 300  # on the film (columns from 170)
    assert (added[:, 1] < 150).sum() == 0


def test_a_point_below_the_floor_where_the_frame_holds_noise_alone_is_off_the_layer():
    step = 12.0
    layer = np.array([[i * step, j * step] for i in range(8) for j in range(8)], dtype=float)
    weak = np.zeros(len(layer), dtype=bool)
    structure = np.full(len(layer), 2.5)
    structure[:5] = 1.2  # noise alone around these: a group of noise points beside a film
    off = off_layer(layer, weak, structure)
    assert off[:5].all() and not off[5:].any()
    # above the floor a particle stays wherever it lies
    assert not off_layer(layer, np.ones(len(layer), dtype=bool), structure).any()
    assert not off_layer(layer, weak).any()  # without the structure: the groups alone
