"""A burned-in scale bar on a frame whose noise reaches the bar's value (overlays.py)."""

import numpy as np

from napari_ivae.core.detection.overlays import annotation_mask


def test_a_bar_touched_by_noise_pixels_at_its_value_is_still_found():
    """Fails before the opening (the bar's component, widened by the zero counts touching it,
    filled 0.7-0.8 of its box): a dark frame of 3 counts a pixel, a black bar 6 x 120 px."""
    rng = np.random.default_rng(5)
    frame = rng.poisson(3.0, (400, 600)).astype(np.float32)
    frame[350:356, 440:560] = 0.0
    assert (frame == 0).mean() > 0.04  # the noise itself reaches the bar's value
    mask = annotation_mask(frame)
    assert mask[350:356, 440:560].all()
    rows, cols = np.nonzero(mask)
    # nothing beyond where its label is looked for (half its length above, a quarter beside)
    assert rows.min() >= 350 - 60 - 2 and cols.min() >= 440 - 30 - 2 and cols.max() <= 560 + 30 + 2
