"""Particle scenes of :mod:`stranger_scenes`: adatoms, optical, fluorescence, liquid cell, HAADF."""

from __future__ import annotations

import numpy as np
from scene_drawing import (
    amorphous,
    bump,
    gauss,
    lattice_sites,
    line_offsets,
    place,
    render,
    rot,
    rotate_frame,
    scene,
    smooth_field,
    stem_counts,
    thickness,
    to_uint,
)
from scipy import fft, ndimage


def stm_adatoms(rng):
    shape = (512, 512)
    pts = place(rng, shape, 40, 14, margin=4)
    a = rng.uniform(0, 60)
    sub = lattice_sites(
        shape, rot([0, 6.0], a), rot([6.0 * np.sqrt(3) / 2, 3.0], a), pad=10, rng=rng
    )
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    tilt = rng.uniform(-1, 1, 2) * 0.004
    h = render(shape, sub, 0.04, bump(3.2), 6) + render(shape, pts, 0.5, gauss(2.3), 10)
    h += tilt[0] * rr + tilt[1] * cc + line_offsets(rng, shape, 0.02, jumps=3)
    h += 0.02 * rng.standard_normal(shape)
    return scene("particles", h.astype(np.float32), np.column_stack([pts, np.full(len(pts), 4.0)]))


def coherent_bf(rng, defocus):
    shape = (768, 768)
    radii = np.clip(rng.normal(7, 1.0, 140), 5, 10)
    pts = place(rng, shape, len(radii), 2 * 10 + 4, margin=5)
    radii = radii[: len(pts)]
    layer = rng.integers(0, 3, len(pts)) if defocus else np.zeros(len(pts), int)
    kr = np.fft.fftfreq(shape[0])[:, None]
    kc = np.fft.fftfreq(shape[1])[None, :]
    k2 = (kr**2 + kc**2) / 0.16**2  # a low-NA condenser: ringing at every edge
    pupil = k2 <= 1.0
    field = np.ones(shape, complex)
    for z in range(3):
        mine = layer == z
        if not mine.any():
            continue
        t = thickness(shape, pts[mine], radii[mine])
        trans = np.exp(-(0.25 + 0.9j) * t / radii.mean())
        phase = [0.0, 9.0, -9.0][z] * k2
        field *= fft.ifft2(fft.fft2(trans) * pupil * np.exp(1j * phase))
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    light = 1 - 0.3 * (np.hypot(rr - 384, cc - 384) / 543) ** 2  # vignetting
    img = rng.poisson(np.abs(field) ** 2 * light * 800) / 800
    img8 = to_uint(img, 8, 0, np.percentile(img, 99.9) * 1.05)
    return scene("particles", img8, np.column_stack([pts, radii]))


def tem_defocus(rng, underfocus):
    """Au-like spheres (r 3-12 px at 0.4 nm/px) on an amorphous carbon film in a TEM
    bright-field image a few hundred nm out of focus (200 kV): scattering out of the
    objective aperture and the phase of the inner potential, Fresnel propagation with the
    defocus and a partial-coherence envelope, the detector's blur and Poisson counts. In
    underfocus a bright fringe of 7-17 % of the particle's contrast rims each particle; in
    overfocus a dark one, 20-45 %, widens it, and the smallest lose their core's contrast."""
    shape, px = (768, 768), 0.4  # nm per pixel
    radii = np.clip(rng.lognormal(np.log(6.0), 0.3, 90), 3, 12)
    pts = place(rng, shape, len(radii), 2 * 12 + 6, margin=6)
    radii = radii[: len(pts)]
    chord = 2 * thickness(shape, pts, radii) * px  # nm through each sphere
    carbon = 0.15 * amorphous(rng, shape, 1.0)  # rad: the film's phase texture
    wave = np.exp(-0.08 * chord + 1j * (0.22 * chord + carbon))
    df = (-1 if underfocus else 1) * rng.uniform(200, 700)  # nm
    k2 = (np.fft.fftfreq(shape[0])[:, None] ** 2 + np.fft.fftfreq(shape[1])[None, :] ** 2) / px**2
    chi = np.pi * 0.00251 * df * k2  # 200 kV: wavelength 2.51 pm
    envelope = np.exp(-((np.pi * 1e-4 * df) ** 2) * k2)  # 0.1 mrad illumination
    image = np.abs(fft.ifft2(fft.fft2(wave) * envelope * np.exp(-1j * chi))) ** 2
    image = ndimage.gaussian_filter(image, 0.7)
    img = rng.poisson(image * rng.uniform(40, 150)).astype(np.float32)
    return scene("particles", img, np.column_stack([pts, radii]))


def fluorescence(rng, n, shape, sigma, photons, background, raw):
    pts = place(rng, shape, n, 2.5 * sigma, margin=3)  # closer pairs are one spot to anyone
    n = len(pts)
    amp = rng.uniform(*photons, n) / (2 * np.pi * sigma**2)
    ideal = background + render(shape, pts, amp, gauss(sigma), 5 * sigma)
    electrons = rng.poisson(ideal) + 1.6 * rng.standard_normal(shape)
    truth = np.column_stack([pts, np.full(n, 3.0)])
    if raw:
        return np.clip(np.round(100 + 2.2 * electrons), 0, 65535).astype(np.uint16), truth
    return electrons, truth


def fluo_sparse(rng):
    img, truth = fluorescence(rng, 8, (512, 512), 1.6, (300, 2000), 12, raw=True)
    return scene("particles", img, truth)


def fluo_dense(rng):
    img, truth = fluorescence(rng, 250, (256, 256), 1.3, (250, 900), 6, raw=False)
    img = img - np.median(img)  # a user's background subtraction: negative values
    return scene("particles", img.astype(np.float32), truth)


def fluo_registered(rng):
    img, truth = fluorescence(rng, 40, (512, 512), 1.8, (400, 1500), 20, raw=False)
    out, moved, invalid = rotate_frame(img, rng.uniform(8, 20), np.nan, truth)
    return scene("particles", out.astype(np.float32), moved, invalid=invalid)


def phase_halo(rng):
    shape = (768, 768)
    radii = np.clip(rng.normal(12, 2, 60), 8, 17)
    pts = place(rng, shape, len(radii), 2 * 17 + 14, margin=8)
    radii = radii[: len(pts)]
    body = thickness(shape, pts, radii)
    body = body / radii.mean()
    image = 1 - 0.7 * (body - 1.3 * ndimage.gaussian_filter(body, 7))
    image += 0.05 * smooth_field(rng, shape, 40)
    image = rng.poisson(np.clip(image, 0.01, None) * 300) / 300
    img8 = to_uint(image, 8, 0, np.percentile(image, 99.8) * 1.1)
    return scene("particles", img8, np.column_stack([pts, radii]))


def liquid_monolayer(rng):
    shape, r = (512, 512), 5.0
    s = 2 * r + 2.5
    a = rng.uniform(0, 60)
    pts = lattice_sites(shape, rot([0, s], a), rot([s * np.sqrt(3) / 2, s / 2], a), pad=0, rng=rng)
    patch = smooth_field(rng, shape, 50)
    keep = (patch[pts[:, 0].astype(int), pts[:, 1].astype(int)] > -0.6) & (
        rng.random(len(pts)) > 0.08
    )
    pts = pts[keep] + 0.6 * rng.standard_normal((keep.sum(), 2))
    t = thickness(shape, pts, np.full(len(pts), r))
    liquid = 1 + 0.3 * smooth_field(rng, shape, 60)
    img = np.exp(-0.8 * t / r) * np.exp(-0.3 * liquid)
    img = ndimage.gaussian_filter(img, 1.4)  # chromatic blur of a thick liquid layer
    dose = 8 * (1 + 2 * np.arange(shape[1]) / shape[1])[None, :]
    img = rng.poisson(img * dose) / dose
    return scene("particles", img.astype(np.float32), np.column_stack([pts, np.full(len(pts), r)]))


def haadf_catalyst(rng):
    shape = (512, 512)
    radii = rng.uniform(1.0, 2.5, 130)
    pts = place(rng, shape, len(radii), 10, margin=3)
    radii = radii[: len(pts)]
    support = 1 + 0.35 * smooth_field(rng, shape, 70) + 0.12 * smooth_field(rng, shape, 2.2)
    peaks = render(shape, pts, rng.uniform(1.2, 2.0, len(pts)), gauss(1.0), 8)
    peaks += thickness(shape, pts, radii, step=0.25) * 0.4
    img = stem_counts(rng, support + ndimage.gaussian_filter(peaks, 0.6), 12)
    return scene("particles", img.astype(np.float32), np.column_stack([pts, radii]))


def bf_rotated_zero(rng):
    shape = (512, 512)
    radii = np.clip(rng.lognormal(np.log(9), 0.25, 60), 5, 16)
    pts = place(rng, shape, len(radii), 2 * 16 + 4, margin=5)
    radii = radii[: len(pts)]
    t = thickness(shape, pts, radii)
    carbon = 1 + 0.05 * amorphous(rng, shape, 2.0)
    img = rng.poisson(np.exp(-0.12 * t) * carbon * 60).astype(float)  # raw counts
    out, moved, invalid = rotate_frame(img, rng.uniform(10, 25), 0.0, np.column_stack([pts, radii]))
    return scene("particles", out.astype(np.float32), moved, invalid=invalid)


def haadf_strip(rng):
    shape = (300, 2048)
    radii = rng.uniform(4, 10, 90)
    pts = place(rng, shape, len(radii), 2 * 10 + 3, margin=4)
    radii = radii[: len(pts)]
    img = 0.2 + 0.05 * amorphous(rng, shape, 1.5) + 0.5 * thickness(shape, pts, radii) / 10
    img = stem_counts(rng, img, 10)
    return scene("particles", img.astype(np.float32), np.column_stack([pts, radii]))


PARTICLE_CASES = {
    "STM adatoms": stm_adatoms,
    "BF colloids, Airy rings": lambda rng: coherent_bf(rng, False),
    "BF colloids, defocus halos": lambda rng: coherent_bf(rng, True),
    "TEM on carbon, underfocus": lambda rng: tem_defocus(rng, True),
    "TEM on carbon, overfocus": lambda rng: tem_defocus(rng, False),
    "fluorescence sparse uint16": fluo_sparse,
    "fluorescence dense, bg-sub": fluo_dense,
    "fluorescence, NaN corners": fluo_registered,
    "phase contrast halos": phase_halo,
    "liquid cell Au monolayer": liquid_monolayer,
    "HAADF 2-5 px on support": haadf_catalyst,
    "BF particles, 0 corners": bf_rotated_zero,
    "HAADF particles 300 x 2048": haadf_strip,
}
