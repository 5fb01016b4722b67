"""A scan's mains hum is recognised from its side peaks along the slow-scan axis, and it keeps
the lattice spacing where a first pass finds its squeezed rows' closer atoms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection.scan_hum import scan_hum_period, spacing_under_hum


def _lattice(side=384, spacing=5.0, rotation=0.4, hum=0.0, period=10.9, square=False, seed=0):
    """A lattice of Gaussian columns (Poisson counts) whose scan rows are shifted by a hum of
    ``hum`` px along the fast scan (0.4 of it along the slow) with a period of ``period`` rows."""
    rng = np.random.default_rng(seed)
    second = rotation + (np.pi / 2 if square else np.pi / 3)
    a = spacing * np.array([np.cos(rotation), np.sin(rotation)])
    b = spacing * np.array([np.cos(second), np.sin(second)])
    n = int(2 * side / spacing)
    i, j = np.mgrid[-n:n, -n:n]
    points = i.ravel()[:, None] * a + j.ravel()[:, None] * b + side / 2
    rows, cols = np.rint(points).astype(int).T
    keep = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    ideal = np.zeros((side, side))
    np.add.at(ideal, (rows[keep], cols[keep]), 1.0)
    ideal = ndimage.gaussian_filter(ideal, 0.8)
    r, c = np.mgrid[0:side, 0:side].astype(float)
    phase = 2 * np.pi * r / period
    seen = ndimage.map_coordinates(
        ideal, [r + 0.4 * hum * np.sin(phase + 0.7), c + hum * np.sin(phase)], order=1
    )
    return rng.poisson(40 * (seen / seen.max() + 0.1)).astype(np.float32)


@pytest.mark.parametrize("period", [10.9, 24.0])
def test_a_hum_is_found_with_its_period(period):
    found = scan_hum_period(_lattice(hum=1.66, period=period))
    assert found == pytest.approx(period, rel=0.05)


@pytest.mark.parametrize("square", [False, True])
def test_an_undistorted_lattice_shows_no_hum(square):
    # the axis-aligned square lattice has its peaks in families along the slow-scan axis too,
    # a reciprocal-lattice vector apart: that vector is itself a peak next to the origin
    assert scan_hum_period(_lattice(square=square, rotation=0.0 if square else 0.4)) is None


def test_the_hum_keeps_the_lattice_spacing_against_a_closer_first_pass():
    assert spacing_under_hum(_lattice(hum=1.66), 5.0, 3.16) == pytest.approx((5.0, 10.9), rel=0.05)
    assert spacing_under_hum(_lattice(), 5.0, 3.16) == (3.16, None)
    assert spacing_under_hum(_lattice(hum=1.66), 5.0, 5.0) == (5.0, None)
