"""Particles of both polarities in one frame (either side of focus): the self-check says so."""

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection.particle_contrast import noise_warning, resolved_polarity
from napari_ivae.core.detection.particle_other_side import (
    OTHER_MIN,
    other_polarity_particles,
    other_polarity_warning,
)
from napari_ivae.core.detection.particles import detect_particles


def _either_side_of_focus(seed, bright_share=0.4, texture=0.0):
    """A grid of particles, each a core of one contrast in a halo of the other (a difference
    of Gaussians, a model of its own, not the benchmarks'): dark cores for those on one side
    of focus, weaker bright ones for ``bright_share`` of them; 200 counts of shot noise and
    an optional two-sided grain. Returns the frame, which particles are bright and their
    centres."""
    rng = np.random.default_rng(seed)
    size = 384
    rows, cols = np.mgrid[:size, :size]
    frame = np.ones((size, size))
    if texture:
        grain = ndimage.gaussian_filter(rng.standard_normal((size, size)), 2.0)
        frame += texture * grain / grain.std()
    centres = [
        (row + rng.uniform(-5, 5), col + rng.uniform(-5, 5))
        for row in range(32, size - 20, 40)
        for col in range(32, size - 20, 40)
    ]
    bright = rng.random(len(centres)) < bright_share
    for (row, col), is_bright in zip(centres, bright):
        distance_sq = (rows - row) ** 2 + (cols - col) ** 2
        profile = np.exp(-distance_sq / (2 * 3.5**2)) - 0.5 * np.exp(-distance_sq / (2 * 7.0**2))
        frame += (0.35 if is_bright else -0.6) * profile
    frame = rng.poisson(np.clip(frame, 0.05, None) * 200) / 200.0
    return frame.astype(np.float32), bright, np.array(centres)


def test_particles_of_the_other_polarity_are_warned_of():
    # before: all dark particles found, none of the 29-35 bright ones, and no warning
    for seed in (0, 1):
        frame, bright, _ = _either_side_of_focus(seed)
        found = detect_particles(frame)
        polarity = resolved_polarity(found, "auto")
        assert polarity == "dark" and len(found) == (~bright).sum()
        other, count = other_polarity_particles(frame, found.labels, polarity)
        assert count == len(found)
        # a bright one that dark ones enclose on every side is taken for a gap between them
        assert 0.5 * bright.sum() <= other <= 1.3 * bright.sum(), (other, bright.sum())
        warning = noise_warning(frame, found.labels, polarity, len(found))
        assert warning is not None and "--polarity bright" in warning


def test_one_polarity_with_halos_or_on_a_grain_is_not_warned_of():
    for texture in (0.0, 0.08):
        frame, _, _ = _either_side_of_focus(2, bright_share=0.0, texture=texture)
        found = detect_particles(frame)
        polarity = resolved_polarity(found, "auto")
        assert polarity == "dark" and len(found) > 50
        assert other_polarity_particles(frame, found.labels, polarity)[0] < OTHER_MIN
        assert other_polarity_warning(frame, found.labels, polarity) is None


def test_too_few_found_particles_give_no_count():
    frame = np.zeros((64, 64), dtype=np.float32)
    labels = np.zeros((64, 64), dtype=np.int32)
    labels[10:14, 10:14] = 1
    assert other_polarity_particles(frame, labels, "bright") == (0, 1)


def test_other_polarity_area_covers_the_other_particles_only_when_many():
    from napari_ivae.core.detection.particle_other_side import other_polarity_area

    frame, bright, truth = _either_side_of_focus(0)
    found = detect_particles(frame)
    centres = np.round(found.coords[:, 1:]).astype(int)
    area = other_polarity_area(-frame, centres, np.full(len(centres), 4.0))
    on_bright = area[tuple(np.round(truth[bright]).astype(int).T)]
    assert on_bright.mean() >= 0.5, on_bright.mean()
    assert not area[centres[:, 0], centres[:, 1]].any()  # never on a kept particle
    # one polarity only: nothing is left out
    single, _, _ = _either_side_of_focus(2, bright_share=0.0)
    kept = np.round(detect_particles(single).coords[:, 1:]).astype(int)
    assert not other_polarity_area(-single, kept, np.full(len(kept), 4.0)).any()
