"""The self-check on an empty particle result whose every blob touched the frame's edge
(quality.py's edge-only warning: cryo-EM with a carbon edge, stranger_optical
cryo_ctf_carbon s1, found 0 of 129 particles and said nothing)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_ivae.core.detection.detections import make_detections
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.detection.quality import assess

EDGE_ONLY = "all touch its edge"
# the candidates' log-strength mixtures measured on cryo_ctf_carbon s1 and on Poisson noise
STRUCTURE = {"weak": (0.436, 0.845, 0.936), "strong": (2.536, 0.351, 0.064)}
NOISE = {"weak": (-3.371, 0.783, 0.220), "strong": (-2.839, 0.355, 0.780)}


def _empty(resolved):
    table = pd.DataFrame({"frame": [], "row": [], "col": [], "equivalent_diameter": []})
    return make_detections(table, params={"resolved": resolved})


def test_nothing_kept_but_blobs_dropped_at_the_edge_warns():
    """Fails before: an empty result whose blobs were all left out at the edge gave no warning."""
    resolved = {"polarity": "dark", "border_dropped": 5, "scale_sigma": 20.0}
    quality = assess(_empty({**resolved, "mixture": STRUCTURE}), "particles")
    assert any(EDGE_ONLY in w and "(--keep-border)" in w for w in quality["warnings"])
    # the same on a frame of noise, whose mixture splits one population: no warning
    quality = assess(_empty({**resolved, "mixture": NOISE}), "particles")
    assert not any(EDGE_ONLY in w for w in quality["warnings"])
    assert not any(EDGE_ONLY in w for w in assess(_empty(resolved), "particles")["warnings"])


def test_nothing_found_at_all_is_no_edge_warning():
    quality = assess(
        _empty({"polarity": "bright", "border_dropped": 0, "mixture": STRUCTURE}), "particles"
    )
    assert not any(EDGE_ONLY in w for w in quality["warnings"])


def test_a_frame_whose_only_blobs_are_cut_by_its_edge():
    """End to end: three broad spots centred on the frame's edges, none inside."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:256, :256]
    image = rng.normal(0.0, 1.0, (256, 256))
    for row, col in ((0, 80), (180, 255), (255, 60)):
        image += 8 * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 12.0**2))
    found = detect_particles(image)
    assert len(found) == 0
    assert any(EDGE_ONLY in w for w in found.quality["warnings"])
