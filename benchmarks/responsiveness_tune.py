"""The ``tune`` rows of ``responsiveness.py``: the Detect dock's live tuning, timed.

Spacing drags on the lattice (three drags of three spin-box steps up, then one back to values
seen before), then the threshold method switched on particles; per row the time from the
last change to the points layer re-drawn, the detection's time in the core and the worker's
(see ``responsiveness.py``'s docstring).
"""

from __future__ import annotations

import time

STEP_TIMEOUT_S = 3600.0


def tune_detect(detect, viewer, args, results, observe, row, process_events_until) -> None:
    """The ``tune`` rows: spacing drags on the lattice, then threshold methods on particles
    (see the module's docstring); each row's core, worker and end-to-end times."""
    from napari_ivae._widgets import detect as detect_module
    from napari_ivae._widgets import detect_run
    from napari_ivae.core.synthetic.particles import make_particles

    timings: dict[str, list] = {"core": [], "worker": []}
    real_core, real_worker = detect_run.run_detection, detect_module._detect_snapshot

    def core(*a, **k):
        start = time.perf_counter()
        try:
            return real_core(*a, **k)
        finally:
            timings["core"].append(time.perf_counter() - start)

    def worker(*a, **k):
        start = time.perf_counter()
        try:
            return real_worker(*a, **k)
        finally:
            timings["worker"].append(time.perf_counter() - start)

    detect_run.run_detection, detect_module._detect_snapshot = core, worker

    def timed(name: str, change, tuned, layer) -> None:
        for values in timings.values():
            values.clear()
        r = results[name] = observe(name, change, tuned)
        r.update(
            points=int(len(layer.data)),
            core_s=[round(t, 3) for t in timings["core"]],
            worker_s=[round(t, 3) for t in timings["worker"]],
        )
        print(row(name, r), flush=True)
        cores = ", ".join(f"{t:.3f}" for t in r["core_s"]) or "memo"
        print(
            f"    core {cores} s, worker {', '.join(f'{t:.3f}' for t in r['worker_s'])} s, "
            f"end to end {r['action_s']:.2f} s (layer write {r['longest_layer_write_ms']:.0f} ms)",
            flush=True,
        )

    points = viewer.layers["lattice atoms [ivae]"]
    step = 0.5
    drags = [[args.spacing + step * (3 * d + k) for k in (1, 2, 3)] for d in range(3)]
    drags.append([drags[1][1], drags[1][0], drags[0][2]])  # back: values seen before
    for number, dragged in enumerate(drags, 1):

        def drag(dragged=dragged) -> None:
            for value in dragged:  # the spin box's arrow held: one change after another
                detect.spacing.value = value

        def tuned(dragged=dragged) -> bool:
            meta = points.metadata.get("napari_ivae", {})
            return not detect.busy and meta.get("spacing") == dragged[-1]

        timed(f"tune{number}", drag, tuned, points)
    results["tune"] = results["tune1"]  # the first drag: the row earlier versions printed
    scene = make_particles((args.size, args.size), count=args.size**2 // 4000, seed=args.seed)
    particles = viewer.add_image(scene.image, name="particles")
    detect.image.value = particles
    detect.mode.value = "particles"
    detect.run_button.clicked.emit()
    process_events_until(lambda: not detect.busy, STEP_TIMEOUT_S)
    layer = viewer.layers["particles particles [ivae]"]
    for number, method in enumerate(("otsu", "li"), 1):

        def switch(method=method) -> None:
            detect.method.value = method

        def switched(method=method) -> bool:
            meta = layer.metadata.get("napari_ivae", {})
            return not detect.busy and meta.get("widget_settings", {}).get("method") == method

        timed(f"tune-p{number}", switch, switched, layer)
    detect_run.run_detection, detect_module._detect_snapshot = real_core, real_worker
