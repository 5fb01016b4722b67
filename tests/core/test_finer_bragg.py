"""The frame's clearest periodicity far finer than the spacing found (finer_bragg.py): a
layered crystal's bands took the spacing from its atoms, whose own reflections still stand
out most (issue 9: a real HRSTEM frame of a layered oxide, 196 -> 2375 columns)."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection.finer_bragg import finer_bragg_period
from napari_ivae.core.detection.finer_lattice import FINER, MIN_PERIOD


def _cosines(side: int, period: float, angles) -> np.ndarray:
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float64)
    return sum(np.cos(2 * np.pi / period * (cols * np.cos(t) + rows * np.sin(t))) for t in angles)


def _bands(side: int, seed: int) -> np.ndarray:
    """Broad, irregular bright and dark bands about 60 px across: much power, no sharp peak."""
    rng = np.random.default_rng(seed)
    bands = 40.0 * ndimage.gaussian_filter(rng.standard_normal((side, side)), 12.0)
    return bands + 0.3 * rng.standard_normal((side, side))  # and a detector's noise


@pytest.mark.parametrize("seed", [0, 1])
def test_a_fine_lattice_standing_out_most_under_coarse_bands_is_found(seed):
    fine = _cosines(256, 6.0, 0.2 + np.arange(3) * np.pi / 3)  # a hexagonal lattice's rows
    frame = fine + _bands(256, seed)
    assert finer_bragg_period(frame, 60.0) == pytest.approx(6.0, rel=0.05)


def test_fringes_in_one_direction_are_no_finer_lattice():
    frame = _cosines(256, 6.0, [0.2]) + _bands(256, 0)
    assert finer_bragg_period(frame, 60.0) is None


def test_a_lattice_whose_strongest_reflections_are_its_own_fundamentals_is_left_alone():
    # sharp atoms: harmonics out to a quarter of the spacing, but the fundamentals lead
    rows, cols = np.mgrid[0:256, 0:256].astype(np.float64)
    period = 24.0 * np.sqrt(3.0) / 2.0
    frame = np.exp(3.0 * _cosines(256, period, np.arange(3) * np.pi / 3) / 3.0)
    assert finer_bragg_period(frame, 24.0) is None


def test_no_room_for_a_finer_lattice_below_the_pixel_level():
    frame = _cosines(256, 6.0, 0.2 + np.arange(3) * np.pi / 3) + _bands(256, 0)
    assert finer_bragg_period(frame, FINER * MIN_PERIOD * 0.99) is None
    # a fine lattice under the bands, but searched for below a spacing it is not finer than
    assert finer_bragg_period(frame, 12.0) is None
