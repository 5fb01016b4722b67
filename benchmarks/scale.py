"""Detection on a stack larger than you would like to hold: memory and throughput.

``python benchmarks/scale.py [--frames N] [--side S]`` writes a generated lattice stack
(default 40 frames of 1024 x 1024, float32: 160 MB) to a temporary ``.npy``, then detects atoms
in a child process twice: in memory (the whole stack loaded) and streamed from a memory map
(``core.streaming.detect_stream``). It prints the peak resident memory and the megapixels per
second of each, whether the points agree, and a final JSON line. Each run is a fresh process, so
its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
from napari_ivae.core.imageio import read_image
mode, path, out = sys.argv[1:4]
start = time.perf_counter()
if mode == "memory":
    from napari_ivae.core.atoms import detect_atoms
    stack = np.load(path)
    found = detect_atoms(stack, frame_axis=0)
else:
    from napari_ivae.core.streaming import detect_stream
    found = detect_stream(read_image(path, mmap=True), "atoms")
seconds = time.perf_counter() - start
np.save(out, found.coords)
print(json.dumps({"seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--side", type=int, default=1024)
    args = parser.parse_args()
    from napari_ivae.core.synthetic.lattice import make_lattice

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stack.npy"
        stack = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                          shape=(args.frames, args.side, args.side))
        for index in range(args.frames):
            stack[index] = make_lattice(args.side, spacing=12.0, noise=0.1, dose=50,
                                        rotation=index, seed=index).image
        stack.flush()
        del stack
        megapixels = args.frames * args.side**2 / 1e6
        results = {}
        for mode in ("memory", "streamed"):
            out = Path(folder) / f"{mode}.npy"
            run = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(out)],
                                 capture_output=True, text=True, check=True)
            results[mode] = json.loads(run.stdout.strip().splitlines()[-1])
            results[mode]["mpx_per_s"] = megapixels / results[mode]["seconds"]
            print(f"{mode:9s} {args.frames} x {args.side}^2 ({megapixels:.0f} Mpx, "
                  f"{megapixels * 4:.0f} MB): {results[mode]['seconds']:.1f} s, "
                  f"{results[mode]['mpx_per_s']:.1f} Mpx/s, peak RSS "
                  f"{results[mode]['peak_rss_mb']:.0f} MB")
        same = np.allclose(np.load(Path(folder) / "memory.npy"),
                           np.load(Path(folder) / "streamed.npy"), atol=1e-6)
        print(f"points identical (1e-6 px): {same}")
    print(json.dumps({"benchmark": "scale", "frames": args.frames, "side": args.side,
                      "identical": bool(same), **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
