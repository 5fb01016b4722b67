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


def test_peaks_judged_in_stacks_read_as_each_alone(monkeypatch):
    # the windows the frame's edge does not cut are filtered as one stack (a few at a time
    # here); each peak's ratio must be the one its own window gives, to the bit
    from scipy import ndimage

    rng = np.random.default_rng(4)
    frame = ndimage.gaussian_filter(rng.normal(size=(90, 120)), 1.5)
    frame += 3.0 * ndimage.gaussian_filter((rng.random((90, 120)) < 0.02) * 1.0, 2.0)
    points = np.column_stack([rng.integers(0, 90, 300), rng.integers(0, 120, 300)])
    sigma = rng.choice([1.0, 1.7, 3.2], 300)
    monkeypatch.setattr(particle_surround, "WINDOW_PIXELS", 2000)
    alone = np.array(
        [particle_surround._peak_ratio(frame, p, float(s)) for p, s in zip(points, sigma)]
    )
    reach = int(np.ceil(4.0 * 1.7)) + 2
    inner = np.flatnonzero(
        (sigma == 1.7) & (points >= reach).all(axis=1) & (points + reach < (90, 120)).all(axis=1)
    )
    stacked = particle_surround._window_ratios(frame, points[inner], 1.7, reach)
    np.testing.assert_array_equal(stacked, alone[inner])
    judged = particle_surround.round_peaks(frame, points, sigma)
    np.testing.assert_array_equal(judged, alone >= particle_surround.RIDGE)
    assert 0 < judged.sum() < len(judged)
