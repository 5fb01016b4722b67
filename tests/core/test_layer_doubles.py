"""A packed layer's particle found twice is one particle; two neighbours found off their
centres, toward each other, stay two."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.layer_doubles import climbed, layer_doubles

SPACING = 20.0


def _hex_layer():
    rows, cols = np.mgrid[1:11, 1:11]
    centres = np.column_stack(
        [rows.ravel() * SPACING * np.sqrt(3) / 2, (cols + 0.5 * (rows % 2)).ravel() * SPACING]
    )
    yy, xx = np.mgrid[0:200, 0:230]
    signal = np.zeros(yy.shape, dtype=np.float32)
    for y, x in centres:
        # touching flat-topped discs (radius 0.48 of the spacing), soft edges
        signal += 1.0 / (1.0 + np.exp((np.hypot(yy - y, xx - x) - 0.48 * SPACING) / 0.8))
    noise = np.random.default_rng(0).normal(0, 0.05, signal.shape).astype(np.float32)
    return centres, signal + noise


def test_a_double_on_one_particle_goes_neighbours_off_centre_stay():
    centres, signal = _hex_layer()
    cell_sigma = SPACING / (2 * np.sqrt(2))
    points = [tuple(c) for c in centres]
    double = 44  # inner particles: a double on one, two neighbours off their centres
    first, second = 66, 67
    shift = np.array([0.0, 0.23 * SPACING])
    points[double] = tuple(centres[double] - shift)
    points.append(tuple(centres[double] + shift))  # 0.46 a from its twin, on one particle
    points[first] = tuple(centres[first] + 1.0 * shift)  # toward each other: 0.54 a apart
    points[second] = tuple(centres[second] - 1.0 * shift)
    points = np.rint(np.array(points)).astype(int)
    keep = layer_doubles(signal, points, np.ones(len(points), dtype=bool), cell_sigma)
    assert keep.sum() == len(centres)
    assert keep[first] and keep[second]
    assert keep[double] != keep[-1]


def test_climbed_reaches_the_top():
    yy, xx = np.mgrid[0:40, 0:40]
    hill = -np.hypot(yy - 20, xx - 25)
    assert np.array_equal(climbed(hill, np.array([[3, 4], [30, 30]]), 60), [[20, 25], [20, 25]])


def test_a_neighbour_found_only_at_its_neck_stays():
    # a particle found by one point only, at the neck toward a neighbour, on the neighbour's
    # hill: the site beyond holds that particle and no other point
    centres, signal = _hex_layer()
    cell_sigma = SPACING / (2 * np.sqrt(2))
    lone = 66
    points = np.delete(centres, lone, axis=0)
    neck = centres[65] + np.array([0.0, 0.4 * SPACING])  # on particle 65's side of the neck
    points = np.rint(np.vstack([points, neck])).astype(int)
    keep = layer_doubles(signal, points, np.ones(len(points), dtype=bool), cell_sigma)
    assert keep.all()


def test_a_point_at_the_neck_of_two_particles_on_one_hill_goes_theirs_stay():
    # two particles 0.68 a apart (no pair) whose sum is one hill at the cell scale, and a point
    # at their neck, paired with both: the neck's point goes, theirs stay
    rows, cols = np.mgrid[1:11, 1:11]
    centres = np.column_stack(
        [rows.ravel() * SPACING * np.sqrt(3) / 2, (cols + 0.5 * (rows % 2)).ravel() * SPACING]
    )
    middle = centres[[66, 67]].mean(axis=0)
    half = np.array([0.0, 0.34 * SPACING])
    discs = [c for k, c in enumerate(centres) if k not in (66, 67)] + [middle - half, middle + half]
    yy, xx = np.mgrid[0:200, 0:230]
    signal = np.zeros(yy.shape, dtype=np.float32)
    for y, x in discs:
        signal += 1.0 / (1.0 + np.exp((np.hypot(yy - y, xx - x) - 0.48 * SPACING) / 0.8))
    signal += np.random.default_rng(0).normal(0, 0.05, signal.shape).astype(np.float32)
    points = np.rint(np.array([*discs, middle])).astype(int)
    keep = layer_doubles(
        signal, points, np.ones(len(points), dtype=bool), SPACING / (2 * np.sqrt(2))
    )
    assert keep[:-1].all() and not keep[-1]
