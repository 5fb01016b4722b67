"""Atoms with rings of opposite contrast: their hollows are no weaker sub-lattice
(core/detection/ring_hollows.py, atom_defaults._weaker_sublattice)."""

import numpy as np
import pytest

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.ring_hollows import rings_make_hollows

SPACING = 15.0


def _hexagonal(side, spacing, rng):
    """A hexagonal lattice's sites over a ``side`` frame (slightly jittered, 3 % missing)."""
    rows = np.arange(-2, side / (spacing * np.sqrt(3) / 2) + 2)
    cols = np.arange(-2, side / spacing + 2)
    r, c = np.meshgrid(rows, cols, indexing="ij")
    points = np.stack([r * spacing * np.sqrt(3) / 2, (c + 0.5 * (r % 2)) * spacing], -1)
    points = points.reshape(-1, 2) + 0.04 * spacing * rng.standard_normal((r.size, 2))
    return points[rng.random(len(points)) > 0.03]


def _render(side, points, profile, reach):
    """Each point drawn with a radial ``profile`` (pixels) out to ``reach``."""
    image = np.zeros((side, side))
    grid = np.arange(side)
    for row, col in points:
        rs = grid[max(int(row - reach), 0) : min(int(row + reach) + 1, side)]
        cs = grid[max(int(col - reach), 0) : min(int(col + reach) + 1, side)]
        if len(rs) and len(cs):
            distance = np.hypot(rs[:, None] - row, cs[None, :] - col)
            image[rs[0] : rs[-1] + 1, cs[0] : cs[-1] + 1] += profile(distance)
    return image


def _ringed(distance):
    """A bright centre in a dark ring (a colloid in bright field, a column's Fresnel fringe)."""
    s = SPACING
    centre = np.exp(-(distance**2) / (2 * (0.12 * s) ** 2))
    return centre - 0.55 * np.exp(-((distance - 0.33 * s) ** 2) / (2 * (0.07 * s) ** 2))


def _gaussian(distance, width=0.12):
    return np.exp(-(distance**2) / (2 * (width * SPACING) ** 2))


def _hollow_vectors():
    angles = np.deg2rad(30.0 + 60.0 * np.arange(6))
    return SPACING / np.sqrt(3) * np.stack([np.sin(angles), np.cos(angles)], -1)


def _noisy(clean, rng, level=0.05):
    return 0.5 + 0.35 * clean / np.abs(clean).max() + level * rng.standard_normal(clean.shape)


def test_the_gaps_between_ringed_atoms_are_no_atoms():
    """The hollows of ringed atoms are maxima of the cell's average (at 0.3 of the centre's
    rise) but the bridges between neighbours rise out of the rings as much (0.6 of it)."""
    rng = np.random.default_rng(0)
    points = _hexagonal(320, SPACING, rng)
    image = _noisy(_render(320, points, _ringed, 0.7 * SPACING), rng)
    assert rings_make_hollows(image, points, SPACING, 1.0, _hollow_vectors())


@pytest.mark.parametrize("width", [0.1, 0.12, 0.16])
def test_real_atoms_in_both_hollows_are_kept(width):
    """Weaker atoms (0.4) in both hollows, no rings (1T-MoS2's S columns in projection): the
    bridge between two metal atoms lies between two of them and rises by their tails only."""
    rng = np.random.default_rng(1)
    points = _hexagonal(320, SPACING, rng)
    image = _render(320, points, lambda d: _gaussian(d, width), 0.7 * SPACING)
    for hollow in _hollow_vectors()[:2]:
        image += 0.4 * _render(320, points + hollow, lambda d: _gaussian(d, width), 0.7 * SPACING)
    image = _noisy(image, rng)
    assert not rings_make_hollows(image, points, SPACING, 1.0, _hollow_vectors())


def test_ringed_colloids_are_found_at_their_lattice_not_three_times_over():
    """A bright-field colloid crystal (8-bit): the autocorrelation's basis peak at 1/sqrt(3)
    of the lattice was the rings' overlap in the hollows (3x the points, P 0.32 before)."""
    rng = np.random.default_rng(2)
    side = 512
    points = _hexagonal(side, SPACING, rng)
    clean = _render(side, points, _ringed, 0.7 * SPACING)
    image = np.clip(
        rng.poisson(200 * (0.5 + 0.35 * clean / np.abs(clean).max())) / 200 * 255 / 1.2, 0, 255
    )
    detections = detect_atoms(image.astype(np.uint8))
    truth = points[np.all((points >= 0) & (points <= side - 1), axis=1)]
    found = detections.coords[:, 1:]
    result = match_points(found, truth, 0.35 * SPACING)
    assert detections.params["spacing"] == pytest.approx(SPACING, rel=0.1)
    assert result.precision > 0.85 and result.recall > 0.95
