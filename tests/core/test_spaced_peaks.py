"""spaced_peaks: skimage's peak_local_max (no border, no labels), the same peaks in order."""

import numpy as np
import pytest
from scipy import ndimage
from skimage.feature import peak_local_max

from napari_ivae.core.detection.spaced_peaks import spaced_peaks


def _plateaus(seed: int) -> np.ndarray:
    """A distance transform of random blobs: plateaus and ties, as on a packed layer."""
    rng = np.random.default_rng(seed)
    phase = ndimage.gaussian_filter(rng.random((160, 140)), 2.0) > 0.5
    return ndimage.distance_transform_edt(phase)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("min_distance", [1, 2, 3, 5])
def test_spaced_peaks_match_skimage(seed, min_distance):
    for image in (_plateaus(seed), np.random.default_rng(seed).random((90, 120))):
        threshold = 0.5 * float(np.median(image[image > 0]))
        expected = peak_local_max(
            image, min_distance=min_distance, threshold_abs=threshold, exclude_border=False
        )
        np.testing.assert_array_equal(spaced_peaks(image, min_distance, threshold), expected)


def test_spaced_peaks_constant_image_has_none():
    image = np.ones((20, 20))
    assert spaced_peaks(image, 2, 0.0).shape == (0, 2)
    assert peak_local_max(image, min_distance=2, threshold_abs=0.0, exclude_border=False).shape == (
        0,
        2,
    )
