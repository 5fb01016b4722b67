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


def _fresnel_spheres(seed, underfocus=True, size=512, n=60, counts=80.0):
    """Spheres of radius 3-12 px (log-normal about 6) on a film's phase texture, a few hundred
    nm out of focus at 200 kV (0.4 nm/px), Poisson counts: each particle rimmed by a Fresnel
    fringe of the other contrast, the largest ones' fringe farther out than the median
    particle's surround. A model of its own, not the benchmarks'."""
    from scipy import fft

    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        centre = rng.uniform(14, size - 14, 2)
        if all(np.hypot(*(centre - q)) > 32 for q in points):
            points.append(centre)
    radii = np.clip(rng.lognormal(np.log(6.0), 0.35, n), 3, 12)
    rows, cols = np.indices((size, size))
    chord = np.zeros((size, size))
    for (row, col), radius in zip(points, radii):
        chord += 0.8 * np.sqrt(np.clip(radius**2 - (rows - row) ** 2 - (cols - col) ** 2, 0, None))
    texture = ndimage.gaussian_filter(rng.standard_normal((size, size)), 1.0)
    wave = np.exp(-0.08 * chord + 1j * (0.22 * chord + 0.15 * texture / texture.std()))
    defocus = -450.0 if underfocus else 450.0  # nm
    k2 = (np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2) / 0.4**2
    transfer = np.exp(-((np.pi * 1e-4 * defocus) ** 2) * k2 - 1j * np.pi * 0.00251 * defocus * k2)
    image = ndimage.gaussian_filter(np.abs(fft.ifft2(fft.fft2(wave) * transfer)) ** 2, 0.7)
    return rng.poisson(image * counts).astype(np.float32)


def test_a_large_particles_fresnel_fringe_is_no_particle_of_the_other_polarity():
    """Fails before: seed 2's bright fringes round its largest dark particles (10-12 px, the
    median 6) lay past the median particle's surround: 17 "bright particles", warned
    (stranger_scenes' TEM on carbon u s2 / o s1: 11 and 15, warned; after 0 and 2)."""
    for seed, underfocus in ((2, True), (2, False), (0, True)):
        frame = _fresnel_spheres(seed, underfocus)
        found = detect_particles(frame)
        polarity = resolved_polarity(found, "auto")
        assert polarity == "dark" and len(found) >= 50
        assert other_polarity_particles(frame, found.labels, polarity)[0] < 3
        assert noise_warning(frame, found.labels, polarity, len(found)) is None


def test_blobs_cut_by_the_frame_edge_are_not_counted():
    """Fails before: 16 bright half-blobs on the top and left edges counted as particles of the
    other polarity beside 25 dark ones (the found ones are counted clear of the edge)."""
    rng = np.random.default_rng(0)
    size = 320
    rows, cols = np.indices((size, size))
    frame = np.ones((size, size))
    labels = np.zeros((size, size), dtype=np.int32)
    for index, (row, col) in enumerate(
        (r + rng.uniform(-4, 4), c + rng.uniform(-4, 4))
        for r in range(60, 280, 50)
        for c in range(60, 280, 50)
    ):
        distance_sq = (rows - row) ** 2 + (cols - col) ** 2
        frame -= 0.5 * np.exp(-distance_sq / (2 * 4.0**2))
        labels[distance_sq <= 36] = index + 1
    for at in range(20, size, 40):
        frame += 0.5 * np.exp(-(rows**2 + (cols - at) ** 2) / (2 * 4.0**2))
        frame += 0.5 * np.exp(-((rows - at) ** 2 + cols**2) / (2 * 4.0**2))
    frame = (rng.poisson(frame * 200) / 200.0).astype(np.float32)
    assert other_polarity_particles(frame, labels, "dark") == (0, 25)
