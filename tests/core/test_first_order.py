"""The first-order autocorrelation that spacing's peaks are judged on (first_order.py): a
fine periodic interference (a scan's pickup) neither resolves a peak nor makes a maximum, and
the real Au crop's quarters, whose frame carries one, give the lattice's spacing."""

from pathlib import Path

import numpy as np
import pytest

from napari_ivae.core.detection import first_order
from napari_ivae.core.detection.spacing import PEAK_CLEARANCE, RESOLVED, estimate_spacing

SHARED = Path(__file__).parents[2] / ".." / "shared" / "data"


def _parts(*cosines):
    """Components ``(frequencies, weights)`` from ``(f_row, f_col, weight)`` triples."""
    table = np.array(cosines, dtype=float)
    return table[:, :2], table[:, 2]


def test_a_component_turning_several_times_over_the_lag_digs_no_dip():
    lag = np.array([[0.0, 15.0]])
    hump = (0.02, 0.0, 1.0)  # does not turn along the lag: a broad hump, no dip
    pickup = (0.05, 4 / 15.0, 0.4)  # turns 4 times: ripples, one of whose maxima is the lag
    # the full autocorrelation of both dips below RESOLVED of the lag's value on the way
    fractions = np.linspace(0.1, 0.9, 17)[:, None] * lag
    frequencies, weights = _parts(hump, pickup)
    line = np.cos(2 * np.pi * fractions @ frequencies.T) @ weights
    end = np.cos(2 * np.pi * lag @ frequencies.T) @ weights
    assert line.min() < RESOLVED * end[0]
    # its first-order part does not: the lag is not resolved from the centre
    assert first_order.dip_ratios(_parts(hump, pickup), lag)[0] > RESOLVED
    # a lattice's fundamental (one turn over its vector) does resolve it
    lattice = (0.0, 1 / 15.0, 1.0)
    assert first_order.dip_ratios(_parts(lattice, pickup), lag)[0] < RESOLVED
    # not judged (the autocorrelation's own dip stands): nothing finer, or finer ones hold
    # most of the power (a finer lattice's harmonic)
    assert first_order.dip_ratios(_parts(hump), lag)[0] == -np.inf
    strong = (0.05, 4 / 15.0, 2.0)
    assert first_order.dip_ratios(_parts(hump, strong), lag)[0] == -np.inf


def test_ripples_along_a_ridge_are_on_its_slope_and_lattice_vectors_are_not():
    # one reflection split in two (a bent crystal): a ridge whose maximum lies far along it
    split = _parts((0.0377, 0.0238, 1.0), (0.046, 0.0357, 0.6), (0.3096, 0.0, 0.3))
    on_ridge = np.array([[19.4, 10.6]])  # 0.98 and 1.27 turns: on the ridge, off its top
    assert first_order.on_slope(split, on_ridge, PEAK_CLEARANCE, 2.0).all()
    # a lattice vector of two non-collinear fundamentals is their maximum
    lattice = _parts((1 / 27.0, 0.0, 1.0), (0.0, 1 / 23.0, 1.0), (0.3096, 0.0, 0.3))
    vectors = np.array([[27.0, 0.0], [0.0, 23.0], [27.0, 23.0]])
    assert not first_order.on_slope(lattice, vectors, PEAK_CLEARANCE, 2.0).any()


def test_components_count_the_mirrored_half_plane_twice():
    power = np.zeros((8, 5))  # rfft2 of an 8 x 8 frame: columns 0..4, 4 the Nyquist one
    power[1, 0], power[1, 2], power[1, 4] = 1.0, 1.0, 1.0
    frequencies, weights = first_order.components(power)
    assert frequencies.tolist() == [[0.125, 0.0], [0.125, 0.25], [0.125, 0.5]]
    assert weights.tolist() == [1.0, 2.0, 1.0]


@pytest.mark.shared_data
def test_every_quarter_of_the_au_crop_gives_its_lattice_spacing_if_available():
    """The Au frame carries a weak 2.5-3.5 px pickup; in its bottom-right quarter the ripples
    on a broad hump of the autocorrelation gave 10.3 px (212 points for 38 atoms), in its
    top-right one the ripples along a ridge (one reflection, split) 22.7 px."""
    from scipy.spatial import cKDTree

    folder = SHARED / "atoms" / "stem_au_nanoparticle_temul"
    if not (folder / "au_np_crop.npy").exists():
        pytest.skip("../shared/data not available")
    image = np.load(folder / "au_np_crop.npy").astype(float)
    reference = np.load(folder / "au_np_crop_positions_xy.npy")[:, 1::-1]
    h, w = image.shape[0] // 2, image.shape[1] // 2
    for top, left in [
        (0, 0),
        (0, image.shape[1] - w),
        (image.shape[0] - h, 0),
        (image.shape[0] - h, image.shape[1] - w),
    ]:
        inside = reference - [top, left]
        inside = inside[((inside >= 0) & (inside < [h, w])).all(axis=1)]
        nearest = np.median(cKDTree(inside).query(inside, k=2)[0][:, 1])
        spacing = estimate_spacing(image[top : top + h, left : left + w])
        assert 0.85 < spacing / nearest < 1.2, (top, left, spacing, nearest)
