"""Speed and memory of patch extraction, maps and annotation labelling.

Usage::

    python benchmarks/patches.py            # the product target: 100 000 patches of 32 x 32
    python benchmarks/patches.py --quick    # 20 000 patches, smaller maps (a few seconds)

Memory is the peak of numpy/Python allocations during each call (``tracemalloc``), reported
as a multiple of the output size (target for patches: a small multiple, ~1). Times are
wall-clock on a machine possibly shared with other jobs (the load average is printed).
Prints one human-readable line per measurement, then a final JSON line with every number.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc

import numpy as np

from napari_ivae.core.analysis.maps import grid_map, point_map
from napari_ivae.core.patches.annotations import labels_from_shapes
from napari_ivae.core.patches.cutting import extract_patches, grid_patches


def measure(name: str, func, output_bytes=None) -> tuple[object, dict]:
    """Run ``func`` once; return its result and time / peak memory."""
    tracemalloc.start()
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out_bytes = output_bytes(result) if output_bytes else None
    record = {"seconds": round(seconds, 3), "peak_mb": round(peak / 1e6, 1)}
    line = f"{name:<46s} {seconds:7.2f} s  peak {peak / 1e6:8.1f} MB"
    if out_bytes:
        record["output_mb"] = round(out_bytes / 1e6, 1)
        record["peak_over_output"] = round(peak / out_bytes, 2)
        line += f"  output {out_bytes / 1e6:7.1f} MB  peak/output {peak / out_bytes:4.2f}"
    print(line, flush=True)
    return result, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n_patches = 20_000 if args.quick else 100_000
    side = 1024 if args.quick else 2048
    size = 32
    image = rng.random((side, side), dtype=np.float32)
    subpixel = rng.uniform(size, side - size, (n_patches, 2))
    integer = np.round(subpixel)
    patch_bytes = lambda ps: ps.patches.nbytes  # noqa: E731
    results = {
        "seed": args.seed,
        "n_patches": n_patches,
        "patch_size": size,
        "image": [side, side],
        "load_average": list(os.getloadavg()),
    }
    print(
        f"image {side}x{side} float32, {n_patches} patches of {size}x{size}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    _, results["extract_subpixel_bilinear"] = measure(
        "extract_patches sub-pixel (order 1)",
        lambda: extract_patches(image, subpixel, size),
        patch_bytes,
    )
    _, results["extract_integer_patchnorm"] = measure(
        "extract_patches integer + normalize='patch'",
        lambda: extract_patches(image, integer, size, normalize="patch"),
        patch_bytes,
    )
    n_cubic = n_patches // 5
    _, results["extract_subpixel_cubic"] = measure(
        f"extract_patches cubic (order 3), {n_cubic}",
        lambda: extract_patches(image, subpixel[:n_cubic], size, order=3),
        patch_bytes,
    )
    stride = 8
    grid, results["grid_patches"] = measure(
        f"grid_patches stride {stride}", lambda: grid_patches(image, size, stride), patch_bytes
    )
    results["grid_patches"]["n"] = len(grid)
    values = rng.normal(size=(len(grid), 2))
    _, results["grid_map_2ch"] = measure(
        "grid_map (2 channels, upsampled)", lambda g=grid: grid_map(values, g), lambda m: m.nbytes
    )
    del grid

    map_side = 512 if args.quick else 1024
    n_points = (map_side // 10) ** 2
    centres = rng.uniform(0, map_side - 1, (n_points, 2))
    point_values = rng.normal(size=n_points)
    for method in ("voronoi", "gaussian"):
        _, results[f"point_map_{method}"] = measure(
            f"point_map {method} {map_side}^2, {n_points} points",
            lambda method=method: point_map(
                point_values, centres, (map_side, map_side), method=method
            ),
            lambda m: m.nbytes,
        )

    n_label = n_patches
    label_points = rng.uniform(0, side, (n_label, 2))
    shapes, kinds = [], []
    for k in range(20):
        r, c = rng.uniform(0, side - 200, 2)
        shapes.append(np.array([[r, c], [r, c + 200], [r + 200, c + 200], [r + 200, c]]))
        kinds.append("ellipse" if k % 2 else "polygon")
    assignment, results["labels_from_shapes"] = measure(
        f"labels_from_shapes 20 shapes, {n_label} points",
        lambda: labels_from_shapes(label_points, None, shapes, kinds, list(range(20))),
    )
    results["labels_from_shapes"]["n_labeled"] = assignment.n_labeled
    print(json.dumps(results))


if __name__ == "__main__":
    main()
