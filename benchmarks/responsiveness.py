"""How responsive the napari window stays while the Train widget trains in the background.

A QTimer ticks every 10 ms on the Qt (GUI) thread while an rVAE trains for about ``--seconds``
in the widget's worker thread (then Stop is clicked, which also checks that the partial model is
kept). The longest interval between two ticks is the longest time the viewer could not react
(target: < 50 ms). Runs on a virtual display when there is none.

    python benchmarks/responsiveness.py [--seconds 30] [--kind rvae] [--torch-threads N]

Prints human-readable lines, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

TICK_MS = 10
TARGET_MS = 50.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="training time to observe")
    parser.add_argument("--kind", default="rvae", choices=["vae", "rvae", "shift-vae"])
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="override the worker's torch thread count (default: cores - 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if not os.environ.get("DISPLAY"):
        from napari_ivae.cli._demo import start_virtual_display

        start_virtual_display()
        os.environ.pop("QT_QPA_PLATFORM", None)

    import napari
    import numpy as np
    from qtpy.QtCore import QTimer

    from napari_ivae import _workers
    from napari_ivae._widgets._session import get_session
    from napari_ivae.core.synthetic.lattice import make_lattice
    from napari_ivae.demo import process_events_until

    if args.torch_threads:
        _workers.worker_threads = lambda: args.torch_threads

    viewer = napari.Viewer(show=True)
    lattice = make_lattice((256, 256), spacing=12.0, domains=2, seed=args.seed)
    image = viewer.add_image(lattice.image, name="lattice")
    _, patches = viewer.window.add_plugin_dock_widget("napari-ivae", "Patches and labels")
    _, train = viewer.window.add_plugin_dock_widget("napari-ivae", "Train")
    patches.image.value = image
    patches.source.value = "grid"
    patches.size.value = 24
    patches.stride.value = 6
    patchset = patches.extract()
    train.kind.value = args.kind
    train.epochs.value = 100000
    train.seed.value = args.seed
    train.write_maps.value = False

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))

    # control: the same timer with the viewer idle, to separate machine load from training
    timer.start()
    t_idle = time.perf_counter()
    process_events_until(lambda: time.perf_counter() - t_idle > 5.0, 30)
    timer.stop()
    idle_gaps = np.diff(np.asarray(ticks)) * 1000.0
    ticks.clear()

    steps = []
    job = train.start()
    job.worker.yielded.connect(lambda event: steps.append(time.perf_counter()))
    process_events_until(lambda: len(steps) > 0, 120)  # past model building / first batch
    timer.start()
    t0 = time.perf_counter()
    process_events_until(lambda: time.perf_counter() - t0 > args.seconds, args.seconds + 60)
    train.stop()
    process_events_until(lambda: not train.busy, 120)
    timer.stop()
    kept = get_session(viewer).bundle is not None
    viewer.close()

    gaps = np.diff(np.asarray(ticks)) * 1000.0
    if gaps.size == 0:
        print("no timer ticks were recorded", file=sys.stderr)
        return 1
    result = {
        "benchmark": "responsiveness",
        "kind": args.kind,
        "patches": int(len(patchset.patches)),
        "patch_size": 24,
        "observed_s": round(args.seconds, 1),
        "train_steps": len(steps),
        "steps_per_s": round(len(steps) / max(steps[-1] - steps[0], 1e-9), 2),
        "ticks": int(gaps.size + 1),
        "tick_ms": TICK_MS,
        "max_gap_ms": round(float(gaps.max()), 1),
        "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
        "median_gap_ms": round(float(np.median(gaps)), 1),
        "idle_max_gap_ms": round(float(idle_gaps.max()), 1),
        "idle_median_gap_ms": round(float(np.median(idle_gaps)), 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "target_ms": TARGET_MS,
        "pass": bool(gaps.max() < TARGET_MS),
        "partial_model_kept": kept,
        "torch_threads": args.torch_threads or _workers.worker_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "seed": args.seed,
    }
    print(f"trained {args.kind} for {args.seconds:.0f} s on {result['patches']} patches "
          f"({result['train_steps']} steps, {result['steps_per_s']} steps/s) with "
          f"{result['torch_threads']} torch thread(s) on {result['cpu_count']} cores")
    print(f"Qt event loop, {TICK_MS} ms timer: longest gap {result['max_gap_ms']} ms, "
          f"99th percentile {result['p99_gap_ms']} ms, median {result['median_gap_ms']} ms "
          f"(target < {TARGET_MS:.0f} ms: {'PASS' if result['pass'] else 'FAIL'})")
    print(f"same timer with the viewer idle (machine load {result['load_average_1min']}): longest "
          f"gap {result['idle_max_gap_ms']} ms, median {result['idle_median_gap_ms']} ms")
    print(f"Stop kept the partial model: {kept}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
