"""Default detection on a seventh, blind stranger generator: optical and other modalities (issue 9).

``python benchmarks/stranger_optical.py [--seeds 0,1,2] [--only NAME,...]`` renders seeded
images of kinds that :mod:`stranger_atoms`, :mod:`stranger_networks`, :mod:`stranger_particles`,
:mod:`stranger_scenes`, :mod:`stranger_probe`, :mod:`stranger_fresh`, :mod:`stranger_blind`,
``robustness.py`` and ``empty_frames.py`` do not draw (only their kinds' names and docstrings
were read), weighted toward light microscopy, which the product claims beside electron and
scanning-probe micrographs. It was written without reading the detector, so that it shares no
blind spot with it. Each scene is detected as the CLI would with no parameter but the mode a
user would pick (``napari-ivae detect IMAGE`` for lattices, ``--mode particles`` for spots,
beads, cells and particles; :func:`stranger_scenes.detect`) and scored by
:func:`stranger_scenes.score_scene` (atoms: one-to-one within 0.35 x the truth's median
neighbour distance, F1 >= 0.90 passes; particles: within each particle's radius, at least 3 px,
precision and recall >= 0.95 pass; an ``ignore`` area is left out on both sides). What counts is
fixed per scene before any detection (``rule`` in each row). A table, then one JSON line. The
drawing helpers (splats, blurs, Poisson counts, placement, lattices) are :mod:`stranger_fresh`'s
and :mod:`stranger_blind`'s; the optics and cameras are drawn here: an Airy point spread
function, an sCMOS camera (a 100 ADU offset, per-pixel offset, gain and read noise, a few
noisy pixels), an EMCCD (gamma-distributed electron multiplication, clock-induced charge), a
confocal's photomultiplier (excess noise, an offset that clips the black) and a laser's
Gaussian illumination.

Particles: single molecules on an sCMOS (400-5000 photons, Airy PSF, TIRF illumination);
puncta in cells (diffuse autofluorescence of cells and dimmer nuclei, uneven illumination, a
photobleaching gradient, 2048 x 2048); quantum dots on an EMCCD caught blinking (on, grey at
0.2-0.4, off: off ones are neither drawn nor counted); confocal beads at depths through a
thick sample (those in the optical section counted, the ones just outside it left out, the
far ones' dim haze not counted), 8-bit PMT; in-line holograms of colloids 8-30 um above the
focus (Fresnel rings to 0.7 x their height), 8-bit; DIC relief of beads (one side bright, the
other dark, along a random shear); dark-field gold nanoparticles (in-focus spots and donuts,
brightness as d^6 over 40-70 nm, dust haze not counted), 12-bit; DAPI nuclei (touching,
textured chromatin, nucleoli, mitotic ones small and bright, out-of-focus haze); a rendered
single-molecule localisation image (nanoclusters of >= 15 localisations counted, isolated
molecules of 1-5 repeated localisations not), float; a cryo-EM micrograph (4 A/px, weak-phase
particles through a CTF of 1.5-3 um defocus with astigmatism: dark with bright fringes, a
carbon edge without particles), float32.

Atoms (lattices a user would hand the default mode): a 2-D colloidal polycrystal in bright field
(bright centres in dark rings, or dark cores in bright rings with the focus on the other side;
grains, vacancies), 8-bit; a dense fluorescent colloidal crystal under a confocal (nearly touching
discs, vacancies, bleaching along the slow scan), 12-bit; an STM topograph of a 2-D layer on a
metal (a triangular lattice whose corrugation a moire of 8-11 cells modulates 3-fold, heights in
metres, the plane left in); an STM conductance map of an Abrikosov vortex lattice (pinned, one or
two domains, in siemens); Lorentz TEM of a skyrmion lattice (grains, a bend contour, cores bright
or dark with the defocus), 16-bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage, special
from scipy.spatial import cKDTree

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from scene_table import scene_row, scene_table  # noqa: E402
from stranger_blind import hex_lattice, merge_within, to_uint8  # noqa: E402
from stranger_fresh import (  # noqa: E402
    atom_case,
    counts,
    draw_bodies,
    gauss_blur,
    gradient,
    inside,
    particle_case,
    place,
    splat,
    texture,
)
from stranger_scenes import score_scene  # noqa: E402


# ---------------------------------------------------------------- optics and cameras
def kernel_blur(image, profile, peak=False):
    """Convolve ``image`` (periodically) with the kernel ``profile(distance in px)``, of sum 1
    (``peak``: of value 1 at its centre, for kernels whose sum may be 0 or negative)."""
    h, w = image.shape
    r = np.fft.fftfreq(h)[:, None] * h
    c = np.fft.fftfreq(w)[None, :] * w
    kernel = profile(np.hypot(r, c))
    kernel = kernel / (kernel[0, 0] if peak else kernel.sum())
    return np.real(np.fft.ifft2(np.fft.fft2(image) * np.fft.fft2(kernel)))


def airy(r0):
    """The Airy pattern whose first zero is at ``r0`` px, as a profile of the distance."""

    def profile(d):
        v = 3.8317 * np.maximum(d, 1e-9) / r0
        return (2 * special.j1(v) / v) ** 2

    return profile


def airy_spots(shape, pts, photons, r0):
    """Point sources of ``photons`` each under an Airy PSF (photons per pixel)."""
    return np.clip(kernel_blur(splat(shape, pts, photons), airy(r0)), 0, None)


def laser(shape, rng, corner=0.4):
    """A Gaussian beam, off centre by up to 10 %, falling to about ``corner`` at the corners."""
    cy, cx = np.array(shape) / 2 + rng.uniform(-0.1, 0.1, 2) * np.array(shape)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    d2 = ((r - shape[0] / 2) ** 2 + (c - shape[1] / 2) ** 2).max()
    return np.exp(np.log(corner) * ((r - cy) ** 2 + (c - cx) ** 2) / d2)


def scmos(electrons, rng, offset=100.0):
    """An sCMOS frame: Poisson photo-electrons, per-pixel gain (2.17 ADU/e +- 2 %), offset
    (``offset`` +- 1.5 ADU) and read noise (median 1.4 e, 0.5 % of pixels 5-15 e); uint16."""
    shape = electrons.shape
    e = rng.poisson(np.clip(electrons, 0, None)).astype(np.float64)
    read = 1.4 * np.exp(0.35 * rng.standard_normal(shape))
    noisy = rng.random(shape) < 0.005
    read[noisy] = rng.uniform(5, 15, noisy.sum())
    e += read * rng.standard_normal(shape)
    gain = 2.17 * (1 + 0.02 * rng.standard_normal(shape))
    adu = e * gain + offset + 1.5 * rng.standard_normal(shape)
    return np.clip(np.round(adu), 0, 65535).astype(np.uint16)


def emccd(photons, rng, gain=300.0, e_per_adu=15.0, offset=100.0):
    """An EMCCD frame: QE 0.92, clock-induced charge, gamma-distributed multiplication, 50 e
    read noise; uint16."""
    e = rng.poisson(np.clip(photons, 0, None) * 0.92 + 0.01)
    amplified = np.where(e > 0, rng.gamma(np.maximum(e, 1), gain), 0.0)
    adu = amplified / e_per_adu + offset + 50 / e_per_adu * rng.standard_normal(photons.shape)
    return np.clip(np.round(adu), 0, 65535).astype(np.uint16)


def pmt(photons, rng, adu_per_photon, offset, bits=8, lines=2):
    """A confocal's photomultiplier: Poisson photons with excess noise (gamma, ENF 1.4), an
    analogue offset that may clip the black, averaged over ``lines`` scans, ``bits`` deep."""
    total = np.zeros(photons.shape)
    for _ in range(lines):
        n = rng.poisson(np.clip(photons, 0, None))
        total += np.where(n > 0, rng.gamma(np.maximum(n, 1) / 0.4, 0.4), 0.0)
    adu = total / lines * adu_per_photon + offset + 1.5 * rng.standard_normal(photons.shape)
    dtype = np.uint8 if bits == 8 else np.uint16
    return np.clip(np.round(adu), 0, 2**bits - 1).astype(dtype)


def thin(pts, dist):
    """Points kept greedily in order, none closer than ``dist`` to an earlier kept one."""
    keep = []
    tree = cKDTree(pts)
    gone = np.zeros(len(pts), bool)
    for k in range(len(pts)):
        if gone[k]:
            continue
        keep.append(k)
        gone[tree.query_ball_point(pts[k], dist)] = True
    return pts[keep]


def disc_mask(shape, centres, radii):
    """Pixels within ``radii`` of ``centres``."""
    out = np.zeros(shape, bool)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
    for (y, x), rad in zip(centres, radii):
        r0, r1 = max(int(y - rad - 1), 0), min(int(y + rad + 2), shape[0])
        c0, c1 = max(int(x - rad - 1), 0), min(int(x + rad + 2), shape[1])
        d2 = (r[r0:r1, c0:c1] - y) ** 2 + (c[r0:r1, c0:c1] - x) ** 2
        out[r0:r1, c0:c1] |= d2 < rad**2
    return out


def ellipse(shape, centre, a, b, angle, sub=2):
    """Coverage (0-1) of an ellipse (semi-axes ``a``, ``b``) and its bounding box."""
    y, x = centre
    h = a + 2
    r0, r1 = max(int(y - h), 0), min(int(y + h + 1), shape[0])
    c0, c1 = max(int(x - h), 0), min(int(x + h + 1), shape[1])
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    rr = np.arange(r0, r1)[:, None, None, None] + offs[None, None, :, None] - y
    cc = np.arange(c0, c1)[None, :, None, None] + offs[None, None, None, :] - x
    u = np.cos(angle) * rr + np.sin(angle) * cc
    v = -np.sin(angle) * rr + np.cos(angle) * cc
    cover = ((u / a) ** 2 + (v / b) ** 2 < 1).mean(axis=(2, 3))
    return cover, (slice(r0, r1), slice(c0, c1))


def polycrystal(shape, s, rng, n_grains, jitter=0.0, vacancies=0.0):
    """A hexagonal polycrystal of spacing ``s``: Voronoi grains at random angles and offsets,
    sites closer than 0.7 s across a boundary thinned, ``vacancies`` removed, displaced by
    ``jitter`` x s."""
    seeds = rng.uniform(0, 1, (n_grains, 2)) * np.array(shape)
    parts = []
    for g in range(n_grains):
        pts = hex_lattice(shape, s, rng, pad=2 * s) + rng.uniform(-s / 2, s / 2, 2)
        pts = pts[inside(pts, shape, -2)]
        owner = cKDTree(seeds).query(pts)[1]
        parts.append(pts[owner == g])
    pts = thin(np.concatenate(parts), 0.7 * s)
    pts = pts[rng.random(len(pts)) >= vacancies]
    return pts + rng.normal(0, jitter * s, pts.shape)


# ---------------------------------------------------------------- particle scenes
def smlm_scmos(rng):
    """One frame of a single-molecule localisation movie on an sCMOS: 400-5000 photons per
    molecule (log-uniform), an Airy PSF for 640-680 nm at NA 1.45 and 100-117 nm pixels, a
    background of 8-20 photons under a TIRF beam."""
    shape = (1024, 1024)
    r0 = 0.61 * rng.uniform(640, 680) / 1.45 / rng.uniform(100, 117)
    centres, _ = place(rng, shape, np.full(rng.integers(120, 200), 4.0), gap=4)
    photons = np.exp(rng.uniform(np.log(400), np.log(5000), len(centres)))
    beam = laser(shape, rng, 0.5)
    light = (airy_spots(shape, centres, photons, r0) + rng.uniform(8, 20)) * beam
    image = scmos(0.8 * light, rng)
    rule = f"every molecule (Airy first zero {r0:.1f} px)"
    return particle_case(image, centres, np.full(len(centres), 3.0), rule)


def puncta_cells(rng):
    """Widefield fluorescence of puncta in cells: cells glow (autofluorescence), nuclei less;
    puncta in the cytoplasm only; a Gaussian beam and a photobleaching ramp; sCMOS, 2048 px."""
    shape = (2048, 2048)
    n_cells = rng.integers(12, 20)
    cells, cyto = np.zeros(shape), np.zeros(shape, bool)
    for _ in range(n_cells):
        p = rng.uniform(0, 1, 2) * np.array(shape)
        a = rng.uniform(120, 260)
        b, ang = a * rng.uniform(0.55, 0.95), rng.uniform(0, np.pi)
        cover, sl = ellipse(shape, p, a, b, ang, sub=1)
        nucleus, nsl = ellipse(shape, p, 0.35 * a, 0.35 * b, ang, sub=1)
        level = rng.uniform(0.6, 1.4)
        cells[sl] = np.maximum(cells[sl], cover * level)
        cyto[sl] |= cover > 0.5
        cells[nsl] -= 0.5 * level * nucleus
        cyto[nsl] &= nucleus < 0.5
    cyto = ndimage.binary_erosion(cyto, iterations=4)
    cand = rng.uniform(0, 1, (20000, 2)) * np.array(shape)
    ij = cand.astype(int)
    cand = cand[cyto[ij[:, 0], ij[:, 1]]][: rng.integers(500, 800)]
    pts = thin(cand, 8.0)
    r0 = 0.61 * 520 / 1.4 / 108
    photons = np.exp(rng.uniform(np.log(300), np.log(3000), len(pts)))
    light = airy_spots(shape, pts, photons, r0) + 30 * gauss_blur(cells, 6.0) + 5.0
    a = rng.uniform(0, 2 * np.pi)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]] / shape[0]
    ramp = np.cos(a) * r + np.sin(a) * c
    bleach = 1 - 0.55 * (ramp - ramp.min()) / np.ptp(ramp)
    image = scmos(0.75 * light * laser(shape, rng, 0.4) * bleach, rng)
    rule = "every punctum (the cells' diffuse glow is not one)"
    return particle_case(image, pts, np.full(len(pts), 3.0), rule)


def qd_emccd(rng):
    """Quantum dots on an EMCCD caught blinking: on (600-1500 photons), grey (0.2-0.4 of
    that), off (nothing); an Airy PSF of first zero 1.6-1.9 px (undersampled), 512 x 512."""
    shape = (512, 512)
    centres, _ = place(rng, shape, np.full(rng.integers(120, 180), 3.0), gap=3)
    state = rng.choice(3, len(centres), p=[0.55, 0.2, 0.25])
    level = np.where(state == 0, 1.0, np.where(state == 1, rng.uniform(0.2, 0.4), 0.0))
    photons = rng.uniform(600, 1500, len(centres)) * level
    light = airy_spots(shape, centres, photons, rng.uniform(1.6, 1.9)) + rng.uniform(2, 4)
    image = emccd(light, rng)
    on = state < 2
    rule = "every dot that is on or grey (off dots are not drawn)"
    return particle_case(image, centres[on], np.full(on.sum(), 3.0), rule)


def confocal_depth(rng):
    """Sub-resolution beads through a thick gel under a confocal: a bead at depth z (um) peaks
    at exp(-z^2 / (2 0.45^2)) and widens by sqrt(1 + (z / 0.8)^2); 8-bit PMT."""
    shape = (1024, 1024)
    centres, _ = place(rng, shape, np.full(600, 3.0), gap=4)
    z = rng.uniform(-2.5, 2.5, len(centres))
    sigma0 = rng.uniform(1.3, 1.6)
    peak = np.exp(-(z**2) / (2 * 0.45**2)) * rng.uniform(0.8, 1.2, len(centres))
    sig = sigma0 * np.sqrt(1 + (z / 0.8) ** 2)
    light = np.zeros(shape)
    for level in np.unique(np.round(sig, 1)):  # beads grouped by width
        mine = np.round(sig, 1) == level
        light += level**2 / sigma0**2 * gauss_blur(splat(shape, centres[mine], peak[mine]), level)
    light *= 2 * np.pi * sigma0**2  # a bead in focus peaks at ``peak``
    photons = rng.uniform(25, 45) * light + 0.3
    image = pmt(photons, rng, rng.uniform(3.5, 5), rng.uniform(2, 5))
    counted, edge = np.abs(z) <= 0.5, (np.abs(z) > 0.5) & (np.abs(z) < 0.9)
    ignore = disc_mask(shape, centres[edge], np.full(edge.sum(), 6.0))
    rule = "beads within 0.5 um of the focus (0.5-0.9 um left out; deeper haze is not a bead)"
    case = particle_case(image, centres[counted], np.full(counted.sum(), 3.0), rule, ignore=ignore)
    case["beads"] = np.column_stack([centres, z])  # every bead and its depth, for diagnostics
    return case


def holograms(rng):
    """In-line holograms of colloids (radius 0.5-1 um) 8-30 um above the focal plane: each
    scatters a spherical wave (532 nm in water, 0.1 um pixels) that interferes with the beam,
    collected to NA 0.75; an 8-bit camera."""
    shape, px, lam = (1024, 1024), 0.1, 0.532 / 1.33
    centres, _ = place(rng, shape, np.full(rng.integers(40, 70), 25.0), gap=0, margin=12)
    z = rng.uniform(8, 30, len(centres))
    amp = rng.uniform(0.15, 0.35, len(centres)) * 10.0
    phase0 = rng.uniform(-0.4, 0.4, len(centres)) - np.pi / 2
    field = np.ones(shape, complex)
    k = 2 * np.pi / lam
    for (y, x), zz, a, ph in zip(centres, z, amp, phase0):
        reach = 0.7 * zz / px
        r0, r1 = max(int(y - reach), 0), min(int(y + reach + 1), shape[0])
        c0, c1 = max(int(x - reach), 0), min(int(x + reach + 1), shape[1])
        rr, cc = np.mgrid[r0:r1, c0:c1]
        rho = np.hypot(rr - y, cc - x) * px
        big_r = np.hypot(rho, zz)
        cut = np.exp(-((rho / (0.69 * zz)) ** 8))
        field[r0:r1, c0:c1] += a * zz / big_r**2 * np.exp(1j * (k * (big_r - zz) + ph)) * cut
    intensity = np.abs(field) ** 2 * laser(shape, rng, 0.6) * (1 + texture(shape, rng, 20, 0.02))
    image = to_uint8(counts(intensity, 400.0, rng, read=3.0), 0.05, 99.95)
    radii = rng.uniform(5, 10, len(centres))
    return particle_case(image, centres, radii, "every colloid, at the centre of its rings")


def dic_beads(rng):
    """Differential interference contrast of beads (radius 6-16 px): the image of the optical
    path's difference across a shear of 1 px along a random direction, with a bias; 8-bit."""
    shape = (1024, 1024)
    centres, radii = place(rng, shape, rng.uniform(6, 16, 110), gap=5)
    path = draw_bodies(shape, centres, radii, radii / 8)  # radians of phase at the centre
    a = rng.uniform(0, 2 * np.pi)
    grad_r, grad_c = np.gradient(gauss_blur(path, 1.0))
    shear = np.cos(a) * grad_r + np.sin(a) * grad_c
    bias = rng.uniform(0.25, 0.45) * np.pi
    intensity = (1 - np.cos(bias + 2.5 * shear)) / (1 - np.cos(bias))
    intensity *= gradient(shape, rng, 0.3) * (1 + texture(shape, rng, 3, 0.015))
    image = to_uint8(counts(gauss_blur(intensity, 1.0), 200.0, rng))
    rule = "every bead at its centre (one side bright, the other dark)"
    return particle_case(image, centres, radii, rule)


def darkfield_gold(rng):
    """Dark-field scattering of gold nanoparticles (40-70 nm, brightness as d^6): half in
    focus (Airy spots), half slightly defocused (donuts); dust haze and stray light; 12-bit."""
    shape = (1024, 1024)
    centres, _ = place(rng, shape, np.full(rng.integers(60, 120), 6.0), gap=10)
    d = rng.uniform(40, 70, len(centres))
    bright = (d / 40) ** 6
    donut = rng.random(len(centres)) < 0.5
    w = rng.uniform(2.5, 4.0)
    light = airy_spots(shape, centres[~donut], bright[~donut] * 3000, 2.5)
    ring = kernel_blur(
        splat(shape, centres[donut], bright[donut] * 3000),
        lambda q: (q / w) ** 2 * np.exp(-((q / w) ** 2)),
    )
    dust = np.zeros(shape)
    for _ in range(rng.integers(3, 7)):
        p = rng.uniform(0, 1, 2) * np.array(shape)
        dust += splat(shape, p[None], np.array([rng.uniform(3e4, 8e4)]))
    dust = gauss_blur(dust, rng.uniform(15, 30))
    photons = light + ring + dust + 20 * gradient(shape, rng, 0.6)
    image = np.clip(np.round(counts(photons, 1.0, rng, read=3.0) / 2 + 100), 0, 4095)
    radii = np.where(donut, 1.5 * w, 3.0)
    rule = "every gold particle at its centre, spot or donut (dust haze is not one)"
    return particle_case(image.astype(np.uint16), centres, radii, rule)


def nuclei(rng):
    """DAPI nuclei at 20x: ellipses (semi-axes 15-28 px) touching in places, chromatin
    texture, dark nucleoli, DNA content 0.6-1.4 (mitotic ones small and 2.5 x bright), an
    out-of-focus haze, uneven illumination; sCMOS."""
    shape = (1024, 1024)
    centres, major = place(rng, shape, rng.uniform(15, 28, 140), gap=1)
    body = np.zeros(shape)
    eq = np.zeros(len(centres))
    for k, (p, a) in enumerate(zip(centres, major)):
        mitotic = rng.random() < 0.05
        a = a * (0.55 if mitotic else 1.0)
        b = a * rng.uniform(0.65, 1.0)
        cover, sl = ellipse(shape, p, a, b, rng.uniform(0, np.pi))
        body[sl] = np.maximum(body[sl], cover * (2.5 if mitotic else rng.uniform(0.6, 1.4)))
        eq[k] = np.sqrt(a * b)
    body *= 1 + texture(shape, rng, 1.5, 0.2)
    holes = np.zeros(shape)
    for p, rad in zip(centres, eq):
        for _ in range(rng.integers(1, 4)):
            q = p + rng.normal(0, 0.35 * rad, 2)
            holes += splat(shape, q[None], np.array([1.0]))
    body *= 1 - 0.4 * np.clip(gauss_blur(holes, 3.0) * 2 * np.pi * 9, 0, 1)
    sharp = gauss_blur(body, 1.5)
    light = 800 * (sharp + 0.15 * gauss_blur(body, 12)) + 50
    image = scmos(0.7 * light * laser(shape, rng, 0.6), rng)
    return particle_case(image, centres, eq, "every nucleus once at its centre (touching too)")


def smlm_render(rng):
    """A rendered localisation image (10 nm pixels, 2048 x 2048): nanoclusters of 15-300
    localisations (spread 15-35 nm, precision 10-20 nm) and unclustered molecules that blink
    1-5 times; localisations per pixel after a 1 px Gaussian, float32."""
    shape = (2048, 2048)
    centres, _ = place(rng, shape, np.full(rng.integers(300, 450), 6.0), gap=6)
    spread = rng.uniform(1.5, 3.5, len(centres))
    n_loc = np.clip(np.round(np.exp(rng.normal(np.log(60), 0.6, len(centres)))), 15, 300)
    locs = [
        c + rng.normal(0, s, (int(n), 2)) + rng.normal(0, rng.uniform(1, 2), (int(n), 2))
        for c, s, n in zip(centres, spread, n_loc)
    ]
    singles = rng.uniform(0, 1, (int(0.15 * n_loc.sum() / 3), 2)) * np.array(shape)
    for p in singles:
        locs.append(p + rng.normal(0, rng.uniform(1, 2), (rng.integers(1, 6), 2)))
    pts = np.concatenate(locs)
    image = gauss_blur(splat(shape, pts, np.ones(len(pts))), 1.0).astype(np.float32)
    rule = "every nanocluster (>= 15 localisations; a molecule's 1-5 repeats is not one)"
    return particle_case(image, centres, np.maximum(3.0, 2 * spread), rule)


def cryo_ctf(rng):
    """Cryo-EM at 4 A per pixel (300 kV, Cs 2.7 mm, 7 % amplitude contrast): particles of
    3-6 lobes (radius 14-20 px, phase 0.12-0.2 rad) in vitreous ice, a CTF at 1.5-3 um
    underfocus with 30-80 nm astigmatism and a B factor, 20-30 e/A^2; the carbon film's edge
    crosses a corner (no particle on it); float32 counts."""
    shape, px = (1024, 1024), 4.0
    a = rng.uniform(0, 2 * np.pi)  # the hole (radius 1500 px) reaches 300-500 px past the centre
    hole_c = np.array(shape) / 2 + (1500 - rng.uniform(300, 500)) * np.array([np.cos(a), np.sin(a)])
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    carbon_d = 1500 - np.hypot(r - hole_c[0], c - hole_c[1])  # distance into the hole
    carbon = carbon_d < 0
    centres, radii = place(rng, shape, rng.uniform(14, 20, 140), gap=4)
    ij = np.round(centres).astype(int)
    keep = carbon_d[ij[:, 0], ij[:, 1]] > radii + 5
    centres, radii = centres[keep], radii[keep]
    phase = np.zeros(shape)
    for (y, x), rad in zip(centres, radii):
        n = rng.integers(3, 7)
        lobes = np.array([y, x]) + rng.normal(0, 0.3 * rad, (n, 2))
        lr = rng.uniform(0.4, 0.6, n) * rad
        phase += draw_bodies(shape, lobes, lr, lr / rad, sub=1)
    phase *= rng.uniform(0.12, 0.2) / max(phase.max(), 1e-12) * 1.5
    phase += texture(shape, rng, 1.0, 0.02) + carbon * (0.3 + texture(shape, rng, 1.5, 0.05))
    lam, cs = 0.0197, 2.7e7
    df, dast, ang = rng.uniform(15000, 30000), rng.uniform(300, 800), rng.uniform(0, np.pi)
    kr = np.fft.fftfreq(shape[0])[:, None] / px
    kc = np.fft.fftfreq(shape[1])[None, :] / px
    k2 = kr**2 + kc**2
    df_k = df + dast * np.cos(2 * (np.arctan2(kr, kc) - ang))
    chi = np.pi * lam * df_k * k2 - np.pi / 2 * cs * lam**3 * k2**2
    ctf = -(np.sqrt(1 - 0.07**2) * np.sin(chi) + 0.07 * np.cos(chi))
    env = np.exp(-rng.uniform(100, 200) * k2 / 4)
    contrast = np.real(np.fft.ifft2(np.fft.fft2(phase) * 2 * ctf * env))
    dose = rng.uniform(20, 30) * px**2
    ice = gradient(shape, rng, 0.15) * np.where(carbon, 0.92, 1.0)
    image = counts(ice * (1 + contrast), dose, rng, read=0.0)
    rule = "every particle in the ice (the carbon holds none)"
    return particle_case(image, centres, radii, rule)


# ---------------------------------------------------------------- atom scenes
def colloid_bf(rng, centre=1.0):
    """A 2-D colloidal polycrystal in bright field (spacing 14-18 px): each colloid a bright
    centre (it focuses the light) in a dark ring, or (``centre`` -1, the focus on the other
    side) a dark core in a bright ring; 3-5 grains, 3 % vacancies; 8-bit."""
    shape = (1024, 1024)
    s = rng.uniform(14, 18)
    pts = polycrystal(shape, s, rng, rng.integers(3, 6), jitter=0.04, vacancies=0.03)

    def profile(d):
        return np.exp(-(d**2) / (2 * (0.12 * s) ** 2)) - 0.55 * np.exp(
            -((d - 0.33 * s) ** 2) / (2 * (0.07 * s) ** 2)
        )

    pattern = centre * kernel_blur(splat(shape, pts, np.ones(len(pts))), profile, peak=True)
    pattern /= np.abs(pattern).max()
    intensity = (0.5 + 0.35 * pattern) * gradient(shape, rng, 0.3)
    image = to_uint8(counts(intensity, 200.0, rng, read=2.0))
    return atom_case(image, pts[inside(pts, shape)], f"every colloid ({s:.1f} px, grains)")


def colloid_confocal(rng):
    """A dense fluorescent colloidal crystal under a confocal (spacing 11-15 px, discs of
    0.45 x spacing, 5 % polydisperse, dye 0.7-1.3), 2 % vacancies, bleaching to 0.6 along the
    slow scan; 12-bit PMT."""
    shape = (1024, 1024)
    s = rng.uniform(11, 15)
    pts = polycrystal(shape, s, rng, 1, jitter=0.05, vacancies=0.02)
    radii = 0.45 * s * (1 + 0.05 * rng.standard_normal(len(pts)))
    flat = np.zeros(shape)
    dye = rng.uniform(0.7, 1.3, len(pts))
    for p, rad, d in zip(pts, radii, dye):
        cover, sl = ellipse(shape, p, rad, rad, 0.0)
        flat[sl] += cover * d
    light = gauss_blur(flat, 1.2) * (1 - 0.4 * np.arange(shape[0])[:, None] / shape[0])
    image = pmt(30 * light + 0.5, rng, rng.uniform(60, 90), 20, bits=12, lines=1)
    return atom_case(image, pts[inside(pts, shape)], "every colloid (vacancies left empty)")


def moire_stm(rng):
    """STM of a 2-D layer on a metal: a triangular lattice (6-8 px) whose corrugation
    (0.08-0.15 A) a moire of 8-11 cells modulates from 0.35 to 1, and lifts by 0.3-0.5 A; a
    plane, line offsets, noise; heights in metres."""
    shape = (512, 512)
    a = rng.uniform(6, 8)
    ang = rng.uniform(0, np.pi)
    pts = hex_lattice(shape, a, rng)
    m = rng.uniform(8, 11)
    eps = rng.uniform(-0.05, 0.05)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    env = np.zeros(shape)
    for j in range(3):  # the moire's three reciprocal vectors
        t = ang + eps + np.pi / 6 + j * np.pi / 3
        env += np.cos(2 * np.pi / (m * a * np.sqrt(3) / 2) * (np.sin(t) * r + np.cos(t) * c))
    env = (env - env.min()) / np.ptp(env)
    pi = np.clip(np.round(pts).astype(int), 0, np.array(shape) - 1)
    weight = 0.35 + 0.65 * env[pi[:, 0], pi[:, 1]]
    atoms = kernel_blur(splat(shape, pts, weight), lambda d: np.exp(-(d**2) / (2 * (0.3 * a) ** 2)))
    atoms /= atoms.max()
    z = rng.uniform(0.08, 0.15) * atoms + rng.uniform(0.3, 0.5) * env
    z += rng.uniform(-1, 1) * r / shape[0] * 2 + rng.uniform(-1, 1) * c / shape[1] * 2
    z += rng.normal(0, 0.02, shape[0])[:, None] + rng.normal(0, 0.004, shape)
    rule = f"every atom of the layer ({a:.1f} px, moire of {m:.1f} cells)"
    return atom_case((z * 1e-10).astype(np.float32), pts[inside(pts, shape)], rule)


def vortex_stm(rng):
    """A zero-bias conductance map of an Abrikosov vortex lattice (spacing 22-30 px, cores
    0.15-0.22 of it), pinned (displaced by 7 %), one or two domains, noise of 8-12 % of a core,
    slow-scan offsets; siemens."""
    shape = (512, 512)
    s = rng.uniform(22, 30)
    pts = polycrystal(shape, s, rng, rng.integers(1, 3), jitter=0.07)
    pts = merge_within(pts, 0.5 * s)
    xi = rng.uniform(0.15, 0.22) * s
    cores = kernel_blur(
        splat(shape, pts, np.ones(len(pts))), lambda d: np.exp(-(d**2) / (2 * xi**2))
    )
    cores /= cores.max()
    g = 1 + 1.5 * cores + rng.uniform(0.08, 0.12) * 1.5 * rng.standard_normal(shape)
    g += rng.normal(0, 0.05, shape[0])[:, None]
    return atom_case(g * 2e-9, pts[inside(pts, shape)], f"every vortex ({s:.1f} px)")


def lorentz_skyrmions(rng):
    """Fresnel-mode Lorentz TEM of a skyrmion lattice (spacing 22-30 px): the defocused image
    of each skyrmion's phase (a Gaussian's Laplacian: core bright or dark, ring opposite), 2-3
    grains, a thickness ramp and a bend contour; 16-bit."""
    shape = (1024, 1024)
    s = rng.uniform(22, 30)
    pts = polycrystal(shape, s, rng, rng.integers(2, 4), jitter=0.04)
    sig = 0.25 * s
    phi = kernel_blur(
        splat(shape, pts, np.ones(len(pts))), lambda d: np.exp(-(d**2) / (2 * sig**2))
    )
    lap = ndimage.laplace(phi)
    lap *= rng.choice([-1, 1]) * 0.35 / np.abs(lap).max()
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    t = rng.uniform(0, np.pi)
    dist = np.cos(t) * r + np.sin(t) * c - rng.uniform(0.3, 0.7) * shape[0] * 1.2
    bend = 1 - 0.4 * np.exp(-(dist**2) / (2 * 40**2))
    intensity = (1 + lap) * gradient(shape, rng, 0.3) * bend * (1 + texture(shape, rng, 2, 0.03))
    image = counts(intensity, 150.0, rng, read=3.0) * 4 + 500
    image = np.clip(np.round(image), 0, 65535).astype(np.uint16)
    return atom_case(image, pts[inside(pts, shape)], f"every skyrmion ({s:.1f} px)")


ATOM_CASES = {
    "colloid_bf_grains": colloid_bf,
    "colloid_bf_dark_cores": lambda rng: colloid_bf(rng, -1.0),
    "colloid_confocal": colloid_confocal,
    "moire_stm_metal": moire_stm,
    "vortex_lattice": vortex_stm,
    "lorentz_skyrmions": lorentz_skyrmions,
}
PARTICLE_CASES = {
    "smlm_scmos": smlm_scmos,
    "puncta_cells_2048": puncta_cells,
    "qd_emccd_blink": qd_emccd,
    "confocal_depth": confocal_depth,
    "holograms": holograms,
    "dic_beads": dic_beads,
    "darkfield_gold": darkfield_gold,
    "dapi_nuclei": nuclei,
    "smlm_render": smlm_render,
    "cryo_ctf_carbon": cryo_ctf,
}
CASES = {**ATOM_CASES, **PARTICLE_CASES}


def make(name: str, seed: int = 0) -> dict:
    """The scene ``name``, seeded by its name and ``seed``."""
    return CASES[name](np.random.default_rng([seed, 47, sum(map(ord, name))]))


def run(name: str, seed: int, case=None) -> dict:
    return scene_row(name, seed, make(name, seed) if case is None else case, score_scene)


def main(argv=None) -> int:
    return scene_table(
        "stranger_optical", CASES, run, argv, width=20, description=__doc__.splitlines()[0]
    )


if __name__ == "__main__":
    sys.exit(main())
