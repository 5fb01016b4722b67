"""Particles strung along a long step edge between two areas (a film's edge and its fringes):
particle_region_edge.py and quality.py's particle warning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_ivae.core.detection.detections import make_detections
from napari_ivae.core.detection.particle_region_edge import on_region_edge
from napari_ivae.core.detection.quality import assess

SIDE = 512


def _film_edge(rng, step=0.08):
    """Ice with a gentle gradient; a film (``step`` darker) beyond a circle's arc; noise."""
    r, c = np.mgrid[:SIDE, :SIDE].astype(float)
    into_hole = 1500 - np.hypot(r + 1300, c - 200)  # the arc crosses the frame's upper part
    level = (1 + 0.1 * c / SIDE) * np.where(into_hole < 0, 1 - step, 1.0)
    return level + rng.normal(0, 0.05, level.shape), into_hole


def _on_arc(into_hole, n, rng):
    """``n`` points within 4 px of the arc (the fringe blobs a search keeps there)."""
    rows, cols = np.nonzero(np.abs(into_hole) < 4)
    pick = rng.choice(len(rows), n, replace=False)
    return np.column_stack([rows[pick], cols[pick]]).astype(float)


def test_points_along_a_film_edge_are_counted():
    rng = np.random.default_rng(0)
    frame, into_hole = _film_edge(rng)
    points = _on_arc(into_hole, 20, rng)
    assert on_region_edge(frame, points) == 20


def test_points_spread_over_the_frame_are_not():
    rng = np.random.default_rng(1)
    frame, _ = _film_edge(rng)
    points = rng.uniform(0, SIDE, (60, 2))
    assert on_region_edge(frame, points) == 0


def test_points_on_a_frame_without_a_step_are_not():
    rng = np.random.default_rng(2)
    frame, into_hole = _film_edge(rng, step=0.0)
    # dark blobs on a gradient, no edge: their arrangement alone is no edge
    points = _on_arc(into_hole, 20, rng)
    for row, col in points.astype(int):
        frame[max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4] -= 0.3
    assert on_region_edge(frame, points) == 0


def test_the_self_check_warns_on_particles_along_an_edge():
    points = np.random.default_rng(3).uniform(0, 100, (20, 2))
    table = pd.DataFrame(
        {
            "frame": np.zeros(len(points)),
            "row": points[:, 0],
            "col": points[:, 1],
            "equivalent_diameter": np.full(len(points), 5.0),
        }
    )
    resolved = {"polarity": "dark", "region_edge": 18}
    quality = assess(make_detections(table, params={"resolved": resolved}), "particles")
    assert quality["measures"]["region_edge"] == 18
    assert any("long edge" in warning for warning in quality["warnings"])
    del resolved["region_edge"]
    quality = assess(make_detections(table, params={"resolved": resolved}), "particles")
    assert not any("long edge" in warning for warning in quality["warnings"])
