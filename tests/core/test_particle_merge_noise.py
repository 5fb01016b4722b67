"""merge_groups averages the heights along a pair's segment over a quarter of a radius, and
reads a width that reaches the frame's edge from its other side: a rod split by a shot-noise
pit or running out of the frame is one particle; touching and overlapping spheres stay two."""

import numpy as np
from scipy import ndimage

from napari_ivae.core.detection import particle_merge


def _frame(thickness):
    """Dark on bright (60 counts, Poisson-free), polarity positive as merge_groups reads it."""
    return -ndimage.gaussian_filter(60 * np.exp(-thickness / 12.0), 0.7).astype(np.float32)


def _rod(shape, start, end, half_width):
    rows, cols = np.indices(shape, dtype=np.float64)
    a, b = np.asarray(start, float), np.asarray(end, float)
    axis = (b - a) / np.linalg.norm(b - a)
    t = np.clip((rows - a[0]) * axis[0] + (cols - a[1]) * axis[1], 0, np.linalg.norm(b - a))
    d = np.hypot(rows - a[0] - t * axis[0], cols - a[1] - t * axis[1])
    return 2 * np.sqrt(np.clip(half_width**2 - d**2, 0, None))


def _discs(shape, centres, radii):
    rows, cols = np.indices(shape, dtype=np.float64)
    out = np.zeros(shape)
    for (r, c), radius in zip(centres, radii):
        out += 2 * np.sqrt(np.clip(radius**2 - (rows - r) ** 2 - (cols - c) ** 2, 0, None))
    return out


def test_a_rod_with_a_narrow_pit_is_one_particle():
    # a pit 3 x 2 px, 40 % thinner (a shot-noise dip after smoothing), on the rod's axis: the
    # line between the blobs falls under LEVEL of its ends there (0.947), averaged along it
    # over a quarter of a radius it does not (0.956)
    shape = (100, 140)
    thickness = _rod(shape, (50, 30), (50, 110), 6.0)
    thickness[49:52, 69:71] *= 0.6
    points = np.array([[50, 55], [50, 85]])
    groups = particle_merge.merge_groups(_frame(thickness), points, np.array([7.0, 7.0]))
    assert groups[0] == groups[1]


def test_a_rod_running_into_the_frame_edge_is_one_particle():
    # a rod leaving the frame at a shallow angle: across it, the blob by the edge reaches the
    # edge on one side; its width is its other side's twice, not a run read into the padding
    shape = (100, 140)
    thickness = _rod(shape, (-2, 30), (18, 110), 6.0)
    points = np.array([[4, 55], [10, 80]])
    groups = particle_merge.merge_groups(_frame(thickness), points, np.array([7.0, 7.0]))
    assert groups[0] == groups[1]


def test_touching_and_overlapping_spheres_stay_apart():
    shape = (100, 200)
    centres = [(50, 30), (50, 46), (50, 120), (50, 133.6)]  # touching r 8; 1.7 r apart
    thickness = _discs(shape, centres, [8.0, 8.0, 8.0, 8.0])
    points = np.round(np.array(centres)).astype(int)
    groups = particle_merge.merge_groups(_frame(thickness), points, np.full(4, 8.0))
    assert len(np.unique(groups)) == 4
