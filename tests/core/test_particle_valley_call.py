"""The auto method's pooled cut comes from particle_valley (h1's request patch)."""

import numpy as np

from napari_ivae.core.detection import particle_valley


def test_auto_particles_take_the_pooled_cut_from_the_valley(monkeypatch):
    """The auto method's pooled cut is :func:`particle_valley.pooled_cut`'s."""
    from napari_ivae.core.detection.particles import detect_particles

    calls = []
    pooled = particle_valley.pooled_cut

    def spy(strength, floor=0.0, spots=None):
        calls.append(len(strength))
        assert spots is not None and len(spots[0]) == len(spots[1]) == len(strength)
        return pooled(strength, floor, spots)

    monkeypatch.setattr(particle_valley, "pooled_cut", spy)
    rng = np.random.default_rng(4)
    frame = rng.normal(0.0, 1.0, (128, 128))
    rows, cols = np.mgrid[:128, :128]
    for row, col in rng.uniform(12, 116, (12, 2)):
        frame += 8.0 * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 2.5**2))
    detect_particles(frame)
    assert calls
