"""Card-suit patches with known affine disorder: the ss-rVAE benchmark, drawn procedurally.

The four suits (clubs, spades, hearts, diamonds) are vector shapes built from circles and
triangles in a canonical frame, rasterised once per suit into a high-resolution template that is
low-pass filtered (anti-aliasing), and then resampled through a random affine transform for each
image (rotation, horizontal shear, isotropic scale, translation). Every transform parameter is
returned as ground truth.

Spades and clubs share the stem and the two side lobes and differ only in the top (pointed vs
round); hearts and diamonds share the pointed bottom and differ in the rounded vs pointed top;
spades and (upside-down) hearts differ by the stem, as in the papers.

Conventions (the same as the rest of napari-ivae):

* angles are radians, positive = counter-clockwise *as displayed* (row axis pointing down);
* shifts are ``(dx, dy)`` = (column, row) displacements of the symbol in units of the patch
  half-width, the coordinate grid spanning ``[-1, 1]`` over the pixel centres (``dy > 0`` moves
  the symbol down);
* images are ``(N, size, size)`` float32 in ``[0, 1]``, symbol bright on a dark background.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from napari_ivae.core.errors import InputError

CARD_CLASSES = ("clubs", "spades", "hearts", "diamonds")

# Half-height of the symbol (canonical extent 1) in pixels, as a fraction of the frame size: at
# the largest published scale (1.3) plus the largest shift (0.1 of the frame) it still fits.
SYMBOL_RADIUS_FRACTION = 0.26
_TEMPLATE_HALF_EXTENT = 1.35  # canonical units covered by the template, each side of centre
_TEMPLATE_PIXELS = 256
_ANTIALIAS_SIGMA = 0.45  # output pixels (at scale 1), Gaussian prefilter of the template
_CHUNK = 1024  # images resampled per vectorised step (bounds peak memory to ~50 MB)


@dataclass
class CardsSet:
    """Card images with the ground truth of the transform that produced each one.

    Attributes
    ----------
    images : ndarray, (N, size, size) float32 in [0, 1]
    labels : ndarray, (N,) int64, index into ``class_names``
    angles : ndarray, (N,) float64, rotation in radians (counter-clockwise as displayed)
    shifts : ndarray, (N, 2) float64, ``(dx, dy)`` in units of the patch half-width
    class_names : tuple of str
    params : dict, the generation parameters (ranges, seed, conventions)
    scales : ndarray, (N,) float64, isotropic scale factor
    shears : ndarray, (N,) float64, horizontal shear factor (x += shear * y before rotation)
    """

    images: np.ndarray
    labels: np.ndarray
    angles: np.ndarray
    shifts: np.ndarray
    class_names: tuple
    params: dict
    scales: np.ndarray | None = None
    shears: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class CardsProtocol:
    """The three draws of the published ss-rVAE cards experiment.

    Attributes
    ----------
    labeled : CardsSet
        Small labeled set, weak rotation, centred.
    unlabeled : CardsSet
        Large unlabeled set, strong rotation and translation.
    test : CardsSet
        Independent draw with the unlabeled distribution (accuracy is measured here).
    seed : int
        Seed the three draws were derived from (each draw's own seed is in its ``params``).
    """

    labeled: CardsSet
    unlabeled: CardsSet
    test: CardsSet
    seed: int
    params: dict = field(default_factory=dict)

    def training_set(self) -> tuple[np.ndarray, np.ndarray]:
        """Labeled + unlabeled images and labels for semi-supervised training.

        Returns
        -------
        patches : ndarray, (N_labeled + N_unlabeled, size, size) float32
        labels : ndarray, (N,) int64, the labeled part's classes then ``-1`` (unlabeled)
        """
        patches = np.concatenate([self.labeled.images, self.unlabeled.images])
        labels = np.concatenate(
            [self.labeled.labels, np.full(len(self.unlabeled), -1, dtype=np.int64)]
        )
        return np.ascontiguousarray(patches), labels


# --------------------------------------------------------------------------- suit geometry
def _in_circle(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _in_triangle(x, y, a, b, c):
    def side(p, q):
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    has_neg = (d1 < 0) | (d2 < 0) | (d3 < 0)
    has_pos = (d1 > 0) | (d2 > 0) | (d3 > 0)
    return ~(has_neg & has_pos)


def _suit_mask(suit: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Inside test of one suit; canonical frame, x right, y up, extent about [-1, 1]."""
    if suit == "hearts":
        return (
            _in_circle(x, y, -0.5, 0.38, 0.52)
            | _in_circle(x, y, 0.5, 0.38, 0.52)
            | _in_triangle(x, y, (-0.99, 0.24), (0.99, 0.24), (0.0, -1.0))
        )
    if suit == "spades":
        return (
            _in_circle(x, y, -0.48, -0.22, 0.48)
            | _in_circle(x, y, 0.48, -0.22, 0.48)
            | _in_triangle(x, y, (-0.94, -0.1), (0.94, -0.1), (0.0, 1.0))
            | _in_triangle(x, y, (0.0, -0.05), (-0.3, -1.0), (0.3, -1.0))
        )
    if suit == "clubs":
        return (
            _in_circle(x, y, 0.0, 0.5, 0.4)
            | _in_circle(x, y, -0.46, -0.18, 0.4)
            | _in_circle(x, y, 0.46, -0.18, 0.4)
            | _in_circle(x, y, 0.0, 0.05, 0.25)
            | _in_triangle(x, y, (0.0, 0.05), (-0.3, -1.0), (0.3, -1.0))
        )
    if suit == "diamonds":
        return np.abs(x) / 0.72 + np.abs(y) <= 1.0
    raise InputError(f"unknown card suit {suit!r}; choose one of {CARD_CLASSES}")


@lru_cache(maxsize=16)
def _template(suit: str, size: int) -> np.ndarray:
    """Anti-aliased high-resolution rendering of one suit, rows = increasing canonical y."""
    from scipy.ndimage import gaussian_filter

    step = 2 * _TEMPLATE_HALF_EXTENT / _TEMPLATE_PIXELS
    axis = -_TEMPLATE_HALF_EXTENT + (np.arange(_TEMPLATE_PIXELS) + 0.5) * step
    y, x = np.meshgrid(axis, axis, indexing="ij")
    mask = _suit_mask(suit, x, y).astype(np.float32)
    template_px_per_output_px = 1.0 / (SYMBOL_RADIUS_FRACTION * size * step)
    smooth = gaussian_filter(mask, _ANTIALIAS_SIGMA * template_px_per_output_px, mode="constant")
    smooth.setflags(write=False)
    return smooth


def _render(templates: np.ndarray, labels, inverse, shift_px, size: int) -> np.ndarray:
    """Resample templates through per-image inverse affine maps (bilinear, vectorised).

    ``inverse`` (N, 2, 2) maps a pixel displacement from the symbol centre (x right, y up, in
    symbol radii) to canonical coordinates; ``shift_px`` (N, 2) is the centre offset (x, y up).
    Samples outside the template are clamped onto its border, which is background (0).
    """
    n_classes, tsize, _ = templates.shape
    flat = templates.reshape(-1)
    centre = (size - 1) / 2.0
    radius = SYMBOL_RADIUS_FRACTION * size
    step = 2 * _TEMPLATE_HALF_EXTENT / tsize
    px = ((np.arange(size) - centre) / radius).astype(np.float32)[None, None, :]
    py = (-(np.arange(size) - centre) / radius).astype(np.float32)[None, :, None]
    # fold "canonical -> fractional template index" into the per-image matrix and offset
    m = (inverse / step).astype(np.float32)
    t = (shift_px / radius).astype(np.float32)
    origin = np.float32(_TEMPLATE_HALF_EXTENT / step - 0.5)
    out = np.empty((len(labels), size, size), np.float32)
    for start in range(0, len(labels), _CHUNK):
        sl = slice(start, start + _CHUNK)
        mm = m[sl][:, :, :, None, None]
        dx, dy = px - t[sl, 0, None, None], py - t[sl, 1, None, None]
        fx = np.clip(mm[:, 0, 0] * dx + mm[:, 0, 1] * dy + origin, 0, tsize - 1.001)
        fy = np.clip(mm[:, 1, 0] * dx + mm[:, 1, 1] * dy + origin, 0, tsize - 1.001)
        x0, y0 = fx.astype(np.int32), fy.astype(np.int32)  # floor: both are >= 0
        wx, wy = fx - x0, fy - y0
        i00 = y0 * tsize + x0 + (labels[sl] * (tsize * tsize)).astype(np.int32)[:, None, None]
        top = flat[i00] + wx * (flat[i00 + 1] - flat[i00])
        bottom = flat[i00 + tsize] + wx * (flat[i00 + tsize + 1] - flat[i00 + tsize])
        out[sl] = top + wy * (bottom - top)
    return out


# ------------------------------------------------------------------------------ public API
def make_cards(
    n_per_class: int,
    *,
    size: int = 48,
    rotation: float = 0.0,
    shear: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
    translation: float = 0.0,
    noise: float = 0.0,
    classes: tuple[str, ...] = CARD_CLASSES,
    seed: int = 0,
) -> CardsSet:
    """Draw card-suit images under random affine disorder, with ground truth.

    Parameters
    ----------
    n_per_class : int
        Images per suit (the set is balanced and ordered class by class).
    size : int
        Side of the square images in pixels (>= 8).
    rotation : float
        Maximum absolute rotation in degrees; angles are uniform in ``[-rotation, rotation]``.
    shear : float
        Maximum horizontal shear factor; factors are uniform in ``[0, shear]`` (the papers'
        "s" disorder, e.g. 0.23).
    scale : (float, float)
        Range of the isotropic scale factor, uniform in ``[scale[0], scale[1]]``.
    translation : float
        Maximum shift as a fraction of the frame, per axis, uniform in
        ``[-translation, translation]`` (0.1 in the papers).
    noise : float
        Standard deviation of additive Gaussian noise (result clipped to [0, 1]); 0 = none.
    classes : tuple of str
        Suits to draw, a subset of :data:`CARD_CLASSES`; labels index into it.
    seed : int
        Seed of the numpy random generator; the same seed gives the same images.

    Returns
    -------
    CardsSet
    """
    n_per_class = int(n_per_class)
    if n_per_class < 0:
        raise InputError(f"n_per_class must be >= 0, got {n_per_class}")
    if int(size) < 8:
        raise InputError(f"size must be at least 8 pixels, got {size}")
    size = int(size)
    unknown = [c for c in classes if c not in CARD_CLASSES]
    if unknown or not classes:
        raise InputError(f"unknown card classes {unknown or classes}; choose from {CARD_CLASSES}")
    lo, hi = (float(scale[0]), float(scale[1]))
    if not 0 < lo <= hi:
        raise InputError(f"scale must be a range (min, max) with 0 < min <= max, got {scale}")
    if not 0 <= translation < 0.5 or shear < 0 or rotation < 0 or noise < 0:
        raise InputError(
            "rotation (degrees), shear and noise must be >= 0 and translation in [0, 0.5); got "
            f"rotation={rotation}, shear={shear}, translation={translation}, noise={noise}"
        )

    rng = np.random.default_rng(seed)
    n = n_per_class * len(classes)
    labels = np.repeat(np.arange(len(classes), dtype=np.int64), n_per_class)
    angles = np.deg2rad(rng.uniform(-rotation, rotation, n))
    shears = rng.uniform(0.0, shear, n)
    scales = rng.uniform(lo, hi, n)
    shift_frac = rng.uniform(-translation, translation, (n, 2))  # (x right, y down)

    # forward map: canonical u -> rotate(angle) @ shear @ scale @ u (x right, y up); invert it.
    cos, sin = np.cos(angles), np.sin(angles)
    rot_inv = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    shear_inv = np.zeros((n, 2, 2))
    shear_inv[:, 0, 0] = shear_inv[:, 1, 1] = 1.0
    shear_inv[:, 0, 1] = -shears
    inverse = (shear_inv @ rot_inv) / scales[:, None, None]
    shift_px = shift_frac * size * np.array([1.0, -1.0])  # to (x right, y up) pixels

    templates = np.stack([_template(c, size) for c in classes])
    images = _render(templates, labels, inverse, shift_px, size)
    if noise > 0:
        images += rng.normal(0.0, noise, images.shape).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)

    half_width = (size - 1) / 2.0
    params = {
        "n_per_class": n_per_class,
        "size": size,
        "rotation_deg": float(rotation),
        "shear": float(shear),
        "scale": (lo, hi),
        "translation": float(translation),
        "noise": float(noise),
        "seed": seed,
        "classes": tuple(classes),
        "symbol_radius_px": SYMBOL_RADIUS_FRACTION * size,
        "angle_convention": "radians, counter-clockwise as displayed (rows down)",
        "shift_units": "(dx, dy) = (column, row) in patch half-widths ((size - 1) / 2 pixels)",
    }
    return CardsSet(
        images=np.ascontiguousarray(images),
        labels=labels,
        angles=angles,
        shifts=shift_frac * size / half_width,
        class_names=tuple(classes),
        params=params,
        scales=scales,
        shears=shears,
    )


def cards_protocol(
    seed: int = 0,
    *,
    n_labeled: int = 200,
    n_unlabeled: int = 3000,
    n_test: int = 3000,
    size: int = 48,
    labeled_rotation: float = 4.0,
    unlabeled_rotation: float = 60.0,
    shear: float = 0.23,
    scale: tuple[float, float] = (1.0, 1.3),
    translation: float = 0.1,
    noise: float = 0.0,
) -> CardsProtocol:
    """The published ss-rVAE cards splits (Digital Discovery 2024).

    Labeled: ``n_labeled`` per suit, rotation within +/-4 degrees, centred. Unlabeled:
    ``n_unlabeled`` per suit, rotation within +/-60 degrees, shifts up to 0.1 of the frame.
    Test: ``n_test`` per suit with the unlabeled distribution and an independent seed. All three
    share the shear (uniform in [0, 0.23]) and scale (uniform in [1, 1.3]) disorder.

    Parameters
    ----------
    seed : int
        Master seed; the three draws use independent seeds spawned from it (recorded in each
        set's ``params["seed"]``).
    n_labeled, n_unlabeled, n_test : int
        Images per suit in each split.
    size, labeled_rotation, unlabeled_rotation, shear, scale, translation, noise
        See :func:`make_cards`.

    Returns
    -------
    CardsProtocol
    """
    sub_seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3)]
    common: dict[str, Any] = dict(size=size, shear=shear, scale=scale, noise=noise)
    labeled = make_cards(
        n_labeled, rotation=labeled_rotation, translation=0.0, seed=sub_seeds[0], **common
    )
    unlabeled = make_cards(
        n_unlabeled,
        rotation=unlabeled_rotation,
        translation=translation,
        seed=sub_seeds[1],
        **common,
    )
    test = make_cards(
        n_test, rotation=unlabeled_rotation, translation=translation, seed=sub_seeds[2], **common
    )
    params = {
        "seed": seed,
        "sub_seeds": tuple(sub_seeds),
        "labeled_rotation": labeled_rotation,
        "unlabeled_rotation": unlabeled_rotation,
        **common,
        "translation": translation,
    }
    return CardsProtocol(labeled=labeled, unlabeled=unlabeled, test=test, seed=seed, params=params)
