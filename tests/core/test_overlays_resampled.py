"""A scale bar, its label and a label's box burned into a frame that was then resampled
(binned x0.5 or cubic up-sampled x2, white noise added back): overlay_resampled.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from napari_ivae.core.detection.overlays import annotation_mask


def _support(shape, seed, level=150.0, noise=8.0):
    """A smooth film with dark blobs (particles) and pixel noise, 8-bit range."""
    rng = np.random.default_rng(seed)
    image = level + 15 * ndimage.gaussian_filter(rng.standard_normal(shape), 12) / 0.02
    rows, cols = np.indices(shape)
    for r, c in rng.uniform(20, min(shape) - 20, (25, 2)):
        image -= 90 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 30.0)
    return image + rng.normal(0, noise, shape)


def _burned(shape, boxed):
    """A white bar and '20 nm' above it (on a black box when ``boxed``): the picture's value
    (None where nothing is drawn) and the drawn area (the box, or the bar and glyphs)."""
    picture = Image.new("L", shape[::-1], 128)
    draw = ImageDraw.Draw(picture)
    h, w = shape
    length, thick, size = w // 5, max(3, h // 100), max(14, h // 25)
    x0, y0 = w - length - 30, h - 30
    box = [x0 - 6, y0 - size - 14, x0 + length + 6, y0 + thick + 8]
    if boxed:
        draw.rectangle(box, fill=0)
    draw.rectangle([x0, y0, x0 + length, y0 + thick], fill=255)
    draw.text(
        (x0 + length // 4, y0 - size - 8), "20 nm", fill=255, font=ImageFont.load_default(size=size)
    )
    drawn = np.asarray(picture)
    area = np.zeros(shape, bool)
    if boxed:
        area[box[1] : box[3] + 1, box[0] : box[2] + 1] = True
    else:
        area = drawn != 128
    return np.where(drawn == 128, np.nan, drawn.astype(float)), area


def _resampled(image, zoom, noise, seed):
    """``image`` binned (zoom 0.5: 2 x 2 means) or cubic up-sampled (zoom 2), white noise of
    ``noise`` added, 8-bit."""
    if zoom < 1:
        h, w = (n // 2 * 2 for n in image.shape)
        out = image[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    else:
        out = ndimage.zoom(image, zoom, order=3, grid_mode=True, mode="nearest")
    out = out + np.random.default_rng(seed).normal(0, noise, out.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _area_at(area, zoom, shape):
    """The drawn area in the resampled frame: a pixel that covers any of it."""
    if zoom < 1:
        h, w = (n // 2 * 2 for n in area.shape)
        return area[:h, :w].reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3))
    return (
        ndimage.zoom(area.astype(float), zoom, order=0, grid_mode=True, mode="grid-constant")[
            : shape[0], : shape[1]
        ]
        > 0
    )


@pytest.mark.parametrize("zoom, noise", [(0.5, 0.0), (2.0, 0.0), (2.0, 8.0)])
@pytest.mark.parametrize("boxed", [False, True])
def test_a_resampled_bar_and_label_are_masked(zoom, noise, boxed):
    """Fails before: resampling leaves the bar and glyphs neither at one value nor sharp,
    and a box's fill and text blurred into each other (a white label on a film x0.5 and x2:
    none of it masked)."""
    shape = (240, 320) if zoom > 1 else (480, 640)
    drawn, area = _burned(shape, boxed)
    image = _support(shape, seed=1)
    image = np.where(np.isnan(drawn), image, drawn)
    frame = _resampled(image, zoom, noise, seed=2)
    mask = annotation_mask(frame)
    where = _area_at(area, zoom, frame.shape)
    assert mask[where].mean() > 0.6
    # nothing away from the annotation (its blurred edges and the mask's 2 px growth aside)
    assert not (mask & ~ndimage.binary_dilation(where, iterations=4 * max(1, int(zoom)))).any()


@pytest.mark.parametrize("zoom, noise", [(0.5, 0.0), (2.0, 8.0)])
def test_a_resampled_frame_without_annotation_masks_nothing(zoom, noise):
    """No bar, but a bright axis-aligned elongated blob (a rod, 5:1) and dark particles: a
    resampled frame keeps them all."""
    shape = (240, 320) if zoom > 1 else (480, 640)
    image = _support(shape, seed=3)
    rows, cols = np.indices(shape)
    image += 120 * np.exp(-(((rows - 60) / 3.0) ** 2 + ((cols - 120) / 15.0) ** 2))
    assert not annotation_mask(_resampled(np.clip(image, 0, 255), zoom, noise, seed=4)).any()


def test_a_stem_frame_whose_extreme_is_its_background_masks_nothing():
    """Fails without the core's share (overlay_resampled._stands_out): a bright-particle
    STEM frame (float, scan-line offsets and jitter) has its minimum a few noise levels under
    its film, whose row-smeared grains made a 2 x 46 px 'bar' at that extreme with 'glyphs'
    beside it (stranger_heldlike stem_bright_carbon s0: 611 px masked, no annotation drawn)."""
    from tests.core._scripts import load_script

    heldlike = load_script("benchmarks/stranger_heldlike.py", "stranger_heldlike")
    frame = heldlike.make("stem_bright_carbon", 0)["image"]
    assert not annotation_mask(frame).any()


def test_a_bar_the_exact_rule_found_keeps_its_label_as_found():
    """Fails without ``found`` (a bar found whole by the exact rule is left to it): the
    resampled rule re-found stranger_particles' drawn bar and took a particle on its
    label's line for a glyph (bf_small300 s1/s2: R 1.000 -> 0.997)."""
    from tests.core._scripts import load_script

    particles = load_script("benchmarks/stranger_particles.py", "stranger_particles")
    image, _ = particles.make(seed=1, **particles.CASES["bf_small300"])
    width = image.shape[1]
    bar_start = width - width // 20 - width // 6  # the label lies above the bar, from here
    mask = annotation_mask(image)
    assert mask.any() and not mask[:, : bar_start - 3].any()


def test_a_dim_band_of_scan_lines_in_a_low_dose_frame_is_no_bar():
    """Fails without ``_beyond_noise``: two dark scan lines across a dim patch of a low-dose
    STEM frame make a 2 px 'bar' at its minimum whose step from the lines beside it is 1.4
    sigma (stranger_heldlike stem_bright_oxide_2k s8: 1.0 sigma, 3 759 px masked, R 0.960 ->
    0.957); the benchmarks' resampled bars step by 2.6 sigma and more."""
    rng = np.random.default_rng(0)
    shape = (512, 512)
    level = np.full(shape, 19.0)
    level[150:250, 100:400] = 17.6  # a dim patch of the film
    level[200:202, 120:380] = 16.6  # two dark scan lines across it
    rows, cols = np.indices(shape)
    for r, c in rng.uniform(30, 480, (40, 2)):  # bright particles
        level += 26 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 8.0)
    sigma = np.full(shape, 0.7)
    sigma[200:202, 120:380] = 0.4  # counts: the darker, the less noise
    frame = (level + sigma * rng.standard_normal(shape)).astype(np.float32)
    assert not annotation_mask(frame).any()


def test_a_found_bar_and_label_beside_dark_film_add_nothing(monkeypatch):
    """Fails with 'found whole' instead of ``_found_by_exact_rules``: the exact rules found the
    dark bar (not its 1 px blurred rim) and its label over a lacey film, and the resampled
    rule took the bar again with its rim and dark film strands in the frame's corner for
    glyphs (stranger_particles empty_lacey s2: 1 399 px more masked, 20 -> 73 points)."""
    from tests.core._scripts import load_script

    particles = load_script("benchmarks/stranger_particles.py", "stranger_particles")
    image, _ = particles.make(seed=2, **{**particles.CASES, **particles.EMPTY}["empty_lacey"])
    assert _added_to_the_exact_mask(monkeypatch, image) == [0]


def test_a_found_bar_without_a_label_is_not_masked_again(monkeypatch):
    """Fails with 'found whole and its label' as the skip: a drawn bar without text, found
    by the exact rules, had its blurred rim masked again here, which took a particle the bar
    cuts (benchmarks/robustness.py bright + scale bar seed +3000: R 1.00 -> 0.98)."""
    from napari_ivae.core.synthetic.particles import make_particles

    image = make_particles(
        shape=384, count=60, radius=6, polarity="bright", texture=0.05, scale_bar=True, seed=3009
    ).image
    assert _added_to_the_exact_mask(monkeypatch, image) == [0]


def test_the_label_is_the_line_of_glyphs_nearest_its_bar():
    # a colour bar's ink lies short of the frame's extreme, so a lattice's brightest columns
    # reach the same level: their row (three, further off) is not the label (two, next to
    # the bar); the line with more glyphs won before
    from napari_ivae.core.detection.overlay_resampled import _on_one_line

    bar = (slice(226, 229), slice(186, 233))
    label = [
        (14, 1, (slice(214, 221), slice(196, 204))),
        (13, 2, (slice(214, 221), slice(206, 214))),
    ]
    columns = [
        (20, 3, (slice(203, 208), slice(205, 210))),
        (14, 4, (slice(205, 209), slice(187, 192))),
        (9, 5, (slice(203, 207), slice(223, 226))),
    ]
    assert sorted(_on_one_line(label + columns, bar)) == [1, 2]
    assert _on_one_line(columns[:1], bar) == []  # a lone glyph is no label


def _added_to_the_exact_mask(monkeypatch, image) -> list[int]:
    """The pixels the resampled rules add to what the exact rules masked, per call, on
    ``image`` (whose annotation the exact rules must find)."""
    from napari_ivae.core.detection import overlay_resampled

    added = []
    keep = overlay_resampled.resampled_annotations

    def recorded(frame, found):
        out = keep(frame, found)
        added.append(int((out & ~found).sum()))
        return out

    monkeypatch.setattr(overlay_resampled, "resampled_annotations", recorded)
    assert annotation_mask(image).any()
    return added


def _lattice_with_a_colour_bar(seed=0):
    """An 8-bit lattice of bright columns (every 12 px, peaks at 235-255) with a bar drawn
    at 232 (a colour's luminance, short of the extreme) and saved as JPEG: no kernel blurred
    the bar. Returns the frame, the bar's box and the column centres."""
    import io

    rng = np.random.default_rng(seed)
    shape = (240, 246)
    rows, cols = np.indices(shape)
    image = np.full(shape, 55.0)
    centres = [(r, c) for r in range(6, 240, 12) for c in range(6, 246, 12)]
    for r, c in centres:
        image += rng.uniform(180, 205) * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 5.0)
    image += rng.normal(0, 12, shape)
    bar = (slice(226, 229), slice(185, 234))
    image[bar] = 232
    picture = Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=75)
    frame = np.asarray(Image.open(buffer)).astype(float)
    return frame, bar, np.array(centres)


def test_a_bar_drawn_sharp_is_not_grown_and_a_blurred_one_is():
    # the lines the kernel blurred a bar into are measured, not a fixed line each side: a
    # bar drawn on the frame (JPEG, no kernel) keeps its core
    from napari_ivae.core.detection.overlay_resampled import _blurred

    rng = np.random.default_rng(1)
    frame = 60 + rng.normal(0, 5, (120, 200))
    frame[100:104, 40:160] = 255
    core = (slice(100, 104), slice(40, 160))
    assert _blurred(frame, core, 255.0, 5.0) == core
    blurred = ndimage.uniform_filter1d(frame, 3, axis=0)
    grown = _blurred(blurred, (slice(101, 103), slice(40, 160)), 255.0, 5.0 / np.sqrt(3))
    assert grown[0].start < 101 and grown[0].stop > 103


def test_a_lattice_row_beside_a_colour_bar_is_not_its_label():
    # CsPbBr3 'colourbar+jpeg': bright columns beside the bar, as many in every band of the
    # frame, were masked as the bar's label and lost (R 0.995 -> 0.987)
    frame, bar, centres = _lattice_with_a_colour_bar()
    mask = annotation_mask(frame)
    assert mask[bar].all()
    near_bar = np.zeros(frame.shape, bool)
    near_bar[224:231, 183:236] = True  # the bar grown by 2 px
    off_the_bar = [(r, c) for r, c in centres if not near_bar[r, c]]
    assert not any(mask[r, c] for r, c in off_the_bar)
