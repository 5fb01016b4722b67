"""Default detection on frames with nothing to find: pure noise, film, gradients (issue 9).

``python benchmarks/empty_frames.py [--seeds 0,1] [--sizes 256,512,1024] [--modes atoms,particles]
[--only NAME]`` renders frames that hold no atom and no particle -- pure Poisson counts at several
doses, white Gaussian noise, 8-bit quantised noise, an amorphous carbon film (random light atoms
blurred by the probe, no crystal), a smooth illumination gradient under Poisson counts, scan-line
noise alone -- detects with no parameter at all (as ``napari-ivae detect IMAGE [--mode particles]``)
and prints the points found per frame and whether the self-check warned (``quality["warnings"]``
not empty; a clear refusal, ``InputError``, counts as warned with no point), then one JSON
line. The right answer is no point, or a warning that nothing stands out from the noise;
hundreds of confident points are the failure this measures.

The generator is written here, apart from :mod:`napari_ivae.core.synthetic` and the stranger
benchmarks, so the defaults were not tuned to it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.errors import InputError


def _blurred(shape, rng, scale):
    """White noise low-passed by a Gaussian of ``scale`` px, unit spread."""
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    spectrum = np.fft.rfft2(rng.standard_normal(shape))
    field = np.fft.irfft2(spectrum * np.exp(-2 * np.pi**2 * scale**2 * (ky**2 + kx**2)), s=shape)
    return field / (field.std() + 1e-12)


def _film(shape, rng, blob):
    """An amorphous film: light atoms at random places (about one per 20 px^2), each a
    Gaussian of ``blob`` px, summed (dense enough that single atoms overlap)."""
    n = int(shape[0] * shape[1] / 20)
    canvas = np.zeros(shape)
    rows, cols = rng.integers(0, shape[0], n), rng.integers(0, shape[1], n)
    np.add.at(canvas, (rows, cols), rng.uniform(0.5, 1.0, n))
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    probe = np.exp(-2 * np.pi**2 * blob**2 * (ky**2 + kx**2))
    film = np.fft.irfft2(np.fft.rfft2(canvas) * probe, s=shape)
    return film / film.mean()


def poisson(dose):
    return lambda shape, rng: rng.poisson(dose, shape).astype(np.float32)


def gaussian(shape, rng):
    return (100.0 + 7.0 * rng.standard_normal(shape)).astype(np.float32)


def uint8_noise(shape, rng):
    """Counts of a few per pixel, scaled to 8 bit as a camera's export does (coarse steps)."""
    counts = rng.poisson(3.0, shape)
    return np.clip(counts * 255.0 / max(counts.max(), 1), 0, 255).astype(np.uint8)


def film(dose, blob):
    def frame(shape, rng):
        return rng.poisson(dose * np.clip(_film(shape, rng, blob), 0, None)).astype(np.float32)

    return frame


def gradient(shape, rng):
    """An illumination gradient (5 to 60 counts) plus a slow bump, Poisson counts."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]] / max(shape)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = 0.5 + 0.5 * (np.cos(angle) * (rows - 0.5) + np.sin(angle) * (cols - 0.5)) * 1.4
    mean = 5.0 + 55.0 * np.clip(ramp, 0, 1) * (1 + 0.2 * _blurred(shape, rng, max(shape) / 6))
    return rng.poisson(np.clip(mean, 1.0, None)).astype(np.float32)


def scan_lines(shape, rng):
    """Row offsets (a flickering source or a drifting scan), weak white read noise."""
    lines = 2.0 * rng.standard_normal((shape[0], 1)) + 0.5 * _blurred((shape[0], 1), rng, 8.0)
    return (20.0 + lines + 0.7 * rng.standard_normal(shape)).astype(np.float32)


CASES = {
    "poisson 0.5 counts": poisson(0.5),
    "poisson 2 counts": poisson(2.0),
    "poisson 10 counts": poisson(10.0),
    "poisson 200 counts": poisson(200.0),
    "gaussian": gaussian,
    "uint8 of 3 counts": uint8_noise,
    "carbon film 2 px, 30 counts": film(30.0, 2.0),
    "carbon film 1.2 px, 8 counts": film(8.0, 1.2),
    "gradient, poisson": gradient,
    "scan lines only": scan_lines,
}


def make(name: str, size: int, seed: int) -> np.ndarray:
    """The frame ``name`` at ``size`` x ``size`` px (its noise from ``seed``)."""
    rng = np.random.default_rng([seed, size, sum(map(ord, name))])
    return CASES[name]((size, size), rng)


def detect(image, mode: str):
    if mode == "atoms":
        return detect_atoms(image)
    return detect_particles(image)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    parser.add_argument(
        "--sizes", default="256,512,1024", help="frame sides (default 256,512,1024)"
    )
    parser.add_argument("--modes", default="atoms,particles", help="atoms, particles or both")
    parser.add_argument("--only", default="", help="cases whose name contains this")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rows = []
    for mode in args.modes.split(","):
        for name in CASES:
            if args.only not in name:
                continue
            for size in (int(s) for s in args.sizes.split(",")):
                for seed in (int(s) for s in args.seeds.split(",")):
                    image = make(name, size, seed)
                    start = time.process_time()
                    try:
                        found = detect(image, mode)
                        count, warnings = len(found), found.quality.get("warnings", [])
                        said = found.message
                    except InputError as error:  # a clear refusal is an answer too
                        count, warnings, said = 0, [f"error: {error}"], ""
                    seconds = time.process_time() - start
                    rows.append(
                        {
                            "mode": mode,
                            "image": name,
                            "size": size,
                            "seed": seed,
                            "found": count,
                            "warned": bool(warnings),
                            "cpu_seconds": round(seconds, 2),
                        }
                    )
                    first = (warnings[0] if warnings else said)[:70]
                    print(
                        f"{mode:9s} {name:28s} {size:5d} s{seed} found {count:6d} "
                        f"warned {int(bool(warnings))}  {seconds:5.2f} s  {first}",
                        flush=True,
                    )
    summary = {}
    for mode in args.modes.split(","):
        mine = [row for row in rows if row["mode"] == mode]
        if not mine:
            continue
        summary[mode] = {
            "frames": len(mine),
            "empty": sum(row["found"] == 0 for row in mine),
            "empty_or_warned": sum(row["found"] == 0 or row["warned"] for row in mine),
            "points": sum(row["found"] for row in mine),
            "max_points": max(row["found"] for row in mine),
        }
    print(json.dumps({"summary": summary, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
