"""Default detection across the space between real images: a table, not an anecdote.

``python benchmarks/detection.py --robustness`` (or this file) detects with no parameter at all
on realistic synthetic images (lattice types, dose, dark atoms, amorphous support, a particle
on vacuum, scan jitter; particle polarity, size, density, touching, low dose, a scale bar) and on every
real image in ``../shared/data`` that has reference positions, scored with the rules of
``../shared/tools/detection_scoreboard.py``: one-to-one matching within 0.35 x the reference's
median neighbour distance (atoms) or half the smaller box side, at least 3 px (particles);
points within half a neighbour distance (atoms) or 3 px (particles) of the frame are ignored.
Human-readable lines, then one JSON line. The particle summaries add a count *within the
stated limit*: rows with precision >= 0.95 and recall >= 0.95 over the particles whose
ideal-observer SNR is at least ``particle_snr.SNR_LIMIT`` (``particle_snr.py``; the rows
themselves are scored as always, over every particle).

HRTEM rows (``hrtem``): phase-contrast images (:func:`~napari_ivae.core.synthetic.hrtem.make_hrtem`:
projected potential, the objective lens's CTF with partial coherence, Poisson counts, the
detector's MTF) of graphene at 0.01-0.015 nm per pixel, 200-5 000 electrons per pixel, bright
atoms (negative Cs at Scherzer's overfocus), with a hole and vacancies or two grains, and two
limits: graphene's dark atoms at positive-Cs Scherzer and a heavy square lattice whose CTF
puts a maximum at every cell centre; scored like the lattices.

Monolayer rows (``monolayer``): packed films of particles on a hexagonal lattice with thin gaps
(:func:`~napari_ivae.core.synthetic.particles.make_monolayer`), dark and bright, a low dose,
disorder and vacancies; scored like the particles but with points within one median radius of
the frame ignored (the detector drops blobs the frame cuts through their centre's half radius).

``--seeds 1000,2000,3000,4000`` runs the particle and monolayer cases again with their seeds
shifted by each offset (images the defaults were not measured on while they were chosen; ``0``
is the table's own seeds) and adds ``held_out`` and ``monolayer_held_out`` summaries; the
lattice and real rows run once.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.synthetic.hrtem import make_hrtem
from napari_ivae.core.synthetic.lattice import make_lattice
from napari_ivae.core.synthetic.particles import make_monolayer, make_particles

sys.path.insert(0, str(Path(__file__).resolve().parent))
from particle_snr import SNR_LIMIT, particle_snr  # noqa: E402

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
REAL_ATOMS = [  # image, reference, column order
    (
        "atoms/stem_au_nanoparticle_temul/au_np_crop.npy",
        "atoms/stem_au_nanoparticle_temul/au_np_crop_positions_xy.npy",
        "xy",
    ),
    (
        "atoms/stem_ptir_np_statstem/ptir.npy",
        "atoms/stem_ptir_np_statstem/ptir_positions_rc.npy",
        "rc",
    ),
    (
        "atoms/stem_cspbbr3_statstem/cspbbr3.npy",
        "atoms/stem_cspbbr3_statstem/cspbbr3_positions_rc.npy",
        "rc",
    ),
]
REAL_PARTICLES = ["Ru1", "PtCo1"]


def score(reference, detected, radius, margin, shape, within=None):
    """Precision, recall and F1 with the scoreboard's matching and frame margin.

    ``within`` (a mask over ``reference``): the recall counts only those references; every
    reference still takes part in the matching, so a detection on one outside it is no false
    one.
    """

    def inside(points):
        return (
            (points[:, 0] >= margin)
            & (points[:, 1] >= margin)
            & (points[:, 0] < shape[0] - margin)
            & (points[:, 1] < shape[1] - margin)
        )

    reference = np.asarray(reference, dtype=np.float64).reshape(-1, 2)
    detected = np.asarray(detected, dtype=np.float64).reshape(-1, 2)
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(reference),))
    keep = inside(reference)
    counted = None if within is None else np.asarray(within, dtype=bool)[keep]
    reference, radius = reference[keep], radius[keep]
    detected = detected[inside(detected)]
    if not len(detected) or not len(reference):
        return 0.0, 0.0, 0.0
    if counted is not None:
        distance = np.linalg.norm(reference[:, None] - detected[None], axis=2)
        allowed = distance <= radius[:, None]
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(np.where(allowed, distance, 1e6))
        matched = rows[allowed[rows, cols]]
        precision = len(matched) / len(detected)
        recall = float(counted[matched].sum()) / counted.sum() if counted.any() else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1
    if np.ptp(radius) == 0:  # one radius (lattices): the KD-tree matching is the same
        match = match_points(detected, reference, float(radius[0]))
        true_positives = int((match.distances <= radius[0]).sum())
    else:
        # one-to-one (Hungarian), each reference within its own radius, as the scoreboard:
        # matching within the largest radius and then dropping pairs beyond their own
        # radius lost pairs wherever sizes differ (PtCo1 0.749 instead of 0.765)
        from scipy.optimize import linear_sum_assignment

        distance = np.linalg.norm(reference[:, None] - detected[None], axis=2)
        allowed = distance <= radius[:, None]
        rows, cols = linear_sum_assignment(np.where(allowed, distance, 1e6))
        true_positives = int(allowed[rows, cols].sum())
    precision, recall = true_positives / len(detected), true_positives / len(reference)
    f1 = 2 * precision * recall / (precision + recall) if true_positives else 0.0
    return precision, recall, f1


def lattice_cases():
    """(name, make_lattice kwargs): types x spacing x dose, then realistic specials."""
    rng = np.random.default_rng(0)
    for lattice in ("square", "hexagonal", "honeycomb", "perovskite", "dumbbell"):
        for spacing in (7, 14):
            for dose in (None, 30, 8):
                yield (
                    f"{lattice} {spacing}px dose {dose or 'inf'}",
                    dict(
                        shape=320,
                        spacing=spacing,
                        lattice=lattice,
                        noise=0.05 if dose else 0.15,
                        dose=dose,
                        rotation=float(rng.uniform(0, 90)),
                        seed=int(rng.integers(1e6)),
                    ),
                )
    for dose in (3, 0.8, 0.3, 0.1):
        yield (
            f"graphene 17.5px dose {dose}",
            dict(
                shape=512,
                spacing=17.5,
                lattice="honeycomb",
                atom_sigma=4.5,
                noise=0.0,
                background=0.1,
                dose=dose,
                rotation=float(rng.uniform(0, 90)),
                seed=int(rng.integers(1e6)),
            ),
        )
    for weak in (0.5, 0.35, 0.25):
        yield (
            f"perovskite weak B {weak}",
            dict(
                shape=256,
                spacing=11.3,
                lattice="perovskite",
                sublattice_intensity=weak,
                atom_sigma=2.5,
                noise=0.0,
                background=0.3,
                dose=8,
                rotation=float(rng.uniform(0, 90)),
                seed=int(rng.integers(1e6)),
            ),
        )
    for lattice in ("square", "honeycomb"):  # dark atoms on a bright background (ABF, BF)
        yield (
            f"dark {lattice} 12px dose 30 (ABF-like)",
            dict(
                shape=320,
                spacing=12,
                lattice=lattice,
                noise=0.05,
                dose=30,
                dark=True,
                rotation=float(rng.uniform(0, 90)),
                seed=int(rng.integers(1e6)),
            ),
        )
    yield (
        "particle on amorphous support",
        dict(
            shape=320,
            spacing=12,
            lattice="hexagonal",
            noise=0.05,
            dose=30,
            amorphous=0.3,
            particle_radius=100,
            rotation=17,
            seed=3,
        ),
    )
    yield (
        "particle on vacuum",
        dict(
            shape=320,
            spacing=10,
            lattice="square",
            noise=0.05,
            dose=20,
            particle_radius=90,
            rotation=30,
            seed=4,
        ),
    )
    yield (
        "scan jitter 0.6 px",
        dict(
            shape=320,
            spacing=10,
            lattice="hexagonal",
            noise=0.1,
            scan_jitter=0.6,
            rotation=5,
            seed=5,
        ),
    )
    yield (
        "thin amorphous film",
        dict(
            shape=320, spacing=12, lattice="square", noise=0.1, amorphous=0.25, rotation=40, seed=6
        ),
    )


def hrtem_cases():
    """(name, make_hrtem kwargs): graphene and a heavy lattice in phase contrast (80 / 300 kV)."""
    ncsi = dict(cs_mm=-0.02, shape=256, rotation=13.0)  # negative Cs: bright atoms
    for dose in (5000, 1000, 200):
        yield f"graphene bright 0.015 nm/px dose {dose}", dict(ncsi, dose=dose, seed=1)
    yield "graphene bright 0.01 nm/px dose 1000", dict(ncsi, pixel_size_nm=0.01, dose=1000, seed=2)
    yield (
        "graphene bright hole 1 nm, 3 % vacancies",
        dict(ncsi, shape=320, hole_radius_nm=1.0, vacancies=0.03, seed=3),
    )
    yield "graphene bright two grains", dict(ncsi, shape=320, domains=2, seed=4)
    yield "graphene dark (Scherzer, Cs>0) [limit]", dict(ncsi, cs_mm=0.02, seed=5)
    yield (
        "heavy square 300 kV [limit]",
        dict(
            lattice="square",
            bond_nm=0.288,
            atom_phase=0.6,
            kv=300,
            cs_mm=-0.01,
            pixel_size_nm=0.02,
            focal_spread_nm=3.0,
            shape=256,
            rotation=13.0,
            seed=6,
        ),
    )


def monolayer_cases(seed_offset: int = 0):
    """(name, make_monolayer kwargs): packed films, 384 px, particles touching but never
    overlapping, then four with necked (overlapping) neighbours as in the dense Au films
    that failed (``blur=0``: sharp edges, as theirs; the last 256 px, its gaps broken into
    pockets)."""
    cases = (
        ("dark monolayer r9 gap 2", dict(radius=9, gap=2.0, blur=0.0)),
        ("dark monolayer r9 gap 0.5", dict(radius=9, gap=0.5, blur=0.0)),
        ("dark monolayer r6 gap 1.5", dict(radius=6, gap=1.5, blur=0.0)),
        ("bright monolayer r12 gap 3", dict(radius=12, gap=3.0, polarity="bright")),
        ("bright monolayer r6 gap 1", dict(radius=6, gap=1.0, polarity="bright", blur=0.0)),
        ("dark monolayer r9 gap 1 low dose", dict(radius=9, gap=1.0, dose=20, texture=0.05)),
        (
            "dark monolayer r8 disorder, vacancies",
            dict(radius=8, gap=2.0, jitter=2.0, radius_spread=0.15, vacancies=0.1),
        ),
        (
            "bright monolayer r9 gap 0.5 low dose",
            dict(radius=9, gap=0.5, polarity="bright", dose=20, texture=0.05, blur=0.0),
        ),
        # necked (overlapping) neighbours, as the lead's films: the gaps break into pockets
        (
            "dark monolayer r9 gap 0.5 necked",
            dict(radius=9, gap=0.5, blur=0.0, contrast=0.5, overlap=True),
        ),
        (
            "dark monolayer r6 gap 1.5 necked",
            dict(radius=6, gap=1.5, blur=0.0, contrast=0.5, overlap=True),
        ),
        (
            "bright monolayer r9 gap 1 necked",
            dict(radius=9, gap=1.0, blur=0.0, contrast=0.5, overlap=True, polarity="bright"),
        ),
        # 256 px, necks that break the gaps into pockets: no phase is one network
        (
            "bright monolayer r9 gap 0.5 necked 256",
            dict(shape=256, seed=6, radius=9, gap=0.5, blur=0.0, overlap=True, polarity="bright"),
        ),
    )
    for index, (name, kwargs) in enumerate(cases):
        kwargs = {"shape": 384, "seed": 100 + index, **kwargs}
        yield name, kwargs | {"seed": kwargs["seed"] + seed_offset}


def particle_cases(seed_offset: int = 0):
    """(name, make_particles kwargs): polarity x density/size x clean/low dose, scale bars.

    ``seed_offset`` shifts every case's seed (other images of the same cases).
    """
    for polarity in ("bright", "dark"):
        for count, radius, touching in ((40, 5, 0.0), (150, 6, 0.3), (400, 7, 0.6), (30, 16, 0.2)):
            for tag, extra in (
                ("clean", dict(noise=0.05, texture=0.03)),
                ("low dose", dict(noise=0.0, dose=15, texture=0.08, illumination=0.3)),
            ):
                yield (
                    f"{polarity} n{count} r{radius} {tag}",
                    dict(
                        shape=384,
                        count=count,
                        radius=radius,
                        polarity=polarity,
                        touching=touching,
                        contrast=0.6,
                        seed=count + radius + seed_offset,
                        **extra,
                    ),
                )
    yield (
        "bright + scale bar",
        dict(
            shape=384,
            count=60,
            radius=6,
            polarity="bright",
            texture=0.05,
            scale_bar=True,
            seed=9 + seed_offset,
        ),
    )
    yield (
        "dark + scale bar",
        dict(
            shape=384,
            count=60,
            radius=6,
            polarity="dark",
            contrast=0.5,
            texture=0.05,
            scale_bar=True,
            seed=10 + seed_offset,
        ),
    )


def _row(group, name, result, seconds, within_limit=None):
    precision, recall, f1 = result
    print(f"{group:9s} {name:34s} F1 {f1:.3f}  P {precision:.2f}  R {recall:.2f}  {seconds:5.2f} s")
    row = {
        "group": group,
        "name": name,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "seconds": round(seconds, 3),
    }
    if within_limit is not None:  # recall over the particles of SNR >= SNR_LIMIT only
        row["recall_within_limit"] = round(within_limit[1], 3)
    return row


def run(seed_offsets=()) -> dict:
    """Every case once, the particle cases again at each of ``seed_offsets``; rows and a summary."""
    from scipy.spatial import cKDTree

    rows = []
    for name, kwargs in lattice_cases():
        dark = kwargs.pop("dark", False)
        truth = make_lattice(**kwargs)
        image = truth.image.max() + 0.2 - truth.image if dark else truth.image
        start = time.perf_counter()
        found = detect_atoms(image).coords[:, 1:]
        seconds = time.perf_counter() - start
        spacing = kwargs["spacing"]
        rows.append(
            _row(
                "lattice",
                name,
                score(truth.positions, found, 0.35 * spacing, 0.5 * spacing, truth.image.shape),
                seconds,
            )
        )
    for name, kwargs in hrtem_cases():
        truth = make_hrtem(**kwargs)
        start = time.perf_counter()
        found = detect_atoms(truth.image).coords[:, 1:]
        seconds = time.perf_counter() - start
        spacing = truth.params["spacing_px"]
        rows.append(
            _row(
                "hrtem",
                name,
                score(truth.positions, found, 0.35 * spacing, 0.5 * spacing, truth.image.shape),
                seconds,
            )
        )
    for offset in (0, *(int(x) for x in seed_offsets if int(x) != 0)):
        group = "particles" if offset == 0 else "held_out"
        for name, kwargs in particle_cases(offset):
            truth = make_particles(**kwargs)
            start = time.perf_counter()
            found = detect_particles(truth.image).coords[:, 1:]
            seconds = time.perf_counter() - start
            label = name if offset == 0 else f"{name} seed +{offset}"
            radius = np.maximum(3.0, truth.radii)
            visible = particle_snr(kwargs, truth) >= SNR_LIMIT
            rows.append(
                _row(
                    group,
                    label,
                    score(truth.centres, found, radius, 3.0, truth.image.shape),
                    seconds,
                    score(truth.centres, found, radius, 3.0, truth.image.shape, within=visible),
                )
            )
    for offset in (0, *(int(x) for x in seed_offsets if int(x) != 0)):
        group = "monolayer" if offset == 0 else "monolayer_held_out"
        for name, kwargs in monolayer_cases(offset):
            truth = make_monolayer(**kwargs)
            start = time.perf_counter()
            found = detect_particles(truth.image).coords[:, 1:]
            seconds = time.perf_counter() - start
            margin = float(np.median(truth.radii))
            rows.append(
                _row(
                    group,
                    name if offset == 0 else f"{name} seed +{offset}",
                    score(
                        truth.centres,
                        found,
                        np.maximum(3.0, truth.radii),
                        margin,
                        truth.image.shape,
                    ),
                    seconds,
                )
            )
    for image_path, reference_path, order in REAL_ATOMS:
        if not (SHARED / image_path).exists():
            continue
        image = np.load(SHARED / image_path)
        reference = np.load(SHARED / reference_path)[:, :2].astype(np.float64)
        reference = reference[:, ::-1] if order == "xy" else reference
        nearest = float(np.median(cKDTree(reference).query(reference, k=2)[0][:, 1]))
        start = time.perf_counter()
        found = detect_atoms(image).coords[:, 1:]
        seconds = time.perf_counter() - start
        rows.append(
            _row(
                "real",
                Path(image_path).name,
                score(reference, found, 0.35 * nearest, 0.5 * nearest, image.shape),
                seconds,
            )
        )
    for name in REAL_PARTICLES:
        folder = SHARED / "particles" / "stem_tem_catalyst_ardagen"
        if not (folder / f"{name}.npy").exists():
            continue
        image = np.load(folder / f"{name}.npy")
        reference = np.load(folder / f"{name}_centres_rc.npy")[:, :2].astype(np.float64)
        radius = np.maximum(3.0, 0.5 * np.load(folder / f"{name}_boxsize_hw.npy").min(axis=1))
        start = time.perf_counter()
        found = detect_particles(image).coords[:, 1:]
        seconds = time.perf_counter() - start
        rows.append(
            _row(
                "real",
                f"{name}.npy (particles)",
                score(reference, found, radius, 3.0, image.shape),
                seconds,
            )
        )
    summary = {}
    for group in ("lattice", "hrtem", "particles", "held_out", "real"):
        f1 = [row["f1"] for row in rows if row["group"] == group]
        both = within = None
        if f1 and group in ("particles", "held_out"):
            both = sum(
                row["precision"] >= 0.95 and row["recall"] >= 0.95
                for row in rows
                if row["group"] == group
            )
            print(f"{group:9s} precision and recall >= 0.95 on {both} of {len(f1)}")
            within = sum(
                row["precision"] >= 0.95 and row["recall_within_limit"] >= 0.95
                for row in rows
                if row["group"] == group
            )
            print(
                f"{group:9s} within the stated limit (recall over the particles of ideal-observer "
                f"SNR >= {SNR_LIMIT:g}, see particle_snr.py): P and R >= 0.95 on {within} of "
                f"{len(f1)}"
            )
        if f1:
            summary[group] = {
                "mean_f1": round(float(np.mean(f1)), 3),
                "min_f1": round(float(np.min(f1)), 3),
                "below_0.90": int(sum(f < 0.9 for f in f1)),
                "cases": len(f1),
            }
            if both is not None:
                summary[group] |= {"target_met": int(both), "within_limit_met": int(within)}
            print(
                f"{group:9s} mean F1 {summary[group]['mean_f1']:.3f}, min "
                f"{summary[group]['min_f1']:.3f}, {summary[group]['below_0.90']} of "
                f"{len(f1)} below 0.90"
            )
    for group in ("monolayer", "monolayer_held_out"):
        found = [row for row in rows if row["group"] == group]
        if not found:
            continue
        f1 = [row["f1"] for row in found]
        met = sum(row["precision"] >= 0.95 and row["recall"] >= 0.95 for row in found)
        summary[group] = {
            "mean_f1": round(float(np.mean(f1)), 3),
            "min_f1": round(float(np.min(f1)), 3),
            "below_0.90": int(sum(f < 0.9 for f in f1)),
            "cases": len(f1),
            "target_met": int(met),
        }
        print(
            f"{group}: precision and recall >= 0.95 on {met} of {len(f1)}; mean F1 "
            f"{summary[group]['mean_f1']:.3f}, min {summary[group]['min_f1']:.3f}"
        )
    return {"rows": rows, "summary": summary}


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Default detection on synthetic and real images.")
    parser.add_argument("--robustness", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--seeds",
        default="",
        help="comma-separated seed offsets for the "
        "particle cases, e.g. 1000,2000,3000,4000 (held-out images)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    offsets = [int(x) for x in args.seeds.split(",") if x.strip()]
    print(json.dumps({"benchmark": "detection_robustness", **run(offsets)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
