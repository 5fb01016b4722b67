"""How a stranger's image differs from ours: the transforms of ``benchmarks/real_variants.py``.

Each transform takes a real frame (float64) and its reference points (row, col) and returns a
:class:`Variant`: the array as it is written to disk (float, 8-bit, 16-bit, JPEG), the file
suffix that decides how it is written, the references mapped onto it, the scale of lengths
(for the matching radius) and which references can still be found (not cut off, not under a
burned-in label). Pixel centres are at integer coordinates; a length ``L`` at magnification
``s`` is ``s * L`` and a position ``p`` is ``(p + 0.5) * s - 0.5``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

ROTATION_DEGREES = 17.0  # no lattice has a symmetry axis there
DOSE_SHARE = 0.25  # the lower dose: this share of the frame's own counts
JPEG_QUALITY = 75
OFFSET_16BIT = 32768  # a detector's bias, as signed counts stored unsigned
SPAN_16BIT = 4000  # counts across the frame's range
SATURATED_8BIT = 0.002  # an exported 8-bit picture: this share of pixels clipped at each end


@dataclass
class Variant:
    image: np.ndarray
    suffix: str  # ".npy", ".png", ".jpg" or ".tif"
    points: np.ndarray  # references (row, col) on the variant
    scale: float = 1.0  # lengths on the variant / lengths on the original
    keep: np.ndarray | None = None  # references still visible (None: all)
    encoded: bytes | None = None  # the file's bytes where the array is a decoded picture


# ----------------------------------------------------------------------- magnification
def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights of anti-aliased binning: an output pixel is the mean of the
    input it covers (each input pixel counted by its overlapping length)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    cells = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def _shape(shape, factor):
    return tuple(max(int(round(n * factor)), 8) for n in shape)


def _scaled_points(points, shape_in, shape_out):
    s = np.array(shape_out, float) / np.array(shape_in, float)
    return (points + 0.5) * s - 0.5, float(np.sqrt(s[0] * s[1]))


def binned(image, points, factor):
    """Anti-aliased binning by ``factor`` < 1 (0.5: 2 x 2 binning; noise averaged as a real
    detector's binning does)."""
    out = _shape(image.shape, factor)
    rows, cols = area_matrix(image.shape[0], out[0]), area_matrix(image.shape[1], out[1])
    pts, scale = _scaled_points(points, image.shape, out)
    return Variant(rows @ image @ cols.T, ".npy", pts, scale)


def upsampled(image, points, factor, noise=False, rng=None):
    """Cubic-spline up-sampling by ``factor`` > 1; with ``noise``, white noise of the frame's
    own per-pixel level is added back (interpolation smooths it away; a detector at that
    magnification would have it on every pixel)."""
    out = _shape(image.shape, factor)
    zoom = np.array(out, float) / np.array(image.shape, float)
    big = ndimage.zoom(image, zoom, order=3, mode="nearest", grid_mode=True)
    if noise:
        rng = rng if rng is not None else np.random.default_rng(0)
        big = big + rng.normal(0.0, white_noise(image), big.shape)
    pts, scale = _scaled_points(points, image.shape, out)
    return Variant(big, ".npy", pts, scale)


# ----------------------------------------------------------------------- dose and noise
def white_noise(image) -> float:
    """The frame's per-pixel noise, from the second difference along rows (a slope cancels;
    its variance is 6 sigma^2 for white noise): the RMS of its central 95 % (edges left out),
    made exact for Gaussian noise (/ 0.871). Not the MAD: on an 8-bit or clipped frame most
    second differences are exactly 0 (Ru1 52 %, PtIr 74 %) and the MAD is 0."""
    d = (2 * image[:, 1:-1] - image[:, :-2] - image[:, 2:]).ravel()
    d = d - np.median(d)
    central = d[np.abs(d) <= np.percentile(np.abs(d), 95)]
    return float(np.sqrt(np.mean(central**2)) / 0.871 / np.sqrt(6))


def counts_per_unit(image) -> tuple[float, float]:
    """``(gain, dark)``: the frame's intensity per detected count and its zero-count level,
    from its own noise, as for Poisson counts (variance = gain x (mean - dark)); ``dark`` is
    the 0.1th percentile."""
    dark = float(np.percentile(image, 0.1))
    sigma = white_noise(image)
    level = float(image.mean()) - dark
    return max(sigma * sigma / max(level, 1e-12), 1e-12), dark


def lower_dose(image, points, share=DOSE_SHARE, rng=None):
    """The frame at ``share`` of its dose: its counts (see :func:`counts_per_unit`) resampled
    as Poisson at the rate that brings the noise variance to ``1 / share`` times the frame's
    (its own noise stays: resampling at rate ``q`` adds ``1 / q`` times the variance)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    gain, dark = counts_per_unit(image)
    rate = share / (1.0 - share)
    counts = np.clip(image - dark, 0, None) / gain
    resampled = rng.poisson(counts * rate) / rate
    return Variant(resampled * gain + dark, ".npy", points.copy())


# ----------------------------------------------------------------------- how it is stored
def to_8bit(image, saturated=SATURATED_8BIT) -> np.ndarray:
    """Stretched to 0-255 with ``saturated`` of the pixels clipped at each end (an export's
    auto contrast)."""
    lo, hi = np.percentile(image, [100 * saturated, 100 * (1 - saturated)])
    return np.round(np.clip((image - lo) / max(hi - lo, 1e-12), 0, 1) * 255).astype(np.uint8)


def eight_bit(image, points):
    return Variant(to_8bit(image), ".png", points.copy())


def _jpeg(picture, points, keep=None, quality=JPEG_QUALITY):
    """``picture`` (8-bit grey or RGB) encoded as JPEG; the array is the decoded picture."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=quality)
    encoded = buffer.getvalue()
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer))
    return Variant(decoded, ".jpg", points.copy(), keep=keep, encoded=encoded)


def jpeg(image, points):
    """8-bit (as :func:`to_8bit`) encoded as JPEG."""
    return _jpeg(to_8bit(image), points)


def sixteen_bit(image, points):
    """Unsigned 16-bit counts on a large offset (a detector's bias)."""
    lo, hi = float(image.min()), float(image.max())
    scaled = OFFSET_16BIT + (image - lo) / max(hi - lo, 1e-12) * SPAN_16BIT
    return Variant(np.round(scaled).astype(np.uint16), ".tif", points.copy())


# ----------------------------------------------------------------------- what is in the frame
def gradient(image, points):
    """A slow illumination gradient: the signal above the frame's dark level multiplied by
    0.5 at one corner to 1.5 at the opposite one."""
    rows, cols = np.indices(image.shape, dtype=float)
    ramp = 0.5 * (rows / max(image.shape[0] - 1, 1) + cols / max(image.shape[1] - 1, 1))
    dark = float(np.percentile(image, 0.1))
    return Variant(dark + (image - dark) * (0.5 + ramp), ".npy", points.copy())


def scale_bar_mask(shape) -> np.ndarray:
    """Pixels of a burned-in scale bar (a fifth of the width, bottom right) and its label
    ("20 nm" above it, in a font 4 % of the height) as microscope software draws them."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = shape
    picture = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(picture)
    length, thick, margin = int(0.2 * w), max(3, int(0.015 * h)), int(0.05 * min(h, w))
    x1, y1 = w - margin, h - margin
    draw.rectangle([x1 - length, y1 - thick, x1 - 1, y1 - 1], fill=255)
    font = ImageFont.load_default(size=max(10, int(0.04 * h)))
    box = draw.textbbox((0, 0), "20 nm", font=font)
    x = x1 - length // 2 - (box[2] - box[0]) // 2 - box[0]
    y = y1 - thick - margin // 2 - box[3]
    draw.text((x, y), "20 nm", fill=255, font=font)
    return np.asarray(picture) > 127


def scale_bar(image, points):
    """8-bit export (:func:`to_8bit`) with a white scale bar and label burned in; references
    under them (grown by 2 px) cannot be found and are not counted."""
    mask = scale_bar_mask(image.shape)
    out = to_8bit(image)
    out[mask] = 255
    hidden = ndimage.binary_dilation(mask, iterations=2)
    rc = np.clip(np.round(points).astype(int), 0, np.array(image.shape) - 1)
    return Variant(out, ".png", points.copy(), keep=~hidden[rc[:, 0], rc[:, 1]])


def scale_bar_jpeg(image, points):
    """:func:`scale_bar` saved as JPEG (the bar and label no longer one value)."""
    variant = scale_bar(image, points)
    return _jpeg(variant.image, points, keep=variant.keep)


def colour_bar_jpeg(image, points):
    """The grey 8-bit frame saved as an RGB JPEG with the scale bar and label drawn in yellow
    (chroma subsampled: the grey pixels are no longer exactly grey, the yellow varies)."""
    variant = scale_bar(image, points)
    rgb = np.repeat(to_8bit(image)[..., None], 3, axis=2)
    rgb[scale_bar_mask(image.shape)] = (255, 255, 0)
    return _jpeg(rgb, points, keep=variant.keep)


def inscribed(h, w, degrees) -> tuple[int, int]:
    """The largest axis-aligned rectangle inside an ``h x w`` frame rotated by ``degrees``."""
    a = np.deg2rad(degrees) % np.pi
    sin, cos = abs(np.sin(a)), abs(np.cos(a))
    long, short = max(h, w), min(h, w)
    if short <= 2 * sin * cos * long or abs(sin - cos) < 1e-10:
        x = 0.5 * short
        wr, hr = (x / sin, x / cos) if w >= h else (x / cos, x / sin)
    else:
        cos2 = cos * cos - sin * sin
        wr, hr = (w * cos - h * sin) / cos2, (h * cos - w * sin) / cos2
    return int(np.floor(hr)) - 1, int(np.floor(wr)) - 1


def rotated(image, points, degrees=ROTATION_DEGREES):
    """Rotated by ``degrees`` (cubic spline) and cropped to the valid area."""
    h, w = inscribed(*image.shape, degrees)
    a = np.deg2rad(degrees)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre_in = (np.array(image.shape, float) - 1) / 2
    centre_out = (np.array([h, w], float) - 1) / 2
    # input = turn @ (output - centre_out) + centre_in
    out = ndimage.affine_transform(
        image, turn, offset=centre_in - turn @ centre_out, output_shape=(h, w), order=3
    )
    pts = (points - centre_in) @ turn + centre_out  # turn.T @ (p - centre_in), row-wise
    inside = (pts >= -0.5).all(axis=1) & (pts < np.array([h, w]) - 0.5).all(axis=1)
    return Variant(out, ".npy", pts, keep=inside)


def quarter(image, points, bottom=False, right=False, centre=False):
    """A quarter of the frame (half its height and width): the top-left one by default, the
    bottom and/or right one, or the central one (a stranger crops whatever part they like)."""
    h, w = image.shape[0] // 2, image.shape[1] // 2
    top = (image.shape[0] - h) // 2 if centre else image.shape[0] - h if bottom else 0
    left = (image.shape[1] - w) // 2 if centre else image.shape[1] - w if right else 0
    pts = points - np.array([top, left], float)
    inside = (pts >= -0.5).all(axis=1) & (pts < np.array([h, w]) - 0.5).all(axis=1)
    return Variant(image[top : top + h, left : left + w].copy(), ".npy", pts, keep=inside)


def corner(image, points):
    """The top-left quarter of the frame (half its height and width)."""
    return quarter(image, points)


def inverted(image, points):
    """Bright and dark swapped (particle images: bright-field <-> dark-field)."""
    return Variant(image.max() + image.min() - image, ".npy", points.copy())


# name -> (transform, modes it applies to)
VARIANTS = {
    "x1": (lambda image, points: Variant(image, ".npy", points.copy()), ("atoms", "particles")),
    "bin0.5": (lambda i, p: binned(i, p, 0.5), ("atoms", "particles")),
    "bin0.7": (lambda i, p: binned(i, p, 0.7), ("atoms", "particles")),
    "up1.25": (lambda i, p: upsampled(i, p, 1.25), ("atoms", "particles")),
    "up1.5": (lambda i, p: upsampled(i, p, 1.5), ("atoms", "particles")),
    "up2": (lambda i, p: upsampled(i, p, 2.0), ("atoms", "particles")),
    "up3": (lambda i, p: upsampled(i, p, 3.0), ("atoms", "particles")),
    "up2+noise": (lambda i, p: upsampled(i, p, 2.0, noise=True), ("atoms", "particles")),
    "up3+noise": (lambda i, p: upsampled(i, p, 3.0, noise=True), ("atoms", "particles")),
    "dose1/4": (lower_dose, ("atoms", "particles")),
    "8bit": (eight_bit, ("atoms", "particles")),
    "jpeg75": (jpeg, ("atoms", "particles")),
    "16bit+offset": (sixteen_bit, ("atoms", "particles")),
    "gradient": (gradient, ("atoms", "particles")),
    "scalebar": (scale_bar, ("atoms", "particles")),
    "scalebar+jpeg": (scale_bar_jpeg, ("atoms", "particles")),
    "colourbar+jpeg": (colour_bar_jpeg, ("atoms", "particles")),
    "rot17": (rotated, ("atoms", "particles")),
    "corner": (corner, ("atoms", "particles")),
    # the other quarters and the central one: atoms only (each holds its own part of the
    # frame's flaws, which the spacing estimate, an atoms-only step, reads from the crop)
    "corner-tr": (lambda i, p: quarter(i, p, right=True), ("atoms",)),
    "corner-bl": (lambda i, p: quarter(i, p, bottom=True), ("atoms",)),
    "corner-br": (lambda i, p: quarter(i, p, bottom=True, right=True), ("atoms",)),
    "centre": (lambda i, p: quarter(i, p, centre=True), ("atoms",)),
    "inverted": (inverted, ("particles",)),
}
