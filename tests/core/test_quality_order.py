"""The self-check's warnings that read the detected points' arrangement (quality.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_ivae.core.detection.detections import make_detections
from napari_ivae.core.detection.point_order import bragg_peaks
from napari_ivae.core.detection.quality import assess

SPACING = 8.0


def _atoms(points, spacing=SPACING):
    table = pd.DataFrame(
        {"row": points[:, 0], "col": points[:, 1], "snr": np.full(len(points), 20.0)}
    )
    return make_detections(table, params={"spacing": spacing, "spacing_source": "auto"})


def _square(n=40, spacing=SPACING, jitter=0.3, seed=0):
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[:n, :n]
    points = np.column_stack([i.ravel(), j.ravel()]) * spacing + 10.0
    return points + jitter * rng.standard_normal(points.shape)


def _fringes(rows=40, spacing=SPACING, seed=0):
    """Points along straight fringes one spacing apart, at irregular steps along each: what
    an atoms run finds on one set of lattice planes (no column)."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(rows):
        col = rng.uniform(0, spacing) + np.cumsum(rng.uniform(0.85, 1.6, 60) * spacing)
        out.append(np.column_stack([np.full(len(col), 10.0 + r * spacing), col]))
    return np.concatenate(out)


def test_bragg_peaks_of_a_lattice_fringes_and_scatter():
    lattice = bragg_peaks(_square(), SPACING)
    assert lattice[0] > 0.3 and lattice[1] > 0.5 * lattice[0]
    fringes = bragg_peaks(_fringes(), SPACING)
    assert fringes[0] > 0.3 and fringes[1] < 0.1 * fringes[0]
    scatter = np.random.default_rng(1).uniform(0, 320, (1600, 2))
    assert bragg_peaks(scatter, SPACING)[0] < 0.02
    assert bragg_peaks(scatter[:10], SPACING) is None


def test_atoms_along_fringes_only_are_warned_and_a_lattice_is_not():
    """Fails before: points on one set of fringes passed the self-check (nearest neighbours
    near the spacing) with no warning."""
    on_fringes = assess(_atoms(_fringes()), "atoms")
    assert any("one direction only" in w and "--spacing" in w for w in on_fringes["warnings"])
    assert on_fringes["measures"]["on_lattice"] >= 0.5  # the older check did not see it
    assert assess(_atoms(_square()), "atoms")["warnings"] == []


def test_a_rectangular_lattice_with_near_neighbours_along_one_axis_is_not_warned():
    points = _square() * np.array([1.0, 1.7])
    assert assess(_atoms(points), "atoms")["warnings"] == []


def test_a_moire_is_warned_without_pointing_to_particles():
    """Fails before: two rotated graphene layers (stranger_fresh 'tbg_moire', F1 0.957) have
    most columns closer to the other layer's than to their own neighbours; the warning then
    also suggested the particles mode, though the frame's lattice was clear. It still warns."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from stranger_fresh import make

    from napari_ivae.core.detection.atoms import detect_atoms
    from napari_ivae.core.detection.quality import suggests_particles

    warnings = detect_atoms(make("tbg_moire", 0)["image"]).quality["warnings"]
    assert any("moire" in str(w) for w in warnings), warnings
    assert not suggests_particles(warnings)
