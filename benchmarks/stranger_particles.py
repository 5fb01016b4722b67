"""Default particle detection on a stranger's images: an independent generator (issue 9, 18b).

``python benchmarks/stranger_particles.py [--seeds 0,1,2] [--only NAME,...]`` draws particle
micrographs with a generator written apart from :mod:`napari_ivae.core.synthetic` (whose
images the defaults were tuned on, so that the two share no blind spot by construction),
detects with no parameter (``detect_particles(image)``), and scores with the rule of
``../shared/tools/detection_scoreboard.py`` (one-to-one matching within half the smaller box
side of each particle, at least 3 px; points within 3 px of the frame ignored). A table, then
one JSON line.

The images: bright-field TEM (dark particles, Beer-Lambert absorption of a projected
thickness, on amorphous carbon with vignetting and a gradient; a Fresnel fringe as a
defocus overshoot; lacey carbon with holes and strands) or HAADF (bright particles with
lattice fringes inside, on a noisy support); lognormal sizes (radius 3-80 px); spheres,
faceted prisms, rods (capsules, aspect 2-4), core-shell particles, aggregates and overlapping
pairs; Poisson counts, 8-bit with 1 % saturated; a burned-in scale bar and its text label.
Frames with no particle (carbon, lacey carbon, a HAADF support) report the count found and
whether a warning doubts them (the self-check's or the noise warning, as the CLI prints).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

HERE = str(Path(__file__).resolve().parent)  # benchmarks/, where robustness.py lies


def _smooth_noise(rng, shape, sigma):
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return n / (n.std() + 1e-12)


def _place(rng, shape, radii, taken, min_gap_factor=1.0, tries=200, allowed=None, margin=0):
    """Random centres for radii, non-overlapping (distance >= factor*(r1+r2))."""
    pts, rr = [], []
    for r in radii:
        for _ in range(tries):
            c = rng.uniform([margin, margin], [shape[0] - margin, shape[1] - margin])
            if allowed is not None and not allowed[int(c[0]), int(c[1])]:
                continue
            ok = True
            for p, q in taken + list(zip(pts, rr)):
                if np.hypot(*(c - p)) < min_gap_factor * (r + q):
                    ok = False
                    break
            if ok:
                pts.append(c)
                rr.append(r)
                break
    return pts, rr


def _thickness(shape, c, r, kind, rng, aspect=1.0, angle=0.0, sides=6):
    """Projected thickness of one particle in a window; returns (slices, t, semi_minor)."""
    ext = int(np.ceil(max(r * aspect, r) + 2))
    r0, r1 = max(0, int(c[0]) - ext), min(shape[0], int(c[0]) + ext + 1)
    c0, c1 = max(0, int(c[1]) - ext), min(shape[1], int(c[1]) + ext + 1)
    yy, xx = np.mgrid[r0:r1, c0:c1].astype(float)
    dy, dx = yy - c[0], xx - c[1]
    ca, sa = np.cos(angle), np.sin(angle)
    u, v = ca * dx + sa * dy, -sa * dx + ca * dy
    if kind == "sphere":
        d2 = (u / 1.0) ** 2 + v**2
        t = np.sqrt(np.clip(r * r - d2, 0, None))
        minor = r
    elif kind == "rod":  # capsule of half-width r, half-length r*aspect
        half = max(r * aspect - r, 0)
        uu = np.clip(np.abs(u) - half, 0, None)
        t = np.sqrt(np.clip(r * r - uu**2 - v**2, 0, None))
        minor = r
    elif kind == "facet":  # prism: regular polygon, flat thickness with soft edge
        ang = np.arctan2(v, u)
        sector = 2 * np.pi / sides
        a = (ang % sector) - sector / 2
        rho = np.hypot(u, v) * np.cos(a)  # distance along the facet normal
        apothem = r * np.cos(np.pi / sides)
        t = np.clip((apothem - rho) / 1.0, 0, 1) * r * 1.2
        minor = apothem
    else:
        raise ValueError(kind)
    return (slice(r0, r1), slice(c0, c1)), t, minor


def make(
    seed=0,
    shape=(768, 1152),
    n=60,
    r_median=10.0,
    r_sigma=0.3,
    mode="bf",  # bf (dark particles) | haadf (bright)
    kinds=("sphere",),
    kind_p=None,
    aggregates=0,
    agg_size=(3, 6),
    overlap=0.0,  # share of particles placed overlapping a neighbour
    lacey=False,
    vignette=0.3,
    gradient=0.15,
    fresnel=0.0,  # overshoot amplitude (bright halo around dark particles)
    fresnel_sigma=2.0,
    carbon_texture=0.04,
    dose=200.0,  # counts per pixel on the support
    scale_bar=True,
    text=True,
    bits8=True,
    saturate=0.01,  # share of pixels clipped at 255
    core_shell=0.0,  # share of core-shell particles
    fringes=0.0,  # HAADF lattice fringes inside particles (relative amplitude)
    contrast=1.0,  # particle absorption scale
    blur=0.8,
):
    rng = np.random.default_rng(seed)
    H, W = shape
    radii = np.clip(r_median * np.exp(r_sigma * rng.standard_normal(n)), 3, 80)
    # support: lacey carbon -> holes (vacuum) and strands
    carbon = np.ones(shape)
    if lacey:
        big = _smooth_noise(rng, shape, min(shape) / 10)
        holes = big > 0.6
        # thin strands: ridges of another smooth field
        s2 = _smooth_noise(rng, shape, min(shape) / 25)
        strands = np.abs(s2) < 0.08
        carbon = np.where(holes & ~strands, 0.0, 1.0)
        carbon = ndimage.gaussian_filter(carbon, 1.5)
        allowed = carbon > 0.5  # particles sit on carbon
    else:
        allowed = np.ones(shape, bool)
    if scale_bar:  # no particle under the burned-in bar and its label (a truth no one can box)
        allowed[H - H // 20 - max(4, H // 100) - H // 12 - 20 :, W - W // 20 - W // 6 - 20 :] = (
            False
        )
    tex = carbon_texture * (
        0.6 * _smooth_noise(rng, shape, 1.0) + 0.4 * _smooth_noise(rng, shape, 3.0)
    )
    # particles
    kind_p = kind_p or [1.0 / len(kinds)] * len(kinds)
    truth = []  # (row, col, half_min_box)
    t_heavy = np.zeros(shape)
    t_light = np.zeros(shape)  # shells
    fringe_field = np.zeros(shape)
    order = np.argsort(-radii)
    radii = radii[order]
    n_agg_particles = 0
    taken = []
    centres, rr = [], []
    # aggregates: chains of touching particles
    for _ in range(aggregates):
        k = rng.integers(agg_size[0], agg_size[1] + 1)
        ra = np.clip(r_median * np.exp(r_sigma * rng.standard_normal(k)), 3, 80)
        start, _ = _place(rng, shape, [ra[0] * 3], taken, 1.0, allowed=allowed, margin=ra[0] * 3)
        if not start:
            continue
        pts = [start[0]]
        rs = [ra[0]]
        for r in ra[1:]:
            for _t in range(50):
                host = rng.integers(len(pts))
                ang = rng.uniform(0, 2 * np.pi)
                d = (rs[host] + r) * rng.uniform(0.85, 1.0)
                c = pts[host] + d * np.array([np.sin(ang), np.cos(ang)])
                if not (r < c[0] < H - r and r < c[1] < W - r) or not allowed[int(c[0]), int(c[1])]:
                    continue
                if all(np.hypot(*(c - p)) >= 0.85 * (q + r) for p, q in zip(pts, rs)):
                    pts.append(c)
                    rs.append(r)
                    break
        for p, q in zip(pts, rs):
            taken.append((p, q))
            centres.append(p)
            rr.append(q)
        n_agg_particles += len(pts)
    n_over = int(overlap * n)
    p1, r1 = _place(rng, shape, list(radii[n_over:]), taken, 1.15, allowed=allowed, margin=2)
    centres += p1
    rr += r1
    taken += list(zip(p1, r1))
    for r in radii[:n_over]:  # overlapping a placed one
        if not centres:
            break
        host = rng.integers(len(centres))
        ang = rng.uniform(0, 2 * np.pi)
        d = (rr[host] + r) * rng.uniform(0.7, 0.85)
        c = centres[host] + d * np.array([np.sin(ang), np.cos(ang)])
        inside = r < c[0] < H - r and r < c[1] < W - r and allowed[int(c[0]), int(c[1])]
        if inside and all(np.hypot(*(c - p)) >= 0.7 * (q + r) for p, q in zip(centres, rr)):
            centres.append(c)
            rr.append(r)
    for c, r in zip(centres, rr):
        kind = rng.choice(kinds, p=kind_p)
        aspect = rng.uniform(2.0, 4.0) if kind == "rod" else 1.0
        if kind == "rod":
            r = max(3.0, r / np.sqrt(aspect))
        angle = rng.uniform(0, np.pi)
        sl, t, minor = _thickness(
            shape, c, r, kind, rng, aspect, angle, sides=rng.choice([4, 5, 6, 8])
        )
        if rng.random() < core_shell:
            _, tc, _ = _thickness(shape, c, 0.6 * r, "sphere", rng)
            # window sizes differ: recompute core on the same window
            yy, xx = np.mgrid[sl[0], sl[1]].astype(float)
            tc = np.sqrt(np.clip((0.6 * r) ** 2 - (yy - c[0]) ** 2 - (xx - c[1]) ** 2, 0, None))
            t_light[sl] += t - tc
            t_heavy[sl] += tc
        else:
            t_heavy[sl] += t
        if fringes:
            yy, xx = np.mgrid[sl[0], sl[1]].astype(float)
            period = rng.uniform(2.5, 5.0)
            th = rng.uniform(0, np.pi)
            ph = rng.uniform(0, 2 * np.pi)
            f = np.cos(2 * np.pi * (np.cos(th) * xx + np.sin(th) * yy) / period + ph)
            fringe_field[sl] += np.where(t > 0, f, 0)
        if kind == "rod":
            # box of a rotated capsule
            L = r * aspect
            hw = abs(L * np.cos(angle)) + r * abs(np.sin(angle))
            hh = abs(L * np.sin(angle)) + r * abs(np.cos(angle))
            half_min = min(hw, hh)
        else:
            half_min = minor
        truth.append((c[0], c[1], half_min))
    # illumination
    yy, xx = np.mgrid[0:H, 0:W].astype(float)
    rad2 = ((yy - H / 2) / (H / 2)) ** 2 + ((xx - W / 2) / (W / 2)) ** 2
    ang = rng.uniform(0, 2 * np.pi)
    illum = (1 - vignette * rad2 / 2) * (
        1 + gradient * ((np.cos(ang) * (xx / W - 0.5)) + np.sin(ang) * (yy / H - 0.5))
    )
    scale = contrast / max(r_median, 3.0)
    if mode == "bf":
        mu_c = 0.25
        trans = np.exp(-mu_c * carbon * (1 + tex) - 1.6 * scale * t_heavy - 0.5 * scale * t_light)
        img = ndimage.gaussian_filter(trans, blur)
        if fresnel:
            img = img + fresnel * (img - ndimage.gaussian_filter(img, fresnel_sigma))
        img = img * illum
    else:
        z = 1.0 * scale * t_heavy * (1 + fringes * fringe_field) + 0.35 * scale * t_light
        img = 0.08 * carbon * (1 + 3 * tex) + z
        img = ndimage.gaussian_filter(img, blur) * illum + 0.02
    img = np.clip(img, 0, None)
    counts = rng.poisson(img * dose / max(np.median(img), 1e-6)).astype(float)
    out = counts
    if bits8:
        lo = np.percentile(out, 0.2)
        hi = np.percentile(out, 100 * (1 - saturate))
        out = np.clip((out - lo) / (hi - lo) * 255, 0, 255).round()
    peak = out.max()
    # scale bar + text (white in BF on bright? use white bar on dark box or black bar)
    if scale_bar:
        bh = max(4, H // 100)
        bw = W // 6
        r0 = H - H // 20 - bh
        c0 = W - W // 20 - bw
        val = peak if mode == "haadf" or rng.random() < 0.5 else 0.0
        out[r0 : r0 + bh, c0 : c0 + bw] = val
        if text:
            from PIL import Image, ImageDraw, ImageFont

            try:
                font = ImageFont.load_default(size=max(12, H // 30))
            except TypeError:
                font = ImageFont.load_default()
            canvas = Image.new("L", (bw + 40, H // 12), 0)
            ImageDraw.Draw(canvas).text((0, 0), f"{rng.integers(2, 200)} nm", fill=255, font=font)
            a = np.array(canvas) > 127
            tr0 = r0 - a.shape[0] - 4
            if tr0 > 0:
                region = out[tr0 : tr0 + a.shape[0], c0 : c0 + a.shape[1]]
                region[a[: region.shape[0], : region.shape[1]]] = val
    return out.astype(np.float32), np.array(truth).reshape(-1, 3)


def score(truth, det, shape, margin=3.0):
    """The scoreboard's particle rule (robustness.py's :func:`score`): each true particle
    matched one to one within its radius (at least 3 px), points within ``margin`` of the
    frame left out."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    from robustness import score as scoreboard_score

    return scoreboard_score(truth[:, :2], det, np.maximum(3.0, truth[:, 2]), margin, shape)


CASES = {
    "bf_sparse26": dict(n=26, r_median=14, fresnel=0.0),
    "bf_fresnel65": dict(n=65, r_median=11, fresnel=1.0, fresnel_sigma=2.5),
    "bf_dense234": dict(n=234, r_median=9, fresnel=0.5),
    "bf_lacey80": dict(n=80, r_median=8, lacey=True, fresnel=0.6),
    "bf_small300": dict(n=300, r_median=4, r_sigma=0.2, dose=100),
    "bf_large15": dict(n=15, r_median=45, r_sigma=0.35),
    "bf_shapes80": dict(n=80, r_median=10, kinds=("sphere", "facet", "rod")),
    "bf_aggreg": dict(n=25, r_median=9, aggregates=12),
    "bf_overlap100": dict(n=100, r_median=10, overlap=0.3),
    "bf_spread150": dict(n=150, r_median=8, r_sigma=0.6),
    "bf_coreshell60": dict(n=60, r_median=14, core_shell=1.0, fresnel=0.5),
    "bf_lowcontrast": dict(n=80, r_median=8, contrast=0.35, dose=80),
    "haadf_fringes80": dict(n=80, r_median=10, mode="haadf", fringes=0.5, dose=20),
    "haadf_small200": dict(n=200, r_median=4, r_sigma=0.25, mode="haadf", dose=10),
    "haadf_coreshell": dict(n=60, r_median=12, mode="haadf", core_shell=1.0, fringes=0.3, dose=30),
    "haadf_lacey": dict(n=100, r_median=6, mode="haadf", lacey=True, dose=30),
    "bf_500_2k": dict(n=500, r_median=12, shape=(2048, 2048), fresnel=0.5),
}
EMPTY = {
    "empty_carbon": dict(n=0, fresnel=0.5),
    "empty_lacey": dict(n=0, lacey=True),
    "empty_haadf": dict(n=0, mode="haadf", dose=20),
}


def main(argv=None) -> int:
    import argparse
    import json
    import sys
    import time

    from napari_ivae.core.detection.particle_contrast import noise_warning
    from napari_ivae.core.detection.particles import detect_particles

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    names = [x for x in args.only.split(",") if x] or list(CASES) + list(EMPTY)
    rows = []
    for name in names:
        for seed in seeds:
            image, truth = make(seed=seed, **{**CASES, **EMPTY}[name])
            start = time.process_time()
            found = detect_particles(image)
            seconds = time.process_time() - start
            points = found.coords[:, 1:]
            resolved = found.params.get("resolved", {})
            # as the CLI prints: the noise warning and the self-check's (the masked scale
            # bar's note says nothing about the particles)
            doubts = [
                w for w in found.quality.get("warnings", []) if "burned-in scale bar" not in w
            ]
            warned = bool(len(points)) and bool(
                doubts
                or noise_warning(
                    image, found.labels, resolved.get("polarity", "bright"), len(points)
                )
            )
            scores = score(truth, points, image.shape) if len(truth) else (None,) * 3
            precision, recall, f1 = (None if x is None else round(x, 3) for x in scores)
            rows.append(
                {
                    "image": name,
                    "seed": seed,
                    "precision": precision,
                    "recall": recall,
                    "f1": f1,
                    "found": len(points),
                    "true": len(truth),
                    "warned": warned,
                    "cpu_seconds": round(seconds, 2),
                    "polarity": resolved.get("polarity"),
                    "merged": resolved.get("merged", 0),
                }
            )
            row = rows[-1]
            scored = (
                f"P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}"
                if f1 is not None
                else "no particle          "
            )
            print(
                f"{name:16s} seed {seed}  {scored}  found {len(points):4d} of "
                f"{len(truth):4d}  {'warned' if warned else '      '}  "
                f"{seconds:5.1f} s CPU  {row['polarity']}  merged {row['merged']}",
                flush=True,
            )
    scored = [r for r in rows if r["true"]]
    summary = {
        "images": len(scored),
        "mean_f1": round(float(np.mean([r["f1"] for r in scored])), 4) if scored else None,
        "precision_and_recall_0.95": sum(
            r["precision"] >= 0.95 and r["recall"] >= 0.95 for r in scored
        ),
        "empty_frames_warned": f"{sum(r['warned'] for r in rows if not r['true'])} of "
        f"{sum(1 for r in rows if not r['true'])}",
    }
    print(json.dumps({"benchmark": "stranger_particles", "summary": summary, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
