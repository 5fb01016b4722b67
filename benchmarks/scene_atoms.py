"""Atom-column scenes of :mod:`stranger_scenes`: image handling, scanning probe, HRTEM."""

from __future__ import annotations

import numpy as np
from scene_drawing import (
    amorphous,
    bump,
    gauss,
    jpeg_like,
    lattice_sites,
    line_offsets,
    moffat,
    render,
    rot,
    rotate_frame,
    scene,
    smooth_field,
    stem_counts,
    to_uint,
)
from scipy import ndimage


def rotated_corners(fill):
    def make(rng):
        shape = (512, 512)
        d = 11.0 if fill == 0 else 9.0
        a = rng.uniform(0, 60)
        if fill == 0:
            pts = lattice_sites(
                shape, rot([0, d], a), rot([d * np.sqrt(3) / 2, d / 2], a), pad=30, rng=rng
            )
        else:
            pts = lattice_sites(shape, rot([d, 0], a), rot([0, d], a), pad=30, rng=rng)
        ideal = 0.12 + render(shape, pts, 1.0, moffat(0.22 * d), 4 * d)
        img = stem_counts(rng, ideal, 25)
        if fill != 0:
            img = img * 40 + 100  # raw counts with an offset
        out, moved, invalid = rotate_frame(
            img, rng.uniform(12, 33) * rng.choice([-1, 1]), fill, pts
        )
        return scene("atoms", out.astype(np.float32), moved, invalid=invalid)

    return make


def drift_sum(rng):
    shape, n = (512, 512), 8
    d = 10.0
    a = rng.uniform(0, 90)
    pts = lattice_sites(shape, rot([d, 0], a), rot([0, d], a), pad=30, rng=rng)
    frame = 0.1 + render(shape, pts, 1.0, gauss(0.2 * d), 4 * d)
    step = rng.uniform(3, 5, 2) * rng.choice([-1, 1], 2)
    total, cover = np.zeros(shape), np.zeros(shape)
    for k in range(n):  # frame k saw the sample shifted by k * step; aligned back here
        s = np.round(k * step).astype(int)
        one = stem_counts(rng, frame, 4)
        seen = np.zeros(shape, bool)
        seen[max(0, s[0]) : shape[0] + min(0, s[0]), max(0, s[1]) : shape[1] + min(0, s[1])] = True
        total += np.where(seen, one, 0)
        cover += seen
    partial = (cover > 0) & (cover < n)
    return scene("atoms", (total / n).astype(np.float32), pts, invalid=cover == 0, ignore=partial)


def background_subtracted(rng):
    shape, d = (512, 512), 12.0
    a = rng.uniform(0, 60)
    pts = lattice_sites(shape, rot([0, d], a), rot([d * np.sqrt(3) / 2, d / 2], a), pad=40, rng=rng)
    amp = 1 + 0.15 * rng.standard_normal(len(pts))
    ideal = (
        0.3
        + 0.4 * smooth_field(rng, shape, 80) ** 2
        + render(shape, pts, amp, gauss(0.2 * d), 4 * d)
    )
    img = stem_counts(rng, ideal, 15)
    img = img - ndimage.gaussian_filter(img, 2.5 * d)  # a user's background removal
    return scene("atoms", (img / img.std()).astype(np.float32), pts)


def gamma_8bit(rng):
    shape, d = (512, 512), 13.0
    a = rng.uniform(0, 60)
    pts = lattice_sites(shape, rot([0, d], a), rot([d * np.sqrt(3) / 2, d / 2], a), pad=40, rng=rng)
    img = stem_counts(rng, 0.4 + render(shape, pts, 1.0, moffat(0.25 * d), 4 * d), 20)
    # a viewer's export: gamma 0.5, and only levels ~90-140 of 255 used
    x = np.clip((img - img.min()) / (np.percentile(img, 99.9) - img.min()), 0, 1) ** 0.5
    return scene("atoms", np.round(90 + 50 * x).astype(np.uint8), pts)


def jpeg_blocks(rng):
    shape, d = (512, 512), 9.0
    a = rng.uniform(0, 90)
    pts = lattice_sites(shape, rot([d, 0], a), rot([0, d], a), pad=30, rng=rng)
    img = stem_counts(rng, 0.15 + render(shape, pts, 1.0, gauss(0.22 * d), 4 * d), 12)
    img8 = to_uint(img, 8, np.percentile(img, 0.5), np.percentile(img, 99.5))
    return scene("atoms", jpeg_like(img8, 30), pts)


def dead_lines_hot(rng):
    shape, d = (512, 512), 10.0
    a = rng.uniform(0, 60)
    pts = lattice_sites(shape, rot([0, d], a), rot([d * np.sqrt(3) / 2, d / 2], a), pad=30, rng=rng)
    img = stem_counts(rng, 0.1 + render(shape, pts, 1.0, gauss(0.2 * d), 4 * d), 20)
    img = np.round(img * 200 + 50).astype(np.float64)
    img[:, rng.integers(20, 490, 2)] = 0  # dead columns
    img[rng.integers(20, 490)] = 0  # a dead row
    r0, c0 = rng.integers(40, 460, 2)
    img[r0 : r0 + 5, c0 : c0 + 6] = 65535  # a hot cluster
    hot = rng.integers(0, 512, (25, 2))
    img[hot[:, 0], hot[:, 1]] = 65535
    ignore = np.zeros(shape, bool)
    ignore[max(0, r0 - 6) : r0 + 11, max(0, c0 - 6) : c0 + 12] = True
    return scene("atoms", img.astype(np.uint16), pts, ignore=ignore)


def strip(rng):
    shape = (300, 2048)
    a = rng.uniform(-8, 8)
    pts = lattice_sites(shape, rot([9.0, 0], a), rot([0, 12.0], a), pad=30, rng=rng)
    img = stem_counts(rng, 0.1 + render(shape, pts, 1.0, gauss(2.0), 16), 15)
    return scene("atoms", img.astype(np.float32), pts)


def shaken(rng):
    shape, d = (512, 512), 14.0
    a = rng.uniform(0, 60)
    pts = lattice_sites(shape, rot([0, d], a), rot([d * np.sqrt(3) / 2, d / 2], a), pad=40, rng=rng)
    shake = rot([0.17 * d, 0], rng.uniform(0, 180))  # the stage rocked between two places
    ideal = 0.1 + 0.5 * (
        render(shape, pts + shake, 1.0, gauss(0.17 * d), 4 * d)
        + render(shape, pts - shake, 1.0, gauss(0.17 * d), 4 * d)
    )
    return scene("atoms", stem_counts(rng, ideal, 30).astype(np.float32), pts)


def stm_step(rng):
    shape, d = (512, 512), 12.0
    a = rng.uniform(0, 60)
    a1, a2 = rot([0, d], a), rot([d * np.sqrt(3) / 2, d / 2], a)
    pts = lattice_sites(shape, a1, a2, pad=30, rng=rng)
    normal = rot([1.0, 0], rng.uniform(0, 180))
    side = (pts - np.array(shape) / 2) @ normal
    upper = side > 0
    # the upper terrace's sites sit on a shifted registry
    pts = np.concatenate([pts[~upper], pts[upper] + (a1 + a2) / 3])
    upper = np.concatenate([np.zeros((~upper).sum(), bool), np.ones(upper.sum(), bool)])
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    dist = (np.stack([rr, cc], -1) - np.array(shape) / 2) @ normal
    height = render(shape, pts, 0.25, bump(0.55 * d), d)
    height += 2.4 * (1 / (1 + np.exp(-dist / 1.5)))  # one atomic step
    tilt = rng.uniform(-1, 1, 2) * 0.02
    height += tilt[0] * rr + tilt[1] * cc
    height += line_offsets(rng, shape, 0.05) + 0.03 * rng.standard_normal(shape)
    ignore = np.abs(dist) < 0.6 * d
    return scene("atoms", height.astype(np.float32), pts, ignore=ignore)


def stm_tip_change(rng):
    shape, d = (512, 512), 10.0
    a = rng.uniform(0, 90)
    pts = lattice_sites(shape, rot([d, 0], a), rot([0, d], a), pad=30, rng=rng)
    # creep: the slow scan starts compressed and relaxes (first rows), fast scan bows
    y, x = pts[:, 0], pts[:, 1]
    seen = np.column_stack([y + 25 * (1 - np.exp(-y / 60)) - 25, x + 6 * np.sin(np.pi * x / 512)])
    change = int(rng.uniform(0.45, 0.6) * shape[0])
    sharp = render(shape, seen, 0.2, bump(0.5 * d), d)
    blunt = render(shape, seen, 0.08, gauss(0.35 * d), 2 * d)
    height = np.where(np.arange(shape[0])[:, None] < change, sharp, blunt)
    height = height + line_offsets(rng, shape, 0.01, jumps=2) + 0.015 * rng.standard_normal(shape)
    for r in rng.integers(change - 3, change + 12, 6):  # the tip picking up something
        height[r] += np.abs(rng.standard_t(2, shape[1])) * 0.05
    ignore = np.zeros(shape, bool)
    ignore[:40] = True  # creep squeezes the first rows past recognition
    ignore[change - 4 : change + 14] = True
    return scene("atoms", height.astype(np.float32), seen, ignore=ignore)


def hrtem_particle(rng, columns=True):
    shape = (512, 512)
    centre = np.array(shape) / 2 + rng.uniform(-30, 30, 2)
    radius = rng.uniform(95, 120)
    d = 9.0
    a = rng.uniform(0, 90)
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    dist = np.hypot(rr - centre[0], cc - centre[1])
    thick = np.sqrt(np.clip(1 - (dist / radius) ** 2, 0, 1))
    if columns:
        pts = lattice_sites(shape, rot([d, 0], a), rot([0, d], a), rng=rng)
        lat = render(shape, pts, 1.0, gauss(0.22 * d), 3 * d)
        lat = lat / lat.max()
        truth = pts[np.hypot(*(pts - centre).T) < radius]
        between = pts + (rot([d, 0], a) + rot([0, d], a)) / 2
        other = between[np.hypot(*(between - centre).T) < radius]
    else:  # one set of planes: fringes, no column
        k = rot([1.0, 0], a)
        lat = 0.5 + 0.5 * np.cos(2 * np.pi * (rr * k[0] + cc * k[1]) / (0.8 * d))
        truth = other = np.empty((0, 2))
    carbon = amorphous(rng, shape)
    # phase contrast: dark columns (or fringes) scaled by thickness, carbon texture everywhere
    img = 1.0 + 0.12 * carbon - 0.5 * thick * lat - 0.12 * thick
    img += 0.08 * np.exp(-((dist - radius) ** 2) / 8)  # a Fresnel fringe at the rim
    img = rng.poisson(np.clip(img, 0.01, None) * 150) / 150
    ignore = np.abs(dist - radius) < 0.6 * d
    return scene(
        "atoms", img.astype(np.float32), truth, ignore=ignore, expect_none=not columns, other=other
    )


ATOM_CASES = {
    "rotated frame, 0 corners": rotated_corners(0.0),
    "rotated frame, NaN corners": rotated_corners(np.nan),
    "drift-corrected sum": drift_sum,
    "background-subtracted": background_subtracted,
    "8-bit gamma, narrow range": gamma_8bit,
    "JPEG blocking": jpeg_blocks,
    "dead lines, hot pixels": dead_lines_hot,
    "strip 300 x 2048": strip,
    "residual shake (doubled)": shaken,
    "STM step, tilt, offsets": stm_step,
    "STM creep, tip change": stm_tip_change,
    "HRTEM particle, zone axis": lambda rng: hrtem_particle(rng, True),
    "HRTEM fringes only": lambda rng: hrtem_particle(rng, False),
}
