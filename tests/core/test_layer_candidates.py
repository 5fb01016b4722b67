"""layer_candidates: on a packed layer at a low dose, the maxima at the particles' own scale
(the noise's maxima over the scales sit at smaller ones), where the frame holds a layer."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from test_packed_off_layer import _film_with_empty_patch
from test_particles_packed_low_dose import _in_situ_layer

from napari_ivae.core.detection.layer_candidates import (
    LAYER_STRUCTURE,
    layer_candidates,
    layer_structure,
)
from napari_ivae.core.detection.particle_blobs import scale_space
from napari_ivae.core.detection.particle_candidates import blob_candidates, search_scales
from napari_ivae.core.detection.peaks import smoothed_noise


@pytest.mark.parametrize("dose", [2.0, 8.0, 50.0])
def test_noise_alone_stays_below_the_layer_level(dose):
    rng = np.random.default_rng(int(dose))
    frame = (rng.poisson(0.7 * dose, (384, 384)) / dose).astype(np.float32)
    sigma = 2.52
    response = scale_space(frame, np.array([sigma]))[0]
    structure = layer_structure(frame, response, sigma, smoothed_noise(frame, 0.0))
    assert 0.85 < np.median(structure) < 1.2
    assert structure.max() < LAYER_STRUCTURE


def _search(frame, sigma):
    scales = search_scales(frame.shape, sigma)
    return scales, scale_space(frame, scales), smoothed_noise(frame, 0.0)


def test_the_particle_scale_maxima_join_on_a_low_dose_layer():
    truth, frame = _in_situ_layer(1)
    sigma = 5 / np.sqrt(2)
    scales, response, noise = _search(frame, sigma)
    at = scales[int(np.argmin(np.abs(np.log(scales / sigma))))]

    def covered(found):
        points = found[0][found[1] == at]
        return (cKDTree(points).query(truth.centres)[0] <= 2.0).mean()

    # maxima over the scales too: 0.7 % of the particles have one at their scale
    assert covered(blob_candidates(None, scales, "dark", None, response, overlaps=False)) < 0.05
    assert covered(layer_candidates(frame, response, scales, "dark", None, sigma, noise)) > 0.95
    # a noise-free frame: nothing hides the particles' maxima, nothing is added
    plain = blob_candidates(None, scales, "dark", None, response, overlaps=False)
    none_added = layer_candidates(frame, response, scales, "dark", None, sigma, 0.0)
    assert len(none_added[0]) == len(plain[0])


def test_no_particle_scale_maximum_joins_in_the_empty_liquid_beside_a_film():
    frame, _ = _film_with_empty_patch(0)
    sigma = 5 / np.sqrt(2)
    scales, response, noise = _search(frame, sigma)
    plain = blob_candidates(None, scales, "dark", None, response, overlaps=False)
    found = layer_candidates(frame, response, scales, "dark", None, sigma, noise)
    added = found[0][len(plain[0]) :]
    assert len(added) > 300  # on the film (columns from 170)
    assert (added[:, 1] < 150).sum() == 0
