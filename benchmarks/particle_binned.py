"""Small particles at two magnifications: the same scene, and the same scene binned 2 x 2.

A lower magnification of a scene is its frame binned (each detector pixel collects the counts
of a larger area): the particles shrink in pixels, the shot noise per pixel falls with the
counts that pixel collects, and the noise stays white. Each case draws particles of radius
``2 r`` at ``DOSE`` counts a pixel with white shot noise only (no texture, no read noise) on a
``2 S`` frame, and bins it by 2 into an ``S`` frame of radius ``r`` particles: the default
detector runs on both and is scored as the robustness benchmark scores particles (one to one
within each particle's radius, at least 3 px; 3 px margin).

Each particle's ideal-observer SNR (``particle_snr.particle_snr``, with ``binning=2`` in the
binned frame) says how visible it is in each frame: binning averages signal and shot noise
alike, so d' falls only where a particle's signal has power beyond the binned frame's sampling
(radius below ~2 binned pixels). A recall that falls with binning while d' holds is the
detector's, not the data's. Columns: recall over the particles of d' >= ``SNR_LIMIT`` in that
frame, and the median d'.

Run from the repository root: ``python benchmarks/particle_binned.py [--seeds 0,1]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from particle_snr import SNR_LIMIT, binned, binned_centres, particle_snr  # noqa: E402

SIDE = 768  # the fine frame; binned 384 x 384, the robustness benchmark's size
DOSE = 15  # counts a fine pixel at the support level (60 a binned pixel)


def cases():
    """(name, make_particles kwargs of the fine frame): binned radius 2, 3 and 4 px."""
    for polarity in ("bright", "dark"):
        for radius, count in ((4, 300), (6, 200), (8, 120)):
            yield (
                f"{polarity} r{radius // 2} (fine r{radius})",
                dict(
                    shape=SIDE,
                    count=count,
                    radius=radius,
                    radius_spread=0.15,
                    polarity=polarity,
                    contrast=0.6,
                    touching=0.2,
                    texture=0.0,
                    noise=0.0,
                    dose=DOSE,
                ),
            )


def _scored(found, centres, radii, shape, snr):
    """Precision, recall, F1, recall over d' >= ``SNR_LIMIT`` and the median d' (inside the
    3 px margin), matched as the robustness benchmark matches."""
    from robustness import score

    radius = np.maximum(3.0, radii)
    precision, recall, f1 = score(centres, found, radius, 3.0, shape)
    within = score(centres, found, radius, 3.0, shape, within=snr >= SNR_LIMIT)[1]
    inside = np.all((centres >= 3.0) & (centres < np.array(shape) - 3.0), axis=1)
    return precision, recall, f1, within, float(np.median(snr[inside]))


def run(seeds) -> list[dict]:
    """Score every case and seed at both magnifications; one dict per row."""
    from napari_ivae.core.detection.particles import detect_particles
    from napari_ivae.core.synthetic.particles import make_particles

    rows = []
    for name, kwargs in cases():
        for seed in seeds:
            truth = make_particles(**kwargs, seed=seed)
            row = {"case": name, "seed": seed}
            for tag, factor in (("fine", 1), ("binned", 2)):
                image = truth.image if factor == 1 else binned(truth.image, factor)
                centres = truth.centres if factor == 1 else binned_centres(truth.centres, factor)
                snr = particle_snr(dict(kwargs, seed=seed), truth, binning=factor)
                start = time.perf_counter()
                found = detect_particles(image).coords[:, 1:]
                seconds = time.perf_counter() - start
                scores = _scored(found, centres, truth.radii / factor, image.shape, snr)
                row[tag] = dict(zip(("precision", "recall", "f1", "recall_within", "snr"), scores))
                row[tag]["seconds"] = round(seconds, 2)
            rows.append(row)
            fine, coarse = row["fine"], row["binned"]
            print(
                f"{name:22s} seed {seed}  fine P {fine['precision']:.3f} R {fine['recall']:.3f} "
                f"F1 {fine['f1']:.3f} (R d'>={SNR_LIMIT:.0f} {fine['recall_within']:.3f}, d' "
                f"{fine['snr']:.1f})  binned P {coarse['precision']:.3f} R {coarse['recall']:.3f} "
                f"F1 {coarse['f1']:.3f} (R d'>={SNR_LIMIT:.0f} {coarse['recall_within']:.3f}, d' "
                f"{coarse['snr']:.1f})",
                flush=True,
            )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rows = run([int(x) for x in args.seeds.split(",") if x.strip()])
    print(json.dumps({"benchmark": "particle_binned", "rows": rows}, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
