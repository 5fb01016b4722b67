"""The faint pass (step 10): the support's level off the kept particles, a false-discovery
rate for the cut, nothing along the frame's edge, counting noise made symmetric."""

import numpy as np
import pytest
from _particle_data import dense_layer, sparse_low_dose
from _scripts import load_script

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection import particle_faint, particle_threshold, particle_valley
from napari_ivae.core.detection._filters import gaussian_smooth
from napari_ivae.core.detection.particles import detect_particles


@pytest.fixture
def fitted_pooled_cut(monkeypatch):
    """The pooled cut of the two-Gaussian fit alone, under which these frames' faint
    particles were measured: the valley cut (particle_valley) keeps most of them before the
    faint pass, which these tests are about."""

    def fitted(strength, floor=0.0, spots=None):
        return particle_threshold.particle_cut(strength, floor)

    monkeypatch.setattr(particle_valley, "pooled_cut", fitted)


@pytest.mark.parametrize(("polarity", "before"), [("bright", 0.780), ("dark", 0.673)])
def test_faint_particles_near_clusters_are_read_against_the_support_off_the_kept_ones(
    polarity, before, fitted_pooled_cut
):
    # "+1000": the faint pass measured the support's level over the whole frame, kept
    # particles included, which lowered the faint ones beside clusters and ringed every
    # cluster with the opposite sign (the null), and allowed 0.75 false points a frame.
    # Measured off the kept particles, the frame's counting noise made symmetric and the cut
    # at a false-discovery rate of 5 %: recall 0.780 / 0.673 -> 0.847 / 0.927 (12 / 42
    # faint particles added), precision 1.000 / 1.000
    truth = sparse_low_dose(polarity, 1156)
    detections = detect_particles(truth.image)
    inside = ((truth.centres >= 3.0) & (truth.centres < 381.0)).all(axis=1)
    match = match_points(detections.coords[:, 1:], truth.centres[inside], 6.0)
    assert match.precision >= 0.98
    assert match.recall >= before + 0.06
    assert detections.params["resolved"]["faint"] >= 10


def test_a_field_and_its_four_mirrored_copies_get_the_same_faint_cut(
    monkeypatch, fitted_pooled_cut
):
    # the cut allows a share of the added to be the background's (a false-discovery rate),
    # not a number per frame: the same field four times over (mirrored, so the support runs
    # on across the seams) gives about four times the faint particles at about the same cut.
    # With 0.75 expected false points a frame the larger frame's cut was higher
    seen = {}
    faint_particles = particle_faint.faint_particles

    def capture(signal, points, radius, skip=None, sensitivity=1.0):
        seen.update(signal=signal, points=points, radius=radius)
        return faint_particles(signal, points, radius, skip, sensitivity)

    monkeypatch.setattr(particle_faint, "faint_particles", capture)
    detect_particles(sparse_low_dose("dark", 1156).image)  # the kept particles before step 10
    signal, kept, radius = seen["signal"], seen["points"], seen["radius"]
    single, used = faint_particles(signal, kept, radius)
    tiled_signal = np.block([[signal, signal[:, ::-1]], [signal[::-1], signal[::-1, ::-1]]])
    mirrors = [kept, kept * [1, -1] + [0, 767], kept * [-1, 1] + [767, 0], 767 - kept]
    tiled, _ = faint_particles(tiled_signal, np.concatenate(mirrors), np.tile(radius, 4))
    # (the count, not the cut's value: with the Gaussian tail the cut lies among sparse
    # candidates, where 170 of 4 x 43 moved it from 1.06 to 1.20)
    assert len(single) >= 4
    assert 3.5 * len(single) <= len(tiled) <= 4.5 * len(single)


@pytest.mark.parametrize("seed", [0, 2])
def test_no_faint_particle_along_the_edge_of_a_vignetted_frame(seed):
    # benchmarks/stranger_particles.py's bf_sparse26 (26 dark particles on vignetted carbon
    # with a gradient, 1152 x 768): with the level off the kept particles and the cut per
    # cell, the Gaussian of 3 r reflected at the edge folded the vignetting into a valley
    # along it: a faint "particle" 13-21 px (1-1.5 r) from the bottom edge on seeds 0 and 2.
    # Candidates 2 r inside the frame: none. (HEAD's stricter cut added none either.)
    stranger = load_script("benchmarks/stranger_particles.py", "stranger_particles_faint")
    image, truth = stranger.make(seed=seed, **stranger.CASES["bf_sparse26"])
    detections = detect_particles(image)
    match = match_points(detections.coords[:, 1:], truth[:, :2], float(np.median(truth[:, 2])))
    assert match.precision == 1.0
    assert detections.params["resolved"]["faint"] == 0


def test_counting_noise_is_made_symmetric_before_the_null_is_read(monkeypatch):
    # bright n150 r6 low dose +4000: at 15 counts a pixel Poisson noise is skewed toward the
    # bright side, the particles' side here, so the dark side's maxima (the null) stop short
    # of what noise reaches on the bright one. Read as it is, the faint pass takes noise too
    # (3 false points, precision 0.978); as counts to the power 2/3, with the noise line
    # measured off the kept particles, 1 (0.993). Recall 0.745 before the pass's changes
    from napari_ivae.core.detection import count_noise

    truth = sparse_low_dose("bright", 4156)
    inside = ((truth.centres >= 3.0) & (truth.centres < 381.0)).all(axis=1)

    def scored():
        detections = detect_particles(truth.image)
        match = match_points(detections.coords[:, 1:], truth.centres[inside], 6.0)
        return match, len(detections.coords) - len(match.pairs), detections.params["resolved"]

    match, false_points, resolved = scored()
    assert resolved["faint_noise_line"] is not None
    assert match.precision >= 0.985 and match.recall >= 0.87
    monkeypatch.setattr(count_noise, "count_noise_line", lambda frame, use=None: None)
    assert scored()[1] >= false_points + 2


def test_the_supports_own_extremes_are_not_faint_particles():
    # stranger_particles.py haadf_fringes80 seed 1: two bright spots of the generator's
    # support texture (24 % and 16 % above it without noise) stand above the dark side's
    # strongest; with the null's tail decay as measured from its strongest 85 maxima, the
    # false-discovery cut took both (precision 1.000 -> 0.974); with the decay at two
    # standard errors above it, neither
    stranger = load_script("benchmarks/stranger_particles.py", "stranger_particles_extremes")
    image, truth = stranger.make(seed=1, **stranger.CASES["haadf_fringes80"])
    detections = detect_particles(image)
    match = match_points(detections.coords[:, 1:], truth[:, :2], float(np.median(truth[:, 2])))
    assert detections.params["resolved"]["faint"] == 0
    assert match.precision == 1.0


def test_a_faint_particle_touching_a_kept_one_is_judged_without_it():
    # the robustness table's "dark n400 r7 low dose" +2000 (60 % of the particles touch a
    # neighbour): a faint particle's ring held its kept neighbour, above it in two or three
    # of its sectors, and the surround test dropped it. With the kept particles as drawn
    # taken out: 21 -> 30 faint particles, recall 0.937 -> 0.960, precision 1.000 both
    truth = dense_layer(2407, low_dose=True)
    detections = detect_particles(truth.image)
    inside = ((truth.centres >= 3.0) & (truth.centres < 381.0)).all(axis=1)
    match = match_points(detections.coords[:, 1:], truth.centres[inside], 7.0)
    assert detections.params["resolved"]["faint"] >= 27
    assert match.precision >= 0.99
    assert match.recall >= 0.955


def test_a_zero_border_is_no_part_of_the_supports_level():
    # benchmarks/stranger_fresh.py mosaic_seams seed 1 (a 2 x 2 SEM mosaic in a border of
    # exact zeros, 10-60 px wide): the support's level, a Gaussian of 3 r over the pixels off
    # the kept particles, held the zeros, which lowered it up to 50 px into the data; the
    # substrate's noise there passed for 195 faint particles (precision 0.731). With the
    # constant border left out of the level: 13 faint, precision 0.995
    fresh = load_script("benchmarks/stranger_fresh.py", "stranger_fresh_mosaic")
    row = fresh.run("mosaic_seams", 1)
    assert row["precision"] >= 0.98
    assert row["recall"] == 1.0


def test_faint_particles_of_a_zero_padded_frame_are_found_as_without_the_padding():
    # the robustness table's "dark n150 r6 low dose" image (seed 7) in a frame of 20 px of
    # zeros: the zeros pulled the support's level down along the data's edge, the dark side's
    # null maxima reached past every faint particle: recall 0.651 (0.940 unpadded)
    truth = sparse_low_dose("dark", 7)
    detections = detect_particles(np.pad(truth.image.astype(np.float32), 20))
    inside = ((truth.centres >= 3.0) & (truth.centres < 381.0)).all(axis=1)
    match = match_points(detections.coords[:, 1:] - 20, truth.centres[inside], 6.0)
    assert match.precision >= 0.99
    assert match.recall >= 0.9


def test_an_element_maps_shared_counts_are_no_faint_particles():
    # stranger_blind.py eds_map seed 0: a few counts a pixel summed 3 x 3 by the export. The
    # power 2/3 evens each pixel, but the pixels share their events, so the faint pass's
    # response keeps a skew toward the counts' high side (0.05 here) that the opposite side's
    # null does not show: read as that side reads them, the two strongest candidates (noise,
    # 24-33 px from any particle) no longer pass (faint 2 -> 0, precision 0.932 -> 0.965)
    stranger = load_script("benchmarks/stranger_blind.py", "stranger_blind_eds")
    case = stranger.make("eds_map", 0)
    detections = detect_particles(case["image"])
    resolved = detections.params["resolved"]
    assert resolved["faint"] == 0
    assert resolved["faint_skew"] > 0.03
    match = match_points(detections.coords[:, 1:], case["truth"][:, :2], 3.0)
    assert match.recall == 1.0


def _noisy_pixel_counts(seed, share=0.005):
    """A camera's counts (a few a pixel over a cell's glow) under kept sub-pixel puncta, with
    0.5 % of the pixels far noisier than the rest (an sCMOS's: read noise 5-15 counts,
    symmetric), and no faint particle."""
    rng = np.random.default_rng(seed)
    size = 512
    rows, cols = np.mgrid[:size, :size]
    light = 4.0 + 20.0 * np.exp(-((rows - 256) ** 2 + (cols - 256) ** 2) / (2 * 90.0**2))
    kept = np.stack(np.meshgrid(np.arange(24, 488, 48), np.arange(24, 488, 48)), -1)
    kept = kept.reshape(-1, 2)
    for row, col in kept:
        light += 60.0 * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 0.8**2))
    counts = rng.poisson(light).astype(np.float64)
    noisy = rng.random((size, size)) < share
    counts[noisy] += rng.uniform(5, 15, noisy.sum()) * rng.standard_normal(noisy.sum())
    frame = 100.0 + 2.0 * counts + rng.standard_normal((size, size))
    return frame, kept


def test_a_cameras_noisy_pixels_are_no_faint_particles():
    # at the kept puncta's radius (1.41 px) a Gaussian of 0.35 r is the pixel itself: the
    # noisy pixels' high spikes stood as faint particles, while the power 2/3 clipped their
    # low ones short of the null (stranger_optical.py puncta_cells_2048 s2: 1219 faint points,
    # 46 puncta). At least a pixel wide where lone pixels reach below the counts: 39 -> 0
    # here (the puncta rows pass, P 0.905 -> 0.998); without the noisy pixels, as it was
    radius = np.full(100, np.sqrt(2.0))
    frame, kept = _noisy_pixel_counts(0)
    found, info = particle_faint.faint_particles(frame, kept, radius)
    assert info["faint_noise_line"] is not None
    assert info["faint_narrow"] == particle_faint.FAINT_PIXEL
    assert len(found) <= 2
    frame, kept = _noisy_pixel_counts(0, share=0.0)
    _, info = particle_faint.faint_particles(frame, kept, radius)
    assert info["faint_noise_line"] is not None
    assert info["faint_narrow"] == round(particle_faint.FAINT_NARROW * np.sqrt(2.0), 3)


@pytest.mark.parametrize("skipped", [(slice(10, 14), slice(5, 9)), (slice(0, 60), slice(0, 40))])
def test_the_frames_level_is_made_where_it_is_read_with_the_same_numbers(skipped):
    # a few skipped pixels leave every pixel weighed (the frame's Gaussian is not read); a
    # large skipped area leaves some unweighed (read there)
    rng = np.random.default_rng(3)
    values = rng.normal(size=(80, 90)).astype(np.float32)
    skip = np.zeros(values.shape, dtype=bool)
    skip[skipped] = True
    kept = ~skip
    sigma = 6.0
    weight = gaussian_smooth(kept.astype(np.float32), sigma)
    total = gaussian_smooth(np.where(kept, values, 0.0), sigma)
    expected = gaussian_smooth(values, sigma)
    np.divide(total, weight, out=expected, where=weight > 0.05)
    assert np.array_equal(particle_faint._level_over(values, skip, sigma), expected)
    support = gaussian_smooth(np.where(kept, values, 0.0), sigma)
    support[weight > 0.05] /= weight[weight > 0.05]
    support[weight <= 0.05] = expected[weight <= 0.05]
    asked = []

    def whole():
        asked.append(True)
        return expected

    got = particle_faint._support_level(values, kept, whole, weight, sigma)
    assert np.array_equal(got, support)
    assert bool(asked) == bool((weight <= 0.05).any())
