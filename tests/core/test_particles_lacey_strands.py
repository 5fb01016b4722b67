"""Bright particles on lacey carbon: strands over the holes are no particles (issue 9, h6)."""

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from napari_ivae.core.detection.particles import detect_particles


def _lacey_haadf(seed, shape=(384, 576), count=40):
    """Bright particles on lacey carbon: holes (vacuum) crossed by thin strands, Poisson counts."""
    rng = np.random.default_rng(seed)

    def field(sigma):
        values = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
        return values / values.std()

    holes = field(min(shape) / 10) > 0.6
    strands = np.abs(field(min(shape) / 25)) < 0.08
    carbon = ndimage.gaussian_filter(np.where(holes & ~strands, 0.0, 1.0), 1.5)
    allowed = np.argwhere(ndimage.binary_erosion(carbon > 0.5, iterations=6))
    centres: list = []
    for index in rng.permutation(len(allowed)):
        if all(np.hypot(*(allowed[index] - c)) > 16 for c in centres):
            centres.append(allowed[index])
        if len(centres) == count:
            break
    rows, cols = np.indices(shape)
    particles = sum(
        np.sqrt(np.clip(36 - (rows - r) ** 2 - (cols - c) ** 2, 0, None)) / 6 for r, c in centres
    )
    texture = 0.04 * (0.6 * field(1.0) + 0.4 * field(3.0))
    image = ndimage.gaussian_filter(0.08 * carbon * (1 + 3 * texture) + particles, 0.8) + 0.02
    counts = rng.poisson(image * 30 / np.median(image)).astype(np.float32)
    return counts, np.array(centres, dtype=float)


def test_strands_over_holes_are_not_particles():
    # before: the level of the background far from the kept particles (measured on the
    # opposite side, where the strands do not reach) let a strand's maximum through
    image, centres = _lacey_haadf(1)
    found = detect_particles(image).coords[:, 1:]
    assert len(found) == len(centres)
    assert (cKDTree(centres).query(found)[0] <= 6).all()
