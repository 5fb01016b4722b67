"""The pixel noise of quantised frames survives a trace of float processing."""

import numpy as np

from napari_ivae.core.detection.peaks import smoothed_noise
from napari_ivae.core.detection.pixel_noise import pixel_noise_from_differences


def _quiet_and_noisy_8bit(seed: int = 0) -> np.ndarray:
    """An 8-bit frame: the left half noise well below a grey level, the right half noise 3 grey levels."""
    rng = np.random.default_rng(seed)
    frame = np.full((256, 256), 40.0)
    frame[:, :128] += rng.normal(0.0, 0.2, (256, 128))
    frame[:, 128:] += rng.normal(0.0, 3.0, (256, 128))
    return np.round(frame)


def test_dither_does_not_collapse_the_noise_of_a_quantised_frame():
    frame = _quiet_and_noisy_8bit()
    dithered = frame + np.random.default_rng(1).normal(0.0, 1e-4, frame.shape)
    plain, traced = smoothed_noise(frame, 0.0), smoothed_noise(dithered, 0.0)
    # the median of the differences sits on the spike at zero (0.0002 before): the noise of
    # the noisy half must still show, as it does without the trace
    assert traced > 1.0
    assert abs(traced - plain) < 0.1 * plain


def test_gaussian_noise_is_measured_by_the_median():
    rng = np.random.default_rng(2)
    frame = rng.normal(0.0, 2.0, (300, 300))
    frame[100:140, 100:140] += 50.0  # an edge's large differences do not count
    differences = np.concatenate([np.diff(frame, axis=1).ravel(), np.diff(frame, axis=0).ravel()])
    assert abs(pixel_noise_from_differences(differences) - 2.0) < 0.1


def test_constant_and_empty_frames_have_no_noise():
    assert pixel_noise_from_differences(np.zeros(1000)) == 0.0
    assert pixel_noise_from_differences(np.array([])) == 0.0
