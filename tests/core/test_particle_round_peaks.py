"""particle_surround.round_peaks: a particle's response peak is round, a strand's a ridge."""

import numpy as np

from napari_ivae.core.detection import particle_surround


def _gaussian(shape, centre, sigma):
    rows, cols = np.indices(shape)
    return np.exp(-0.5 * ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / sigma**2)


def test_round_peaks_tells_a_particle_from_a_strand():
    # a strand of a support over a hole peaks along a line; a particle's peak is round
    shape = (64, 64)
    rows = np.arange(shape[0])[:, None]
    strand = np.exp(-0.5 * ((rows - 32.0) / 1.5) ** 2) * np.ones(shape)
    strand[:, 30:34] *= 1.3  # a thicker stretch: a maximum along the strand
    particle = _gaussian(shape, (32, 32), 2.0)
    points, sigma = np.array([[32, 32]]), np.array([2.0])
    assert list(particle_surround.round_peaks(particle, points, sigma)) == [True]
    assert list(particle_surround.round_peaks(strand, points, sigma)) == [False]
    # an elongated particle (a short rod) is still round enough at its own width's scale
    rod = _gaussian(shape, (32, 31), 2.0) + _gaussian(shape, (32, 33), 2.0)
    assert list(particle_surround.round_peaks(rod, points, sigma)) == [True]
    assert particle_surround.round_peaks(particle, np.zeros((0, 2)), np.zeros(0)).shape == (0,)
