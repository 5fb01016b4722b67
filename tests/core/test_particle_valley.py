"""The pooled cut at the valley between the background's and the particles' strengths."""

import numpy as np
import pytest

from napari_ivae.core.detection import particle_threshold, particle_valley

PARTICLES = (2.9, 0.3, 150)  # log-strength mean, sd and count of the particles


def _strengths(seed, noise_sd=0.5, pile=0):
    """A background's candidates (log-normal, with ``pile`` near-zero ones from flat areas)
    below a minority of particles."""
    rng = np.random.default_rng(seed)
    mean, sd, count = PARTICLES
    return np.concatenate(
        [
            np.exp(rng.normal(0.3, noise_sd, 3000)),
            np.exp(rng.normal(-2.5, 0.4, pile)),
            np.exp(rng.normal(mean, sd, count)),
        ]
    )


@pytest.mark.parametrize("noise_sd", [0.4, 0.5, 0.6])
@pytest.mark.parametrize("pile", [0, 2000])
def test_valley_lies_between_background_and_particles_whatever_the_background(noise_sd, pile):
    cut = particle_valley.valley_cut(_strengths(0, noise_sd, pile))
    background_top = np.exp(0.3 + 2.33 * noise_sd)  # its 99 % quantile
    particles_bottom = np.exp(PARTICLES[0] - 1.645 * PARTICLES[1])  # their 5 % quantile
    assert cut is not None
    assert background_top < cut < particles_bottom


def test_no_valley_in_one_population():
    rng = np.random.default_rng(1)
    assert particle_valley.valley_cut(np.exp(rng.normal(1.0, 0.6, 4000))) is None
    assert particle_valley.valley_cut(np.ones(3)) is None
    assert particle_valley.valley_cut(np.zeros(0)) is None


def test_pooled_cut_takes_the_valley_where_the_fit_splits_the_background():
    """A pile of near-zero maxima (flat areas resampled) makes the two-Gaussian fit split the
    background in two: its cut lies inside the background. The valley does not move."""
    strength = _strengths(0, 0.5, pile=2000)
    fitted, mixture = particle_threshold.particle_cut(strength, 0.5)
    assert fitted < np.exp(0.3)  # the fit's cut: below the background's median
    cut, same = particle_valley.pooled_cut(strength, 0.5)
    assert same == mixture
    assert cut == pytest.approx(particle_valley.valley_cut(strength))
    assert np.exp(0.3 + 2.33 * 0.5) < cut < np.exp(PARTICLES[0] - 1.645 * PARTICLES[1])


def test_pooled_cut_keeps_the_fit_where_it_finds_the_same_split():
    strength = _strengths(2, 0.5)
    assert particle_valley.valley_cut(strength) is not None
    assert particle_valley.pooled_cut(strength, 0.5) == particle_threshold.particle_cut(
        strength, 0.5
    )


def test_pooled_cut_keeps_the_floor_and_one_population():
    rng = np.random.default_rng(3)
    one = np.exp(rng.normal(1.0, 0.6, 4000))
    assert particle_valley.pooled_cut(one, 2.0) == particle_threshold.particle_cut(one, 2.0)
    assert particle_valley.pooled_cut(_strengths(0, 0.5, 2000), 50.0)[0] == 50.0
    assert particle_valley.pooled_cut(np.ones(3), 1.5) == (1.5, {})
