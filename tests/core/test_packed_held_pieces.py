"""packed_phase: a support's slow field cut at one level is no packed layer (issue 9, h6)."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection import packed


def _smooth(rng, shape, sigma):
    values = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return values / values.std()


def _catalyst_on_support(seed, shape=(512, 512), count=130):
    """Small bright particles on a support with a slow (70 px) and a fine field, 12 counts."""
    rng = np.random.default_rng(seed)
    support = 1 + 0.35 * _smooth(rng, shape, 70) + 0.12 * _smooth(rng, shape, 2.2)
    at = rng.uniform(3, min(shape) - 3, (count, 2)).astype(int)
    peaks = np.zeros(shape)
    peaks[at[:, 0], at[:, 1]] = rng.uniform(1.2, 2.0, count)
    peaks = ndimage.gaussian_filter(peaks, 1.2) * 2 * np.pi * 1.2**2
    return (rng.poisson(np.clip(support + peaks, 0, None) * 12) / 12).astype(np.float32)


@pytest.mark.parametrize("seed", [3, 19, 20])
def test_a_slow_support_field_is_no_packed_layer(seed):
    # before: the support's few broad hills (the pieces that hold the phase) with the noise's
    # crumbs (hundreds of pieces >= 5 px) were a layer of sigma 42-62 px
    assert packed.packed_phase(_catalyst_on_support(seed)) is None
