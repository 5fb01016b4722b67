"""Default atom detection on networks without a lattice and on crops of a few cells (issue 9).

``python benchmarks/stranger_networks.py [--seeds 0,1,2] [--only NAME]`` renders atom images
that hold no long-range lattice -- a continuous random network of three-fold vertices (rings of
5-8 atoms, as amorphous 2D carbon), the same with a bridging atom on every bond (a silica
bilayer seen from above), a strained honeycomb, and honeycomb and hexagonal polycrystals with
grains of 8-16 lattice constants (2-4 nm of graphene) at random orientations -- at Poisson
doses of 0.1-10 counts per pixel at an atom, and crops of 3-6 cells of every lattice of
``stranger_atoms``. It detects with no parameter at all (as ``napari-ivae detect IMAGE``) and
scores with the rules of ``stranger_atoms`` (its renderer, noise and matching are imported: one
line per image and seed, then one JSON line).

The networks are the Voronoi vertices of hard-core random points (ring centres) relaxed by a
few Lloyd steps: every vertex joins three rings, and the rings have as many sides as their
centre has neighbours. Vertices closer than half a bond (a short Voronoi edge) are merged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial import Voronoi, cKDTree

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from stranger_atoms import finish, lattice, score, sites  # noqa: E402

from napari_ivae.core.detection.atoms import detect_atoms  # noqa: E402
from napari_ivae.core.errors import InputError  # noqa: E402


# ---------------------------------------------------------------- networks
def ring_centres(shape, ring, rng, pad=40.0, lloyd=3):
    """Hard-core random points about ``ring`` px apart over the padded frame, evened out by a
    few Lloyd steps (each point moved to its Voronoi cell's vertex mean)."""
    lo, hi = -pad, np.array(shape, float) + pad
    n = int(np.prod(hi - lo) / (ring**2 * np.sqrt(3) / 2))
    points = np.zeros((0, 2))
    for _ in range(30 * n):  # dart throwing: a new point no closer than 0.75 ring to any
        p = rng.uniform(lo, hi)
        if len(points) == 0 or np.min(np.hypot(*(points - p).T)) > 0.75 * ring:
            points = np.vstack([points, p])
        if len(points) >= n:
            break
    for _ in range(lloyd):
        vor = Voronoi(points)
        moved = points.copy()
        for i, region_index in enumerate(vor.point_region):
            region = vor.regions[region_index]
            if region and -1 not in region:
                corners = vor.vertices[region]
                if np.all(np.abs(corners - points[i]) < 2 * ring):
                    moved[i] = corners.mean(axis=0)
        points = moved
    return points


def network(shape, ring, rng, bridging=False):
    """Atoms of a three-fold random network whose rings are ``ring`` px apart: the Voronoi
    vertices of :func:`ring_centres` (weight 1), vertices closer than half a bond merged,
    then every bond pulled towards the mean bond by a few spring steps (a continuous random
    network's bonds vary by a few %, its angles and rings much more); with ``bridging``, an
    atom halfway along every bond (weight 0.7). Returns points and weights."""
    centres = ring_centres(shape, ring, rng, lloyd=6)
    vor = Voronoi(centres)
    near = np.all((vor.vertices > -40) & (vor.vertices < np.array(shape) + 40), axis=1)
    label = np.arange(len(vor.vertices))
    for i, j in sorted(cKDTree(vor.vertices).query_pairs(0.5 * ring / np.sqrt(3))):
        label[label == label[j]] = label[i]
    kept, index = np.unique(label[near], return_inverse=True)
    position = {k: n for n, k in enumerate(kept)}
    points = np.array([vor.vertices[near][index == n].mean(axis=0) for n in range(len(kept))])
    edges = {
        tuple(sorted((position[label[a]], position[label[b]])))
        for a, b in vor.ridge_vertices
        if a >= 0 and b >= 0 and near[a] and near[b] and label[a] != label[b]
    }
    edges = np.array(sorted(edges))
    for _ in range(40):  # springs towards the mean bond
        vectors = points[edges[:, 1]] - points[edges[:, 0]]
        lengths = np.hypot(*vectors.T)[:, None]
        pull = 0.25 * (lengths - lengths.mean()) / np.maximum(lengths, 1e-9) * vectors
        np.add.at(points, edges[:, 0], pull)
        np.add.at(points, edges[:, 1], -pull)
    weights = np.ones(len(points))
    if bridging:
        middles = 0.5 * (points[edges[:, 0]] + points[edges[:, 1]])
        points = np.concatenate([points, middles])
        weights = np.concatenate([weights, np.full(len(middles), 0.7)])
    inside = np.all((points > -30) & (points < np.array(shape) + 30), axis=1)
    return points[inside], weights[inside]


def strained(shape, bond, rng, strain=0.06):
    """A honeycomb under two long strain waves (``strain`` peak) and a small random jitter."""
    a1, a2, basis = lattice("honeycomb", bond, angle=rng.uniform(0, 60))
    points, weights, _ = sites(shape, a1, a2, basis)
    wavelength = rng.uniform(0.6, 1.0) * max(shape)
    for _ in range(2):
        k = rotated_unit(rng.uniform(0, np.pi)) * 2 * np.pi / wavelength
        along = rotated_unit(rng.uniform(0, np.pi))
        amplitude = strain / np.linalg.norm(k)
        points = points + amplitude * np.sin(points @ k + rng.uniform(0, 6.3))[:, None] * along
    return points + rng.normal(0, 0.04 * bond, points.shape), weights


def rotated_unit(theta):
    return np.array([np.cos(theta), np.sin(theta)])


def polycrystal(shape, kind, d, grain, rng):
    """Grains (Voronoi cells of seeds ``grain`` px apart) of the lattice ``kind`` at random
    orientations; an atom closer than 0.6 ``d`` to a kept atom of an earlier grain is left out."""
    seeds = ring_centres(shape, grain, rng, pad=grain, lloyd=1)
    owner_tree = cKDTree(seeds)
    kept = np.zeros((0, 2))
    for g, seed in enumerate(seeds):
        a1, a2, basis = lattice(kind, d, angle=rng.uniform(0, 60))
        p, _, _ = sites(shape, a1, a2, basis, origin=seed + rng.uniform(0, d, 2))
        p = p[owner_tree.query(p)[1] == g]
        if len(kept) and len(p):
            p = p[cKDTree(kept).query(p)[0] > 0.6 * d]
        kept = np.concatenate([kept, p])
    return kept, np.ones(len(kept))


def net_case(kind, size=256, dose=1.0, scale=12.0, sigma_frac=0.2, bg=0.1):
    """``scale``: the ring spacing (networks), bond (strained), lattice separation (grains)."""

    def case(rng):
        shape = (size, size)
        if kind == "crn":
            points, weights = network(shape, scale, rng)
            d = scale / np.sqrt(3)
        elif kind == "silica":
            points, weights = network(shape, scale, rng, bridging=True)
            d = scale / np.sqrt(3) / 2
        elif kind == "strained":
            points, weights = strained(shape, scale, rng)
            d = scale
        else:  # "poly honeycomb" / "poly hex": grains of 8-16 lattice constants
            lat = kind.split()[1]
            a = scale * (np.sqrt(3) if lat == "honeycomb" else 1.0)
            points, weights = polycrystal(shape, lat, scale, rng.uniform(8, 16) * a, rng)
            d = scale
        counted = np.ones(len(points), bool)
        return finish(shape, points, weights, counted, sigma_frac * d, rng, bg=bg, dose=dose)

    return case


def crop_case(kind, cells, d=10.0, b=None, gamma=90.0, dose=20.0, sigma_frac=0.15):
    """A frame ``cells`` lattice constants across of the lattice ``kind`` (separation ``d``)."""

    def case(rng):
        a1, a2, basis = lattice(kind, d, angle=rng.uniform(0, 90), b=b, gamma=gamma)
        constant = max(np.linalg.norm(a1), np.linalg.norm(a2))
        side = int(round(cells * constant))
        shape = (side, side)
        p, w, t = sites(shape, a1, a2, basis, origin=rng.uniform(0, 10, 2))
        return finish(shape, p, w, t, sigma_frac * d, rng, dose=dose)

    return case


CASES = {
    **{f"CRN rings 14, dose {q:g}": net_case("crn", dose=q, scale=14.0) for q in (10, 1, 0.3, 0.1)},
    **{
        f"silica rings 24, dose {q:g}": net_case("silica", dose=q, scale=24.0) for q in (10, 1, 0.3)
    },
    "CRN rings 20, 512, dose 1": net_case("crn", size=512, dose=1.0, scale=20.0),
    **{
        f"strained honeycomb 8, dose {q:g}": net_case("strained", dose=q, scale=8.0)
        for q in (3, 0.3)
    },
    **{
        f"poly honeycomb 7, dose {q:g}": net_case("poly honeycomb", dose=q, scale=7.0)
        for q in (3, 0.5, 0.3)
    },
    **{f"poly hex 8, dose {q:g}": net_case("poly hex", dose=q, scale=8.0) for q in (3, 0.5, 0.3)},
    **{f"crop {c} cells hex 10": crop_case("hex", c) for c in (3, 4, 6)},
    **{f"crop {c} cells square 10": crop_case("square", c) for c in (3, 4, 6)},
    **{f"crop {c} cells honeycomb 8": crop_case("honeycomb", c, d=8.0) for c in (3, 4, 6)},
    **{f"crop {c} cells rect 8 x 13": crop_case("rect", c, d=8.0, b=13.0) for c in (3, 6)},
    **{
        f"crop {c} cells oblique 10 x 12": crop_case("oblique", c, b=12.0, gamma=70.0)
        for c in (3, 6)
    },
    **{
        f"crop {c} cells dumbbell 6": crop_case("dumbbell", c, d=6.0, sigma_frac=0.2)
        for c in (3, 6)
    },
    **{f"crop {c} cells rock salt 8": crop_case("rocksalt", c, d=8.0, b=0.4) for c in (3, 6)},
    **{f"crop {c} cells hex 30, dose 5": crop_case("hex", c, d=30.0, dose=5.0) for c in (3, 4)},
    **{
        f"crop {c} cells square 27, dose 5": crop_case("square", c, d=27.0, dose=5.0)
        for c in (3, 4)
    },
}


def make(name: str, seed: int = 0):
    """``(image, truth (N, 2) row/col)`` of a case; seeded by the case's name and ``seed``."""
    return CASES[name](np.random.default_rng([seed, sum(map(ord, name)), 7]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--only", default="", help="cases whose name contains this")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rows = []
    for name in CASES:
        if args.only not in name:
            continue
        for seed in (int(s) for s in args.seeds.split(",")):
            image, truth = make(name, seed)
            nn = float(np.median(cKDTree(truth).query(truth, k=2)[0][:, 1]))
            start = time.process_time()
            try:
                found = detect_atoms(image)
                points = np.asarray(found.coords, dtype=np.float64)[:, -2:]
                spacing, warned = float(found.params["spacing"]), len(found.quality["warnings"])
                source = str(found.params.get("spacing_source", ""))[:10]
            except InputError as error:  # a refusal scores zero, and says why
                points, spacing, warned, source = np.zeros((0, 2)), 0.0, 1, f"error: {error}"[:40]
            seconds = time.process_time() - start
            p, r, f1 = score(truth, points, 0.35 * nn, 0.5 * nn, image.shape)
            rows.append(
                {
                    "image": name,
                    "seed": seed,
                    "shape": list(image.shape),
                    "f1": round(f1, 3),
                    "precision": round(p, 3),
                    "recall": round(r, 3),
                    "found": len(points),
                    "truth": len(truth),
                    "separation": round(nn, 2),
                    "spacing": round(spacing, 2),
                    "warnings": warned,
                    "cpu_seconds": round(seconds, 2),
                }
            )
            print(
                f"{name:32s} s{seed} F1 {f1:.3f}  P {p:.3f}  R {r:.3f}  {len(points):5d} / "
                f"{len(truth):5d}  sep {nn:5.1f} spacing {spacing:5.2f}  warn {warned} "
                f"{source:10s} {seconds:5.2f} s",
                flush=True,
            )
    f1s = [row["f1"] for row in rows]
    summary = {
        "cases": len(rows),
        "mean_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        "min_f1": min(f1s) if f1s else None,
        "below_0.90": sum(f < 0.90 for f in f1s),
    }
    print(json.dumps({"benchmark": "stranger_networks", "rows": rows, "summary": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
