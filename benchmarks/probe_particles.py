"""Particle scenes of :mod:`stranger_probe`: SEM secondary electrons, an AFM height map,
nanorods, log-normal sizes, particles cut by the frame, cryo-EM blobs in thick ice,
bright-field optics with vignetting, fluorescence over two decades of brightness.

Match radius (fixed before any detection): each particle's radius, at least 3 px; a rod's is
the larger of its half width and half its half length (a point on the rod's middle half)."""

from __future__ import annotations

import numpy as np
from probe_drawing import case, columns, counts, rods, scatter, smooth_noise, solids
from scipy import fft, ndimage


def with_radius(pts, radii):
    return np.column_stack([pts, np.maximum(3.0, radii)])


def sem_secondary(rng):
    """SE image of spheres (r 7-16) on a flat substrate: edge brightening (yield ~ 1/cos of
    the surface tilt), shading from a side detector, charging streaks after some particles
    along the scan, Poisson at ~25 counts/px and line noise."""
    shape = (512, 512)
    pts, radii = scatter(rng, shape, 70, 4.0, rng.uniform(7, 16, 70), margin=4)
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    yield_ = np.ones(shape) * (1 + 0.05 * smooth_noise(rng, shape, 3))
    side = rng.uniform(0, 2 * np.pi)
    for (r, c), rad in zip(pts, radii):
        d = np.hypot(rr - r, cc - c) / rad
        inside = d < 1
        cos_t = np.sqrt(np.clip(1 - d[inside] ** 2, 0, 1))
        nr, nc = (rr[inside] - r) / rad, (cc[inside] - c) / rad
        shade = 1 + 0.35 * (nr * np.sin(side) + nc * np.cos(side))
        yield_[inside] = 1.3 * shade / np.maximum(cos_t, 0.2)
    streak = np.zeros(shape)
    for k in rng.choice(len(pts), max(1, len(pts) // 6), replace=False):
        r0, c0 = int(pts[k, 0]), int(pts[k, 1] + radii[k])
        rows = slice(max(r0 - 2, 0), min(r0 + 3, shape[0]))
        tail = np.exp(-np.arange(shape[1] - min(c0, shape[1] - 1)) / 60.0)
        streak[rows, min(c0, shape[1] - 1) :] += 0.8 * tail
    ideal = ndimage.gaussian_filter(yield_ + streak, 0.8) * 25
    img = counts(rng, ideal) * (1 + 0.03 * rng.standard_normal(shape[0]))[:, None]
    return case("particles", img.astype(np.float32), with_radius(pts, radii), "every sphere")


def afm_height(rng):
    """Height map (nm-like units) of spheres r 5-10 px on a plane tilted by ~3 particle
    heights across the frame, broadened by a 6 px tip, with per-line offsets and bow."""
    shape = (512, 512)
    pts, radii = scatter(rng, shape, 60, 6.0, rng.uniform(5, 10, 60), margin=4)
    h = solids(shape, pts, radii, "sphere") / 2  # the upper half: a cap of height r
    tip = np.hypot(*np.mgrid[-6:7, -6:7]) <= 6
    tip_shape = -(np.hypot(*np.mgrid[-6:7, -6:7]) ** 2) / (2 * 6.0)
    h = ndimage.grey_dilation(h, footprint=tip, structure=np.where(tip, tip_shape, 0))
    rr, cc = np.mgrid[: shape[0], : shape[1]] / 512.0
    g = rng.uniform(-1, 1, 2)
    h += 3 * 2 * radii.mean() * (g[0] * rr + g[1] * cc)
    line = rng.normal(0, 0.3 * radii.mean(), shape[0])
    line[rng.integers(0, shape[0], 3)] += rng.normal(0, radii.mean(), 3)
    bow = rng.normal(0, 0.2 * radii.mean(), shape[0])[:, None] * (cc - 0.5) ** 2 * 4
    h += line[:, None] + bow + 0.1 * rng.standard_normal(shape)
    return case("particles", h.astype(np.float32), with_radius(pts, radii + 2), "every sphere")


def nanorods(rng):
    """Bright-field TEM of Au rods (width 8-14 px, aspect 3-8, any orientation, apart),
    dark on bright, Poisson at 60 counts/px. Each rod is counted once."""
    shape = (640, 640)
    n = 40
    hw = rng.uniform(4, 7, n)
    hl = hw * rng.uniform(3, 8, n)
    pts, bound = scatter(rng, shape, n, 4.0, hl, margin=8)
    keep = np.isin(hl, bound)
    hw, hl = hw[keep], hl[keep]
    ang = rng.uniform(0, 180, len(pts))
    t = rods(shape, pts, hl, hw, ang)
    ideal = 60 * np.exp(-t / 12.0) * (1 + 0.03 * smooth_noise(rng, shape, 20))
    img = counts(rng, ndimage.gaussian_filter(ideal, 0.7))
    radius = np.maximum(hw, hl / 2)
    return case("particles", img.astype(np.float32), with_radius(pts, radius), "each rod once")


def lognormal(rng):
    """HAADF of particles with log-normal radii (median 7, clipped 3-30 px in one frame),
    intensity ~ projected thickness, Poisson at 2 counts per px of thickness."""
    shape = (768, 768)
    radii = np.clip(rng.lognormal(np.log(7), 0.6, 160), 3, 30)
    pts, radii = scatter(rng, shape, 160, 3.0, radii, margin=3)
    t = solids(shape, pts, radii, "sphere")
    ideal = 0.3 * t + 1.0 + 0.3 * smooth_noise(rng, shape, 2)
    img = counts(rng, ndimage.gaussian_filter(ideal, 1.0) * 2.0)
    return case("particles", img.astype(np.float32), with_radius(pts, radii), "every particle")


def frame_cut(rng):
    """Bright-field particles r 10-18, a third of them cut by the frame edge (centre inside
    the frame). Counted if the centre is inside; the scoring's 3 px margin applies."""
    shape = (512, 512)
    radii = rng.uniform(10, 18, 50)
    pts, radii = scatter(rng, shape, 50, 3.0, radii, margin=0, edge_share=0.4)
    t = solids(shape, pts, radii, "sphere")
    ideal = 80 * np.exp(-t / 40.0)
    img = counts(rng, ndimage.gaussian_filter(ideal, 0.8))
    return case("particles", img.astype(np.float32), with_radius(pts, radii), "centre in frame")


def cryo_blobs(rng):
    """Cryo-EM-like: irregular protein blobs (r ~ 10-14 px, 3-5 lobes) weak phase objects in
    thick ice (thickness gradient), imaged with 1.5 um-like defocus (CTF), 30 e/px."""
    shape = (512, 512)
    pts, _ = scatter(rng, shape, 45, 30.0, None, margin=16)
    dens = np.zeros(shape)
    radii = []
    for p in pts:
        lobes = p + rng.normal(0, 4.0, (rng.integers(3, 6), 2))
        dens += solids(shape, lobes, rng.uniform(5, 8, len(lobes)), "sphere")
        radii.append(10.0)
    kr = np.fft.fftfreq(shape[0])[:, None]
    kc = np.fft.fftfreq(shape[1])[None, :]
    k2 = kr**2 + kc**2
    ctf = -np.sin(np.pi * 150.0 * k2) * np.exp(-k2 / 0.02)  # first zero at ~1/12 px^-1
    phase = 0.02 * dens
    contrast = fft.ifft2(fft.fft2(phase) * 2 * ctf).real
    ice = 1 - 0.25 * (np.mgrid[: shape[0], : shape[1]][1] / shape[1])
    img = counts(rng, 30 * ice * (1 + contrast))
    return case(
        "particles", img.astype(np.float32), with_radius(pts, np.array(radii)), "every blob"
    )


def optical_vignetting(rng):
    """Bright-field optical: absorbing beads r 6-12 (transmission 0.4-0.7) with a slight
    defocus, illumination falling to ~40 % in the corners, 8-bit camera with read noise."""
    shape = (600, 800)
    radii = rng.uniform(6, 12, 90)
    pts, radii = scatter(rng, shape, 90, 5.0, radii, margin=4)
    disc = np.zeros(shape)
    trans = rng.uniform(0.4, 0.7, len(pts))
    for p, r, tr in zip(pts, radii, trans):
        disc += (1 - tr) * solids(shape, [p], [r], "disc")
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    d = np.hypot(rr - shape[0] / 2, cc - shape[1] / 2) / np.hypot(*shape) * 2
    light = np.cos(np.arctan(0.75 * d)) ** 4  # cos^4 falloff, ~40 % in the corners
    ideal = 200 * light * np.clip(1 - ndimage.gaussian_filter(disc, 1.5), 0.05, 1)
    img = rng.poisson(ideal / 2) * 2 + 1.5 * rng.standard_normal(shape)
    img8 = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return case("particles", img8, with_radius(pts, radii), "every bead")


def fluorescence_decades(rng):
    """Diffraction-limited spots (sigma 1.6 px) whose photon counts span 2 decades
    (300-30000, log-uniform), 40 photons/px background, camera offset 100, read noise 2 e,
    16-bit."""
    shape = (512, 512)
    pts, _ = scatter(rng, shape, 80, 10.0, None, margin=4)
    photons = 10 ** rng.uniform(np.log10(300), np.log10(30000), len(pts))
    ideal = columns(shape, pts, photons / (2 * np.pi * 1.6**2), 1.6) + 40.0
    img = counts(rng, ideal) + 100 + 2 * rng.standard_normal(shape)
    img16 = np.clip(np.round(img), 0, 65535).astype(np.uint16)
    return case("particles", img16, with_radius(pts, np.full(len(pts), 3.0)), "every spot")


PARTICLE_CASES = {
    "SEM secondary electrons": sem_secondary,
    "AFM height, tilt, lines": afm_height,
    "nanorods, aspect 3-8": nanorods,
    "log-normal r 3-30": lognormal,
    "cut by the frame edge": frame_cut,
    "cryo-EM blobs, thick ice": cryo_blobs,
    "optical BF, vignetting": optical_vignetting,
    "fluorescence, 2 decades": fluorescence_decades,
}
