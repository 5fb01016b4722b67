"""filled_from_edge gives bit for bit skimage's reconstruction by erosion from the frame's edge."""

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import reconstruction

from napari_ivae.core.detection.edge_fill import filled_from_edge


def _skimage_fill(frame):
    seed = frame.copy()
    seed[1:-1, 1:-1] = frame.max()
    return reconstruction(seed, frame, method="erosion")


def _frames():
    rng = np.random.default_rng(0)
    for k in range(12):
        height, width = rng.integers(3, 50, 2)
        frame = rng.normal(size=(height, width))
        if k % 3 == 0:
            frame = np.round(2.0 * frame)  # plateaus: many equal values
        yield frame.astype(np.float32) if k % 2 else frame
    # smooth basins and rims, with ties, on a frame of a few hundred pixels a side
    smooth = ndimage.gaussian_filter(rng.normal(size=(240, 330)), 3.0)
    yield smooth.astype(np.float32)
    yield np.round(smooth * 40.0).astype(np.float32)


@pytest.mark.parametrize("frame", list(_frames()), ids=lambda f: f"{f.shape}{f.dtype}")
def test_filled_from_edge_is_skimage_reconstruction(frame):
    expected = _skimage_fill(frame)
    filled = filled_from_edge(frame)
    assert filled.dtype == expected.dtype
    assert np.array_equal(filled, expected)


def test_a_closed_rim_holds_its_interior_up_to_its_lowest_saddle():
    frame = np.zeros((9, 9), dtype=np.float32)
    frame[2:7, 2:7] = 5.0
    frame[3:6, 3:6] = 1.0  # the interior
    frame[2, 4] = 3.0  # the rim's lowest point
    filled = filled_from_edge(frame)
    assert np.all(filled[3:6, 3:6] == 3.0)
    assert np.array_equal(filled[frame != 1.0], frame[frame != 1.0])
