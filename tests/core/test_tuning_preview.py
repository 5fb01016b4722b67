"""The live-tuning preview: the peaks at a new spacing, judged as the earlier detection judged
its own; close to the exact detection on a lattice, bright or dark, and only where that
detection found atoms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.tuning_preview import can_preview, preview_atoms
from napari_ivae.core.synthetic.lattice import make_lattice


@pytest.fixture(scope="module")
def lattice():
    return make_lattice((256, 256), spacing=10.0, domains=2, seed=3).image.astype(np.float32)


def _matched(found, truth, radius) -> tuple[float, float]:
    distance, _ = cKDTree(truth).query(found, distance_upper_bound=radius)
    hits = int(np.isfinite(distance).sum())
    return hits / max(len(found), 1), hits / max(len(truth), 1)


@pytest.mark.parametrize("dark", [False, True])
def test_the_preview_finds_the_exact_detection_s_atoms(lattice, dark):
    image = lattice.max() + lattice.min() - lattice if dark else lattice
    earlier = detect_atoms(image, spacing=10.0)
    assert can_preview(earlier.params)
    assert earlier.params["polarity"].startswith("dark" if dark else "bright")
    for spacing in (9.0, 10.5, 11.0):
        preview = preview_atoms(image, earlier.params, earlier.coords[:, 1:], spacing)
        exact = detect_atoms(image, spacing=spacing).coords[:, 1:]
        precision, recall = _matched(preview, exact, 0.3 * spacing)
        assert precision >= 0.98 and recall >= 0.98, (spacing, precision, recall)


def test_the_preview_keeps_to_where_the_earlier_detection_found_atoms(lattice):
    earlier = detect_atoms(lattice, spacing=10.0)
    left = earlier.coords[:, 1:][earlier.coords[:, 2] < 100]  # as if the rest were vacuum
    preview = preview_atoms(lattice, earlier.params, left, 10.5)
    assert len(preview) > 0.9 * len(left) and preview[:, 1].max() < 100 + 0.75 * 10.0


def test_no_preview_of_a_stack_a_honeycomb_or_a_sub_lattice(lattice):
    params = detect_atoms(lattice, spacing=10.0).params
    assert can_preview(params)
    assert not can_preview({**params, "is_stack": True})
    assert not can_preview({**params, "honeycomb": True})
    assert not can_preview({**params, "sublattice": "a weaker sub-lattice"})
    assert not can_preview({k: v for k, v in params.items() if k != "counts"})


@pytest.mark.parametrize("before, after", [(0.6, 1.6), (1.6, 0.6)])
def test_a_smoothing_change_scales_the_automatic_cut_as_it_scales_the_noise(before, after):
    image = make_lattice((256, 256), spacing=8.0, noise=0.3, seed=5).image.astype(np.float32)
    earlier = detect_atoms(image, spacing=8.0, sigma=before)
    preview = preview_atoms(image, earlier.params, earlier.coords[:, 1:], 8.0, after)
    exact = detect_atoms(image, spacing=8.0, sigma=after).coords[:, 1:]
    precision, recall = _matched(preview, exact, 0.3 * 8.0)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
