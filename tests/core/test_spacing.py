"""estimate_spacing on synthetic lattices of several spacings, types and rotations."""

import numpy as np
import pytest

from napari_ivae.core.detection.spacing import estimate_spacing
from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.lattice import make_lattice


@pytest.mark.parametrize("spacing", [7.0, 12.0, 19.5])
@pytest.mark.parametrize(
    "lattice, rotation", [("square", 0.0), ("square", 27.0), ("hexagonal", 11.0)]
)
def test_spacing_within_two_percent(spacing, lattice, rotation):
    image = make_lattice(
        (256, 256), spacing=spacing, lattice=lattice, rotation=rotation, noise=0.2, seed=2
    ).image
    assert estimate_spacing(image) == pytest.approx(spacing, rel=0.02)


def test_spacing_ignores_slow_background():
    lattice = make_lattice((200, 200), spacing=10.0, seed=0).image
    rows, cols = np.indices(lattice.shape)
    assert estimate_spacing(lattice + 0.02 * rows + 0.01 * cols) == pytest.approx(10.0, rel=0.02)


def test_no_lattice_and_bad_input():
    with pytest.raises(InputError):
        estimate_spacing(np.random.default_rng(0).random((128, 128)))
    with pytest.raises(InputError, match="2D"):
        estimate_spacing(np.zeros((3, 32, 32)))
    with pytest.raises(InputError, match="too small"):
        estimate_spacing(np.zeros((10, 10)))


def test_large_image_uses_central_crop_and_finds_spacing():
    from napari_ivae.core.detection.spacing import MAX_SIDE

    image = make_lattice((MAX_SIDE + 100, MAX_SIDE + 60), spacing=9.0, seed=1).image
    spacing, details = estimate_spacing(image, return_details=True)
    assert spacing == pytest.approx(9.0, rel=0.02)
    # lags searched only up to the crop's sixth (x 1.2), not the full image's
    assert np.hypot(*details["all_vectors"].T).max() <= MAX_SIDE / 6 * 1.2


def _ring_medians_by_lexsort(power, freq_sq):
    """The rings' medians as a full sort by (ring, power) gives them (the former code)."""
    ring = np.rint(np.sqrt(freq_sq) * max(power.shape[0], 2 * (power.shape[1] - 1)))
    ring = ring.astype(np.int64).ravel()
    values = power.ravel()
    order = np.lexsort((values, ring))
    counts = np.bincount(ring)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    middle = values[order][np.minimum(starts + counts // 2, len(values) - 1)]
    medians = np.where(counts > 0, middle, 0.0)
    return (medians[ring] / np.log(2.0)).reshape(power.shape)


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (7, 9), (64, 64), (479, 504)])
def test_ring_medians_are_those_of_a_full_sort(shape):
    from scipy import fft

    from napari_ivae.core.detection.spacing import _ring_medians

    image = np.random.default_rng(sum(shape)).random(shape)
    power = np.abs(fft.rfft2(image)) ** 2
    power[0, -1] = power[-1, 0]  # ties within a ring
    freq_sq = fft.fftfreq(shape[0])[:, None] ** 2 + fft.rfftfreq(shape[1])[None, :] ** 2
    expected = _ring_medians_by_lexsort(power, freq_sq)
    assert np.array_equal(_ring_medians(power, freq_sq), expected)


def test_tiled_spacing_passes_over_a_tile_whose_strongest_peak_is_a_step():
    """An STM step: its edge's streak stands out of the rings more than the lattice's Bragg
    peaks, but its autocorrelation is a ridge; the next strongest tile shows the lattice."""
    from napari_ivae.core.detection.spacing_tiles import tiled_spacing

    shape = (512, 512)
    image = make_lattice(shape, spacing=12.0, lattice="hexagonal", rotation=8.0, seed=3).image
    image = 0.25 * image / np.ptp(image)
    rows, cols = np.indices(shape).astype(float)
    across = (cols - 256.0) * np.cos(0.17) - (rows - 256.0) * np.sin(0.17)
    image = image + 2.4 / (1.0 + np.exp(-across / 1.5))  # one atomic step through the middle
    image += 0.03 * np.random.default_rng(1).standard_normal(shape)
    assert tiled_spacing(image) == pytest.approx(12.0, rel=0.03)


def test_a_frame_under_two_full_tiles_is_tiled_at_half_its_side():
    """A 256 px STM frame with a step through the middle: the whole frame's autocorrelation
    is the step's ridge, and 128 px tiles beside the step show the lattice; a frame under
    256 px is not tiled."""
    from napari_ivae.core.detection.spacing_tiles import tiled_spacing

    shape = (256, 256)
    image = make_lattice(shape, spacing=12.0, lattice="hexagonal", rotation=8.0, seed=3).image
    image = 0.25 * image / np.ptp(image)
    rows, cols = np.indices(shape).astype(float)
    across = (cols - 128.0) * np.cos(0.17) - (rows - 128.0) * np.sin(0.17)
    image = image + 2.4 / (1.0 + np.exp(-across / 1.5))
    image += 0.03 * np.random.default_rng(1).standard_normal(shape)
    with pytest.raises(InputError, match="periodicity"):
        estimate_spacing(image)
    assert tiled_spacing(image) == pytest.approx(12.0, rel=0.05)  # a 128 px tile: 10 cells
    # under 256 px no tile (a 64 px tile of a 128 px crop of a real 35 px lattice,
    # 03_afterimage, showed a 2.2 px "lattice" of the image's own artefacts)
    with pytest.raises(InputError, match="too small"):
        tiled_spacing(image[:255, :255])


def test_a_fine_periodic_interference_over_a_coarse_lattice_is_no_spacing():
    """A particle's 27 px lattice beside vacuum with a weak 2.5-3 px interference everywhere
    (a STEM scan's electrical pickup: the real Au crop's top-left quarter). The interference
    ripples the autocorrelation's central peak and the lattice peaks' flanks; its maxima there
    were taken for a 2.7 px lattice (and a 957-atom detection of 35 atoms)."""
    lattice = make_lattice(
        (240, 252),
        spacing=27.0,
        lattice="hexagonal",
        rotation=17.0,
        noise=0.05,
        particle_radius=150,
        seed=0,
    ).image
    rows, cols = np.indices(lattice.shape)
    pickup = 0.1 * (
        np.cos(2 * np.pi * (0.30 * cols - 0.27 * rows)) + np.cos(2 * np.pi * 0.336 * rows)
    )
    assert estimate_spacing(lattice + pickup) == pytest.approx(27.0, rel=0.03)
    assert estimate_spacing(lattice) == pytest.approx(27.0, rel=0.03)


def test_ripple_check_leaves_peaks_below_the_mean_to_the_noise_refusal():
    """Every autocorrelation maximum below zero (a tilted STM step's frame tile): the ripple
    check keeps them for the MIN_PEAK_HEIGHT refusal instead of failing on an empty shell."""
    from napari_ivae.core.detection.spacing import _without_ripples

    crop = np.full((9, 9), -0.5)
    crop[4, 4] = 1.0
    crop[2, 2], crop[6, 6] = -0.3, -0.2
    offsets = np.array([[-2.0, -2.0], [2.0, 2.0]])
    keep = _without_ripples(
        crop, np.array([2, 6]), np.array([2, 6]), offsets, crop[[2, 6], [2, 6]], 0.3
    )
    assert keep.all()
