"""Packed particle layers (nanoparticle films): the synthetic monolayer, the polarity and scale
from the phases' shapes, and the contrast warning on a clean layer."""

import numpy as np
import pytest

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.packed import packed_phase
from napari_ivae.core.detection.particle_contrast import noise_warning, packed_layer
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.synthetic.particles import make_monolayer


def _precision_recall(detections, truth):
    """Matched within half the median radius; points within a radius of the frame ignored
    (particles the frame cuts)."""
    radius = float(np.median(truth.radii))
    shape = np.asarray(truth.image.shape)

    def inside(points):
        return points[((points >= radius) & (points < shape - radius)).all(axis=1)]

    match = match_points(inside(detections.coords[:, 1:]), inside(truth.centres), 0.5 * radius)
    return match.precision, match.recall


def test_make_monolayer_packs_particles_on_a_hexagonal_lattice_with_vacancies():
    full = make_monolayer(192, radius=6, gap=1.0, jitter=0.0, radius_spread=0.0, seed=1)
    spacing = 2 * 6 + 1.0
    # one particle per hexagonal cell of the frame, give or take the edge's row and column
    assert abs(len(full.centres) - 192**2 / (spacing**2 * np.sqrt(3) / 2)) < 0.1 * len(full.centres)
    nearest = np.sort(np.hypot(*(full.centres[:, None] - full.centres[None]).transpose(2, 0, 1)))
    assert np.allclose(nearest[:, 1], spacing, atol=1e-6)
    # dark particles: the gaps are the bright minority of the frame
    assert np.median(full.image) < 0.9
    holed = make_monolayer(192, radius=6, gap=1.0, vacancies=0.2, seed=1)
    assert 0.7 * len(full.centres) < len(holed.centres) < 0.9 * len(full.centres)
    again = make_monolayer(192, radius=6, gap=1.0, vacancies=0.2, seed=1)
    assert np.array_equal(again.image, holed.image)
    bright = make_monolayer(192, radius=6, gap=1.0, polarity="bright", seed=1)
    assert np.median(bright.image) > 1.1


def test_make_monolayer_particles_touch_but_overlap_only_when_asked():
    def overlapping(truth):
        centres, radii = truth.centres, truth.radii
        distance = np.hypot(*(centres[:, None] - centres[None]).transpose(2, 0, 1))
        np.fill_diagonal(distance, np.inf)
        return int((distance < 0.97 * (radii[:, None] + radii[None])).any(axis=1).sum())

    kwargs = dict(radius=8, gap=0.5, jitter=2.0, radius_spread=0.15, seed=6)
    packed = make_monolayer(192, **kwargs)
    assert overlapping(packed) == 0
    # crowded particles stay (shrunk to fit at their site) rather than leave holes
    assert len(packed.centres) > 0.9 * len(make_monolayer(192, **kwargs, overlap=True).centres)
    assert overlapping(make_monolayer(192, **kwargs, overlap=True)) > 10


@pytest.mark.parametrize(("polarity", "seed"), [("dark", 2), ("bright", 3)])
def test_a_packed_layer_with_thin_gaps_is_found_with_the_particles_polarity(polarity, seed):
    """Particles cover most of the frame, the gaps 0.5 px with sharp edges and necked
    neighbours: the compact pockets of the gaps between them used to win the polarity (none of
    the particles found)."""
    truth = make_monolayer(
        256, radius=9, gap=0.5, blur=0.0, overlap=True, polarity=polarity, seed=seed
    )
    detections = detect_particles(truth.image)
    assert detections.params["resolved"]["polarity"] == polarity
    precision, recall = _precision_recall(detections, truth)
    assert precision > 0.95 and recall > 0.95


def test_small_packed_particles_get_their_own_scale_not_the_layers():
    """r 6, gaps 1.5, necked neighbours: a scale above the lattice's period stood out most
    (sigma 12.7 chosen, recall 0.40); the particles' own pieces give it."""
    truth = make_monolayer(384, radius=6, gap=1.5, blur=0.0, contrast=0.5, overlap=True, seed=3)
    detections = detect_particles(truth.image)
    assert detections.params["resolved"]["scale_sigma"] < 6 / np.sqrt(2)
    precision, recall = _precision_recall(detections, truth)
    assert precision > 0.95 and recall > 0.95


def test_a_packed_layer_whose_candidates_are_one_population_is_cut_at_the_noise_floor(
    monkeypatch,
):
    """Low dose: the mixture finds no background population below the particles, and the
    bounds that then decide (the other side's strongest blobs, the response's spread) are the
    gaps and the particles' own profile; recall was 0.04 with them."""
    truth = make_monolayer(384, radius=9, gap=1.0, dose=20, texture=0.05, overlap=True, seed=2)
    detections = detect_particles(truth.image)
    assert detections.params["resolved"]["packed_cut"]
    precision, recall = _precision_recall(detections, truth)
    assert precision > 0.95 and recall > 0.95
    from napari_ivae.core.detection import particle_blobs

    choice = particle_blobs.polarity_scale_and_response
    monkeypatch.setattr(  # the same polarity and scale, but no layer for the cut
        particle_blobs,
        "polarity_scale_and_response",
        lambda *args, **kwargs: (*choice(*args, **kwargs)[:4], None),
    )
    without = detect_particles(truth.image)
    assert not without.params["resolved"]["packed_cut"]
    assert _precision_recall(without, truth)[1] < 0.5


def test_packed_phase_finds_the_particles_pieces_and_not_noise_or_texture():
    from scipy import ndimage

    layer = make_monolayer(256, radius=8, gap=1.0, seed=4)
    name, sigma, cell = packed_phase(layer.image)
    assert name == "dark" and 0.5 * 8 / np.sqrt(2) < sigma < 8 / np.sqrt(2)
    assert cell == pytest.approx((2 * 8 + 1.0) / (2 * np.sqrt(2)), rel=0.1)
    assert packed_phase(2.0 - layer.image)[0] == "bright"
    rng = np.random.default_rng(0)
    assert packed_phase(rng.normal(size=(256, 256)).astype(np.float32)) is None
    texture = ndimage.gaussian_filter(rng.normal(size=(256, 256)), 2.0)
    assert packed_phase(texture.astype(np.float32)) is None


def test_a_clean_packed_layer_gets_no_contrast_warning():
    """Outside the particles' discs lie mostly their own rims: both contrasts came out 1.0-1.5
    on a clean layer (noise 0.05 against a contrast of 0.6) and the warning said it might be
    noise."""
    truth = make_monolayer(256, radius=9, gap=2.0, seed=5)
    detections = detect_particles(truth.image)
    count = len(detections.coords)
    assert packed_layer(truth.image, "dark") and not packed_layer(truth.image, "bright")
    assert noise_warning(truth.image, detections.labels, "dark", count) is None


def test_the_packed_phase_is_measured_once_per_frame(monkeypatch):
    """The polarity and scale choice and the cut used to cut the same crop into its phases
    twice."""
    from napari_ivae.core.detection import packed

    calls = []
    measure = packed.packed_phase
    monkeypatch.setattr(
        packed, "packed_phase", lambda *args, **kwargs: calls.append(1) or measure(*args, **kwargs)
    )
    truth = make_monolayer(256, radius=9, gap=1.0, dose=20, texture=0.05, overlap=True, seed=2)
    detections = detect_particles(np.stack([truth.image, truth.image]), frame_axis=0)
    assert all(frame["packed_cut"] for frame in detections.params["resolved"])
    assert len(calls) == 2


def test_a_mixture_whose_weak_component_holds_most_of_a_layers_candidates_is_no_background(
    monkeypatch,
):
    """Bright necked film: the two components are the particles' own strengths split in two
    (the weak one 70 % of the candidates); its cut kept a third of the particles (F1 0.53)."""
    truth = make_monolayer(
        384, radius=9, gap=1.0, blur=0.0, contrast=0.5, overlap=True, polarity="bright", seed=3110
    )
    detections = detect_particles(truth.image)
    resolved = detections.params["resolved"]
    assert resolved["mixture"]["weak"][2] > 0.5
    assert resolved["packed_cut"] and not resolved["pooled_cut"]
    precision, recall = _precision_recall(detections, truth)
    assert precision > 0.95 and recall > 0.95
    from napari_ivae.core.detection import packed

    monkeypatch.setattr(packed, "weak_majority", lambda mixture: False)
    assert _precision_recall(detect_particles(truth.image), truth)[1] < 0.5


def test_a_layer_whose_gaps_necks_break_into_pockets_is_found_by_their_thinness():
    """256 px, necked neighbours: the gaps' largest piece holds 78 % of them, no network; they
    are thinner than the particles' phase (mean depth 0.65 x) where noise and textures give
    both phases alike."""
    from scipy import ndimage

    truth = make_monolayer(
        256, radius=9, gap=0.5, blur=0.0, overlap=True, polarity="bright", seed=6
    )
    assert packed_phase(truth.image)[0] == "bright"
    detections = detect_particles(truth.image)
    assert detections.params["resolved"]["polarity"] == "bright"
    precision, recall = _precision_recall(detections, truth)
    assert precision > 0.95 and recall > 0.95
    rng = np.random.default_rng(1)
    for sigma in (1.5, 3.0, 6.0):  # textures cut at one level: both phases alike
        texture = ndimage.gaussian_filter(rng.normal(size=(256, 256)), sigma)
        assert packed_phase(texture.astype(np.float32)) is None


def test_the_contrast_warning_takes_the_detections_packed_layer_test(monkeypatch):
    """Within the command line's one memo the warning's packed-layer test of the choice's crop
    is the detection's (a 2048 px monolayer measured it twice: 1.25 s)."""
    from napari_ivae.core.detection import packed
    from napari_ivae.core.detection.detection_memo import using_memo

    calls = []
    measure = packed.packed_phase
    monkeypatch.setattr(
        packed, "packed_phase", lambda *args, **kwargs: calls.append(1) or measure(*args, **kwargs)
    )
    truth = make_monolayer(256, radius=9, gap=2.0, seed=5)
    with using_memo():
        detections = detect_particles(truth.image)
        measured = len(calls)
        assert packed_layer(truth.image, "dark")
        assert noise_warning(truth.image, detections.labels, "dark", len(detections)) is None
    assert measured >= 1 and len(calls) == measured
    assert packed_layer(truth.image, "dark") and len(calls) == measured + 1  # no memo: measured
