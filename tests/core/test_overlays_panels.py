"""Text panels (a label's box, a data bar) burned in away from any scale bar (overlays.py)."""

import numpy as np

from napari_ivae.core.detection.overlays import annotation_mask


def _frame(rng):
    """An 8-bit noisy frame of bright spots (atom-like), its own values off the extremes."""
    frame = np.clip(rng.normal(120, 20, (300, 400)), 1, 254)
    rr, cc = np.mgrid[:300, :400]
    frame += 60 * (np.cos(rr / 2.0) * np.cos(cc / 2.0) > 0.8)
    return np.clip(frame, 1, 254).astype(np.uint8)


def _text(rng, height, width):
    """Random 5 x 7 glyphs, 2 px per glyph pixel, a pixel between them."""
    box = np.zeros((height, width), dtype=bool)
    for c0 in range(2, width - 11, 12):
        box[2:16, c0 : c0 + 10] = np.kron(rng.random((7, 5)) < 0.5, np.ones((2, 2), bool))
    return box


def _saved_as_jpeg(frame):
    """``frame`` (uint8) saved as JPEG at quality 75 and read back as detection sees it
    (prepare_image's float frame)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=75)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L")).astype(np.float32)


def test_a_label_box_with_text_and_no_scale_bar_is_masked():
    """Fails before the panel rule (only text near a scale bar was masked: the glyphs gave
    29-33 'atoms' on stranger_probe's RGB row)."""
    rng = np.random.default_rng(1)
    frame = _frame(rng)
    frame[6:26, 6:130] = 0
    frame[6:24, 8:128][_text(rng, 18, 120)] = 255
    mask = annotation_mask(frame)
    assert mask[6:26, 6:130].all()
    assert mask.sum() < 1.3 * (20 + 4) * (124 + 4)  # the box grown by 2 px, nothing more


def test_a_data_bar_across_the_bottom_is_masked():
    rng = np.random.default_rng(2)
    frame = _frame(rng)
    frame[270:300, :] = 0
    frame[274:292, 10:390][_text(rng, 18, 380)] = 255
    assert annotation_mask(frame)[270:300, :].all()


def test_padding_and_clipped_regions_without_text_are_left():
    """A zero band (drift-corrected padding, too wide to be a bar) and a clipped dark region
    are no panels, even with hot pixels (single, a 2 x 2 cluster) in them."""
    rng = np.random.default_rng(3)
    frame = _frame(rng)
    frame[:, :90] = 0  # padding along the left edge
    frame[150, 20] = frame[40, 60] = 255
    frame[200:202, 30:32] = 255
    frame[100:160, 200:260] = 0  # a clipped region
    frame[120, 220] = frame[140, 240] = 255
    assert not annotation_mask(frame).any()


def test_saturated_discs_on_a_zero_background_are_no_panels():
    """Fails on 2685473 (the corners of a disc's box, at the other extreme, were taken for
    glyphs: test_particles_auto's noise-free flat-topped particles were all masked)."""
    rows, cols = np.indices((96, 96))
    image = np.zeros((96, 96), dtype=np.float32)
    for row, col in [(25, 25), (25, 70), (70, 48)]:
        image[(rows - row) ** 2 + (cols - col) ** 2 <= 64] = 200.0
    assert not annotation_mask(image).any()


def test_a_data_bar_saved_as_jpeg_is_masked():
    """Fails on 070db8d (JPEG left neither the bar nor its text at one value: no panel; the
    glyphs and the bar's top edge gave 90-94 particles on stranger_blind's sem_databar_jpeg)."""
    rng = np.random.default_rng(4)
    # an SEM frame: a dark substrate whose noise reaches the bar's black, bright particles
    frame = rng.normal(45, 15, (300, 400))
    rows, cols = np.indices(frame.shape)
    for row, col in rng.uniform(20, [250, 380], (12, 2)):
        frame[np.hypot(rows - row, cols - col) < 9] += 120
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    frame[270:300, :] = 0
    frame[274:292, 10:390][_text(rng, 18, 380)] = 255
    mask = annotation_mask(_saved_as_jpeg(frame))
    assert mask[270:300, :].all()
    assert not mask[:260].any()


def test_a_scale_bar_inside_a_data_bar_saved_as_jpeg():
    """Fails on a8558e8 with a TypeError (the data bar's box runs to the frame's edge as
    ``slice(None)``, which the bar-inside-a-panel test compared with a number: stranger_blind's
    sem_databar_jpeg stopped the table)."""
    rng = np.random.default_rng(5)
    frame = rng.normal(45, 15, (300, 400))
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    frame[270:300, :] = 0
    frame[274:292, 10:250][_text(rng, 18, 240)] = 255
    frame[288:294, 280:380] = 255  # the scale bar, in the data bar
    mask = annotation_mask(_saved_as_jpeg(frame))
    assert mask[270:300, :].all()
    assert not mask[:260].any()
