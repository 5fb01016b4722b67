"""Detection benchmark: accuracy on synthetic and real images, and speed.

Run ``python benchmarks/detection.py`` from the repository root (``--robustness``: the table of
default detection across lattice types, dose, particle density and the real images with
references, see ``benchmarks/robustness.py``; ``--oracle``: the same synthetic cases against a
detector that knows the truth's size and polarity, see ``benchmarks/detection_oracle.py``).
Human-readable lines first, then one JSON line with every number. Real images come from
``../shared/data`` (skipped when absent). All detections use the default, auto-estimated
parameters unless a line says otherwise.

Scoring: one-to-one matching (Hungarian on the KD-tree candidate pairs) within 0.35 x the
neighbour distance. On synthetic images ground truth and detections within the border margin
(+1 px) are left out of the score, since atoms cut by the image edge are dropped on purpose.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.detection.spacing import estimate_spacing
from napari_ivae.core.synthetic.lattice import make_lattice

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SEED = 0
TARGET_MPX_PER_S = 20.0  # product issue: peaks + centre of mass >= 20 Mpx/s on 2048 x 2048


def _timed(function, *args, repeat=3, **kwargs):
    """Best wall-clock time of ``repeat`` runs (CPU time of the best run in ``CPU_TIMES``)."""
    best, result = np.inf, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function(*args, **kwargs)
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best = elapsed
            CPU_TIMES[function.__name__] = time.process_time() - start_cpu
    return result, best


CPU_TIMES: dict = {}


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # not available on every platform
        return float("nan")


def _interior(points, shape, margin):
    return ((points >= margin) & (points <= np.array(shape) - 1 - margin)).all(axis=1)


def synthetic_accuracy() -> dict:
    cases = {
        "square_default": dict(),
        "hexagonal_rot17_defects": dict(
            lattice="hexagonal", rotation=17.0, vacancies=0.05, dopants=0.1
        ),
        "three_domains_poisson": dict(domains=3, dose=30.0),
        "noise_0.3": dict(noise=0.3),
    }
    results = {}
    for name, kwargs in cases.items():
        truth = make_lattice((512, 512), seed=SEED, **kwargs)
        spacing = truth.params["spacing"]
        for refine in ("com", "gaussian"):
            detections, seconds = _timed(detect_atoms, truth.image, refine=refine, repeat=1)
            margin = detections.params["border"] + 1.0
            found = detections.coords[:, 1:]
            match = match_points(
                found[_interior(found, truth.image.shape, margin)],
                truth.positions[_interior(truth.positions, truth.image.shape, margin)],
                0.35 * spacing,
            )
            row = match.summary() | {
                "seconds": seconds,
                "spacing_estimated": detections.params["spacing"],
            }
            results[f"{name}/{refine}"] = row
            print(
                f"synthetic {name:26s} {refine:8s} F1 {row['f1']:.4f}  P {row['precision']:.4f}"
                f"  R {row['recall']:.4f}  RMSE {row['rmse']:.3f} px  spacing "
                f"{row['spacing_estimated']:.2f} (true {spacing})  {seconds * 1000:.0f} ms"
            )
    return results


def real_accuracy() -> dict:
    results = {}
    au = SHARED / "atoms" / "stem_au_nanoparticle_temul"
    pto = SHARED / "atoms" / "stem_pto_sro_temul"
    sto = SHARED / "atoms" / "stem_srtio3_adf_abf_atomap"
    if not au.exists():
        print("real images: ../shared/data not found, skipped")
        return results
    from scipy.spatial import cKDTree

    for name, image_path, ref_path in (
        ("au_nanoparticle", au / "au_np_crop.npy", au / "au_np_crop_positions_xy.npy"),
        ("pto_a_sites", pto / "pto_sro.npy", pto / "atom_positions1_xy.npy"),
    ):
        image = np.load(image_path)
        reference = np.load(ref_path)[:, ::-1]  # stored as (x, y)
        neighbour = float(np.median(cKDTree(reference).query(reference, k=2)[0][:, 1]))
        for refine in ("com", "gaussian"):
            detections, seconds = _timed(detect_atoms, image, refine=refine)
            match = match_points(detections.coords[:, 1:], reference, 0.35 * neighbour)
            row = match.summary() | {
                "seconds": seconds,
                "spacing": detections.params["spacing"],
                "neighbour_distance_reference": neighbour,
            }
            results[f"{name}/{refine}"] = row
            print(
                f"real {name:16s} {refine:8s} n {len(detections):4d} (ref {len(reference)})  "
                f"F1 {row['f1']:.3f}  P {row['precision']:.3f}  R {row['recall']:.3f}  RMSE "
                f"{row['rmse']:.2f} px  spacing {row['spacing']:.2f}  {seconds * 1000:.0f} ms"
            )
    for channel in ("adf", "abf"):
        image = np.load(sto / f"{channel}.npy")
        detections, seconds = _timed(detect_atoms, image, invert=channel == "abf")
        results[f"srtio3_{channel}"] = {
            "n": len(detections),
            "spacing": detections.params["spacing"],
            "seconds": seconds,
        }
        print(
            f"real srtio3_{channel:3s} (no reference) n {len(detections)}  spacing "
            f"{detections.params['spacing']:.2f} px  {seconds * 1000:.0f} ms"
        )
    return results


def speed() -> dict:
    results = {}
    _, lattice_seconds = _timed(
        make_lattice, (512, 512), seed=SEED, domains=2, dopants=0.05, vacancies=0.02, dose=50.0
    )
    results["make_lattice_512_seconds"] = lattice_seconds
    print(
        f"speed make_lattice 512x512 (2 domains, defects, Poisson): {lattice_seconds * 1000:.0f} ms"
    )
    truth = make_lattice((2048, 2048), spacing=12.0, seed=SEED)
    megapixels = truth.image.size / 1e6
    _, spacing_seconds = _timed(estimate_spacing, truth.image, repeat=5)
    spacing_cpu = CPU_TIMES["estimate_spacing"]
    # the target covers peaks (band-pass included) + centre of mass; the crystalline-
    # region step (default on) is timed on its own below
    # best of 9: on a shared machine single runs vary by up to 25 %
    detections, seconds = _timed(
        detect_atoms, truth.image, spacing=12.0, refine="com", crystal_only=False, repeat=9
    )
    cpu_seconds = CPU_TIMES["detect_atoms"]
    _, default_seconds = _timed(detect_atoms, truth.image, spacing=12.0, refine="com", repeat=5)
    default_cpu = CPU_TIMES["detect_atoms"]
    auto, auto_seconds = _timed(detect_atoms, truth.image, refine="com", repeat=5)
    auto_cpu = CPU_TIMES["detect_atoms"]
    _, peak_seconds = _timed(
        detect_atoms, truth.image, spacing=12.0, refine=None, crystal_only=False, repeat=5
    )
    peak_cpu = CPU_TIMES["detect_atoms"]
    gauss, gauss_seconds = _timed(
        detect_atoms, truth.image, spacing=12.0, refine="gaussian", crystal_only=False, repeat=1
    )
    gauss_cpu = CPU_TIMES["detect_atoms"]
    n_atoms = len(detections)
    com_per_1000 = (cpu_seconds - peak_cpu) / n_atoms * 1000
    gauss_per_1000 = (gauss_cpu - peak_cpu) / n_atoms * 1000
    target_seconds = megapixels / TARGET_MPX_PER_S
    results["lattice_2048"] = {
        "n_atoms": n_atoms,
        "megapixels": megapixels,
        "spacing_seconds": spacing_seconds,
        "spacing_cpu_seconds": spacing_cpu,
        "peaks_com_seconds": seconds,
        "peaks_com_mpx_per_s": megapixels / seconds,
        "peaks_com_cpu_seconds": cpu_seconds,
        "peaks_com_cpu_mpx_per_s": megapixels / cpu_seconds,
        "auto_spacing_peaks_com_seconds": auto_seconds,
        "auto_cpu_seconds": auto_cpu,
        "auto_mpx_per_s": megapixels / auto_seconds,
        "default_with_crystal_region_seconds": default_seconds,
        "default_with_crystal_region_cpu_seconds": default_cpu,
        "peaks_only_seconds": peak_seconds,
        "peaks_only_cpu_seconds": peak_cpu,
        "com_cpu_seconds_per_1000_atoms": com_per_1000,
        "gaussian_cpu_seconds_per_1000_atoms": gauss_per_1000,
        "gaussian_fit_ok_fraction": float(gauss.properties["fit_ok"].mean()),
        "target_mpx_per_s": TARGET_MPX_PER_S,
        "target_seconds": target_seconds,
        "cpu_count": os.cpu_count(),
        "load_average_1min": _load_average(),
    }
    print(
        f"speed 2048x2048 lattice ({n_atoms} atoms), best of 9: peaks+COM wall {seconds:.3f} s "
        f"({megapixels / seconds:.1f} Mpx/s), CPU {cpu_seconds:.3f} s "
        f"({megapixels / cpu_seconds:.1f} Mpx/s); target {TARGET_MPX_PER_S} Mpx/s = "
        f"{target_seconds:.3f} s"
    )
    print(
        f"speed   default (with the crystalline-region step): wall {default_seconds:.3f} s, "
        f"CPU {default_cpu:.3f} s ({megapixels / default_cpu:.1f} Mpx/s)"
    )
    print(
        f"speed   with auto spacing: wall {auto_seconds:.3f} s, CPU {auto_cpu:.3f} s (spacing "
        f"alone wall {spacing_seconds:.3f} s, CPU {spacing_cpu:.3f} s); peaks only CPU "
        f"{peak_cpu:.3f} s"
    )
    print(
        f"speed   CPU time is the fairer figure on a shared machine ({os.cpu_count()} cores, "
        f"1-min load average {_load_average():.1f}): wall time includes waiting for a core"
    )
    print(
        f"speed refinement (CPU): COM {com_per_1000:.4f} s / 1000 atoms; Gaussian fit "
        f"{gauss_per_1000:.3f} s / 1000 atoms (fit ok {gauss.properties['fit_ok'].mean():.3f})"
    )
    # live tuning in the Detect widget re-runs the detection with the values on screen
    tuning = make_lattice((1024, 1024), spacing=12.0, seed=SEED, noise=0.1)
    results["retune_1024"] = {}
    for label, options in (
        ("spacing given", dict(spacing=12.5)),
        ("spacing and smoothing given", dict(spacing=12.5, sigma=1.5)),
        ("all automatic", {}),
    ):
        _, retune_seconds = _timed(detect_atoms, tuning.image, repeat=5, **options)
        results["retune_1024"][label] = retune_seconds
        print(
            f"speed re-detection while tuning, 1024x1024, {label}: "
            f"{retune_seconds * 1000:.0f} ms (target 200 ms)"
        )
    for name, relative, options in (
        ("tem_np_ericzqu", "particles/tem_np_ericzqu/exp.npy", dict(polarity="dark")),
        (
            "brightfield_colloids",
            "particles/brightfield_colloids_trackpy/bulk-water_frame0.npy",
            dict(polarity="bright", flatten="gaussian"),
        ),  # uneven illumination
    ):
        path = SHARED / relative
        if not path.exists():
            continue
        image = np.load(path)
        for method in ("otsu", "log"):
            found, seconds = _timed(detect_particles, image, method=method, **options)
            diameter = (
                float(np.median(found.properties["equivalent_diameter"]))
                if len(found)
                else float("nan")
            )
            results[f"particles_{name}/{method}"] = {
                "n": len(found),
                "seconds": seconds,
                "median_diameter": diameter,
                "shape": list(image.shape),
                "options": options,
            }
            print(
                f"particles {name:22s} {method:5s} {image.shape}  n {len(found):4d}  median "
                f"diameter {diameter:.1f} px  {seconds * 1000:.0f} ms"
            )
    return results


def main() -> int:
    import scipy
    import skimage

    if "--robustness" in sys.argv[1:]:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from robustness import main as robustness

        return robustness()
    if "--oracle" in sys.argv[1:]:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from detection_oracle import main as oracle

        return oracle()

    print(
        f"napari-ivae detection benchmark (seed {SEED}; python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-image "
        f"{skimage.__version__}, {platform.machine()})"
    )
    report = {
        "benchmark": "detection",
        "seed": SEED,
        "synthetic": synthetic_accuracy(),
        "real": real_accuracy(),
        "speed": speed(),
    }
    print(json.dumps(report, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
