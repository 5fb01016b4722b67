"""A label's filled box (dark or bright) with its scale bar and text in the other contrast,
saved as JPEG or not, anywhere in the frame (overlays.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from napari_ivae.core.detection.overlays import annotation_mask

SHAPE = (300, 450)
SQUARES = [(60, 80), (150, 300), (230, 150)]  # dark square particles' top-left corners
SQUARE = 16


def _micrograph(rng, dark_particles):
    """8-bit bright field (or its inverse): a noisy film whose noise reaches near both extremes,
    with axis-aligned square particles at the far extreme (the shape a label's box has)."""
    frame = rng.normal(170, 25, SHAPE)
    for row, col in SQUARES:
        frame[row : row + SQUARE, col : col + SQUARE] = rng.normal(8, 6, (SQUARE, SQUARE))
    # off the extremes (a lone pixel there, near the bar, is taken for its label's dot)
    frame = np.clip(frame, 1, 254)
    return (frame if dark_particles else 255 - frame).astype(np.uint8)


def _burned(frame, fill, corner):
    """A filled box in ``corner`` ('lower right', 'upper left' or 'middle') holding a scale
    bar and '50 nm' in the other extreme; the box."""
    picture = Image.fromarray(frame)
    draw = ImageDraw.Draw(picture)
    height, width = 56, 200
    top, left = {"lower right": (230, 235), "upper left": (8, 8), "middle": (120, 125)}[corner]
    draw.rectangle([left, top, left + width - 1, top + height - 1], fill=fill)
    draw.rectangle([left + 8, top + 40, left + width - 9, top + 45], fill=255 - fill)
    font = ImageFont.load_default(size=20)
    draw.text((left + 60, top + 8), "50 nm", fill=255 - fill, font=font)
    return np.asarray(picture), (slice(top, top + height), slice(left, left + width))


def _jpeg(picture, quality):
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))


@pytest.mark.parametrize(
    ("fill", "corner", "quality"),
    [
        (0, "lower right", 75),
        (0, "upper left", 90),
        (0, "middle", None),
        (255, "lower right", 90),
        (255, "middle", 75),
        (255, "upper left", None),
    ],
)
def test_a_filled_label_box_is_masked_and_square_particles_are_left(fill, corner, quality):
    """Fails on 593de08 for the JPEG cases (only the bar and its text were masked: the box's
    corners and edges gave 5-9 'particles' on stranger_heldlike's tem_dark_carbon rows)."""
    rng = np.random.default_rng(fill + len(corner) + (quality or 0))
    # the box's fill at the extreme where the particles lie, as a dark box on bright field
    frame, box = _burned(_micrograph(rng, dark_particles=fill == 0), fill, corner)
    if quality is not None:
        frame = _jpeg(frame, quality)
    mask = annotation_mask(frame.astype(np.float32))  # as detection sees it (prepare_image)
    assert mask[box].all()
    grown = np.zeros(SHAPE, dtype=bool)
    grown[box[0].start - 2 : box[0].stop + 2, box[1].start - 2 : box[1].stop + 2] = True
    for row, col in SQUARES:  # the square particles are left
        square = np.zeros(SHAPE, dtype=bool)
        square[row : row + SQUARE, col : col + SQUARE] = True
        assert not (mask & square & ~grown).any()
    # the film too, but for a few lone pixels at the bar's value in its label's window
    # (JPEG's; the bar's label rule masks them, 5 x 5 each)
    assert (mask & ~grown).sum() <= 4 * 25
