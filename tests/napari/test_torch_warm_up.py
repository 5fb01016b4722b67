"""The Train dock imports torch in the background when it opens (not at the first Start)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_opening_the_train_dock_imports_torch_in_the_background():
    """The first training run of a session imported torch and torch._dynamo (its first
    optimizer does) in its worker: 3-5 s of module code holding the GIL in stretches, and the
    viewer stood still for 0.6-0.7 s at a time on a loaded machine (au_np_crop, 140 patches,
    10 ms GUI timer) before the first step. Opening the Train dock now starts that import in
    a thread of its own, so a later Start finds it done. In a fresh process (this one has
    torch imported already): nothing imports it until the dock opens, then it is imported
    while the GUI thread keeps serving events."""
    script = textwrap.dedent(
        """
        import sys, time
        import napari
        from napari_ivae.demo import process_events_until
        viewer = napari.Viewer(show=False)
        assert "torch" not in sys.modules, "imported before the dock"
        viewer.window.add_plugin_dock_widget("napari-ivae", "Train")
        try:
            process_events_until(lambda: "torch._dynamo" in sys.modules, 120)
        except TimeoutError:
            print("NOT IMPORTED")
        else:
            print("IMPORTED")
        viewer.close()
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert "IMPORTED" in run.stdout and "NOT" not in run.stdout, run.stdout + run.stderr[-2000:]


def test_opening_the_train_dock_does_not_import_torch_in_the_gui_thread():
    """The dock listed its devices at construction (``core.devices`` imports torch): the GUI
    thread imported torch itself, 3-5 s (19 s at load 12) of a frozen viewer while the dock
    opened, the warm-up thread notwithstanding. With the warm-up kept from running, opening
    the dock imports no torch; the CPU is offered at once and the devices the warm-up finds
    (a GPU here, faked) are offered when it has, the choice made meanwhile kept."""
    script = textwrap.dedent(
        """
        import sys
        import napari
        from napari_ivae._widgets import train as train_module
        from napari_ivae.demo import process_events_until
        viewer = napari.Viewer(show=False)
        train_module._warm_up.append(None)  # no warm-up: only the GUI thread could import it
        _, train = viewer.window.add_plugin_dock_widget("napari-ivae", "Train")
        print("TORCH" if "torch" in sys.modules else "NO TORCH", list(train.device.choices))
        train_module._devices_found.append(["cpu", "cuda:0"])  # what a warm-up found
        process_events_until(lambda: len(train.device.choices) == 2, 30)
        print("OFFERED", list(train.device.choices), train.device.value)
        viewer.close()
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert "NO TORCH ['cpu']" in run.stdout, run.stdout + run.stderr[-2000:]
    assert "OFFERED ['cpu', 'cuda:0'] cpu" in run.stdout, run.stdout + run.stderr[-2000:]
