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


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bright", [4.3, 5.0])
def test_pooled_cut_keeps_the_fit_where_the_uppermost_valley_splits_the_particles(seed, bright):
    """A few particles much brighter than the rest (dividing nuclei among dimmer ones) put a
    clear valley above the bulk of the particles; the fit's strong population is all of them,
    the one above the lower valley, and that valley is the cut: between the background and the
    dim particles."""
    rng = np.random.default_rng(seed)
    mean, sd, count = PARTICLES
    strength = np.concatenate(
        [
            np.exp(rng.normal(0.3, 0.5, 3000)),
            np.exp(rng.normal(mean, sd, count)),
            np.exp(rng.normal(bright, 0.15, 12)),
        ]
    )
    assert particle_valley.valley_cut(strength) > np.exp(mean + 2 * sd)  # above the dim ones
    apart = (rng.uniform(0, 20000, (len(strength), 2)), np.full(len(strength), 2.0))
    cut, mixture = particle_valley.pooled_cut(strength, 0.5, apart)
    assert mixture == particle_threshold.particle_cut(strength, 0.5)[1]
    assert np.exp(0.3 + 2.33 * 0.5) < cut < np.exp(mean - 1.645 * sd)
    # without the candidates' positions, or with the dim ones bunched on rings (a defocused
    # halo's fringes: many maxima round each ring), the uppermost valley decides as before
    assert particle_valley.pooled_cut(strength, 0.5)[0] == particle_valley.valley_cut(strength)
    ringed = apart[0].copy()
    dim = np.flatnonzero((strength > cut) & (strength < particle_valley.valley_cut(strength)))
    turn = np.linspace(0, 2 * np.pi, len(dim), endpoint=False) * 10
    ringed[dim] = (
        100 + 5 * np.stack([np.cos(turn), np.sin(turn)], axis=1) + (dim % 10)[:, None] * 50
    )
    ringed_cut = particle_valley.pooled_cut(strength, 0.5, (ringed, apart[1]))[0]
    assert ringed_cut == particle_valley.valley_cut(strength)
    # a white-noise floor above the fit's own cut (the two mark where the noise's maxima end;
    # which is higher changes with the pixel size: stardist's nuclei x1 6.03 / 5.66, x0.75
    # 5.69 / 6.32): the same lower valley is the cut, the fringes' rings still are not
    level = particle_valley.clear_valleys(strength)[-2][0]
    fitted = particle_threshold.particle_cut(strength, 0.5)[0]
    assert fitted < level
    floor = (fitted + level) / 2
    assert particle_threshold.particle_cut(strength, floor)[0] == floor  # the fit's cut: the floor
    assert particle_valley.pooled_cut(strength, floor, apart)[0] == level
    ringed_at_floor = particle_valley.pooled_cut(strength, floor, (ringed, apart[1]))[0]
    assert ringed_at_floor == particle_valley.valley_cut(strength)
    # a floor above that valley: no lower valley counts, the uppermost decides as before
    high = particle_valley.clear_valleys(strength)[-1][0] / 2
    assert particle_valley.pooled_cut(strength, high, apart)[0] == particle_valley.valley_cut(
        strength
    )


def test_a_strong_population_inside_the_weak_ones_spread_is_no_population_of_its_own():
    """The fits measured on stardist's nuclei (a population of its own, 3.9 weak sds up) and on
    an empty frame of scan lines (a narrow bump 0.8 weak sds up: no lower valley may replace
    the uppermost there)."""
    nuclei = {"weak": (0.150, 0.824, 0.969), "strong": (3.333, 0.507, 0.031)}
    scan_lines = {"weak": (-1.702, 1.198, 0.672), "strong": (-0.739, 0.170, 0.328)}
    assert particle_valley._separated(nuclei)
    assert not particle_valley._separated(scan_lines)
