"""Drawing for :mod:`stranger_probe`, written apart from ``scene_drawing.py`` (so as not to
share its habits): columns as anisotropic Gaussians summed in windows, particles as projected
solids, Poisson counting, probe blur, 8-bit export and the case record."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def lattice(shape, a1, a2, basis=((0.0, 0.0),), rng=None, pad=0.0):
    """Sites ``(N, 2)`` (row, col) of ``a1, a2`` (+ basis) over the frame grown by ``pad``,
    at a random origin drawn from ``rng``."""
    a1, a2 = np.asarray(a1, float), np.asarray(a2, float)
    shift = rng.uniform(0, 1, 2) @ np.array([a1, a2]) if rng is not None else np.zeros(2)
    short = min(np.hypot(*a1), np.hypot(*a2), abs(np.cross(a1, a2)) / max(np.hypot(*a1), 1e-9))
    n = int(np.hypot(*shape) / short) + 3
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    cells = np.array(shape) / 2 + shift + i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2
    pts = np.concatenate([cells + np.asarray(b, float) for b in basis])
    inside = np.all((pts >= -pad) & (pts < np.array(shape) + pad), axis=1)
    return pts[inside]


def turned(v, degrees):
    t = np.deg2rad(degrees)
    return np.array([np.cos(t) * v[0] - np.sin(t) * v[1], np.sin(t) * v[0] + np.cos(t) * v[1]])


def columns(shape, pts, amps, sigma, sigma_long=None, angle=0.0):
    """Sum of Gaussians (``sigma`` across, ``sigma_long`` along ``angle`` degrees)."""
    out = np.zeros(shape)
    sl = sigma if sigma_long is None else sigma_long
    t = np.deg2rad(angle)
    u = np.array([np.cos(t), np.sin(t)])  # the long axis (row, col)
    reach = int(np.ceil(4 * max(sigma, sl)))
    amps = np.broadcast_to(np.asarray(amps, float), (len(pts),))
    d = np.arange(-reach, reach + 1)
    for (r, c), a in zip(pts, amps):
        r0, c0 = int(round(r)), int(round(c))
        rows, cols = r0 + d, c0 + d
        keep_r = (rows >= 0) & (rows < shape[0])
        keep_c = (cols >= 0) & (cols < shape[1])
        if not keep_r.any() or not keep_c.any():
            continue
        dr = (rows[keep_r] - r)[:, None]
        dc = (cols[keep_c] - c)[None, :]
        along = dr * u[0] + dc * u[1]
        across = -dr * u[1] + dc * u[0]
        g = np.exp(-0.5 * ((along / sl) ** 2 + (across / sigma) ** 2))
        out[np.ix_(rows[keep_r], cols[keep_c])] += a * g
    return out


def solids(shape, centres, radii, kind="sphere", soft=0.7):
    """Projected thickness of spheres (``kind="sphere"``, peak = 2 r) or flat discs
    (``"disc"``, value 1) with an edge ``soft`` px wide."""
    out = np.zeros(shape)
    for (r, c), rad in zip(centres, radii):
        reach = int(np.ceil(rad + 3))
        r0, c0 = int(round(r)), int(round(c))
        rows = np.arange(max(r0 - reach, 0), min(r0 + reach + 1, shape[0]))
        cols = np.arange(max(c0 - reach, 0), min(c0 + reach + 1, shape[1]))
        if not len(rows) or not len(cols):
            continue
        d = np.hypot(rows[:, None] - r, cols[None, :] - c)
        if kind == "sphere":
            v = 2 * np.sqrt(np.clip(rad**2 - d**2, 0, None))
        else:
            v = np.clip((rad - d) / soft + 0.5, 0, 1)
        out[np.ix_(rows, cols)] += v
    return out


def rods(shape, centres, half_lengths, half_widths, angles):
    """Projected thickness of spherocylinders (peak = 2 x half width)."""
    out = np.zeros(shape)
    for (r, c), hl, hw, a in zip(centres, half_lengths, half_widths, angles):
        u = np.array([np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))])
        reach = int(np.ceil(hl + hw + 3))
        r0, c0 = int(round(r)), int(round(c))
        rows = np.arange(max(r0 - reach, 0), min(r0 + reach + 1, shape[0]))
        cols = np.arange(max(c0 - reach, 0), min(c0 + reach + 1, shape[1]))
        if not len(rows) or not len(cols):
            continue
        dr, dc = rows[:, None] - r, cols[None, :] - c
        along = np.clip(dr * u[0] + dc * u[1], -(hl - hw), hl - hw)
        d = np.hypot(dr - along * u[0], dc - along * u[1])
        out[np.ix_(rows, cols)] += 2 * np.sqrt(np.clip(hw**2 - d**2, 0, None))
    return out


def scatter(rng, shape, n, gap, radii=None, margin=0.0, tries=60, edge_share=0.0):
    """Up to ``n`` centres, each ``gap`` px (+ both radii) from the others; ``edge_share`` of
    them drawn within their radius of a frame edge (cut by it)."""
    radii = np.zeros(n) if radii is None else np.asarray(radii, float)
    pts, kept = [], []
    for k in range(n):
        for _ in range(tries):
            p = rng.uniform(margin, np.array(shape) - margin)
            if rng.random() < edge_share:
                axis = rng.integers(0, 2)
                near = rng.uniform(0, radii[k])
                p[axis] = near if rng.random() < 0.5 else shape[axis] - 1 - near
            if all(np.hypot(*(p - q)) >= gap + radii[k] + radii[j] for q, j in zip(pts, kept)):
                pts.append(p)
                kept.append(k)
                break
    return np.array(pts).reshape(-1, 2), radii[kept]


def counts(rng, expected):
    """Poisson counts of the expected image (clipped at 0)."""
    return rng.poisson(np.clip(expected, 0, None)).astype(np.float64)


def smooth_noise(rng, shape, sigma):
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return f / (f.std() + 1e-12)


def eight_bit(img, lo_q=0.1, hi_q=99.9):
    lo, hi = np.percentile(img, [lo_q, hi_q])
    return np.round(np.clip((img - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def case(mode, image, truth, rule, invalid=None, ignore=None):
    """A scene: the mode a user would pick, the image, the references (atoms ``(N, 2)``;
    particles ``(N, 3)`` with the match radius), the counting ``rule`` in words, ``invalid``
    (burned-in text, vacuum: points there are false) and ``ignore`` (left out on both sides).
    Sites drawn beyond the frame (they spill in) are no references."""
    truth = np.asarray(truth, float)
    frame = np.array(image.shape[:2])
    return dict(
        mode=mode,
        image=image,
        truth=truth[np.all((truth[:, :2] >= 0) & (truth[:, :2] <= frame - 1), axis=1)],
        rule=rule,
        invalid=invalid,
        ignore=ignore,
        expect_none=False,
        other=None,
    )
