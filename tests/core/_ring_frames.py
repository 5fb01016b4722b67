"""Solid spheres touching round an empty middle (tests of rim and donut joining)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def touching_ring(count: int, dose: float, shape=(200, 200), radius: float = 10.0):
    """``count`` spheres of ``radius`` px round the frame's middle, neighbours touching, on
    a background of 5, times ``dose`` and drawn as counts (seed 0).

    Returns
    -------
    image, points, noise
        The frame, the spheres' rounded centres and the background's counting noise.
    """
    rows, cols = np.indices(shape, dtype=np.float64)
    spacing = radius / np.sin(np.pi / count)  # neighbours touch
    middle = shape[0] // 2, shape[1] // 2
    ring = [
        (middle[0] + spacing * np.sin(a), middle[1] + spacing * np.cos(a))
        for a in np.arange(count) * 2 * np.pi / count
    ]
    thickness = np.zeros(shape)
    for row, col in ring:
        thickness += np.sqrt(np.clip(radius**2 - (rows - row) ** 2 - (cols - col) ** 2, 0, None))
    ideal = ndimage.gaussian_filter(5 + thickness, 0.8) * dose
    image = np.random.default_rng(0).poisson(ideal).astype(np.float32)
    return image, np.round(ring).astype(np.int64), float(np.sqrt(5 * dose))
