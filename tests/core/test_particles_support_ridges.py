"""The ridge fallback's depth test where the winning side has no round scale (issue 9, round 55)."""

import sys
from pathlib import Path

import numpy as np

from napari_ivae.core.detection import particle_blobs

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_vacuum_between_support_spheres_is_not_the_particles():
    # stranger_heldlike's dark catalyst, seed 18: the vacuum between carbon-black spheres gives
    # bright ridges at every scale from sigma 16 up (no round one), stronger than the dark metal
    # particles' blobs; main kept the ridge (bright, sigma 16: 4 points for 39 particles)
    from stranger_heldlike import make

    case = make("tem_dark_catalyst", 18)
    polarity, sigma = particle_blobs.blob_polarity_and_scale(case["image"].astype(np.float32))
    assert polarity == "dark"
    assert np.sqrt(2.0) * sigma <= 2 * float(np.median(case["truth"][:, 2]))
