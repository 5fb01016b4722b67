"""Speed-ups of the particle path give the numbers of the plain formulas, bit for bit."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection.masked_fill import filled_frame


def _filled_whole_frame(frame, masked, skip):
    """filled_frame's formula over the whole frame (as it was computed before the crop)."""
    frame = np.asarray(frame, dtype=np.float32)
    width = 2.0 * max(float(ndimage.distance_transform_edt(masked).max()), 1.0)
    total = ndimage.gaussian_filter(np.where(masked, 0.0, frame).astype(np.float32), width)
    share = ndimage.gaussian_filter((~masked).astype(np.float32), width)
    level = float(np.median(frame[~skip])) if (~skip).any() else 0.0
    nearby = np.divide(total, share, out=np.full_like(total, level), where=share > 1e-3)
    return np.where(masked, nearby, frame).astype(np.float32)


@pytest.mark.parametrize(
    "boxes",
    [
        [(slice(200, 212), slice(20, 140))],  # a scale bar near the bottom edge
        [(slice(205, 220), slice(0, 60))],  # touching two edges
        [(slice(100, 104), slice(100, 130)), (slice(10, 30), slice(180, 190))],  # two parts
        [(slice(0, 220), slice(60, 64))],  # a line across the frame
    ],
)
def test_filled_frame_on_the_masks_box_is_the_whole_frame_formula(boxes):
    rng = np.random.default_rng(7)
    frame = (rng.normal(size=(220, 200)) + np.linspace(0.0, 4.0, 200)).astype(np.float32)
    masked = np.zeros(frame.shape, dtype=bool)
    for box in boxes:
        masked[box] = True
    skip = masked.copy()
    skip[:5] = True
    filled = filled_frame(frame, masked, skip)
    assert filled.dtype == np.float32
    np.testing.assert_array_equal(filled, _filled_whole_frame(frame, masked, skip))
    assert filled is not frame and np.array_equal(frame[~masked], filled[~masked])
