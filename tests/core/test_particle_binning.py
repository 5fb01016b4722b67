"""Large particles found on a binned frame (particle_binning), measured at full resolution."""

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection import particle_binning
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.synthetic.particles import make_particles

SHARED = Path(__file__).parents[2] / ".." / "shared" / "data"


def test_binned_is_the_block_mean_with_the_edge_repeated():
    frame = np.arange(35, dtype=np.float32).reshape(5, 7)
    out = particle_binning.binned(frame, 2)
    assert out.shape == (3, 4)
    assert out[0, 0] == pytest.approx(frame[:2, :2].mean())
    assert out[2, 3] == frame[4, 6]  # a corner block of one pixel, repeated
    assert out[1, 3] == pytest.approx(frame[2:4, 6].mean())
    mask = np.zeros((5, 7), dtype=bool)
    mask[4, 0] = True
    assert particle_binning.binned_mask(mask, 2).sum() == 1
    assert particle_binning.binned_mask(mask, 2)[2, 0]


def test_to_full_puts_a_block_at_its_centre_inside_the_frame():
    points = np.array([[0, 0], [2, 3]])
    full, radius = particle_binning.to_full(points, np.array([1.5, 2.0]), 3, (8, 11))
    assert full.dtype == points.dtype
    np.testing.assert_array_equal(full, [[1, 1], [7, 10]])
    np.testing.assert_allclose(radius, [4.5, 6.0])


def test_bin_factor_from_the_particles_scale():
    large = make_particles(1024, count=80, radius=35, contrast=0.6, texture=0.1, noise=0.2, seed=1)
    factor, sigma, largest = particle_binning.bin_factor(large.image, None, "auto")
    assert largest is None
    assert factor >= 2
    assert 0.5 < sigma * np.sqrt(2.0) / 35 < 1.5
    small = make_particles(512, count=150, radius=6, contrast=0.6, noise=0.1, seed=1)
    assert particle_binning.bin_factor(small.image, None, "auto")[0] == 1
    tiny = np.random.default_rng(0).normal(size=(200, 200)).astype(np.float32)
    assert particle_binning.bin_factor(tiny, None, "auto") == (1, None, None)  # not measured


def _puncta_on_cells(seed: int, side: int = 2048) -> np.ndarray:
    """Sub-pixel spots (sigma 0.8 px) on a few wide glowing discs (cells), counts on an offset."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:side, :side]
    cells = np.zeros((side, side))
    for row, col in rng.uniform(0.15, 0.85, (15, 2)) * side:
        radius = rng.uniform(120, 250)
        distance = np.hypot(rows - row, cols - col)
        cells = np.maximum(cells, 30.0 * (distance < radius) - 15.0 * (distance < 0.35 * radius))
    spots = np.zeros((side, side))
    for row, col in rng.uniform(0.05, 0.95, (700, 2)) * side:
        spots[int(row), int(col)] += rng.uniform(80, 500)
    light = ndi.gaussian_filter(cells, 20) + ndi.gaussian_filter(spots, 0.8) + 5.0
    return (rng.poisson(light) + rng.normal(100, 2, light.shape)).astype(np.float32)


def test_puncta_too_small_for_the_overview_are_not_binned_away():
    """The overview (binned by 2) cannot see sub-pixel puncta: it took the cells for the
    particles (sigma 128 px) and binned by 14, erasing them. The puncta, above the noise and
    above the crop's texture with its phases redrawn, keep the frame whole and their scale."""
    factor, sigma, largest = particle_binning.bin_factor(_puncta_on_cells(1), None, "bright")
    assert factor == 1
    assert sigma <= largest < 2.0  # the choice is made below the overview's smallest scale


def test_large_particles_found_binned_and_measured_at_full_resolution():
    truth = make_particles(1024, count=80, radius=35, contrast=0.6, texture=0.1, noise=0.2, seed=1)
    detections = detect_particles(truth.image, exclude_border=False)
    used = detections.params["resolved"]
    assert used["bin"] >= 2
    assert 0.5 < used["scale_sigma"] * np.sqrt(2.0) / 35 < 1.5  # in the frame's pixels
    assert detections.labels.shape == truth.image.shape
    match = match_points(
        detections.coords[:, 1:], truth.centres, 0.5 * float(np.median(truth.radii))
    )
    assert match.f1 > 0.95
    rows, cols = np.rint(detections.coords[:, 1:]).astype(int).T
    assert (detections.labels[rows, cols] > 0).all()  # every centre on a particle's label


def test_small_particles_are_not_binned():
    truth = make_particles(512, count=150, radius=6, contrast=0.6, noise=0.1, seed=2)
    assert detect_particles(truth.image).params["resolved"]["bin"] == 1


@pytest.mark.shared_data
def test_dense_film_three_times_magnified_is_found_as_at_its_own_size():
    """PtCo1 (dense bright-field film) up-sampled 3 x: 9187 points, F1 0.07 on the texture
    before (a packed layer in the central crop, a scale of 12.9 px for 27); binned: as at x1."""
    from scipy import ndimage as ndi

    folder = SHARED / "particles" / "stem_tem_catalyst_ardagen"
    if not (folder / "PtCo1.npy").exists():
        pytest.skip("../shared/data not available")
    image = ndi.zoom(np.load(folder / "PtCo1.npy").astype(np.float64), 3, order=3, mode="nearest")
    centres = (np.load(folder / "PtCo1_centres_rc.npy")[:, :2].astype(float) + 0.5) * 3 - 0.5
    boxes = np.load(folder / "PtCo1_boxsize_hw.npy").astype(float) * 3
    detections = detect_particles(image.astype(np.float32))
    assert len(detections) < 1.5 * len(centres)
    inside = ((centres > 3) & (centres < np.array(image.shape) - 3)).all(axis=1)
    match = match_points(
        detections.coords[:, 1:], centres[inside], float(np.median(boxes.min(axis=1) / 2))
    )
    assert match.f1 > 0.75
    assert detections.params["resolved"]["bin"] >= 2


def test_rods_are_not_binned_by_their_length():
    """Rods 14 px wide, 64-124 px long: the choice's scale is about their length (18 px; binned
    by 2 before, as the probe's nanorods: 2 extra points); their width is the small end."""
    rng = np.random.default_rng(4)
    rows, cols = np.mgrid[:640, :640].astype(np.float32)
    image = np.zeros((640, 640), dtype=np.float32)
    for centre_row, centre_col in rng.uniform(60, 580, (40, 2)):
        angle, half = rng.uniform(0, np.pi), rng.uniform(25, 55)
        along = (rows - centre_row) * np.cos(angle) + (cols - centre_col) * np.sin(angle)
        across = -(rows - centre_row) * np.sin(angle) + (cols - centre_col) * np.cos(angle)
        inside = np.hypot(np.maximum(np.abs(along) - half, 0), across) < 7
        image[inside] = 1.0
    image = rng.poisson(60 * (1.0 - 0.4 * image)).astype(np.float32)
    assert particle_binning.bin_factor(image, None, "auto")[0] == 1


def test_support_clumps_do_not_bin_away_fine_particles():
    """Fine bright particles (sigma 3 px) on a carbon support with slow thick clumps (a
    Gaussian field of 20 px, 0.12 of the level) under Poisson counts: the overview took the
    clumps for the particles (sigma 22 px, binned by 2; the held-like STEM catalyst s0: 246
    found of 129, P 0.41). They stand above white noise at their scale but hardly above the
    overview's texture with its phases redrawn; the particles, below the binned search's
    floor, are a denser population above theirs: the frame is not binned, their scale kept."""
    rng = np.random.default_rng(0)
    side = 512
    clumps = ndi.gaussian_filter(rng.standard_normal((side, side)), side / 25)
    light = 0.25 + 0.12 * np.clip(clumps / clumps.std(), -1.5, 3)
    rows, cols = np.mgrid[:side, :side]
    for row, col in rng.uniform(10, side - 10, (side * side // 8000, 2)):
        light += 0.5 * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 3.0**2))
    image = rng.poisson(10.0 * light).astype(np.float32)
    factor, sigma, largest = particle_binning.bin_factor(image, None, "auto")
    assert factor == 1
    assert 1.5 < sigma <= largest < 8.0  # the particles' scale (3 px), not the clumps' (22)


def test_a_magnified_films_grain_is_no_fine_population():
    """A dark-field film with large faceted particles (radius ~40 px) taken at 2 x
    (stranger_heldlike's tem_dark_carbon_26@x2, its central 768 px): the up-sampled film's
    grain makes blobs of ~8 px just above the strongest of its texture's surrogate drawn from
    the central 512 px, which hold few of the particles; counted over the whole crop they
    passed as a population finer than the overview's (the choice capped at 8.4 px, the
    particles split: P 0.87). The surrogate drawn from the crop the blobs are counted on
    stands above them."""
    from tests.core._scripts import load_script

    heldlike = load_script("benchmarks/stranger_heldlike.py", "stranger_heldlike")
    image = heldlike.make("tem_dark_carbon_26@x2", 0)["image"].astype(np.float32)
    crop = image[384:1152, 640:1408]
    # the overview's particles: ~23 per 768 x 1024 overview pixels; the binned search's floor
    assert particle_binning.fine_population(crop, None, "dark", None, 2, 2.95e-5, 9.245) is None


def _fine_particles_on_clumps(seed=0, side=512):
    """Fine bright particles (sigma 1.5 px) over a support's clumps (a Gaussian field of
    10 px, 0.12 of the level) under Poisson counts: the held-like STEM catalyst at half its
    magnification. The clumps cut at one level pass for a packed bright layer."""
    rng = np.random.default_rng(seed)
    clumps = ndi.gaussian_filter(rng.standard_normal((side, side)), 10)
    light = 0.25 + 0.12 * np.clip(clumps / clumps.std(), -1.5, 3)
    rows, cols = np.mgrid[:side, :side]
    centres = rng.uniform(10, side - 10, (side * side // 2000, 2))
    for row, col in centres:
        light += 0.5 * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 1.5**2))
    return rng.poisson(10.0 * light).astype(np.float32), centres


def test_support_clumps_guarded_where_the_frame_is_not_binned():
    """The overview does not bin this frame (its particles are small), so the clump guard of
    the binned path never ran and the frame's own choice took the clumps' layer (sigma 12.7;
    the held-like catalyst at x0.5: F1 0.54). At full size the layer's blobs barely stand
    above their phase-redrawn surrogate, the fine particles below its search floor do: their
    scale is kept, and the layer, larger than they may be, is not theirs."""
    from napari_ivae.core.detection.particle_blobs import polarity_scale_and_response

    image, _ = _fine_particles_on_clumps()
    own = polarity_scale_and_response(image)
    assert own[4] is not None and own[4][0] == "bright" and own[1] > 8  # the clumps' layer
    factor, sigma, largest = particle_binning.bin_factor(image, None, "auto")
    assert factor == 1 and largest is not None
    assert 1.0 < sigma <= largest < 6.0
    capped = polarity_scale_and_response(image, None, "auto", None, largest, True)
    assert capped[4] is None and capped[1] <= largest


def test_fine_particles_found_under_clumps_at_full_size():
    image, centres = _fine_particles_on_clumps()
    found = detect_particles(image)
    assert found.params["resolved"]["scale_sigma"] < 4.0  # main: 12.7
    points = np.asarray(found.coords, dtype=float)[:, -2:]
    matched = len(match_points(points, centres, 3.0).pairs)
    assert matched >= 0.6 * len(points)  # main: 62 of 182
    assert matched >= 0.6 * len(centres)  # main: 62 of 131


def test_a_frame_larger_than_the_choices_crop_keeps_the_overviews_scale():
    """The held-like dark catalyst at 2 x (2048 px, seed 1): the choice's central 1024 px
    hold ~12 of its 47 particles and took the vacuum pockets (bright, 5 px: F1 0); the
    overview, the whole field binned by 2, sees the dark particles (sigma ~10.6 px). The
    frame is not binned, and its own choice keeps within one step of the overview's scale
    grid: dark, 13.3 px. Bounded above only (twice the overview's scale), it took the noise
    grain of the up-sampled frame at 7.0 px (5 grains kept: P 0.904)."""
    from napari_ivae.core.detection.particle_blobs import polarity_scale_and_response
    from tests.core._scripts import load_script

    heldlike = load_script("benchmarks/stranger_heldlike.py", "stranger_heldlike")
    image = heldlike.make("tem_dark_catalyst@x2", 1)["image"].astype(np.float32)
    factor, sigma, window = particle_binning.bin_factor(image, None, "auto")
    assert factor == 1 and sigma is not None and isinstance(window, tuple)
    smallest, largest = window
    assert smallest < sigma < largest < 1.5 * sigma
    assert smallest == pytest.approx(sigma**2 / largest)
    found, scale = polarity_scale_and_response(image, None, "auto", None, window, True)[:2]
    assert found == "dark" and smallest <= scale <= largest  # main: 7.0 for sigma 10.6
