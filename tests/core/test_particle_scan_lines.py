"""Particles strung along single scan lines (line offsets): particle_scan_lines.py and the
particle self-check's warning."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_scan_lines import lines_warning, on_single_lines
from napari_ivae.core.detection.particles import detect_particles


def _offset_lines(rng, side=512):
    """Row offsets 3x the pixel noise, no particle."""
    lines = 2.0 * rng.standard_normal((side, 1))
    return (20.0 + lines + 0.7 * rng.standard_normal((side, side))).astype(np.float32)


def test_points_on_two_offset_rows_are_counted():
    rng = np.random.default_rng(0)
    frame = _offset_lines(rng)
    rows = np.argsort(np.median(frame, axis=1))[-2:]  # the two brightest rows
    points = np.column_stack([np.repeat(rows, 15), rng.uniform(0, 512, 30)])
    assert on_single_lines(frame, points, "bright") == 30
    # seen as dark particles, the same rows stand below nothing
    assert on_single_lines(frame, points, "dark") == 0
    # the same along columns
    assert on_single_lines(frame.T, points[:, ::-1], "bright") == 30


def test_real_particles_on_rows_are_not_counted():
    rng = np.random.default_rng(1)
    side = 256
    yy, xx = np.mgrid[:side, :side]
    frame = rng.normal(0.0, 0.1, (side, side))
    # rows of particles 6 px wide, aligned with the scan: each lifts the rows beside its centre
    points = np.array([(r, c) for r in range(20, 240, 40) for c in range(12, 250, 16)], float)
    for r, c in points:
        frame += np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 2.5**2))
    assert on_single_lines(frame, points, "bright") == 0


def test_points_spread_over_rows_are_not_counted():
    rng = np.random.default_rng(2)
    frame = _offset_lines(rng)
    points = rng.uniform(0, 512, (60, 2))
    assert on_single_lines(frame, points, "bright") == 0


def test_detection_on_offset_lines_warns():
    # an empty frame of offset rows: what the particle search keeps lies on the brightest rows
    found = detect_particles(_offset_lines(np.random.default_rng(3)))
    assert len(found) >= 50
    assert found.quality["measures"]["scan_lines"] >= 0.9 * len(found)
    assert any("single scan lines" in warning for warning in found.quality["warnings"])


def test_the_warning_text():
    measures: dict = {}
    assert lines_warning(0, 10, measures) == [] and "scan_lines" not in measures
    (warning,) = lines_warning(12, 20, measures)
    assert (
        measures["scan_lines"] == 12 and "12 of the 20" in warning and "level the lines" in warning
    )
