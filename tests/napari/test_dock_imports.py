"""What opening a dock imports in the GUI thread: nothing the first detection's worker can
import instead."""

from __future__ import annotations

import subprocess
import sys


def test_the_detect_patches_and_train_docks_do_not_import_pandas():
    """pandas (0.5 s idle, 1.6 s at load 12) was imported by ``_layers`` and the Patches dock
    at module level, so the first dock opened froze the viewer for it; the detection's worker
    imports it (its detections are a DataFrame) before any layer needs it."""
    script = (
        "import sys\n"
        "import napari_ivae._widgets._session, napari_ivae._widgets.detect\n"
        "import napari_ivae._widgets.patches, napari_ivae._widgets.train\n"
        "print('PANDAS' if 'pandas' in sys.modules else 'NO PANDAS')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "NO PANDAS" in run.stdout, run.stdout + run.stderr[-2000:]
