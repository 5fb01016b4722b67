"""What an ideal detector that knows the truth could reach on the synthetic detection set.

``python benchmarks/detection.py --oracle`` (or this file) runs, next to the defaults, an
*oracle* on every synthetic case of ``benchmarks/robustness.py``: a matched filter of the true
object profile and polarity (a projected sphere of the true radii for particles, a Gaussian of
the true atom width for atoms), its local maxima, and the cut on their response chosen to
maximise F1 against the truth. It is an upper bound, not a detector: where its best precision
or recall stays below 0.95 the image does not carry the particles at that dose, whatever the
detector. Scoring is the robustness table's (the scoreboard's matching and frame margin).

``--seeds 1000,2000,3000,4000`` adds the particle cases at those seed offsets (held out);
``--sweep`` adds a dose sweep, dose from high to low, of the particle and lattice cases where
the defaults fall off, defaults and oracle side by side. Human-readable lines, then one JSON
line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from robustness import lattice_cases, particle_cases, score  # noqa: E402

from napari_ivae.core.detection.atoms import detect_atoms  # noqa: E402
from napari_ivae.core.detection.particles import detect_particles  # noqa: E402
from napari_ivae.core.synthetic.lattice import make_lattice  # noqa: E402
from napari_ivae.core.synthetic.particles import make_particles  # noqa: E402

RANKS = np.linspace(0.6, 1.6, 41)  # cuts tried: the top k peaks, k = RANKS x the truth count


def sphere_template(radius: float, blur: float = 0.7, surround: float = 2.0) -> np.ndarray:
    """Zero-mean matched filter of a projected sphere, unit norm.

    The profile is ``sqrt(r^2 - d^2)`` blurred by ``blur`` (as ``make_particles`` draws it);
    its mean over the disc of ``surround x radius`` is taken off inside that disc, so a
    constant or slowly varying support gives no response.

    Parameters
    ----------
    radius : float
        Particle radius in pixels.
    blur : float
        Gaussian blur of the profile (pixels).
    surround : float
        Radius of the zero-mean disc in particle radii.

    Returns
    -------
    numpy.ndarray
        Square template of odd size, zero mean, unit Euclidean norm.
    """
    from scipy import ndimage

    reach = int(np.ceil(surround * radius)) + 1
    rows, cols = np.mgrid[-reach : reach + 1, -reach : reach + 1].astype(np.float64)
    distance2 = rows**2 + cols**2
    profile = ndimage.gaussian_filter(np.sqrt(np.clip(radius**2 - distance2, 0.0, None)), blur)
    disc = distance2 <= (surround * radius) ** 2
    template = np.where(disc, profile - profile[disc].mean(), 0.0)
    return template / np.linalg.norm(template)


def difference_of_gaussians(sigma: float, background: float) -> np.ndarray:
    """Gaussian of ``sigma`` less a Gaussian of ``background``, each of unit sum, unit norm."""
    reach = int(np.ceil(3.0 * background))
    rows, cols = np.mgrid[-reach : reach + 1, -reach : reach + 1].astype(np.float64)
    distance2 = rows**2 + cols**2
    narrow = np.exp(-distance2 / (2.0 * sigma**2))
    wide = np.exp(-distance2 / (2.0 * background**2))
    template = narrow / narrow.sum() - wide / wide.sum()
    return template / np.linalg.norm(template)


def gaussian_template(sigma: float, surround: float) -> np.ndarray:
    """Zero-mean Gaussian matched filter (atoms) over a disc of radius ``surround``, unit norm."""
    reach = int(np.ceil(max(surround, 3.0 * sigma))) + 1
    rows, cols = np.mgrid[-reach : reach + 1, -reach : reach + 1].astype(np.float64)
    distance2 = rows**2 + cols**2
    profile = np.exp(-distance2 / (2.0 * sigma**2))
    disc = distance2 <= surround**2
    template = np.where(disc, profile - profile[disc].mean(), 0.0)
    return template / np.linalg.norm(template)


def filtered(image: np.ndarray, template: np.ndarray) -> np.ndarray:
    """``image`` correlated with a symmetric ``template``, the frame extended by reflection."""
    from scipy.signal import fftconvolve

    reach = template.shape[0] // 2
    padded = np.pad(image - np.median(image), reach, mode="reflect")
    return fftconvolve(padded, template, mode="valid")


def local_maxima(response: np.ndarray, min_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixels that are the maximum of the disc of ``min_distance`` around them, strongest first.

    Returns
    -------
    points : numpy.ndarray
        ``(N, 2)`` ``(row, col)``.
    values : numpy.ndarray
        ``(N,)`` the response there, descending.
    """
    from scipy import ndimage

    reach = max(int(np.floor(min_distance)), 1)
    rows, cols = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    footprint = rows**2 + cols**2 <= max(min_distance, 1.0) ** 2
    peak = (response == ndimage.maximum_filter(response, footprint=footprint, mode="nearest")) & (
        response > np.median(response)
    )
    points = np.argwhere(peak).astype(np.float64)
    values = response[peak]
    order = np.argsort(-values, kind="stable")
    return points[order], values[order]


def best_cut(points, values, truth, radius, margin, shape) -> dict:
    """The cut on ``values`` that maximises F1 against ``truth`` (scored as the benchmark).

    Cuts at the top ``k`` peaks for ``k`` from 0.6 to 1.6 x the number of true objects.
    ``reachable`` says whether any cut tried gives precision and recall >= 0.95 at once.
    """
    best = dict(precision=0.0, recall=0.0, f1=0.0, cut=float("nan"), reachable=False)
    for k in np.unique(np.clip(np.round(RANKS * len(truth)).astype(int), 1, len(values))):
        precision, recall, f1 = score(truth, points[:k], radius, margin, shape)
        if precision >= 0.95 and recall >= 0.95:
            best["reachable"] = True
        if f1 > best["f1"]:
            best.update(precision=precision, recall=recall, f1=f1, cut=float(values[k - 1]))
    return best


def particle_oracle(truth) -> dict:
    """Oracle on a ``make_particles`` image: the best of a few filters of the true size.

    The filters, each with the true polarity and the true median radius ``r``: a Gaussian of
    0.30, 0.35 or 0.40 ``r`` less a Gaussian of 3 ``r`` (the support's slow variation), and
    the maximum over projected-sphere templates of 0.6-1.5 ``r`` (zero mean over 1.25 radii);
    the scale bar (known) is painted over. The result is the filter with the best F1, its name
    in ``filter``; ``reachable`` if any filter reaches precision and recall >= 0.95.
    """
    sign = 1.0 if truth.params["polarity"] == "bright" else -1.0
    image = sign * truth.image.astype(np.float64)
    if truth.scale_bar is not None:
        image[truth.scale_bar] = np.median(image)
    median = float(truth.params["radius"])
    responses = {
        f"DoG {f:.2f}r": filtered(image, difference_of_gaussians(f * median, 3.0 * median))
        for f in (0.30, 0.35, 0.40)
    }
    responses["spheres 0.6-1.5r"] = np.max(
        [
            filtered(image, sphere_template(f * median, surround=1.25))
            for f in (0.6, 0.8, 1.0, 1.25, 1.5)
        ],
        axis=0,
    )
    radii = np.maximum(3.0, truth.radii)
    best: dict = {"f1": -1.0}
    reachable = False
    for name, response in responses.items():
        points, values = local_maxima(response, 0.6 * median)
        result = best_cut(points, values, truth.centres, radii, 3.0, truth.image.shape)
        reachable |= result["reachable"]
        if result["f1"] > best["f1"]:
            best = result | {"filter": name}
    return best | {"reachable": reachable}


def lattice_oracle(truth) -> dict:
    """Oracle on a ``make_lattice`` image: a Gaussian of the true atom width, the true polarity."""
    spacing = float(truth.params["spacing"])
    sigma = float(truth.params["atom_sigma"])
    image = truth.image.astype(np.float64)
    response = filtered(image, gaussian_template(sigma, 0.5 * spacing + sigma))
    points, values = local_maxima(response, 0.5 * spacing)
    return best_cut(
        points, values, truth.positions, 0.35 * spacing, 0.5 * spacing, truth.image.shape
    )


def _defaults_particles(truth) -> tuple:
    found = detect_particles(truth.image).coords[:, 1:]
    return score(truth.centres, found, np.maximum(3.0, truth.radii), 3.0, truth.image.shape)


def _defaults_lattice(truth, image) -> tuple:
    spacing = float(truth.params["spacing"])
    found = detect_atoms(image).coords[:, 1:]
    return score(truth.positions, found, 0.35 * spacing, 0.5 * spacing, truth.image.shape)


def _row(group, name, defaults, oracle, seconds) -> dict:
    precision, recall, f1 = defaults
    row = {
        "group": group,
        "name": name,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "oracle_precision": round(oracle["precision"], 3),
        "oracle_recall": round(oracle["recall"], 3),
        "oracle_f1": round(oracle["f1"], 3),
        "oracle_reachable": bool(oracle["reachable"]),
        "seconds": round(seconds, 3),
    }
    print(
        f"{group:9s} {name:40s} defaults P {precision:.3f} R {recall:.3f} F1 {f1:.3f} | oracle "
        f"P {oracle['precision']:.3f} R {oracle['recall']:.3f} F1 {oracle['f1']:.3f}"
        f"{' (0.95 reachable)' if oracle['reachable'] else ''}"
    )
    return row


def _lattice_row(group, name, kwargs) -> dict:
    kwargs = dict(kwargs)
    dark = kwargs.pop("dark", False)
    truth = make_lattice(**kwargs)
    image = truth.image.max() + 0.2 - truth.image if dark else truth.image
    start = time.perf_counter()
    defaults = _defaults_lattice(truth, image)
    seconds = time.perf_counter() - start
    # dark atoms are the rendered image inverted; the oracle knows the polarity, so it undoes
    # the inversion (a constant offset gives its zero-mean filter no response)
    return _row(group, name, defaults, lattice_oracle(truth), seconds)


def _particle_row(group, name, kwargs) -> dict:
    truth = make_particles(**kwargs)
    start = time.perf_counter()
    defaults = _defaults_particles(truth)
    seconds = time.perf_counter() - start
    return _row(group, name, defaults, particle_oracle(truth), seconds)


def sweep_cases():
    """(group, name, kind, kwargs): dose from high to low where the defaults fall off."""
    # the low-dose rows' support (texture 8 %) and the clean rows' (3 %), illuminated unevenly
    for texture in (0.08, 0.03):
        for polarity in ("bright", "dark"):
            for count, radius, touching in (
                (40, 5, 0.0),
                (150, 6, 0.3),
                (400, 7, 0.6),
                (30, 16, 0.2),
            ):
                for dose in (None, 240, 60, 15, 4):
                    yield (
                        "dose_particles",
                        f"{polarity} n{count} r{radius} texture {texture:.2f} dose {dose or 'inf'}",
                        "particles",
                        dict(
                            shape=384,
                            count=count,
                            radius=radius,
                            polarity=polarity,
                            touching=touching,
                            contrast=0.6,
                            seed=count + radius,
                            noise=0.0,
                            dose=dose,
                            texture=texture,
                            illumination=0.3,
                        ),
                    )
    rng = np.random.default_rng(7)
    for dose in (3, 1, 0.5, 0.3, 0.2, 0.1):
        yield (
            "dose_lattice",
            f"graphene 17.5px dose {dose}",
            "lattice",
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
    for weak in (0.35, 0.25):
        for dose in (None, 30, 8, 3):
            yield (
                "dose_lattice",
                f"perovskite weak B {weak} dose {dose or 'inf'}",
                "lattice",
                dict(
                    shape=256,
                    spacing=11.3,
                    lattice="perovskite",
                    sublattice_intensity=weak,
                    atom_sigma=2.5,
                    noise=0.0 if dose else 0.02,
                    background=0.3,
                    dose=dose,
                    rotation=float(rng.uniform(0, 90)),
                    seed=int(rng.integers(1e6)),
                ),
            )
    for lattice in ("square", "honeycomb", "dumbbell"):
        for dose in (8, 3, 1, 0.5):
            yield (
                "dose_lattice",
                f"{lattice} 7px dose {dose}",
                "lattice",
                dict(
                    shape=320,
                    spacing=7,
                    lattice=lattice,
                    noise=0.05,
                    dose=dose,
                    rotation=float(rng.uniform(0, 90)),
                    seed=int(rng.integers(1e6)),
                ),
            )


def run(seed_offsets=(), sweep: bool = False) -> dict:
    """Defaults and oracle on every synthetic case (and the dose sweep); rows and a summary."""
    rows = [_lattice_row("lattice", name, kwargs) for name, kwargs in lattice_cases()]
    for offset in (0, *(int(x) for x in seed_offsets if int(x) != 0)):
        group = "particles" if offset == 0 else "held_out"
        for name, kwargs in particle_cases(offset):
            label = name if offset == 0 else f"{name} seed +{offset}"
            rows.append(_particle_row(group, label, kwargs))
    if sweep:
        for group, name, kind, kwargs in sweep_cases():
            maker = _particle_row if kind == "particles" else _lattice_row
            rows.append(maker(group, name, kwargs))
    return {"rows": rows, "summary": summarise(rows)}


def _met(row: dict, prefix: str = "") -> bool:
    """The issue's target: F1 >= 0.90 for lattices, precision and recall >= 0.95 for particles."""
    if "lattice" in row["group"]:
        return row[f"{prefix}f1"] >= 0.9
    if prefix and row["oracle_reachable"]:
        return True
    return row[f"{prefix}precision"] >= 0.95 and row[f"{prefix}recall"] >= 0.95


def summarise(rows) -> dict:
    """Per group: rows meeting the target by the defaults and by the oracle, and which fail.

    ``beyond_the_data``: neither reaches the target; ``detector_short``: the oracle does, the
    defaults do not; ``oracle_short``: the defaults do, the oracle does not (there the oracle
    is no upper bound: dense touching particles, where one filter's maxima merge neighbours).
    """
    summary = {}
    for group in ("lattice", "particles", "held_out", "dose_particles", "dose_lattice"):
        chosen = [row for row in rows if row["group"] == group]
        if not chosen:
            continue
        defaults = [_met(row) for row in chosen]
        oracle = [_met(row, "oracle_") for row in chosen]
        summary[group] = {
            "cases": len(chosen),
            "target": "F1 >= 0.90" if "lattice" in group else "P and R >= 0.95",
            "defaults_met": int(sum(defaults)),
            "oracle_met": int(sum(oracle)),
            "beyond_the_data": [
                row["name"] for row, d, o in zip(chosen, defaults, oracle) if not (d or o)
            ],
            "detector_short": [
                row["name"] for row, d, o in zip(chosen, defaults, oracle) if o and not d
            ],
            "oracle_short": [
                row["name"] for row, d, o in zip(chosen, defaults, oracle) if d and not o
            ],
        }
        entry = summary[group]
        print(
            f"{group:14s} {entry['target']}: defaults {entry['defaults_met']} of {len(chosen)}, "
            f"oracle {entry['oracle_met']}; neither {len(entry['beyond_the_data'])}, only the "
            f"oracle {len(entry['detector_short'])}, only the defaults {len(entry['oracle_short'])}"
        )
    return summary


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Defaults against a truth-knowing oracle.")
    parser.add_argument("--oracle", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", default="", help="seed offsets of the particle cases")
    parser.add_argument("--sweep", action="store_true", help="add the dose sweep")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    offsets = [int(x) for x in args.seeds.split(",") if x.strip()]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report = run(offsets, sweep=args.sweep)
    print(json.dumps({"benchmark": "detection_oracle", "load_average_1min": load, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
