"""The particle self-check's noise measure: a scanned frame's line offsets are no noise."""

import numpy as np

from napari_ivae.core.detection.particle_contrast import noise_warning, resolved_polarity
from napari_ivae.core.detection.particles import detect_particles


def _height_map(seed, particles=True):
    """Caps of height 4-8 on a tilted plane, each scan line (row) shifted by its own offset
    (spread 2, and three jumps of 6) and a little white noise: a model of its own, not the
    benchmarks'."""
    rng = np.random.default_rng(seed)
    size = 384
    rows, cols = np.mgrid[:size, :size]
    height = 0.02 * rows - 0.015 * cols
    if particles:
        for row in range(30, size - 20, 48):
            for col in range(30, size - 20, 48):
                r = rng.uniform(4, 8)
                centre = (row + rng.uniform(-6, 6), col + rng.uniform(-6, 6))
                inside = np.clip(r**2 - (rows - centre[0]) ** 2 - (cols - centre[1]) ** 2, 0, None)
                height += np.sqrt(inside)
    offsets = rng.normal(0, 2.0, size)
    offsets[rng.integers(0, size, 3)] += 6.0
    height += offsets[:, None] + 0.3 * rng.standard_normal((size, size))
    return height.astype(np.float32)


def test_line_offsets_of_a_scanned_height_map_are_not_noise():
    # before: seed 0 read "the 47 particles barely stand out (contrast 1.33 x its noise)",
    # their local contrast 2.32 x the noise with the line offsets counted as noise (15.97 now)
    for seed in (0, 3):
        frame = _height_map(seed)
        found = detect_particles(frame)
        polarity = resolved_polarity(found, "auto")
        assert polarity == "bright" and 45 <= len(found) <= 52  # 49 caps
        assert noise_warning(frame, found.labels, polarity, len(found)) is None


def test_line_offsets_alone_are_still_warned_of():
    # blobs found along a line offset do not stand out once the offsets are taken away
    for seed in (2, 3, 4):
        frame = _height_map(seed, particles=False)
        found = detect_particles(frame)
        if len(found):
            polarity = resolved_polarity(found, "auto")
            warning = noise_warning(frame, found.labels, polarity, len(found))
            assert warning is not None and "barely stand out" in warning
