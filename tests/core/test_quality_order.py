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


def test_a_motif_of_two_columns_per_site_is_not_warned_but_scattered_points_are():
    """Fails before: Si [110] dumbbells (two columns 0.3 spacings apart at every site,
    stranger_blind 'si110_dumbbells', F1 0.99) were warned that few atoms have their nearest
    neighbour near the spacing, though the points form the lattice. Points scattered among
    the lattice's (a threshold too low) still are, and so is a moire's second layer."""
    square = _square()
    dumbbells = np.concatenate([square, square + np.array([0.0, 0.3 * SPACING])])
    found = assess(_atoms(dumbbells), "atoms")
    assert found["measures"]["on_lattice"] < 0.5  # the nearest neighbour is the pair's
    assert found["warnings"] == [], found["warnings"]
    rng = np.random.default_rng(2)
    noise = rng.uniform(square.min(), square.max(), (2 * len(square), 2))
    scattered = assess(_atoms(np.concatenate([square, noise])), "atoms")
    assert any("nearest neighbour" in w for w in scattered["warnings"]), scattered
    turn = np.deg2rad(7.0)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    layer = (square - square.mean(0)) @ rotation.T + square.mean(0) + 0.37 * SPACING
    moire = assess(_atoms(np.concatenate([square, layer])), "atoms")
    assert any("moire" in w for w in moire["warnings"]), moire


def _blob_scaled(points, spacing):
    table = pd.DataFrame(
        {"row": points[:, 0], "col": points[:, 1], "snr": np.full(len(points), 20.0)}
    )
    source = "blob scale (no lattice periodicity)"
    return make_detections(table, params={"spacing": spacing, "spacing_source": source})


def test_a_crop_of_a_few_cells_has_a_note_not_a_warning_but_a_wide_frame_does_not():
    """Fails before: a crop four cells across (stranger_networks 'crop 4 cells ...', F1 1.0)
    was warned that no lattice periodicity was found and that few atoms sit near the spacing
    (the spots' size), though the spacing search cannot see a lattice in such a frame. The
    same atoms in a frame the search would have seen a lattice in, and scattered spots in
    the small frame, are still warned."""
    crop = _square(n=4, spacing=10.0, jitter=0.2)  # 16 atoms, 10 px apart, spots' scale 7 px
    small = assess(_blob_scaled(crop, 7.0), "atoms", frame_shape=(40, 40))
    assert small["warnings"] == [], small["warnings"]
    assert any("no lattice periodicity" in n for n in small["notes"])
    wide = assess(_blob_scaled(crop, 7.0), "atoms", frame_shape=(400, 400))
    assert any("no lattice periodicity" in w for w in wide["warnings"])
    scattered = np.random.default_rng(3).uniform(0, 40, (16, 2))
    spots = assess(_blob_scaled(scattered, 3.0), "atoms", frame_shape=(40, 40))
    assert any("no lattice periodicity" in w for w in spots["warnings"]), spots
