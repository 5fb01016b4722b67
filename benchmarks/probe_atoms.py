"""Atom scenes of :mod:`stranger_probe` (HAADF STEM unless said): MoS2 at low dose, a lattice
exported 2x bilinear, a 64 x 64 crop, 70 px spacing, columns smeared by specimen tilt, heavy
columns beside light ones under 15 %, an RGB export with a burned-in label and scale bar, and
vacuum holes in a 2D crystal."""

from __future__ import annotations

import numpy as np
from probe_drawing import case, columns, counts, eight_bit, lattice, smooth_noise, turned
from scipy import ndimage

SQ3 = np.sqrt(3.0)


def probe_blur(img, sigma=0.6):
    return ndimage.gaussian_filter(img, sigma, mode="reflect")


def hexagonal(rng, shape, a, angle=None, pad=12.0):
    angle = rng.uniform(0, 60) if angle is None else angle
    return lattice(
        shape, turned([0.0, a], angle), turned([a * SQ3 / 2, a / 2], angle), rng=rng, pad=pad
    )


def haadf(rng, shape, pts, amps, sigma, peak_counts, background=0.06, **kw):
    """Columns + a smooth thickness/contamination background, probe tail, Poisson counts
    (``peak_counts`` at a column of amplitude 1), a dark offset and a little scan noise."""
    ideal = columns(shape, pts, amps, sigma, **kw)
    ideal += background * (1 + 0.4 * smooth_noise(rng, shape, 30))
    ideal = 0.85 * ideal + 0.15 * ndimage.gaussian_filter(ideal, 6 * sigma)  # probe tail
    img = counts(rng, ideal * peak_counts)
    img += 0.4 * rng.standard_normal(shape)  # detector read noise
    return img


def mos2_low_dose(rng):
    """Honeycomb, Mo bright (1.0), S2 at 0.35-0.5 (both counted: above 15 %), low dose."""
    shape, nn = (512, 512), 9.0
    a = nn * SQ3
    ang = rng.uniform(0, 60)
    a1, a2 = turned([0.0, a], ang), turned([a * SQ3 / 2, a / 2], ang)
    mo = lattice(shape, a1, a2, rng=rng, pad=12)
    s = mo + (a1 + a2) / 3
    s2 = rng.uniform(0.35, 0.5)
    pts = np.vstack([mo, s])
    amps = np.r_[np.ones(len(mo)), np.full(len(s), s2)]
    img = haadf(rng, shape, pts, amps, 1.3, rng.uniform(6, 10))
    return case("atoms", img.astype(np.float32), pts, "Mo and S2 columns")


def upsampled_bilinear(rng):
    """Hexagonal 6 px at moderate dose, then exported 2x by bilinear interpolation (the noise
    becomes correlated over 2 px; spacing 12 px in the file)."""
    small = (256, 256)
    pts = hexagonal(rng, small, 6.0)
    img = haadf(rng, small, pts, 1.0, 0.9, 12.0)
    big = ndimage.zoom(img, 2, order=1, grid_mode=True, mode="nearest")
    return case("atoms", big.astype(np.float32), (pts + 0.5) * 2 - 0.5, "every column")


def crop_64(rng):
    """A 64 x 64 crop of a hexagonal 8 px lattice (a user's zoomed-in region), cut from the
    middle of a 192 px frame: the background's 30 px smooth noise, normalised over a 64 px
    frame, made the crop's whole background one large offset of either sign (clipped to
    no counts at all on some seeds)."""
    side, cut = 192, 64
    pts = hexagonal(rng, (side, side), 8.0)
    img = haadf(rng, (side, side), pts, 1.0, 1.1, 20.0)
    top = (side - cut) // 2
    img = img[top : top + cut, top : top + cut]
    return case("atoms", img.astype(np.float32), pts - top, "every column")


def spacing_70(rng):
    """A square lattice at 70 px (7 cells across 512 px), wide columns, few counts per px."""
    shape = (512, 512)
    ang = rng.uniform(0, 90)
    pts = lattice(shape, turned([0.0, 70.0], ang), turned([70.0, 0.0], ang), rng=rng, pad=30)
    img = haadf(rng, shape, pts, 1.0, 7.5, 5.0)
    return case("atoms", img.astype(np.float32), pts, "every column")


def tilted_columns(rng):
    """Hexagonal 12 px, columns smeared along one direction by a small specimen tilt
    (sigma 1.3 px across, 3-3.5 px along)."""
    shape = (512, 512)
    pts = hexagonal(rng, shape, 12.0)
    img = haadf(
        rng, shape, pts, 1.0, 1.3, 25.0, sigma_long=rng.uniform(3.0, 3.5), angle=rng.uniform(0, 180)
    )
    return case("atoms", img.astype(np.float32), pts, "every column")


def heavy_light(rng):
    """Rock salt [001] of a heavy and a light element (PbS-like: light columns at 5-8 % of the
    heavy ones, Z^1.7). Rule: columns under 15 % of the brightest are not counted; the heavy
    ones (square, 14 px) are."""
    shape = (512, 512)
    ang = rng.uniform(0, 90)
    a1, a2 = turned([0.0, 14.0], ang), turned([14.0, 0.0], ang)
    heavy = lattice(shape, a1, a2, rng=rng, pad=12)
    light = heavy + (a1 + a2) / 2
    amps = np.r_[np.ones(len(heavy)), np.full(len(light), rng.uniform(0.05, 0.08))]
    img = haadf(rng, shape, np.vstack([heavy, light]), amps, 1.5, 30.0)
    return case("atoms", img.astype(np.float32), heavy, "heavy columns only (light < 15 %)")


def glyphs(rng, h, w):
    """Random 5 x 7 'characters' (a text label) in an ``h x w`` box, scaled to its height."""
    k = max(1, (h - 1) // 7)
    box = np.zeros((h, w), bool)
    for c0 in range(1, w - 5 * k, 6 * k):
        char = np.kron(rng.random((7, 5)) < 0.5, np.ones((k, k), bool))
        box[: 7 * k, c0 : c0 + 5 * k] = char[:h]
    return box


def rgb_labelled(rng):
    """Hexagonal 10 px, saved as 8-bit RGB (3 equal channels) with a text label (white on a
    black box, top left) and a scale bar (white, bottom right) burned in. Points on the
    burned-in boxes are false ones; columns under them are not expected."""
    shape = (512, 512)
    pts = hexagonal(rng, shape, 10.0)
    img8 = eight_bit(haadf(rng, shape, pts, 1.0, 1.2, 20.0))
    invalid = np.zeros(shape, bool)
    invalid[8:26, 8:120] = True
    img8[8:26, 8:120] = 0
    text = np.zeros(shape, bool)
    text[10:26, 10:120] = glyphs(rng, 16, 110)
    img8[text] = 255
    invalid[470:496, 360:500] = True
    img8[470:496, 360:500] = 0
    img8[476:484, 370:490] = 255  # the bar
    img8[486:494, 400:460][glyphs(rng, 8, 60)] = 255
    rgb = np.repeat(img8[:, :, None], 3, axis=2)
    return case("atoms", rgb, pts, "every column outside the burned-in boxes", invalid=invalid)


def rgb_coloured_bar(rng):
    """Hexagonal 10 px, saved as RGB with a yellow scale bar and yellow text burned in (as
    ImageJ or a microscope's export draws them, with no box behind): no extreme value of the
    grey image. Points within 3 px of the drawn strokes are false ones; the lattice between
    them stays visible and counts."""
    shape = (512, 512)
    pts = hexagonal(rng, shape, 10.0)
    rgb = np.repeat(eight_bit(haadf(rng, shape, pts, 1.0, 1.2, 20.0))[:, :, None], 3, axis=2)
    drawn = np.zeros(shape, bool)
    drawn[474:482, 360:490] = True  # the bar
    drawn[486:494, 395:455] = glyphs(rng, 8, 60)
    rgb[drawn] = (255, 255, 0)
    invalid = ndimage.binary_dilation(drawn, iterations=3)
    return case("atoms", rgb, pts, "every column off the drawn strokes", invalid=invalid)


def vacuum_holes(rng):
    """A 2D crystal (hexagonal 9 px) with 3-5 holes (vacuum: no signal but the noise floor)
    with ragged edges, at low dose. Points in a hole are false."""
    shape = (512, 512)
    pts = hexagonal(rng, shape, 9.0)
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    hole = np.zeros(shape, bool)
    for _ in range(rng.integers(3, 6)):
        c = rng.uniform(60, 452, 2)
        r = rng.uniform(25, 55)
        ragged = r * (1 + 0.15 * smooth_noise(rng, shape, 8))
        hole |= np.hypot(rr - c[0], cc - c[1]) < ragged
    ij = np.clip(np.round(pts).astype(int), 0, 511)
    present = ~hole[ij[:, 0], ij[:, 1]]
    img = haadf(rng, shape, pts[present], 1.0, 1.2, 8.0)
    img[hole] = counts(rng, np.full(hole.sum(), 0.02 * 8.0)) + 0.4 * rng.standard_normal(hole.sum())
    core = ndimage.binary_erosion(hole, iterations=4)  # a point at a hole's rim may be an edge atom
    return case(
        "atoms", img.astype(np.float32), pts[present], "columns outside the holes", invalid=core
    )


ATOM_CASES = {
    "MoS2 low dose (S2 0.35-0.5)": mos2_low_dose,
    "2x bilinear export, hex 6": upsampled_bilinear,
    "64 x 64 crop, hex 8": crop_64,
    "square 70 px, 5 counts": spacing_70,
    "tilt-smeared columns": tilted_columns,
    "heavy + light < 15 % (PbS)": heavy_light,
    "RGB, label + scale bar": rgb_labelled,
    "RGB, yellow scale bar": rgb_coloured_bar,
    "vacuum holes, low dose": vacuum_holes,
}
