"""On a packed layer above the noise floor, points kept below it on the background's phase
are the open liquid's texture (layer_candidates.off_phase).

The frame is built here, apart from the benchmarks' generators: a hexagonal film of dark
discs (r 11.5 px) with open patches of liquid whose thickness varies as 1/f noise (4 % of its
level), at 12 counts a pixel: the discs stand above the white-noise floor, the liquid's texture
passes the layer's white-noise false discovery rate.
"""

import numpy as np
import pytest
from _particle_data import packed_layer_points, sphere_thickness
from scipy import ndimage
from scipy.spatial import cKDTree

from napari_ivae.core.detection.layer_candidates import off_phase


def _textured_film(seed, shape=(512, 512), radius=11.5, gap=2.0, dose=12.0, texture=0.04):
    """Poisson counts of the film and its patches; returns the frame and the discs' centres."""
    rng = np.random.default_rng(seed)
    step = 2 * radius + gap
    holes = ndimage.gaussian_filter(rng.standard_normal(shape), 30)
    holes = holes > np.quantile(holes, 0.85)
    centres = []
    for i in range(-1, int(shape[0] / (step * np.sqrt(3) / 2)) + 2):
        for j in range(-1, int(shape[1] / step) + 2):
            point = np.array([i * step * np.sqrt(3) / 2, j * step + (i % 2) * step / 2])
            point += 0.06 * step * rng.standard_normal(2)
            at = np.round(point).astype(int)
            inside = (at >= 0).all() and (at < shape).all()
            if inside and not holes[at[0], at[1]] and rng.random() > 0.04:
                centres.append(point)
    centres = np.array(centres)
    thickness = sphere_thickness(centres, shape, radius)
    frequency = np.hypot(
        np.fft.fftfreq(shape[0])[:, None] * shape[0], np.fft.rfftfreq(shape[1])[None] * shape[1]
    )
    amplitude = np.maximum(frequency, 2.0) ** -1.3 * (1 - np.exp(-((frequency / 2.0) ** 2)))
    spectrum = amplitude * (
        rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape)
    )
    grain = np.fft.irfft2(spectrum, s=shape)
    grain = (grain - grain.mean()) / grain.std()
    ideal = ndimage.gaussian_filter(np.exp(-0.6 - 0.07 * thickness) * (1 + texture * grain), 1.2)
    return rng.poisson(ideal * dose).astype(np.float32), centres


# before off_phase 6 and 2 points in the open liquid on seeds 1 and 2
@pytest.mark.parametrize("seed", range(3))
def test_no_points_on_the_textured_liquid_beside_a_film_above_the_floor(seed):
    frame, centres = _textured_film(seed)
    points = packed_layer_points(frame)
    assert (cKDTree(centres).query(points)[0] > 8.0).sum() == 0
    inner = centres[((centres >= 12) & (centres < np.array(frame.shape) - 12)).all(axis=1)]
    assert (cKDTree(points).query(inner)[0] <= 4.0).mean() > 0.98  # 0.99-1.0


def test_off_phase_only_where_the_layer_stands_above_the_floor():
    frame = np.full((64, 64), 10.0, dtype=np.float32)
    frame[16:48, 16:48] = 30.0  # the particles' phase (bright)
    points = np.array([[32, 32], [24, 24], [40, 40], [4, 4], [28, 36]])
    masked = np.zeros(frame.shape, dtype=bool)
    confident = np.array([True, True, True, False, False])
    off = off_phase(frame, points, confident, 2.0, masked)
    # below the floor: off on the background, kept on the particles' phase
    assert off.tolist() == [False, False, False, True, False]
    # most of the layer below the floor: a low dose, where the rate holds
    assert not off_phase(
        frame, points, np.array([True, False, False, False, False]), 2.0, masked
    ).any()
