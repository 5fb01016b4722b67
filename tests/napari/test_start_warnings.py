"""napari starts with the plugin's docks and samples without a deprecation warning of ours.

Run in a fresh interpreter: warnings raised while a module is first imported are raised once per
process, so a viewer in this test process would miss those another test already triggered.
"""

import json
import os
import subprocess
import sys

PROBE = r"""
import json, sys, traceback, warnings

DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
GUI_STACK = ("/napari/", "/npe2/", "/magicgui/", "/app_model/", "/superqt/", "/vispy/")
found = []


def show(message, category, filename, lineno, file=None, line=None):
    if not issubclass(category, DEPRECATIONS):
        return
    stack = traceback.format_stack()
    ours = "napari_ivae" in filename or "napari-ivae" in str(message) or (
        any(part in filename for part in GUI_STACK)
        and any("napari_ivae" in frame for frame in stack[:-1]))
    if ours:
        found.append(f"{category.__name__} at {filename}:{lineno}: {message}")


warnings.simplefilter("always")
warnings.showwarning = show
import napari  # its own import-time warnings are not the plugin's

viewer = napari.Viewer(show=True)
for name in ("Detect", "Patches and labels", "Train", "Results", "Latent explorer"):
    viewer.window.add_plugin_dock_widget("napari-ivae", name)
for sample in ("cards", "lattice"):
    viewer.open_sample("napari-ivae", sample)
from qtpy.QtWidgets import QApplication

QApplication.processEvents()
real = list(found)
# The probe must be able to fail: a napari deprecation called from a plugin module is caught.
canary = "import warnings\nviewer.window._dock_widgets\n"
exec(compile(canary, "/x/napari_ivae/_deprecation_canary.py", "exec"), {"viewer": viewer})
viewer.close()
print("PROBE" + json.dumps({"real": real, "canary": found[len(real):]}))
"""


def test_napari_starts_with_the_plugin_without_deprecation_warnings():
    env = dict(os.environ, OMP_NUM_THREADS="1")  # the display: pytest-xvfb's
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    report = json.loads(lines[-1][len("PROBE") :])
    assert report["canary"] and "_dock_widgets" in report["canary"][0]
    assert report["real"] == [], "\n".join(report["real"])
