"""Default detection on a sixth, blind stranger generator's scenes (issue 9, generalisation).

``python benchmarks/stranger_blind.py [--seeds 0,1,2] [--only NAME,...]`` renders seeded images
of kinds that :mod:`stranger_atoms`, :mod:`stranger_networks`, :mod:`stranger_particles`,
:mod:`stranger_scenes`, :mod:`stranger_probe`, :mod:`stranger_fresh`, ``robustness.py`` and
``empty_frames.py`` do not draw (only their kinds' names and docstrings were read). It was
written without reading the detector, so that it shares no blind spot with it. Each scene is
detected as the CLI would with no parameter but the mode a user would pick
(:func:`stranger_scenes.detect`) and scored by :func:`stranger_scenes.score_scene` (atoms:
one-to-one within 0.35 x the truth's median neighbour distance, F1 >= 0.90 passes; particles:
within each particle's radius, at least 3 px, precision and recall >= 0.95 pass; a point in an
``invalid`` area, such as an SEM data bar, is a false one). What counts is fixed per scene before
any detection (``rule`` in each row). A table, then one JSON line. The drawing helpers (splats,
probe, Poisson counts, spheres' projected thickness) are :mod:`stranger_fresh`'s.

Atoms: a drifting frame (10-15 % of the frame along a random direction: a sheared, stretched
lattice) whose columns fade to 35-50 % as the beam damages them; a 3.0-3.4 px hexagonal
lattice in 512 x 512; Si [110] dumbbells 2.2-2.7 px apart (both columns counted); an edge
dislocation (columns displaced by its elastic field); a Penrose-tiling quasicrystal (every
vertex); an incommensurate displacive modulation (0.12-0.18 of the spacing); an iDPC image of
SrTiO3 [001] (Sr, Ti-O and O columns counted; 1/k noise and a low-frequency bowl, float with
negative values); an STM topograph of a vicinal surface (4-6 terraces, each shifted by a/sqrt(3),
steps of 10-20 x the corrugation, no plane flattening, a tip change half way, in metres).

Particles: SEM secondary electrons with edge brightening, a detector on one side (bright faces
and shadows) and charging particles streaking along the fast scan, 8-bit; AFM heights dilated
by a spherical tip of radius 8-14 px, with a scanner bow and line offsets, in metres; HAADF
nanocubes (isolated and a self-assembled patch with 2-3 px gaps); bright field over the edge of a
hole in a holey carbon film (a bright vacuum, a thick lip, a Fresnel fringe), 12-bit in uint16
with a 2048 offset; bright field diffraction contrast (each particle's darkness random,
twinned halves, thickness fringes); an EDS element map (256 x 256, a few counts per pixel,
smoothed 3 x 3 as exported); Pt on a crystalline support whose columns show; SEM backscattered
electrons of precipitates in a polished section with grain contrast, scratches and pores; an
SEM frame with its data bar (text and a scale bar) saved as JPEG.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from scene_table import scene_row, scene_table  # noqa: E402
from stranger_fresh import (  # noqa: E402
    HEX,
    atom_case,
    counts,
    draw_bodies,
    gauss_blur,
    gradient,
    inside,
    lattice,
    particle_case,
    place,
    probe_blur,
    splat,
    texture,
)
from stranger_scenes import score_scene  # noqa: E402


# ---------------------------------------------------------------- helpers
def hex_lattice(shape, s, rng, pad=4.0):
    pts, _ = lattice(
        shape, np.multiply(HEX[0], s), np.multiply(HEX[1], s), ((0, 0),), rng.uniform(0, np.pi), pad
    )
    return pts


def merge_within(pts, dist):
    """Points closer than ``dist`` replaced by their mean (greedy pairs)."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(pts).query_pairs(dist, output_type="ndarray")
    gone, extra = set(), []
    for a, b in pairs:
        if a in gone or b in gone:
            continue
        gone.update((a, b))
        extra.append((pts[a] + pts[b]) / 2)
    keep = np.setdiff1d(np.arange(len(pts)), list(gone))
    return np.concatenate([pts[keep], np.array(extra).reshape(-1, 2)])


def to_uint8(image, lo_pct=0.5, hi_pct=99.8):
    """A display export: brightness and contrast set by percentiles, clipped to 8 bits."""
    lo, hi = np.percentile(image, [lo_pct, hi_pct])
    return np.clip(np.round((image - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)


def sphere_normals(shape, centres, radii):
    """Per pixel: the index of the sphere covering it (-1 none) and its normal's in-plane part
    (ny, nx) and cos of its tilt."""
    owner = np.full(shape, -1, int)
    ny, nx, cz = np.zeros(shape), np.zeros(shape), np.ones(shape)
    for k, ((y, x), r) in enumerate(zip(centres, radii)):
        r0, r1 = max(int(y - r - 1), 0), min(int(y + r + 2), shape[0])
        c0, c1 = max(int(x - r - 1), 0), min(int(x + r + 2), shape[1])
        rr, cc = np.mgrid[r0:r1, c0:c1]
        dy, dx = (rr - y) / r, (cc - x) / r
        q = dy**2 + dx**2
        on = q < 1
        owner[r0:r1, c0:c1][on] = k
        ny[r0:r1, c0:c1][on], nx[r0:r1, c0:c1][on] = dy[on], dx[on]
        cz[r0:r1, c0:c1][on] = np.sqrt(1 - q[on])
    return owner, ny, nx, cz


# ---------------------------------------------------------------- atom scenes
def drift_fade(rng):
    """A frame recorded while the sample drifts (the lattice sheared and stretched) and the
    columns fade under the beam (to 35-50 % by the frame's end)."""
    shape, s, sigma = (640, 640), 12.0, 1.4
    a = rng.uniform(0, 2 * np.pi)
    total = rng.uniform(0.10, 0.15) * shape[0]
    v = total * np.array([np.cos(a), np.sin(a)])  # drift over the whole frame, (row, col) px
    end = rng.uniform(0.35, 0.5)
    big = (shape[0] + 2 * int(total) + 40, shape[1] + 2 * int(total) + 40)
    off = np.array([int(total) + 20, int(total) + 20], float)
    pts = hex_lattice(big, s, rng)
    ideal = probe_blur(splat(big, pts, np.ones(len(pts))), sigma)

    def time(r, c):
        return (r + c / shape[1]) / shape[0]

    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    t = time(r, c)
    sample = ndimage.map_coordinates(
        ideal, [r + off[0] + v[0] * t, c + off[1] + v[1] * t], order=3, mode="nearest"
    )
    fade = 1 - (1 - end) * t
    back = 0.1 * gradient(shape, rng, 0.3) + texture(shape, rng, 4, 0.02)
    image = counts(sample * fade + back, 40.0, rng)
    seen = pts - off  # pixel p shows sample p + off + v t(p): solve for p
    for _ in range(10):
        seen = pts - off - v * time(seen[:, 0], seen[:, 1])[:, None]
    seen = seen[inside(seen, shape)]
    rule = f"all columns where they appear (drift {total:.0f} px, fading to {end:.2f})"
    return atom_case(image, seen, rule)


def hex_3px(rng):
    shape, s = (512, 512), rng.uniform(3.0, 3.4)
    pts = hex_lattice(shape, s, rng)
    clean = probe_blur(splat(shape, pts, np.ones(len(pts))), 0.55)
    back = 0.1 * gradient(shape, rng, 0.3) + texture(shape, rng, 3, 0.02)
    image = counts(clean + back, 30.0, rng)
    return atom_case(image, pts[inside(pts, shape)], f"all columns ({s:.2f} px spacing)")


def si110(rng):
    """Si [110]: a centred a x a/sqrt(2) cell of dumbbells 1.36 A long along [001]."""
    shape = (512, 512)
    pix = rng.uniform(0.05, 0.062)  # nm per pixel
    a = 0.543 / pix
    b, half = a / np.sqrt(2), 0.136 / pix / 2
    basis = ((-half, 0.0), (half, 0.0), (a / 2 - half, b / 2), (a / 2 + half, b / 2))
    pts, _ = lattice(shape, (a, 0.0), (0.0, b), basis, rng.uniform(0, np.pi))
    clean = probe_blur(splat(shape, pts, np.ones(len(pts))), 0.034 / pix)  # 0.8 A FWHM
    back = 0.15 * gradient(shape, rng, 0.3) + texture(shape, rng, 3, 0.02)
    image = counts(clean + back, 60.0, rng)
    rule = f"both columns of every dumbbell ({2 * half:.2f} px apart)"
    return atom_case(image, pts[inside(pts, shape)], rule)


def edge_dislocation(rng, nu=0.3):
    """A square lattice with an edge dislocation (Burgers vector one spacing) at the centre:
    columns displaced by the isotropic elastic field, the branch cut between two rows."""
    shape, s = (640, 640), 12.0
    ang = rng.uniform(0, np.pi / 2)
    big = (int(shape[0] * 1.5), int(shape[1] * 1.5))  # the frame, whatever the rotation
    pts, _ = lattice(big, (s, 0), (0, s), ((0, 0),), 0.0)
    pts += (np.array(shape) - np.array(big)) / 2
    core = np.array(shape) / 2 + np.array([s / 2, s / 2]) + rng.uniform(-s / 4, s / 4, 2)
    y, x = (pts - core).T
    r2 = np.maximum(x**2 + y**2, 1e-6)
    theta = np.arctan2(y, x)
    ux = s / (2 * np.pi) * (theta + x * y / (2 * (1 - nu) * r2))
    uy = (
        -s
        / (2 * np.pi)
        * ((1 - 2 * nu) / (4 * (1 - nu)) * np.log(r2 / s**2) + (x**2 - y**2) / (4 * (1 - nu) * r2))
    )
    moved = pts + np.stack([uy, ux], 1) - core
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    moved = merge_within(moved @ rot.T + np.array(shape) / 2, 0.45 * s)
    moved = moved[inside(moved, shape, -4)]
    clean = probe_blur(splat(shape, moved, np.ones(len(moved))), 1.4)
    back = 0.1 * gradient(shape, rng, 0.3) + texture(shape, rng, 4, 0.02)
    image = counts(clean + back, 40.0, rng)
    return atom_case(image, moved[inside(moved, shape)], "all columns (the core's too)")


def penrose_vertices(rng, extent):
    """Vertices of a (generalised) Penrose rhombus tiling, edge 1, by de Bruijn's pentagrid."""
    e = np.stack([np.cos(2 * np.pi * np.arange(5) / 5), np.sin(2 * np.pi * np.arange(5) / 5)], 1)
    gamma = rng.uniform(0, 1, 5)
    gamma -= gamma.mean() - 0.2  # sum 1: not the singular grid
    n = int(extent) + 2
    ks = np.arange(-n, n + 1)
    verts = []
    for j in range(5):
        for k in range(j + 1, 5):
            kj, kk = np.meshgrid(ks, ks, indexing="ij")
            kj, kk = kj.ravel(), kk.ravel()
            m = np.array([e[j], e[k]])
            z = np.linalg.solve(m, np.stack([kj - gamma[j], kk - gamma[k]]))  # (2, N)
            kint = np.ceil(e @ z + gamma[:, None])  # (5, N)
            for dj, dk in ((0, 0), (1, 0), (1, 1), (0, 1)):
                kk_ = kint.copy()
                kk_[j], kk_[k] = kj + dj, kk + dk
                verts.append(kk_.T @ e)
    v = np.unique(np.round(np.concatenate(verts), 6), axis=0)
    return v[np.hypot(*v.T) < extent]


def penrose(rng):
    shape, edge = (640, 640), 11.0
    v = penrose_vertices(rng, np.hypot(*shape) / 2 / edge + 2) * edge
    v = merge_within(v, 0.3 * edge)
    pts = v[:, ::-1] + np.array(shape) / 2 + rng.uniform(-edge, edge, 2)
    pts = pts[inside(pts, shape, -4)]
    clean = probe_blur(splat(shape, pts, np.ones(len(pts))), 1.2)
    back = 0.1 * gradient(shape, rng, 0.3) + texture(shape, rng, 4, 0.02)
    image = counts(clean + back, 50.0, rng)
    return atom_case(image, pts[inside(pts, shape)], "every vertex of the Penrose tiling")


def modulated(rng):
    """A square lattice under an incommensurate transverse modulation (positions and
    intensities)."""
    shape, s = (640, 640), 10.0
    pts, _ = lattice(shape, (s, 0), (0, s), ((0, 0),), rng.uniform(0, np.pi / 2), pad=8)
    period = rng.uniform(4.3, 7.7) * s
    a = rng.uniform(0, np.pi)
    q = np.array([np.cos(a), np.sin(a)]) / period
    amp = rng.uniform(0.12, 0.18) * s
    phase = 2 * np.pi * (pts @ q) + rng.uniform(0, 2 * np.pi)
    moved = pts + amp * np.sin(phase)[:, None] * np.array([-np.sin(a), np.cos(a)])
    w = 0.8 + 0.2 * np.cos(phase)
    clean = probe_blur(splat(shape, moved, w), 1.2)
    back = 0.1 * gradient(shape, rng, 0.3) + texture(shape, rng, 4, 0.02)
    image = counts(clean + back, 40.0, rng)
    rule = f"all columns (modulation {amp:.1f} px, period {period / s:.1f} cells)"
    return atom_case(image, moved[inside(moved, shape)], rule)


def idpc(rng):
    """iDPC of SrTiO3 [001]: Sr (1), Ti-O (0.8) and O (0.45) columns, 1/k noise, a bowl."""
    shape, a = (512, 512), 20.0
    basis = ((0, 0), (a / 2, a / 2), (a / 2, 0), (0, a / 2))
    pts, idx = lattice(shape, (a, 0), (0, a), basis, rng.uniform(0, np.pi / 2))
    w = np.array([1.0, 0.8, 0.45, 0.45])[idx[:, 2]]
    clean = probe_blur(splat(shape, pts, w), 1.1, 0.0)
    kr = np.fft.fftfreq(shape[0])[:, None]
    kc = np.fft.fftfreq(shape[1])[None, :]
    k = np.hypot(kr, kc)
    k[0, 0] = 1.0
    noise = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(shape)) / (k * 40)))
    noise *= 0.12 / noise.std()
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]] / shape[0]
    bowl = sum(
        rng.uniform(0.3, 0.6)
        * np.cos(
            2 * np.pi * (rng.uniform(-1.5, 1.5) * r + rng.uniform(-1.5, 1.5) * c)
            + rng.uniform(0, 6.3)
        )
        for _ in range(3)
    )
    image = (clean - clean.mean() + noise + bowl).astype(np.float32)
    return atom_case(image, pts[inside(pts, shape)], "Sr, Ti-O and O (0.45) columns")


def stm_staircase(rng, line=0.25, tip_change=True, flattened=False):
    """A constant-current topograph of a vicinal (111) surface: terraces shifted by a/sqrt(3),
    steps of 10-20 x the atomic corrugation, a plane tilt left in, line offsets and a tip
    change half way down the slow scan; heights in metres. ``line``: the line offsets' standard
    deviation in step heights; ``tip_change``: False keeps the first tip; ``flattened``: the
    corrugation alone, as if perfectly levelled (all three for diagnostics)."""
    shape, s = (512, 512), 9.0
    n_ter = rng.integers(4, 7)
    phi = rng.uniform(-0.4, 0.4) + rng.choice([0.0, np.pi / 2])
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    u = np.cos(phi) * r + np.sin(phi) * c
    u = u + 6 * np.sin(2 * np.pi * (-np.sin(phi) * r + np.cos(phi) * c) / rng.uniform(150, 300))
    edges = np.linspace(u.min(), u.max(), n_ter + 1)
    terrace = np.clip(np.searchsorted(edges, u) - 1, 0, n_ter - 1)
    step_h, corr = 2.4e-10, rng.uniform(0.012, 0.024) * 1e-9
    pts_all = []
    angle = rng.uniform(0, np.pi)
    shift = np.array([0.0, s / np.sqrt(3)])
    for t in range(n_ter):
        pts, _ = lattice(shape, np.multiply(HEX[0], s), np.multiply(HEX[1], s), (t * shift,), angle)
        ij = np.clip(np.round(pts).astype(int), 0, np.array(shape) - 1)
        pts_all.append(pts[terrace[ij[:, 0], ij[:, 1]] == t])
    pts = np.concatenate(pts_all)
    half = shape[0] // 2 + rng.integers(-40, 40) if tip_change else shape[0] + 1
    _ = None if tip_change else rng.integers(-40, 40)
    sig = np.where(r < half, 1.6, rng.uniform(2.2, 2.8))
    amp = np.where(r < half, 1.0, rng.uniform(0.4, 0.6))
    blobs_a = probe_blur(splat(shape, pts, np.ones(len(pts))), 1.6, 0.0)
    blobs_b = probe_blur(splat(shape, pts, np.ones(len(pts))), float(sig[-1, 0]), 0.0)
    blobs_b *= blobs_a.max() / max(blobs_b.max(), 1e-12)
    atoms = np.where(r < half, blobs_a, blobs_b) * amp
    tilt = rng.uniform(-1, 1, 2) * n_ter * step_h / shape[0] * 1.5
    z = terrace * step_h + corr * atoms / max(blobs_a.max(), 1e-12) + tilt[0] * r + tilt[1] * c
    z += np.where(r >= half, rng.uniform(-3, 3) * step_h, 0.0)  # the tip change's z jump
    z += rng.normal(0, line * step_h, shape[0])[:, None]  # line offsets
    z += rng.normal(0, 0.08 * corr, shape)
    if flattened:
        z = corr * atoms / max(blobs_a.max(), 1e-12) + rng.normal(0, 0.08 * corr, shape)
    step_band = ndimage.morphological_gradient(terrace, size=3) > 0
    ignore = ndimage.distance_transform_edt(~step_band) < 0.6 * s
    rule = f"atoms on all {n_ter} terraces (a band of 0.6 spacing at the steps left out)"
    case = atom_case(z.astype(np.float32), pts[inside(pts, shape)], rule)
    case["ignore"] = ignore
    return case


# ---------------------------------------------------------------- particle scenes
def sem_shadow(rng, charging_share=1 / 6):
    """SEM secondary electrons: spheres brighter at their rims (1/cos of the surface tilt),
    the faces towards the Everhart-Thornley detector brighter and a shadow behind each on
    the substrate; one in six charges (saturates, streaks along the fast scan). 8-bit."""
    shape = (768, 1024)
    radii = rng.uniform(6, 20, 110)
    centres, radii = place(rng, shape, radii, gap=5)
    det = rng.uniform(0, 2 * np.pi)
    d = np.array([np.sin(det), np.cos(det)])
    owner, ny, nx, cz = sphere_normals(shape, centres, radii)
    facing = ny * d[0] + nx * d[1]
    yield_ = np.where(owner >= 0, 0.9 * np.minimum(cz**-0.9, 4.0) * (1 + 0.45 * facing), 0.5)
    shade = np.ones(shape)
    for (y, x), rad in zip(centres, radii):
        length = 1.6 * rad
        r0, r1 = max(int(y - rad - length - 2), 0), min(int(y + rad + length + 3), shape[0])
        c0, c1 = max(int(x - rad - length - 2), 0), min(int(x + rad + length + 3), shape[1])
        rr, cc = np.mgrid[r0:r1, c0:c1]
        qy, qx = rr - y, cc - x
        t = qy * d[0] + qx * d[1]
        perp = np.abs(qy * d[1] - qx * d[0])
        on = (t < 0) & (t > -length) & (perp < rad)
        shade[r0:r1, c0:c1] = np.minimum(
            shade[r0:r1, c0:c1], np.where(on, 0.55 + 0.45 * (-t / length), 1)
        )
    scene = np.where(owner >= 0, yield_, yield_ * shade) + texture(shape, rng, 2, 0.02)
    charging = rng.random(len(radii)) < charging_share
    for k in np.flatnonzero(charging):
        scene[owner == k] *= 2.5
    scene = gauss_blur(scene, 0.8)
    tail = np.zeros(shape)
    for k in np.flatnonzero(charging):  # after a charging particle, the line stays bright
        y, x = centres[k]
        rad = radii[k]
        for row in range(max(int(y - rad), 0), min(int(y + rad + 1), shape[0])):
            start = int(x + np.sqrt(max(rad**2 - (row - y) ** 2, 0)))
            span = np.arange(start, shape[1]) - start
            tail[row, start:] += rng.uniform(0.3, 0.6) * np.exp(-span / rng.uniform(20, 60))
    image = counts(scene + tail, 30.0, rng, read=1.0)
    image = np.clip(np.round(image * 255 / (30.0 * 1.6)), 0, 255).astype(np.uint8)
    rule = "every sphere at its centre (charging ones too; shadows and streaks are not)"
    return particle_case(image, centres, radii, rule)


def afm_tip(rng):
    """AFM heights of spheres on a flat substrate, dilated by a spherical tip (radius 8-14 px),
    with a tilted plane, a scanner bow along the fast scan and line offsets; metres."""
    shape, pix = (512, 512), 2e-9
    radii = rng.uniform(4, 12, 70)
    centres, radii = place(rng, shape, radii, gap=2)
    surface = np.zeros(shape)
    for (y, x), rad in zip(centres, radii):
        r0, r1 = max(int(y - rad - 1), 0), min(int(y + rad + 2), shape[0])
        c0, c1 = max(int(x - rad - 1), 0), min(int(x + rad + 2), shape[1])
        rr, cc = np.mgrid[r0:r1, c0:c1]
        q2 = (rr - y) ** 2 + (cc - x) ** 2
        top = rad + np.sqrt(np.clip(rad**2 - q2, 0, None))
        surface[r0:r1, c0:c1] = np.maximum(surface[r0:r1, c0:c1], np.where(q2 < rad**2, top, 0))
    tip_r = rng.uniform(8, 14)
    h = int(np.ceil(2 * tip_r))
    ty, tx = np.mgrid[-h : h + 1, -h : h + 1]
    d2 = ty**2 + tx**2
    tip = np.where(
        d2 <= tip_r**2,
        tip_r - np.sqrt(np.clip(tip_r**2 - d2, 0, None)),
        tip_r + (np.sqrt(d2) - tip_r) * 2.0,
    )
    seen = ndimage.grey_dilation(surface, structure=-tip, mode="nearest")
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    z = seen * pix
    z += (rng.uniform(-1, 1) * r + rng.uniform(-1, 1) * c) * 20 * pix / shape[0]
    z += rng.uniform(2, 6) * pix * ((c - shape[1] / 2) / (shape[1] / 2)) ** 2  # scanner bow
    z += rng.normal(0, 1.5 * pix, shape[0])[:, None]
    z += rng.normal(0, 0.15 * pix, shape)
    rule = f"every sphere at its centre (tip radius {tip_r:.1f} px)"
    return particle_case(z.astype(np.float32), centres, radii, rule)


def cube_mask(shape, centre, edge, angle, sub=3):
    """Coverage (0-1) of a square of side ``edge`` rotated by ``angle`` and its bounding box."""
    y, x = centre
    h = edge / np.sqrt(2) + 2
    r0, r1 = max(int(y - h), 0), min(int(y + h + 1), shape[0])
    c0, c1 = max(int(x - h), 0), min(int(x + h + 1), shape[1])
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    rr = np.arange(r0, r1)[:, None, None, None] + offs[None, None, :, None] - y
    cc = np.arange(c0, c1)[None, :, None, None] + offs[None, None, None, :] - x
    u = np.cos(angle) * rr + np.sin(angle) * cc
    v = -np.sin(angle) * rr + np.cos(angle) * cc
    cover = ((np.abs(u) < edge / 2) & (np.abs(v) < edge / 2)).mean(axis=(2, 3))
    return cover, (slice(r0, r1), slice(c0, c1))


def nanocubes(rng):
    """HAADF of nanocubes on [001] (flat squares): a self-assembled patch with 2-3 px gaps and
    isolated cubes at random angles."""
    shape = (1024, 1024)
    edge0 = rng.uniform(12, 20)
    gap = rng.uniform(2, 3)
    ang = rng.uniform(0, np.pi / 2)
    pitch = edge0 + gap
    n = rng.integers(5, 8)
    origin = rng.uniform(0.3, 0.45, 2) * np.array(shape)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    grid = np.stack([ii.ravel(), jj.ravel()], 1) * pitch
    patch = origin + grid @ rot.T
    patch = patch[rng.random(len(patch)) > 0.1]  # a few vacancies
    centres, edges, angles = list(patch), [edge0] * len(patch), [ang] * len(patch)
    for _ in range(3000):
        if len(centres) >= len(patch) + 60:
            break
        e = rng.uniform(10, 24)
        p = rng.uniform(e, np.array(shape) - e)
        if np.all(np.hypot(*(np.array(centres) - p).T) > (np.array(edges) + e) * 0.75 + 4):
            centres.append(p)
            edges.append(e)
            angles.append(rng.uniform(0, np.pi / 2))
    centres, edges = np.array(centres), np.array(edges)
    body = np.zeros(shape)
    for p, e, a in zip(centres, edges, angles):
        cover, sl = cube_mask(shape, p, e, a)
        body[sl] += cover * e / 16
    clean = (
        probe_blur(body, 0.8, 0.0)
        + 0.08 * gradient(shape, rng, 0.4)
        + texture(shape, rng, 2, 0.025)
    )
    image = counts(clean, 120.0, rng)
    keep = inside(centres, shape, 0)
    return particle_case(
        image,
        centres[keep],
        edges[keep] / 2,
        "every cube, in the patch or alone",
        clean=clean,
        dose=120.0,
    )


def holey_edge(rng):
    """Bright field over the edge of a hole in a holey carbon film: vacuum brighter than the
    film, a thicker lip and a Fresnel fringe at the edge; dark particles on the film and on the
    edge. A 12-bit camera stored in uint16 with a 2048 offset."""
    shape = (1024, 1024)
    hole_r = rng.uniform(0.45, 0.7) * shape[0]
    a = rng.uniform(0, 2 * np.pi)
    hc = np.array(shape) / 2 + (hole_r + rng.uniform(-0.15, 0.2) * shape[0]) * np.array(
        [np.cos(a), np.sin(a)]
    )
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    dist = np.hypot(r - hc[0], c - hc[1]) - hole_r  # < 0 in the hole
    film = np.where(dist > 0, 0.35 + 0.5 * np.exp(-dist / 12), 0.0)  # thickness, a lip
    radii = rng.uniform(4, 11, 140)
    centres, radii = place(rng, shape, radii, gap=3)
    dc = np.hypot(centres[:, 0] - hc[0], centres[:, 1] - hc[1]) - hole_r
    keep = dc > -0.5 * radii  # on the film or resting on the edge
    centres, radii = centres[keep], radii[keep]
    thick = draw_bodies(shape, centres, radii, np.full(len(radii), 1.0))
    trans = np.exp(-0.45 * film - 0.7 * thick) * (1 + texture(shape, rng, 2, 0.03) * (dist > 0))
    fringe = 0.12 * np.exp(-((dist + 2) ** 2) / 4) - 0.06 * np.exp(-((dist - 3) ** 2) / 6)
    clean = gauss_blur(trans, 1.0) + fringe
    e = counts(clean, 600.0, rng, read=4.0) * 2.6  # camera gain 2.6 ADU per count
    image = np.clip(np.round(e + 2048), 0, 4095).astype(np.uint16)
    rule = "every particle, on the film or resting on the hole's edge"
    return particle_case(image, centres, radii, rule, clean=clean, dose=600.0)


def diffraction_contrast(rng):
    """Bright field of crystalline particles: each one's darkness random (diffraction), one in
    four twinned (its halves differ), the darkest with thickness fringes."""
    shape = (1024, 1024)
    radii = rng.uniform(8, 20, 80)
    centres, radii = place(rng, shape, radii, gap=4)
    body = np.zeros(shape)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    for (y, x), rad in zip(centres, radii):
        r0, r1 = max(int(y - rad - 1), 0), min(int(y + rad + 2), shape[0])
        c0, c1 = max(int(x - rad - 1), 0), min(int(x + rad + 2), shape[1])
        rr, cc = r[r0:r1, c0:c1] - y, c[r0:r1, c0:c1] - x
        q2 = (rr**2 + cc**2) / rad**2
        disc = np.clip(1 - q2, 0, None)
        t = np.sqrt(disc)
        strength = rng.uniform(0.05, 1.0) * np.ones_like(t)
        if rng.random() < 0.25:
            a = rng.uniform(0, np.pi)
            off = rng.uniform(-0.4, 0.4) * rad
            other = rng.uniform(0.05, 1.0)
            strength = np.where(np.cos(a) * rr + np.sin(a) * cc > off, strength, other)
        fringes = 1 + 0.4 * np.cos(2 * np.pi * t * rad / rng.uniform(4, 8)) * (strength > 0.6)
        dark = (0.25 * t + 1.2 * strength * np.minimum(4 * t, 1) * fringes) * (q2 < 1)
        body[r0:r1, c0:c1] += dark
    trans = np.exp(-body) * gradient(shape, rng, 0.2) * (1 + texture(shape, rng, 2, 0.03))
    clean = gauss_blur(trans, 1.0)
    image = counts(clean, 300.0, rng)
    rule = "every particle, whatever its diffraction contrast"
    return particle_case(image, centres, radii, rule, clean=clean, dose=300.0)


def eds_map(rng, smooth=3):
    """An EDS element map: 256 x 256, a few counts per pixel on particles, a background under
    the peak, the export's 3 x 3 smoothing (a sum of 9 pixels)."""
    shape = (256, 256)
    radii = rng.uniform(3, 8, 55)
    centres, radii = place(rng, shape, radii, gap=3)
    thick = draw_bodies(shape, centres, radii, 2 + 3 * radii / 8)
    lam = thick + 0.3 * gradient(shape, rng, 0.5)
    raw = rng.poisson(np.clip(lam, 0, None)).astype(np.float64)
    image = np.round(ndimage.uniform_filter(raw, smooth, mode="nearest") * smooth**2)
    image = image.astype(np.uint16)
    return particle_case(image, centres, radii, "every particle", clean=lam, dose=1.0)


def crystal_support(rng):
    """HAADF of Pt particles on a crystalline oxide: the support's columns (5-7 px, 0.25-0.35
    of a particle's peak, a thickness ramp) show; each particle shows its own lattice."""
    shape = (768, 768)
    s = rng.uniform(5, 7)
    pts = (
        hex_lattice(shape, s, rng)
        if rng.random() < 0.5
        else lattice(shape, (s, 0), (0, s), ((0, 0),), rng.uniform(0, np.pi / 2))[0]
    )
    support = probe_blur(splat(shape, pts, np.full(len(pts), rng.uniform(0.25, 0.35))), 0.8, 0.0)
    support *= gradient(shape, rng, 0.6)
    radii = rng.uniform(5, 14, 45)
    centres, radii = place(rng, shape, radii, gap=6)
    body = draw_bodies(shape, centres, radii, radii / 8)
    own = np.zeros(shape)
    for (y, x), rad in zip(centres, radii):
        sub = hex_lattice(shape, 4.0, rng)
        sub = sub[np.hypot(sub[:, 0] - y, sub[:, 1] - x) < rad]
        own += splat(shape, sub, np.ones(len(sub)))
    grains = probe_blur(own, 0.8, 0.0)
    grains /= max(grains.max(), 1e-12)
    covered = body > 0
    clean = support * np.where(covered, 0.5, 1) + body * (0.75 + 0.25 * grains) + 0.03
    image = counts(probe_blur(clean, 0.6, 0.0), 80.0, rng)
    rule = "every Pt particle (the support's columns are not particles)"
    return particle_case(image, centres, radii, rule, clean=clean, dose=80.0)


def bse_section(rng):
    """SEM backscattered electrons of a polished section: bright precipitates (ellipses), a
    matrix of grains (channelling contrast), polishing scratches and dark pores; 8-bit."""
    shape = (768, 1024)
    n_grains = 25
    seeds = rng.uniform(0, 1, (n_grains, 2)) * np.array(shape)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
    from scipy.spatial import cKDTree

    grain = cKDTree(seeds).query(np.stack([r.ravel(), c.ravel()], 1))[1].reshape(shape)
    scene = 0.4 * (1 + rng.uniform(-0.08, 0.08, n_grains)[grain])
    radii = rng.uniform(4, 15, 90)
    centres, radii = place(rng, shape, radii * 1.3, gap=4)
    radii = radii / 1.3
    eq = np.zeros(len(radii))
    for k, ((y, x), rad) in enumerate(zip(centres, radii)):
        asp = rng.uniform(1, 1.6)
        a_, b_ = rad * np.sqrt(asp), rad / np.sqrt(asp)
        th = rng.uniform(0, np.pi)
        u = np.cos(th) * (r - y) + np.sin(th) * (c - x)
        v = -np.sin(th) * (r - y) + np.cos(th) * (c - x)
        scene = np.where((u / a_) ** 2 + (v / b_) ** 2 < 1, 0.75, scene)
        eq[k] = np.sqrt(a_ * b_)
    for _ in range(rng.integers(8, 15)):  # scratches: long straight lines, dark or bright
        th = rng.uniform(0, np.pi)
        p = rng.uniform(0, 1, 2) * np.array(shape)
        dist = np.abs(-np.sin(th) * (r - p[0]) + np.cos(th) * (c - p[1]))
        scene = scene + rng.choice([-0.08, 0.05]) * np.exp(
            -(dist**2) / (2 * rng.uniform(0.5, 1.0) ** 2)
        )
    for _ in range(rng.integers(6, 12)):  # pores: dark holes
        p = rng.uniform(10, np.array(shape) - 10)
        rad = rng.uniform(3, 8)
        if np.all(np.hypot(*(centres - p).T) > radii * 1.6 + rad + 3):
            scene = np.where(np.hypot(r - p[0], c - p[1]) < rad, 0.08, scene)
    clean = gauss_blur(scene, 1.0)
    image = to_uint8(counts(clean, 60.0, rng, read=1.0))
    return particle_case(
        image, centres, np.maximum(eq, 3.0), "every precipitate (pores and scratches are not)"
    )


def databar_jpeg(rng):
    """An SEM frame exported with its data bar (black, white text, a scale bar) as JPEG."""
    from PIL import Image, ImageDraw, ImageFont

    rows, bar, cols = 768, 72, 1024
    shape = (rows + bar, cols)
    radii = rng.uniform(5, 16, 90)
    centres, radii = place(rng, (rows, cols), radii, gap=4)
    owner, _, _, cz = sphere_normals((rows, cols), centres, radii)
    scene = np.where(owner >= 0, 0.8 * np.minimum(cz**-0.8, 3.5), 0.35)
    scene = gauss_blur(scene + texture((rows, cols), rng, 2, 0.02), 0.8)
    top = to_uint8(counts(scene, 25.0, rng, read=1.0), 0.1, 99.9)
    full = np.zeros(shape, np.uint8)
    full[:rows] = top
    im = Image.fromarray(full)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=22)
    text = (
        f"HV 5.00 kV   mag {rng.integers(20, 200)} 000 x   WD 4.{rng.integers(0, 9)} mm   det TLD"
    )
    draw.text((14, rows + 10), text, fill=255, font=font)
    draw.text((14, rows + 40), "HFW 2.07 um   SE   spot 3.0", fill=255, font=font)
    x0 = cols - 260
    draw.rectangle([x0, rows + 44, x0 + 200, rows + 50], fill=255)
    draw.text((x0 + 70, rows + 12), "500 nm", fill=255, font=font)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=int(rng.integers(70, 86)))
    image = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    invalid = np.zeros(shape, bool)
    invalid[rows:] = True
    rule = "every sphere above the data bar (a point in the bar is false)"
    return particle_case(image, centres, radii, rule, invalid=invalid)


ATOM_CASES = {
    "drift_fade": drift_fade,
    "hex_3px_512": hex_3px,
    "si110_dumbbells": si110,
    "edge_dislocation": edge_dislocation,
    "penrose": penrose,
    "incommensurate": modulated,
    "idpc_srtio3": idpc,
    "stm_staircase": stm_staircase,
}
PARTICLE_CASES = {
    "sem_shadow_charging": sem_shadow,
    "afm_tip_dilation": afm_tip,
    "nanocubes": nanocubes,
    "holey_edge_bf": holey_edge,
    "bf_diffraction": diffraction_contrast,
    "eds_map": eds_map,
    "pt_on_crystal": crystal_support,
    "bse_section": bse_section,
    "sem_databar_jpeg": databar_jpeg,
}
CASES = {**ATOM_CASES, **PARTICLE_CASES}


def make(name: str, seed: int = 0) -> dict:
    """The scene ``name``, seeded by its name and ``seed``."""
    return CASES[name](np.random.default_rng([seed, 43, sum(map(ord, name))]))


def run(name: str, seed: int, case=None) -> dict:
    return scene_row(name, seed, make(name, seed) if case is None else case, score_scene)


def main(argv=None) -> int:
    return scene_table(
        "stranger_blind", CASES, run, argv, width=20, description=__doc__.splitlines()[0]
    )


if __name__ == "__main__":
    sys.exit(main())
