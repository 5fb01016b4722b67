"""Drawing for :mod:`stranger_scenes`: lattices, peaks splatted and convolved in Fourier
space, random fields and placements, 8/16-bit export, display rotation with padding, JPEG-like
blocking, and the scene record that a case returns."""

from __future__ import annotations

import numpy as np
from scipy import fft, ndimage


def lattice_sites(shape, a1, a2, basis=((0.0, 0.0),), pad=0.0, origin=None, rng=None):
    """Sites ``(N, 2)`` (row, col) of the lattice ``a1, a2`` (+ basis) covering the frame
    grown by ``pad``; the origin is random when ``rng`` is given."""
    a1, a2 = np.asarray(a1, float), np.asarray(a2, float)
    if origin is None:
        origin = rng.uniform(0, 1, 2) @ np.array([a1, a2]) if rng is not None else np.zeros(2)
    span = np.hypot(*shape) + 2 * pad
    n = int(np.ceil(span / min(np.hypot(*a1), np.hypot(*a2)) * 1.5)) + 2
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    centre = np.array(shape, float) / 2 + origin
    cells = centre + i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2
    pts = np.concatenate([cells + np.asarray(b, float) for b in basis])
    keep = np.all((pts >= -pad) & (pts < np.array(shape) + pad), axis=1)
    return pts[keep]


def rot(v, degrees):
    t = np.deg2rad(degrees)
    return np.array([np.cos(t) * v[0] - np.sin(t) * v[1], np.sin(t) * v[0] + np.cos(t) * v[1]])


def render(shape, pts, amps, profile, reach):
    """Sum of ``profile(r)`` centred on ``pts`` (bilinear splat, Fourier convolution) over a
    canvas grown by ``reach`` so that sites outside the frame spill in."""
    pad = int(np.ceil(reach)) + 2
    big = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    canvas = np.zeros(big)
    p = np.asarray(pts, float) + pad
    amps = np.broadcast_to(np.asarray(amps, float), (len(p),))
    inside = np.all((p >= 0) & (p < np.array(big) - 1), axis=1)
    p, amps = p[inside], amps[inside]
    i0 = np.floor(p).astype(int)
    f = p - i0
    for dr in (0, 1):
        for dc in (0, 1):
            w = (f[:, 0] if dr else 1 - f[:, 0]) * (f[:, 1] if dc else 1 - f[:, 1])
            np.add.at(canvas, (i0[:, 0] + dr, i0[:, 1] + dc), w * amps)
    rr = np.fft.fftfreq(big[0]) * big[0]
    cc = np.fft.fftfreq(big[1]) * big[1]
    r = np.hypot(rr[:, None], cc[None, :])
    kernel = np.where(r <= reach, profile(r), 0.0)
    out = fft.irfft2(fft.rfft2(canvas) * fft.rfft2(kernel), s=big)
    return out[pad:-pad, pad:-pad]


def gauss(s):
    return lambda r: np.exp(-0.5 * (r / s) ** 2)


def moffat(w, beta=2.5):
    return lambda r: (1 + (r / w) ** 2) ** -beta


def bump(radius):
    return lambda r: np.where(r < radius, np.cos(0.5 * np.pi * r / radius) ** 2, 0.0)


def disc(radius):
    return lambda r: np.clip(radius + 0.5 - r, 0, 1)


def sphere(radius):
    return lambda r: np.sqrt(np.clip(1 - (r / radius) ** 2, 0, None))


def smooth_field(rng, shape, sigma):
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return f / (f.std() + 1e-12)


def amorphous(rng, shape, sigma=1.4):
    return smooth_field(rng, shape, sigma)


def place(rng, shape, n, min_gap, margin=0.0, allowed=None, tries=40):
    """Up to ``n`` random points at least ``min_gap`` apart (dart throwing)."""
    pts = np.empty((0, 2))
    for _ in range(tries):
        cand = rng.uniform(margin, np.array(shape) - margin, (n * 3, 2))
        if allowed is not None:
            cand = cand[allowed[cand[:, 0].astype(int), cand[:, 1].astype(int)]]
        for c in cand:
            if len(pts) >= n:
                return pts
            if not len(pts) or np.min(np.hypot(*(pts - c).T)) >= min_gap:
                pts = np.vstack([pts, c])
    return pts


def to_uint(img, bits, lo, hi, gamma=1.0):
    """Scale ``lo..hi`` to the full range of ``bits`` (clipped) after a gamma."""
    top = 2**bits - 1
    x = np.clip((img - lo) / (hi - lo), 0, 1) ** gamma
    return np.round(x * top).astype(np.uint8 if bits == 8 else np.uint16)


def stem_counts(rng, ideal, dose, read=0.0):
    return rng.poisson(np.clip(ideal, 0, None) * dose) / dose + read * rng.standard_normal(
        ideal.shape
    )


def line_offsets(rng, shape, size, jumps=4):
    off = size * rng.standard_normal(shape[0])
    for r in rng.integers(0, shape[0], jumps):
        off[r:] += rng.normal(0, 4 * size)
    return off[:, None]


def rotate_frame(img, degrees, fill, truth=None):
    """The frame rotated about its centre for display, same size, ``fill`` outside it;
    returns (image, truth moved, invalid mask)."""
    shape = np.array(img.shape, float)
    c = (shape - 1) / 2
    t = np.deg2rad(degrees)
    m = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    off = c - m @ c
    out = ndimage.affine_transform(img.astype(float), m, off, order=1, cval=np.nan)
    cover = ndimage.affine_transform(np.ones(img.shape), m, off, order=1, cval=0.0)
    invalid = cover < 0.999
    out[invalid] = fill
    moved = None
    if truth is not None:  # output o samples input m @ o + off
        moved = (np.asarray(truth)[:, :2] - off) @ np.linalg.inv(m).T
        moved = np.column_stack([moved, np.asarray(truth)[:, 2:]])
    return out, moved, invalid


def jpeg_like(img8, quality=35):
    """8 x 8 block DCT quantised with the JPEG luminance table at ``quality``."""
    table = np.array(
        [
            [16, 11, 10, 16, 24, 40, 51, 61],
            [12, 12, 14, 19, 26, 58, 60, 55],
            [14, 13, 16, 24, 40, 57, 69, 56],
            [14, 17, 22, 29, 51, 87, 80, 62],
            [18, 22, 37, 56, 68, 109, 103, 77],
            [24, 35, 55, 64, 81, 104, 113, 92],
            [49, 64, 78, 87, 103, 121, 120, 101],
            [72, 92, 95, 98, 112, 100, 103, 99],
        ],
        float,
    )
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    q = np.maximum(1, np.floor((table * scale + 50) / 100))
    h, w = img8.shape
    b = img8.astype(float).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3) - 128
    coef = fft.dctn(b, axes=(2, 3), norm="ortho")
    coef = np.round(coef / q) * q
    back = fft.idctn(coef, axes=(2, 3), norm="ortho") + 128
    return np.clip(np.round(back.transpose(0, 2, 1, 3).reshape(h, w)), 0, 255).astype(np.uint8)


def thickness(shape, pts, radii, step=0.5):
    """Projected sphere thickness (in units of each radius), radii rounded to ``step``."""
    out = np.zeros(shape)
    radii = np.round(np.asarray(radii) / step) * step
    for r in np.unique(radii):
        out += render(shape, pts[radii == r], r, sphere(r), r + 1)
    return out


def inside_frame(pts, shape, margin):
    return np.all((pts >= margin) & (pts < np.array(shape) - margin), axis=1)


def scene(mode, image, truth, invalid=None, ignore=None, expect_none=False, other=None):
    """A case: what a user would detect (``atoms``/``particles``), the image, the references
    (atoms ``(N, 2)``; particles ``(N, 3)`` with radius), padding (``invalid``: points there
    are false), ``ignore`` (points there are left out on both sides) and ``other``: references
    as good (HRTEM's columns are dark or bright by defocus: the sites between them); the
    better score counts."""
    return dict(
        mode=mode,
        image=image,
        truth=np.asarray(truth, float),
        invalid=invalid,
        ignore=ignore,
        expect_none=expect_none,
        other=None if other is None else np.asarray(other, float),
    )
