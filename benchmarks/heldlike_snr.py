"""Each dark particle's ideal-observer SNR on ``stranger_heldlike``'s carbon films, and what the
defaults miss against it, at any magnification.

``python benchmarks/heldlike_snr.py [--only tem_dark_carbon_234] [--seeds 2] [--zoom 1,0.5]``
renders the ``tem_dark_carbon_*`` scenes as ``stranger_heldlike.py`` does (``--zoom`` as
there), detects as the CLI with no parameter, and matches as its scoring (each counted
reference within its radius, at least 3 px). The generator also hands back the particles' own
signal before noise (``tem_dark_np(drawn=)``), taken to the zoom with the frame; the frame less
that signal is what hides them (the film's 1/f texture, shot noise, 8-bit rounding, JPEG). As
``particle_snr.py``: that nuisance's periodogram (the scale bar's box left out, smoothed over
9 x 9 frequencies) whitens it, and a particle's SNR is the whitened norm of its own signal
(pixels nearer its edge than any other particle's), the matched filter's d' for an observer
that knows where it is, how large and how dark. ``SNR_LIMIT`` (8) is the product's stated limit
(>= 95 % found at or above it).

Per row: the references counted and missed; the defaults' recall over those of SNR >= 8 and the
share found under it; the misses' SNR, radius and edge-to-edge gap to their nearest neighbour;
and the ideal observer's expected misses: its whitened matched filter for the misses' median
radius run over the nuisance alone, cut at that background's strongest maximum (about one false
point), each particle found with probability Phi(d' - cut); the same for the detector's own
filter (the normalised LoG at each particle's scale, its response over the LoG's spread on the
nuisance, cut at that scale's strongest background maximum). Truth is used only to measure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from scipy.stats import norm

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import stranger_heldlike as held  # noqa: E402
from particle_snr import SNR_LIMIT  # noqa: E402
from stranger_scenes import detect, kept  # noqa: E402

NAMES = ("tem_dark_carbon_26", "tem_dark_carbon_65", "tem_dark_carbon_234")


def scene(name: str, seed: int) -> tuple[dict, np.ndarray]:
    """``stranger_heldlike``'s case ``name`` (``BASE@xZOOM``) and its particles' own signal in
    the case's frame and units."""
    drawn: dict = {}
    case = held.make(name, seed, drawn)
    return case, drawn["particles"]


def counted_and_matched(case: dict, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which references the scoring counts, and which of those a point matches (one to one,
    within each reference's radius, at least 3 px: ``stranger_scenes.score_against``)."""
    truth, shape, invalid = case["truth"], case["image"].shape, case["invalid"]
    ij = np.clip(np.round(truth[:, :2]).astype(int), 0, np.array(shape) - 1)
    counted = np.ones(len(truth), bool) if invalid is None else ~invalid[ij[:, 0], ij[:, 1]]
    band = max(3.0, float(np.median(truth[counted, 2])))
    counted &= kept(truth[:, :2], shape, 3.0, invalid, case["ignore"], band)
    points = found[kept(found, shape, 3.0, invalid, case["ignore"], band)] if len(found) else found
    matched = np.zeros(len(truth), bool)
    index = np.nonzero(counted)[0]
    if len(points) and len(index):
        distance = np.linalg.norm(truth[index, None, :2] - points[None], axis=2)
        allowed = distance <= np.maximum(3.0, truth[index, 2])[:, None]
        rows, cols = linear_sum_assignment(np.where(allowed, distance, 1e6))
        matched[index[rows[allowed[rows, cols]]]] = True
    return counted, matched


def whitening(nuisance: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The inverse of the nuisance's smoothed periodogram (zero-mean over ``valid``, zero
    elsewhere)."""
    centred = np.where(valid, nuisance - nuisance[valid].mean(), 0.0)
    power = np.abs(np.fft.fft2(centred)) ** 2 / valid.sum()
    power = np.fft.ifftshift(ndimage.uniform_filter(np.fft.fftshift(power), 9, mode="wrap"))
    return 1.0 / np.maximum(power, 1e-12 * float(power.max()))


def _norm(signal: np.ndarray, inverse: np.ndarray) -> float:
    return float(np.sqrt((np.abs(np.fft.fft2(signal)) ** 2 * inverse).sum() / signal.size))


def particle_snr(truth: np.ndarray, signal: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Whitened norm of each particle's own part of ``signal``: the pixels within reach that
    lie nearer its edge than any other particle's."""
    out = np.zeros(len(truth))
    shape = signal.shape
    for k, (row, col, radius) in enumerate(truth[:, :3]):
        reach = int(np.ceil(1.6 * radius + 6))
        r0, c0 = max(int(row) - reach, 0), max(int(col) - reach, 0)
        r1, c1 = min(int(row) + reach + 1, shape[0]), min(int(col) + reach + 1, shape[1])
        rr, cc = np.mgrid[r0:r1, c0:c1]
        gap = np.hypot(rr[..., None] - truth[:, 0], cc[..., None] - truth[:, 1]) - truth[:, 2]
        own = np.zeros(shape)
        own[r0:r1, c0:c1] = np.where(gap.argmin(axis=2) == k, signal[r0:r1, c0:c1], 0.0)
        out[k] = _norm(own, inverse)
    return out


def background_top(nuisance, valid, inverse, radius: float, blur: float) -> float:
    """The strongest maximum of the whitened matched filter of a dark sphere of ``radius``
    over the nuisance, at least 20 blurs from invalid pixels, in units of its spread."""
    shape = nuisance.shape
    rows = np.fft.fftfreq(shape[0], 1.0 / shape[0])[:, None]
    cols = np.fft.fftfreq(shape[1], 1.0 / shape[1])[None, :]
    sphere = np.sqrt(np.clip(radius**2 - rows**2 - cols**2, 0.0, None))
    template = np.fft.fft2(-ndimage.gaussian_filter(sphere, blur, mode="wrap"))
    centred = np.where(valid, nuisance - nuisance[valid].mean(), 0.0)
    out = np.real(np.fft.ifft2(np.fft.fft2(centred) * np.conj(template) * inverse))
    away = ndimage.binary_erosion(valid, iterations=int(round(20 * blur)), border_value=0)
    peaks = (out == ndimage.maximum_filter(out, size=int(2 * radius + 1))) & away
    return float(out[peaks].max() / out[away].std())


def log_misses(truth, signal, nuisance, valid, counted, blur: float) -> float:
    """Expected misses of an observer that knows each particle's size and takes the frame's
    normalised LoG at sigma = radius / sqrt 2 (the detector's filter) over its particle, cut at
    that scale's strongest background maximum (``background_top``'s region)."""
    radii = truth[counted, 2]
    sigmas = np.geomspace(radii.min(), radii.max(), 10) / np.sqrt(2)
    nearest = np.abs(np.log(radii[:, None] * np.sqrt(0.5) / sigmas[None])).argmin(axis=1)
    ij = np.round(truth[counted, :2]).astype(int)
    away = ndimage.binary_erosion(valid, iterations=int(round(20 * blur)), border_value=0)
    misses = 0.0
    for k, sigma in enumerate(sigmas):
        mine = nearest == k
        if not mine.any():
            continue
        noise = sigma**2 * ndimage.gaussian_laplace(nuisance, sigma)  # a dark dip is positive
        spread = noise[away].std()
        size = int(2 * sigma * np.sqrt(2) + 1)
        top = noise[(noise == ndimage.maximum_filter(noise, size=size)) & away].max() / spread
        response = sigma**2 * ndimage.gaussian_laplace(signal, sigma)[ij[mine, 0], ij[mine, 1]]
        misses += float((1 - norm.cdf(response / spread - top)).sum())
    return misses


def row(name: str, seed: int) -> dict:
    """One scene's misses against its particles' SNR."""
    case, signal = scene(name, seed)
    found, _, _ = detect(case)
    counted, matched = counted_and_matched(case, found)
    truth = case["truth"]
    valid = np.ones(signal.shape, bool)
    for key in ("invalid", "ignore"):
        if case[key] is not None:
            valid &= ~case[key]
    nuisance = case["image"].astype(np.float64) - signal
    inverse = whitening(nuisance, valid)
    snr = particle_snr(truth, signal, inverse)
    missed = counted & ~matched
    strong = counted & (snr >= SNR_LIMIT)
    centre = np.linalg.norm(truth[:, None, :2] - truth[None, :, :2], axis=2)
    np.fill_diagonal(centre, np.inf)
    gap = (centre - truth[:, 2][:, None] - truth[:, 2][None]).min(axis=1)
    zoom = float(name.partition("@x")[2].partition("+")[0] or 1)
    radius = float(np.median(truth[missed, 2])) if missed.any() else float(np.median(truth[:, 2]))
    top = background_top(nuisance, valid, inverse, radius, 0.8 * max(zoom, 1.0))
    return {
        "counted": int(counted.sum()),
        "missed": int(missed.sum()),
        "recall": float(matched[counted].mean()),
        "strong": int(strong.sum()),
        "strong_found": int((strong & matched).sum()),
        "weak": int((counted & ~strong).sum()),
        "weak_found": int((counted & ~strong & matched).sum()),
        "missed_snr": snr[missed].round(2).tolist(),
        "missed_radius": truth[missed, 2].round(2).tolist(),
        "missed_gap": gap[missed].round(1).tolist(),
        "top": top,
        "ideal_misses": float((1 - norm.cdf(snr[counted] - top)).sum()),
        "log_misses": log_misses(truth, signal, nuisance, valid, counted, 0.8 * max(zoom, 1.0)),
    }


def _span(values) -> str:
    return f"{min(values):.1f}-{max(values):.1f}" if len(values) else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="tem_dark_carbon", help="comma-separated name parts")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--zoom", default="1", help="comma-separated magnifications (default 1)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    zooms = [z.strip() for z in args.zoom.split(",") if z.strip()]
    print(
        f"{'scene':28s} seed  R      counted missed  SNR>={SNR_LIMIT:g} found  under found  "
        "misses: SNR      r          gap        ideal: cut  misses  LoG: misses"
    )
    for base in (n for n in NAMES if any(p in n for p in parts)):
        for zoom in zooms:
            name = base if zoom in ("1", "1.0") else f"{base}@x{zoom}"
            for seed in seeds:
                r = row(name, seed)
                print(
                    f"{name:28s} s{seed}   {r['recall']:.3f}  {r['counted']:5d} {r['missed']:5d}"
                    f"  {r['strong_found']:5d} / {r['strong']:<5d} {r['weak_found']:4d} / "
                    f"{r['weak']:<4d}  {_span(r['missed_snr']):9s}  "
                    f"{_span(r['missed_radius']):9s}  {_span(r['missed_gap']):10s} "
                    f"{r['top']:5.2f} {r['ideal_misses']:6.1f}  {r['log_misses']:6.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
