"""overlays.annotation_mask: a dead detector column or row (one pixel thick, at the frame's
minimum) is no burned-in scale bar (stranger_scenes 'dead lines, hot pixels' s1 was told a
bar was masked); a bar two pixels thick still is."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.overlays import annotation_mask


def _frame(seed):
    return np.random.default_rng(seed).poisson(100, (512, 512)).astype(np.float64) + 50


def test_a_dead_column_or_row_is_not_a_scale_bar():
    for seed in range(3):
        column = _frame(seed)
        column[:, 163] = 0
        row = _frame(seed)
        row[370, 40:] = 0
        assert not annotation_mask(column).any(), seed
        assert not annotation_mask(row).any(), seed


def test_a_bar_two_pixels_thick_is_still_masked():
    frame = _frame(0)
    frame[480:482, 380:480] = frame.max() + 50
    mask = annotation_mask(frame)
    assert mask[480:482, 380:480].all() and mask.sum() < 2000
