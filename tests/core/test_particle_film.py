"""An empty amorphous film is no layer of particles (issue 9): where the candidates show no
separate strong population, the kept blobs are judged against the frame's own texture with
its Fourier phases redrawn (:mod:`~napari_ivae.core.detection.particle_texture`)."""

import importlib.util
from pathlib import Path

import numpy as np

from napari_ivae.core.detection.particle_candidates import blob_candidates
from napari_ivae.core.detection.particle_scale_space import blob_scales
from napari_ivae.core.detection.particle_texture import STRONGER, texture_only
from napari_ivae.core.detection.particles import detect_particles

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _film(side=256, seed=0, blob=1.2, dose=8.0):
    """Light atoms at random places (one per 20 px^2), blurred by the probe, Poisson counts."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((side, side))
    n = side * side // 20
    np.add.at(canvas, (rng.integers(0, side, n), rng.integers(0, side, n)), rng.uniform(0.5, 1, n))
    k = np.fft.fftfreq(side)
    probe = np.exp(-2 * np.pi**2 * blob**2 * (k[:, None] ** 2 + k[None, :] ** 2))
    film = np.fft.ifft2(np.fft.fft2(canvas) * probe).real
    return rng.poisson(dose * np.clip(film / film.mean(), 0, None)).astype(np.float32)


def _judged(frame):
    """The texture test on the frame's strongest candidates (the top 2 % at each scale
    that holds at least 20)."""
    scales = blob_scales(frame.shape)
    points, sigma, strength = blob_candidates(frame, scales, "bright")
    level = np.searchsorted(scales, sigma)
    cuts = np.array(
        [
            np.percentile(strength[level == i], 98) if (level == i).sum() >= 20 else np.inf
            for i in range(len(scales))
        ]
    )
    keep = strength >= cuts[level]
    return texture_only(frame, None, "bright", scales, cuts, points, sigma, strength, keep)


def test_a_films_strongest_blobs_are_its_texture():
    film, measured = _judged(_film())
    assert film
    assert measured["texture_stronger"] < STRONGER


def test_unpooled_particles_keep_their_particles():
    """A bright-field frame of 150 particles of widely spread sizes (stranger_particles'
    bf_spread150): no separate strong population pooled the cut, and its particles' median
    strength is 1.3 times the texture surrogate's maxima's above the cut: kept."""
    spec = importlib.util.spec_from_file_location("sp", BENCHMARKS / "stranger_particles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    image, truth = module.make(seed=0, **module.CASES["bf_spread150"])
    result = detect_particles(image)
    used = result.params["resolved"]
    assert not used["pooled_cut"]
    assert used["texture_only"] == 0
    assert used["texture_stronger"] >= STRONGER
    assert len(result) > 0.9 * len(truth)


def test_an_empty_film_is_warned():
    """A bare carbon film (1.2 px blobs, 8 counts) kept 470 "particles" on 256 px, unwarned."""
    result = detect_particles(_film())
    assert any("own texture" in w for w in result.quality["warnings"])
    assert result.params["resolved"]["texture_only"] > 100
