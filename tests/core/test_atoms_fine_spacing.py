"""Atoms a few pixels apart (a lattice imaged at a low magnification): peaks are local maxima
of at least their eight neighbours, whatever the minimum distance."""

import numpy as np

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.peaks import find_peaks


def _honeycomb(shape, separation, rng):
    """Graphene-like sites ``separation`` px apart, rotated and shifted, inside ``shape``."""
    a = separation * np.sqrt(3.0)
    a1, a2 = np.array([a, 0.0]), np.array([a / 2, a * np.sqrt(3.0) / 2])
    n = int(max(shape) / a) + 4
    i, j = np.mgrid[-n : n + 1, -n : n + 1]
    cells = i.ravel()[:, None] * a1 + j.ravel()[:, None] * a2
    points = np.concatenate([cells, cells + (a1 + a2) / 3]) + rng.uniform(0, a, 2)
    turn = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    points = (points - np.array(shape) / 2) @ turn.T + np.array(shape) / 2
    return points[np.all((points > 2) & (points < np.array(shape) - 3), axis=1)]


def test_peaks_closer_than_a_diagonal_pixel_are_still_eight_neighbour_maxima():
    # a minimum distance under sqrt(2) px once made the maximum filter the pixel itself: every
    # pixel a candidate, which only the pairwise thinning sorted (diagonal pairs kept)
    noise = np.random.default_rng(0).normal(size=(64, 64))
    peaks = find_peaks(noise, 1.2)
    padded = np.pad(noise, 1, constant_values=-np.inf)
    around = np.stack(
        [padded[1 + dr : 65 + dr, 1 + dc : 65 + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    ).max(axis=0)
    assert len(peaks)
    assert np.all(noise[peaks[:, 0], peaks[:, 1]] == around[peaks[:, 0], peaks[:, 1]])


def test_a_lattice_three_pixels_apart_keeps_its_atoms_over_the_noise():
    # graphene at C-C 3.1 px: with every pixel a candidate (five noise peaks an atom) the
    # false-discovery cut rose to 3.4 x the noise and kept a fifth of the atoms (recall 0.21)
    rng = np.random.default_rng(5)
    shape = (160, 160)
    sites = _honeycomb(shape, 3.1, rng)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape)
    for row, col in sites:
        near = (
            slice(max(int(row) - 4, 0), int(row) + 5),
            slice(max(int(col) - 4, 0), int(col) + 5),
        )
        image[near] += np.exp(-((rows[near] - row) ** 2 + (cols[near] - col) ** 2) / (2 * 0.62**2))
    image += rng.normal(0.0, 0.25, shape)
    found = detect_atoms(image.astype(np.float32))
    points = np.asarray(found.coords)[:, 1:]
    assert found.params["counts"]["candidates"] < 1.6 * len(sites)
    matched = len(match_points(sites, points, 1.55).pairs)
    assert matched / len(sites) > 0.85
    assert matched / len(points) > 0.95
