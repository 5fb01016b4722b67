"""Default detection on a fifth, blind stranger generator's scenes (issue 9, h4).

``python benchmarks/stranger_fresh.py [--seeds 0,1,2] [--only NAME,...]`` renders seeded images
of kinds that :mod:`stranger_atoms`, :mod:`stranger_networks`, :mod:`stranger_particles`,
:mod:`stranger_scenes`, :mod:`stranger_probe` and ``robustness.py`` do not draw. The generator
was written without reading the detector or :mod:`napari_ivae.core.synthetic` (only the CLI's
``--help`` and those benchmarks' docstrings), so that it shares no blind spot with them. Each
scene is detected as the CLI would with no parameter but the mode a user would pick
(:func:`stranger_scenes.detect`) and scored by :func:`stranger_scenes.score_scene` (atoms:
one-to-one within 0.35 x the truth's median neighbour distance, F1 >= 0.90 passes; particles:
within each particle's radius, at least 3 px, precision and recall >= 0.95 pass; points within
the margin of the frame, and within a particle's radius of a dark padding, are left out on both
sides; points in the padding are false). What counts is fixed per scene before any detection
(``rule`` in each row). A table, then one JSON line.

The rendering: atom columns splatted bilinearly and convolved in Fourier space with a probe
whose peak is 1 (a Gaussian core and a 2 % tail decaying as r^-3); particles as the projected
thickness of spheres or shells (HAADF: intensity in proportion to thickness x a material's
weight; bright field: Beer-Lambert transmission), supersampled 3 x and blurred by the probe or
the optics; a background (amorphous carbon: low-passed noise, a gradient); Poisson counts at
the stated ``dose`` (counts per unit intensity) and Gaussian read noise.

Atoms (all columns counted unless said): twisted bilayer graphene (a moire, 3-6 degrees; both
layers counted, columns of the two layers closer than 0.4 x the bond merged into one at their
mean); a 2 x 2 superstructure on a hexagonal lattice (one site in four at 1, three at 0.55);
mains hum (a sinusoidal scan distortion of 0.5-2 px along the fast scan and 0.3-0.6 of that
along the slow, its phase running with the pixel clock: a period of 9-40 rows) on lattices of
14 and 5 px; a rock-salt [001]
checkerboard of heavy and light columns at 1 : 4 (both counted); a 4 px hexagonal lattice in a
2048 x 2048 frame; a close-packed crystal seen edge-on with a twin boundary and a stacking
fault. Particles: Pt and an oxide of 5 x lower contrast per thickness (both counted); tight
clusters of 5-20 touching particles on carbon (12 clusters alone, and with 20 isolated
particles between them); tiny particles (radius 1.5-2.5 px) in a 2048 x
2048 frame; a bright-field optical frame inside a circular aperture (dark outside; particles the
aperture cuts are left out); a stitched 2 x 2 mosaic with black borders and tiles of different
gain (particles the black cuts are left out); two populations (radius 3 and 20) of one
material; hollow nanoshells (counted once); fluorescent beads saturating a CCD with blooming
(charge bled along the columns).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from scene_table import scene_row, scene_table  # noqa: E402
from stranger_scenes import score_scene  # noqa: E402


# ---------------------------------------------------------------- drawing
def splat(shape, points, weights):
    """Bilinear deposit of ``weights`` at sub-pixel ``points`` (N, 2) on a zero image."""
    out = np.zeros(shape, np.float64)
    r0 = np.floor(points[:, 0]).astype(int)
    c0 = np.floor(points[:, 1]).astype(int)
    fr, fc = points[:, 0] - r0, points[:, 1] - c0
    for dr, dc, w in (
        (0, 0, (1 - fr) * (1 - fc)),
        (1, 0, fr * (1 - fc)),
        (0, 1, (1 - fr) * fc),
        (1, 1, fr * fc),
    ):
        r, c = r0 + dr, c0 + dc
        ok = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
        np.add.at(out, (r[ok], c[ok]), (weights * w)[ok])
    return out


def probe_blur(image, sigma, tail=0.02):
    """Convolve with a probe of peak 1: a Gaussian core (``sigma``) and a r^-3 tail."""
    h, w = image.shape
    r = np.fft.fftfreq(h)[:, None] * h
    c = np.fft.fftfreq(w)[None, :] * w
    d2 = r**2 + c**2
    kernel = np.exp(-d2 / (2 * sigma**2)) + tail * (1 + d2 / sigma**2) ** -1.5
    kernel /= kernel[0, 0]
    return np.real(np.fft.ifft2(np.fft.fft2(image) * np.fft.fft2(kernel)))


def gauss_blur(image, sigma):
    return ndimage.gaussian_filter(image, sigma, mode="reflect")


def texture(shape, rng, scale, amplitude):
    """Amorphous support: low-passed white noise, standard deviation ``amplitude``."""
    t = gauss_blur(rng.standard_normal(shape), scale)
    return amplitude * t / (t.std() + 1e-12)


def gradient(shape, rng, span):
    """A linear ramp of relative amplitude ``span`` in a random direction, mean 1."""
    a = rng.uniform(0, 2 * np.pi)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
    g = np.cos(a) * r / shape[0] + np.sin(a) * c / shape[1]
    return 1 + span * (g - g.mean()) / (np.ptp(g) + 1e-12)


def counts(clean, dose, rng, read=2.0):
    """Poisson counts of ``clean * dose`` plus Gaussian read noise (counts)."""
    lam = np.clip(clean, 0, None) * dose
    return (rng.poisson(lam) + rng.normal(0, read, clean.shape)).astype(np.float32)


def draw_bodies(shape, centres, radii, heights, inner=None, sub=3):
    """Projected thickness of spheres (or shells, ``inner`` radii) of peak ``heights``.

    A sphere of radius R projects 2 sqrt(R^2 - d^2); the height is the value at the centre of
    a full sphere (a shell is the sphere less its hollow, same scale). Supersampled ``sub`` x.
    """
    out = np.zeros(shape, np.float64)
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    for k, ((y, x), rad, h) in enumerate(zip(centres, radii, heights)):
        r0, r1 = max(int(y - rad - 2), 0), min(int(y + rad + 3), shape[0])
        c0, c1 = max(int(x - rad - 2), 0), min(int(x + rad + 3), shape[1])
        if r0 >= r1 or c0 >= c1:
            continue
        rr = np.arange(r0, r1)[:, None, None, None] + offs[None, None, :, None]
        cc = np.arange(c0, c1)[None, :, None, None] + offs[None, None, None, :]
        d2 = (rr - y) ** 2 + (cc - x) ** 2
        t = np.sqrt(np.clip(rad**2 - d2, 0, None))
        if inner is not None:
            t = t - np.sqrt(np.clip(inner[k] ** 2 - d2, 0, None))
        out[r0:r1, c0:c1] += h * t.mean(axis=(2, 3)) / rad
    return out


def place(rng, shape, radii, gap=2.0, margin=None, tries=4000):
    """Non-overlapping centres for ``radii`` (largest first), ``gap`` px apart, fully inside."""
    order = np.argsort(-np.asarray(radii))
    centres, kept_r = [], []
    for rad in np.asarray(radii)[order]:
        m = rad + 2 if margin is None else margin
        for _ in range(tries):
            p = rng.uniform([m, m], [shape[0] - m, shape[1] - m])
            if not centres:
                break
            d = np.hypot(*(np.array(centres) - p).T)
            if np.all(d >= np.array(kept_r) + rad + gap):
                break
        else:
            continue
        centres.append(p)
        kept_r.append(rad)
    return np.array(centres).reshape(-1, 2), np.array(kept_r)


def lattice(shape, a1, a2, basis, angle, pad=4.0):
    """Points of a 2D lattice (vectors ``a1``, ``a2`` in (row, col), ``basis`` offsets), rotated
    by ``angle`` about the frame's centre, within the frame grown by ``pad``; and (i, j, basis
    index) of each."""
    a1, a2 = np.asarray(a1, float), np.asarray(a2, float)
    n = int(np.hypot(*shape) / min(np.hypot(*a1), np.hypot(*a2))) + 3
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    i, j = i.ravel(), j.ravel()
    pts, idx = [], []
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array(shape) / 2
    for b, off in enumerate(basis):
        p = i[:, None] * a1 + j[:, None] * a2 + np.asarray(off, float)
        pts.append(p @ rot.T + centre)
        idx.append(np.stack([i, j, np.full_like(i, b)], 1))
    pts, idx = np.concatenate(pts), np.concatenate(idx)
    ok = np.all((pts > -pad) & (pts < np.array(shape) + pad), axis=1)
    return pts[ok], idx[ok]


def atom_image(shape, pts, weights, rng, sigma, dose, bg=0.1, read=2.0):
    """HAADF-like: columns of ``weights`` under the probe on a textured background."""
    clean = probe_blur(splat(shape, pts, weights), sigma)
    back = bg * gradient(shape, rng, 0.3) + texture(shape, rng, 3 * sigma, 0.2 * bg)
    return counts(clean + back, dose, rng, read), clean


def atom_case(image, truth, rule, clean=None, dose=None):
    return {
        "mode": "atoms",
        "image": image,
        "truth": truth,
        "invalid": None,
        "ignore": None,
        "expect_none": False,
        "rule": rule,
        "clean": clean,
        "dose": dose,
    }


def particle_case(image, centres, radii, rule, invalid=None, ignore=None, clean=None, dose=None):
    """A case for :func:`stranger_scenes.score_scene`; ``clean`` (the noise-free image) and
    ``dose`` let a census measure a particle's ideal-observer SNR."""
    truth = np.column_stack([centres, radii]) if len(centres) else np.empty((0, 3))
    return {
        "mode": "particles",
        "image": image,
        "truth": truth,
        "invalid": invalid,
        "ignore": ignore,
        "expect_none": False,
        "rule": rule,
        "clean": clean,
        "dose": dose,
    }


def inside(pts, shape, m=0.0):
    return np.all((pts >= m) & (pts < np.array(shape) - m), axis=1)


HEX = ((0.0, 1.0), (np.sqrt(3) / 2, 0.5))  # unit triangular lattice, (row, col)


# ---------------------------------------------------------------- atom scenes
def tbg_moire(rng, dose=40.0):
    shape, bond = (768, 768), 10.0
    theta = np.deg2rad(rng.uniform(3, 6))
    a1 = np.array([0.0, np.sqrt(3) * bond])
    a2 = np.array([1.5 * bond, np.sqrt(3) / 2 * bond])
    basis = ((0.0, 0.0), (bond, 0.0))
    rot0 = rng.uniform(0, np.pi / 3)
    p1, _ = lattice(shape, a1, a2, basis, rot0)
    p2, _ = lattice(shape, a1, a2, basis, rot0 + theta)
    pts = np.concatenate([p1, p2])
    image, _ = atom_image(shape, pts, np.ones(len(pts)), rng, 1.3, dose)
    truth = merge_close(p1, p2, 0.4 * bond)
    return atom_case(image, truth[inside(truth, shape)], "both layers; <0.4 bond merged")


def merge_close(p1, p2, dist):
    """Union of two layers' columns; pairs (one from each) closer than ``dist`` become one."""
    from scipy.spatial import cKDTree

    d, j = cKDTree(p2).query(p1, distance_upper_bound=dist)
    hit = np.isfinite(d)
    # one-to-one: keep the closest p1 per p2
    order = np.argsort(d[hit])
    used, pairs = set(), []
    for a, b in zip(np.flatnonzero(hit)[order], j[hit][order]):
        if b not in used:
            used.add(b)
            pairs.append((a, b))
    a_idx = np.array([a for a, _ in pairs], int)
    b_idx = np.array([b for _, b in pairs], int)
    merged = (p1[a_idx] + p2[b_idx]) / 2
    rest1 = np.delete(p1, a_idx, axis=0)
    rest2 = np.delete(p2, b_idx, axis=0)
    return np.concatenate([merged, rest1, rest2])


def superstructure_2x2(rng):
    shape, s = (768, 768), 11.0
    pts, idx = lattice(
        shape, np.multiply(HEX[0], s), np.multiply(HEX[1], s), ((0, 0),), rng.uniform(0, np.pi)
    )
    w = np.where((idx[:, 0] % 2 == 0) & (idx[:, 1] % 2 == 0), 1.0, 0.55)
    image, clean = atom_image(shape, pts, w, rng, 1.4, 50.0)
    return atom_case(image, pts[inside(pts, shape)], "all columns (1 and 0.55)")


def mains_hum(rng, s=14.0, sigma=1.8, amp=None, period=None):
    shape = (768, 768)
    pts, _ = lattice(
        shape,
        np.multiply(HEX[0], s),
        np.multiply(HEX[1], s),
        ((0, 0),),
        rng.uniform(0, np.pi),
        pad=8,
    )
    ideal = probe_blur(splat(shape, pts, np.ones(len(pts))), sigma)
    ax = rng.uniform(0.5, 2.0) if amp is None else amp
    ay = ax * rng.uniform(0.3, 0.6)
    drawn, phase = rng.uniform(9, 40), rng.uniform(0, 2 * np.pi)
    period = drawn if period is None else period

    def offset(r, c):  # the scan's error at pixel (r, c): its phase runs with the pixel clock
        ph = 2 * np.pi * (r + c / shape[1]) / period + phase
        return ay * np.sin(ph + 0.7), ax * np.sin(ph)

    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    dy, dx = offset(r, c)
    clean = ndimage.map_coordinates(ideal, [r + dy, c + dx], order=3, mode="nearest")
    seen = pts.copy()  # where each column appears: pixel p shows sample p + offset(p)
    for _ in range(8):
        dy, dx = offset(seen[:, 0], seen[:, 1])
        seen = pts - np.stack([dy, dx], 1)
    back = 0.1 * gradient(shape, rng, 0.3) + texture(shape, rng, 4, 0.02)
    image = counts(clean + back, 40.0, rng)
    rule = f"all columns where they appear (hum {ax:.2f} px, period {period:.1f} rows)"
    return atom_case(image, seen[inside(seen, shape)], rule)


def heavy_light(rng, dose=60.0):
    shape, s = (768, 768), 9.0
    pts, idx = lattice(shape, (s, 0), (0, s), ((0, 0),), rng.uniform(0, np.pi / 2))
    w = np.where((idx[:, 0] + idx[:, 1]) % 2 == 0, 1.0, 0.25)
    image, clean = atom_image(shape, pts, w, rng, 1.2, dose)
    return atom_case(image, pts[inside(pts, shape)], "heavy (1) and light (0.25) columns")


def dense_4px_2048(rng):
    shape, s = (2048, 2048), 4.0
    pts, _ = lattice(
        shape, np.multiply(HEX[0], s), np.multiply(HEX[1], s), ((0, 0),), rng.uniform(0, np.pi)
    )
    image, clean = atom_image(shape, pts, np.ones(len(pts)), rng, 0.6, 30.0)
    return atom_case(image, pts[inside(pts, shape)], "all columns")


def twin_fault(rng):
    """Close-packed planes edge-on: rows d apart in-plane, h apart, shifted by d/3 per stacking
    letter (A, B, C); a twin (the sequence reverses) and an intrinsic fault (a letter skipped)."""
    shape, d = (768, 768), 12.0
    h = 0.82 * d
    n_rows = int(np.hypot(*shape) / h) + 4
    k0, k1 = sorted(rng.choice(np.arange(n_rows // 4, 3 * n_rows // 4), 2, replace=False))
    letters, s = [], 0
    for k in range(n_rows):
        letters.append(s)
        step = -1 if k >= k0 else 1  # a twin at row k0: the stacking runs backwards
        if k == k1:
            step *= 2  # an intrinsic stacking fault: one letter skipped
        s = (s + step) % 3
    n_col = int(np.hypot(*shape) / d) + 4
    rows = np.arange(n_rows) - n_rows / 2
    cols = np.arange(n_col) - n_col / 2
    y = np.repeat(rows * h, n_col)
    x = (cols[None, :] * d + np.array(letters)[:, None] * d / 3).ravel()
    a = rng.uniform(0, np.pi)
    pts = np.stack([np.cos(a) * y - np.sin(a) * x, np.sin(a) * y + np.cos(a) * x], 1)
    pts += np.array(shape) / 2 + rng.uniform(-d, d, 2)
    pts = pts[inside(pts, shape, -4)]
    image, clean = atom_image(shape, pts, np.ones(len(pts)), rng, 1.5, 40.0)
    return atom_case(image, pts[inside(pts, shape)], "all columns")


# ---------------------------------------------------------------- particle scenes
def haadf_support(shape, rng, level=0.08, tex=0.3):
    return level * gradient(shape, rng, 0.4) + texture(shape, rng, 2.0, tex * level)


def mixed_pt_oxide(rng):
    shape = (1024, 1024)
    r_pt, r_ox = rng.uniform(4, 9, 40), rng.uniform(6, 14, 40)
    centres, radii = place(rng, shape, np.concatenate([r_pt, r_ox]), gap=3)
    # thickness x weight: a Pt sphere of radius 6 peaks at 1; the oxide 5 x lower per thickness
    is_pt = np.isin(radii, r_pt)
    heights = np.where(is_pt, radii / 6, radii / 6 / 5)
    body = probe_blur(draw_bodies(shape, centres, radii, heights), 0.8, 0.0)
    clean = body + haadf_support(shape, rng)
    image = counts(clean, 200.0, rng)
    return particle_case(
        image, centres, radii, "Pt and oxide (5x fainter) counted", clean=clean, dose=200.0
    )


def clusters(rng, n_clusters=12, singles=0):
    shape = (1024, 1024)
    centres, radii = [], []
    seeds, _ = place(rng, shape, np.full(n_clusters, 45.0), gap=10)
    for seed in seeds:
        members, mr = [seed], [rng.uniform(3.5, 6)]
        want = rng.integers(5, 21)
        for _ in range(400):
            if len(members) >= want:
                break
            rad = rng.uniform(3.5, 6)
            k = rng.integers(len(members))
            a = rng.uniform(0, 2 * np.pi)
            p = members[k] + (mr[k] + rad) * rng.uniform(1.0, 1.12) * np.array(
                [np.cos(a), np.sin(a)]
            )
            d = np.hypot(*(np.array(members) - p).T)
            if np.all(d >= (np.array(mr) + rad) * 0.97) and inside(p[None], shape, rad + 3)[0]:
                members.append(p)
                mr.append(rad)
        centres += members
        radii += mr
    for _ in range(singles):  # isolated particles between the clusters
        rad = rng.uniform(3.5, 6)
        p = rng.uniform(rad + 3, np.array(shape) - rad - 3)
        if np.all(np.hypot(*(np.array(centres) - p).T) >= np.array(radii) + rad + 4):
            centres.append(p)
            radii.append(rad)
    centres, radii = np.array(centres), np.array(radii)
    body = probe_blur(draw_bodies(shape, centres, radii, radii / 5), 0.8, 0.0)
    clean = body + haadf_support(shape, rng)
    image = counts(clean, 150.0, rng)
    return particle_case(
        image, centres, radii, "every particle of every cluster", clean=clean, dose=150.0
    )


def tiny_2048(rng):
    shape = (2048, 2048)
    radii = rng.uniform(1.5, 2.5, 1500)
    centres, radii = place(rng, shape, radii, gap=4)
    body = probe_blur(draw_bodies(shape, centres, radii, radii / 2), 0.6, 0.0)
    clean = body + haadf_support(shape, rng, 0.12)
    image = counts(clean, 100.0, rng)
    return particle_case(image, centres, radii, "every particle", clean=clean, dose=100.0)


def aperture_optical(rng):
    shape = (1024, 1024)
    cy, cx = np.array(shape) / 2 + rng.uniform(-30, 30, 2)
    rad_ap = rng.uniform(0.42, 0.48) * shape[0]
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
    dist = np.hypot(r - cy, c - cx)
    disc = dist < rad_ap
    radii = rng.uniform(5, 12, 160)
    centres, radii = place(rng, shape, radii, gap=3, margin=14)
    thick = draw_bodies(shape, centres, radii, np.full(len(radii), 1.0))
    light = 1 - 0.35 * (dist / rad_ap) ** 2  # vignetting within the aperture
    clean = gauss_blur(light * np.exp(-0.9 * thick), 1.5) * gauss_blur(disc.astype(float), 2.0)
    image = counts(clean, 400.0, rng, read=3.0)
    d_c = np.hypot(centres[:, 0] - cy, centres[:, 1] - cx)
    cut = d_c + radii > rad_ap - 2
    ignore = np.zeros(shape, bool)
    for (y, x), rr in zip(centres[cut], radii[cut]):
        ignore |= np.hypot(r - y, c - x) < rr + 3
    return particle_case(
        image,
        centres,
        radii,
        "particles wholly inside the aperture",
        invalid=~disc,
        ignore=ignore,
        clean=clean,
        dose=400.0,
    )


def mosaic(rng, gain_span=0.3):
    shape, tile = (1536, 1536), 720
    radii = rng.uniform(6, 14, 200)
    centres, radii = place(rng, shape, radii, gap=4)
    d2 = draw_bodies(shape, centres, radii, np.ones(len(radii)))
    inside_p = d2 > 0
    # secondary electrons: a bright body with brighter rims (edge effect)
    rim = np.zeros(shape)
    for (y, x), rr in zip(centres, radii):
        r0, c0 = int(max(y - rr - 2, 0)), int(max(x - rr - 2, 0))
        r1, c1 = int(min(y + rr + 3, shape[0])), int(min(x + rr + 3, shape[1]))
        rr_, cc_ = np.mgrid[r0:r1, c0:c1]
        q = np.hypot(rr_ - y, cc_ - x) / rr
        rim[r0:r1, c0:c1] += np.where(q < 1, 0.6 + 0.5 * q**4, 0)
    scene = gauss_blur(0.25 + rim * inside_p + texture(shape, rng, 3, 0.03), 1.0)
    image = np.zeros(shape, np.float32)
    valid = np.zeros(shape, bool)
    starts = [
        (
            int(rng.uniform(10, 60)) + i * (tile - int(rng.uniform(20, 50))),
            int(rng.uniform(10, 60)) + j * (tile - int(rng.uniform(20, 50))),
        )
        for i in range(2)
        for j in range(2)
    ]
    for y0, x0 in starts:
        y1, x1 = min(y0 + tile, shape[0]), min(x0 + tile, shape[1])
        gain, off = (
            1 + rng.uniform(-gain_span, gain_span),
            rng.uniform(-0.05, 0.05) * gain_span / 0.3,
        )
        part = counts(np.clip(scene[y0:y1, x0:x1] * gain + off, 0, None), 120.0, rng)
        image[y0:y1, x0:x1] = np.clip(part, 0, None)
        valid[y0:y1, x0:x1] = True
    rr_, cc_ = np.mgrid[0 : shape[0], 0 : shape[1]]
    ignore = np.zeros(shape, bool)
    near = ndimage.distance_transform_edt(valid)
    for (y, x), rad in zip(centres, radii):
        if near[int(y), int(x)] < rad + 2:
            ignore |= np.hypot(rr_ - y, cc_ - x) < rad + 3
    return particle_case(
        image,
        centres,
        radii,
        "particles not cut by the black border",
        invalid=~valid,
        ignore=ignore,
    )


def two_populations(rng):
    shape = (1024, 1024)
    radii = np.concatenate([rng.uniform(2.5, 3.5, 150), rng.uniform(17, 23, 25)])
    centres, radii = place(rng, shape, radii, gap=4)
    # one material: the height scales with the radius (a radius-20 sphere peaks at 1)
    body = probe_blur(draw_bodies(shape, centres, radii, radii / 20), 0.8, 0.0)
    clean = body + haadf_support(shape, rng, 0.05)
    image = counts(clean, 300.0, rng)
    return particle_case(
        image, centres, radii, "both sizes (radius 3 and 20) counted", clean=clean, dose=300.0
    )


def hollow_shells(rng):
    shape = (1024, 1024)
    radii = rng.uniform(8, 18, 60)
    centres, radii = place(rng, shape, radii, gap=4)
    inner = radii * (1 - rng.uniform(0.15, 0.3, len(radii)))
    body = probe_blur(draw_bodies(shape, centres, radii, np.ones(len(radii)), inner), 0.8, 0.0)
    clean = body + haadf_support(shape, rng, 0.06)
    image = counts(clean, 150.0, rng)
    return particle_case(
        image, centres, radii, "each shell once, at its centre", clean=clean, dose=150.0
    )


def blooming(rng):
    shape = (1024, 1024)
    radii = rng.uniform(3, 6, 150)
    centres, radii = place(rng, shape, radii, gap=12, margin=40)
    bright = np.where(
        rng.random(len(radii)) < 0.3,
        rng.uniform(2, 6, len(radii)),
        rng.uniform(0.3, 0.9, len(radii)),
    )
    beads = gauss_blur(draw_bodies(shape, centres, radii, bright), 1.2)
    electrons = rng.poisson(np.clip(beads + 0.05, 0, None) * 3000.0).astype(float)
    well = 3000.0
    for _ in range(600):  # charge over the full well spills to its column neighbours
        excess = np.clip(electrons - well, 0, None)
        if excess.sum() < 1:
            break
        electrons -= excess
        electrons[:-1] += excess[1:] / 2
        electrons[1:] += excess[:-1] / 2
    image = np.clip(np.round((electrons + rng.normal(0, 10, shape)) / well * 4095), 0, 4095)
    return particle_case(
        image.astype(np.uint16), centres, radii, "every bead, bloomed or not, at its centre"
    )


ATOM_CASES = {
    "tbg_moire": tbg_moire,
    "superstructure_2x2": superstructure_2x2,
    "mains_hum": mains_hum,
    "mains_hum_5px": lambda rng: mains_hum(rng, 5.0, 0.7),
    "heavy_light_1to4": heavy_light,
    "dense_4px_2048": dense_4px_2048,
    "twin_fault": twin_fault,
}
PARTICLE_CASES = {
    "mixed_pt_oxide": mixed_pt_oxide,
    "clusters": clusters,
    "clusters_singles": lambda rng: clusters(rng, 12, 20),
    "tiny_2048": tiny_2048,
    "aperture_optical": aperture_optical,
    "mosaic_seams": mosaic,
    "two_populations": two_populations,
    "hollow_shells": hollow_shells,
    "blooming_ccd": blooming,
}
CASES = {**ATOM_CASES, **PARTICLE_CASES}


def make(name: str, seed: int = 0) -> dict:
    """The scene ``name``, seeded by its name and ``seed``."""
    return CASES[name](np.random.default_rng([seed, 41, sum(map(ord, name))]))


def run(name: str, seed: int, case=None) -> dict:
    return scene_row(name, seed, make(name, seed) if case is None else case, score_scene)


def main(argv=None) -> int:
    return scene_table(
        "stranger_fresh", CASES, run, argv, width=20, description=__doc__.splitlines()[0]
    )


if __name__ == "__main__":
    sys.exit(main())
