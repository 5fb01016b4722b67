"""A scale bar and its label burned into a picture saved as JPEG (overlays.py, io/image.py):
JPEG leaves neither at one value, and an RGB JPEG varies the drawn colour."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from napari_ivae.core.detection.overlays import annotation_mask
from napari_ivae.core.io.image import prepare_image


def _micrograph(shape=(400, 400), seed=0):
    """8-bit: a smooth support with bright blobs and pixel noise, 0.2 % clipped at each end."""
    rng = np.random.default_rng(seed)
    image = 60 * ndimage.gaussian_filter(rng.standard_normal(shape), 20) / 0.014
    rows, cols = np.indices(shape)
    for r, c in rng.uniform(20, min(shape) - 20, (30, 2)):
        image += 80 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 18.0)
    image += rng.normal(0, 6, shape)
    lo, hi = np.percentile(image, [0.2, 99.8])
    return np.round(np.clip((image - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def _annotation(shape):
    """A scale bar a fifth of the width, 1.5 % of the height thick, and '20 nm' above it."""
    picture = Image.new("L", shape[::-1], 0)
    draw = ImageDraw.Draw(picture)
    h, w = shape
    x1, y1, length, thick = w - 20, h - 20, w // 5, max(3, int(0.015 * h))
    draw.rectangle([x1 - length, y1 - thick, x1 - 1, y1 - 1], fill=255)
    font = ImageFont.load_default(size=max(10, int(0.04 * h)))
    draw.text((x1 - length, y1 - thick - 10 - int(0.04 * h)), "20 nm", fill=255, font=font)
    return np.asarray(picture) > 127


def _assert_masked(mask, drawn):
    """The whole bar, most of its label (JPEG smears the thin strokes' edges further than
    the bar's: 66-95 % measured), nothing away from them."""
    pieces, count = ndimage.label(drawn)
    bar = pieces == np.argmax(np.bincount(pieces.ravel())[1:]) + 1
    assert mask[bar].all()
    assert mask[drawn & ~bar].mean() > 0.6
    assert not (mask & ~ndimage.binary_dilation(drawn, iterations=4)).any()


def _jpeg(picture):
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=75)
    buffer.seek(0)
    return np.asarray(Image.open(buffer))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_white_bar_and_label_saved_as_jpeg_are_masked(seed):
    """Fails before (nothing masked): only bars at exactly the extreme were found, and labels
    at exactly it (benchmarks/real_variants.py 'scalebar+jpeg': on the Au crop only a 1 x 24 px
    row of the bar)."""
    drawn = _annotation((400, 400))
    picture = _micrograph(seed=seed)
    picture[drawn] = 255
    frame = prepare_image(_jpeg(picture))
    _assert_masked(annotation_mask(frame), drawn)


def test_a_lossless_bar_is_masked_as_before():
    drawn = _annotation((400, 400))
    picture = _micrograph(seed=3)
    picture[drawn] = 255
    mask = annotation_mask(prepare_image(picture))
    assert mask[drawn].all()
    assert not (mask & ~ndimage.binary_dilation(drawn, iterations=3)).any()


def test_a_jpeg_without_annotation_masks_nothing():
    assert not annotation_mask(prepare_image(_jpeg(_micrograph(seed=4)))).any()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_yellow_bar_on_an_rgb_jpeg_is_masked(seed):
    """Fails before (nothing masked): JPEG varies the yellow, so io keeps its luminance
    (about 236 of 255), no extreme: the bar and label were found as particles and atoms
    (real_variants 'colourbar+jpeg': Ru1 F1 0.774, the Au crop 0.902). Near the brightest
    value, the bar is found as a white one saved as JPEG."""
    drawn = _annotation((400, 400))
    rgb = np.repeat(_micrograph(seed=seed)[..., None], 3, axis=2)
    rgb[drawn] = (255, 255, 0)
    _assert_masked(annotation_mask(prepare_image(_jpeg(rgb))), drawn)
