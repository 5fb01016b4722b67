"""The ``tune`` rows of ``responsiveness.py``: the Detect dock's live tuning, timed.

Spacing drags on the lattice (three drags of three spin-box steps up, then one back to values
seen before), then on particles the threshold method switched (auto to Otsu, Li, local), the
polarity (auto to bright), the size floor dragged (three steps), all back to Detect's settings
(the memo's result) and the auto method's size floor dragged; per row the time from the last
change to the points layer re-drawn, the detection's time in the core and the worker's (see
``responsiveness.py``'s docstring), and the time from the last change to the preview of its
value written in the points layer (``preview_s``; "none" when the exact result came first, as
from the memo, or the change has no preview: the auto method's threshold or polarity), with
the preview worker's wall-clock and CPU times (``preview_worker_s``, ``preview_cpu_s``: where
the first is much longer, the worker waited for a core or for the interpreter's lock, not for
its own work).
"""

from __future__ import annotations

import time

STEP_TIMEOUT_S = 3600.0


def tune_detect(detect, viewer, args, results, observe, row, process_events_until) -> None:
    """The ``tune`` rows: spacing drags on the lattice, then threshold methods on particles
    (see the module's docstring); each row's core, worker and end-to-end times."""
    from napari_ivae._widgets import detect as detect_module
    from napari_ivae._widgets import detect_preview, detect_run
    from napari_ivae.core.synthetic.particles import make_particles

    timings: dict[str, list] = {"core": [], "worker": [], "preview": [], "preview_cpu": []}
    real_core, real_worker = detect_run.run_detection, detect_module._detect_snapshot
    real_preview = detect_preview._preview_snapshot
    # (none before particle previews: the rows then time the exact runs alone)
    real_particles_preview = getattr(detect_preview, "_preview_particles_snapshot", None)

    def timing(function, key: str):
        def wrapper(*a, **k):
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*a, **k)
            finally:
                timings[key].append(time.perf_counter() - start)
                if key == "preview":
                    timings["preview_cpu"].append(time.thread_time() - cpu)

        return wrapper

    detect_run.run_detection = timing(real_core, "core")
    detect_module._detect_snapshot = timing(real_worker, "worker")
    detect_preview._preview_snapshot = timing(real_preview, "preview")
    if real_particles_preview is not None:
        detect_preview._preview_particles_snapshot = timing(real_particles_preview, "preview")
    # the last change's time, the parameter and its value, when the preview of it was drawn
    previewed: dict = {}
    real_draw = detect._preview._draw

    def draw(coords, layer, params, run):
        real_draw(coords, layer, params, run)
        if (
            "change" in previewed
            and detect._preview.shown
            and params[previewed["key"]] == previewed["value"]
        ):
            previewed.setdefault("drawn", time.perf_counter())

    detect._preview._draw = draw

    def timed(name: str, change, tuned, layer) -> None:
        for values in timings.values():
            values.clear()
        r = results[name] = observe(name, change, tuned)
        drawn = previewed.get("drawn")
        r.update(
            points=int(len(layer.data)),
            core_s=[round(t, 3) for t in timings["core"]],
            worker_s=[round(t, 3) for t in timings["worker"]],
            preview_worker_s=[round(t, 3) for t in timings["preview"]],
            preview_cpu_s=[round(t, 3) for t in timings["preview_cpu"]],
            preview_s=None if drawn is None else round(drawn - previewed["change"], 3),
        )
        previewed.clear()
        print(row(name, r), flush=True)
        cores = ", ".join(f"{t:.3f}" for t in r["core_s"]) or "memo"
        preview = "none" if r["preview_s"] is None else f"{r['preview_s']:.3f} s"
        preview += " (worker " + ", ".join(f"{t:.3f}" for t in r["preview_worker_s"]) + " s"
        preview += ", its CPU " + ", ".join(f"{t:.3f}" for t in r["preview_cpu_s"]) + " s)"
        print(
            f"    core {cores} s, worker {', '.join(f'{t:.3f}' for t in r['worker_s'])} s, "
            f"end to end {r['action_s']:.2f} s (layer write {r['longest_layer_write_ms']:.0f} ms)"
            f", preview {preview}",
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
            previewed.update(change=time.perf_counter(), key="spacing", value=dragged[-1])

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
    # each row's changes in one event-loop turn (a drag: one spin-box step after another)
    floors = [("min_size", 20), ("min_size", 25), ("min_size", 30)]
    back = [("method", "auto"), ("polarity", "auto"), ("min_size", 0)]  # Detect's: the memo
    switches = [
        [("method", "otsu")],
        [("method", "li")],
        [("method", "local")],
        [("polarity", "bright")],
        floors,  # the local threshold's size floor dragged
        back,
        floors,  # the auto method's
    ]
    for number, changes in enumerate(switches, 1):

        def switch(changes=changes) -> None:
            for key, value in changes:
                getattr(detect, key).value = value
            key, value = changes[-1]
            previewed.update(change=time.perf_counter(), key=key, value=value or None)

        def switched(changes=changes) -> bool:
            meta = layer.metadata.get("napari_ivae", {})
            settings = meta.get("widget_settings", {})
            return (
                not detect.busy
                and "preview" not in meta
                and all(settings.get(k) == (v or None) for k, v in dict(changes).items())
            )

        timed(f"tune-p{number}", switch, switched, layer)
    detect_run.run_detection, detect_module._detect_snapshot = real_core, real_worker
    detect._preview._draw = real_draw
    detect_preview._preview_snapshot = real_preview
    if real_particles_preview is not None:
        detect_preview._preview_particles_snapshot = real_particles_preview
