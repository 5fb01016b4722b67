"""A support's fine texture at the scales below the particles' (issue 9, round 19).

The pooled cut comes from the particle scales' mixture; at a smaller scale the background's
response spreads more and its bumps reach higher, and the cut there moves up with it
(:func:`~napari_ivae.core.detection.particle_scales.weak_shift`).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from napari_ivae.core.detection.particle_scales import weak_shift
from napari_ivae.core.detection.particles import detect_particles

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_weak_shift_follows_the_smaller_scales_spread():
    rng = np.random.default_rng(0)
    scales = np.array([2.0, 3.0, 4.0, 5.0])
    layers = rng.standard_normal((4, 64, 64))
    layers[0] *= 2.0  # the background spreads twice as much at the smallest scale
    layers[1] *= 0.5  # less at the next: never lowered
    core_sigma = np.array([4.0] * 30 + [5.0] * 10)
    shift = weak_shift(layers, scales, 2, core_sigma)
    assert shift[0] == pytest.approx(2.0, rel=0.1)
    assert shift[1] == 1.0 and shift[2] == 1.0 and shift[3] == 1.0
    skip = np.zeros((64, 64), dtype=bool)
    skip[:, :32] = True
    layers[0][:, 32:] *= 0.25  # where the spread is measured, it is half the candidates'
    assert weak_shift(layers, scales, 2, core_sigma, skip)[0] == 1.0
    assert (weak_shift(layers, scales, 0, core_sigma) == 1.0).all()  # no smaller scale


def test_haadf_core_shell_on_a_fine_textured_support():
    """HAADF core-shell particles on a support textured at 1-3 px (the stranger generator's
    haadf_coreshell, seed 0): HEAD took 24 of the texture's bumps at the smallest search scale
    for particles (precision 0.70); now 2."""
    spec = importlib.util.spec_from_file_location(
        "stranger_particles", BENCHMARKS / "stranger_particles.py"
    )
    stranger = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stranger)
    image, truth = stranger.make(seed=0, **stranger.CASES["haadf_coreshell"])
    found = detect_particles(image)
    centres, reach = truth[:, :2], np.maximum(3.0, truth[:, 2])
    distance = np.linalg.norm(found.coords[:, None, 1:] - centres[None], axis=2)
    on_support = (distance > reach[None]).all(axis=1)
    assert on_support.sum() <= 2
    near = (distance <= reach[None]).any(axis=0)
    assert near.mean() >= 0.95  # the particles are still found
