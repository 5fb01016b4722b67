"""Atoms without a lattice: a ring in the spectrum gives the spacing of an amorphous network."""

import numpy as np
from scipy.spatial import Voronoi, cKDTree

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.short_range_order import ring_measures, ring_period


def _render(side, points, sigma, background, dose, rng):
    """Gaussian atoms (peak 1) on ``background``, Poisson counts at ``dose`` per unit."""
    spectrum_rows = np.fft.fftfreq(side)[:, None]
    spectrum_cols = np.fft.rfftfreq(side)[None, :]
    canvas = np.zeros((side, side))
    inside = np.all((points >= 0) & (points < side - 0.5), axis=1)
    rounded = np.rint(points[inside]).astype(int)
    np.add.at(canvas, (rounded[:, 0], rounded[:, 1]), 1.0)
    blur = np.exp(-2 * np.pi**2 * sigma**2 * (spectrum_rows**2 + spectrum_cols**2))
    image = np.fft.irfft2(np.fft.rfft2(canvas) * blur, s=canvas.shape) * 2 * np.pi * sigma**2
    image = np.clip(image, 0, None) + background
    return rng.poisson(image * dose).astype(np.float32) / dose


def _network(side=256, ring=14.0, dose=1.0, seed=0):
    """A three-fold random network (amorphous 2D carbon): the Voronoi vertices of hard-core
    random ring centres ``ring`` px apart, evened out by Lloyd steps. Returns the frame and
    its atoms."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((0, 2))
    wanted = int((side + 60) ** 2 / (ring**2 * np.sqrt(3) / 2))
    for _ in range(40 * wanted):
        p = rng.uniform(-30, side + 30, 2)
        if len(centres) == 0 or np.min(np.hypot(*(centres - p).T)) > 0.75 * ring:
            centres = np.vstack([centres, p])
        if len(centres) >= wanted:
            break
    for _ in range(3):
        vor = Voronoi(centres)
        for i, index in enumerate(vor.point_region):
            region = vor.regions[index]
            if region and -1 not in region:
                corners = vor.vertices[region]
                if np.all(np.abs(corners - centres[i]) < 2 * ring):
                    centres[i] = corners.mean(axis=0)
    vertices = Voronoi(centres).vertices
    vertices = vertices[np.all((vertices > -10) & (vertices < side + 10), axis=1)]
    close = cKDTree(vertices).query_pairs(0.3 * ring)
    drop = {j for _, j in close}
    atoms = vertices[[i for i in range(len(vertices)) if i not in drop]]
    sigma = 0.2 * ring / np.sqrt(3)
    return _render(side, atoms, sigma, 0.1, dose, rng), atoms


def _film(side=256, dose=30.0, seed=0):
    """Light atoms at random places, one per 20 px^2, blurred (overlapping): no distance is
    preferred, as in an amorphous carbon film."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, side - 1, (side * side // 20, 2))
    image = _render(side, points, 2.0, 0.0, 1.0, rng)
    return rng.poisson(dose * image / image.mean()).astype(np.float32)


def _f1(found, truth, side, spacing):
    margin = 0.5 * spacing
    inside = [np.all((p >= margin) & (p < side - margin), axis=1) for p in (found, truth)]
    found, truth = found[inside[0]], truth[inside[1]]
    hits = match_points(found, truth, 0.35 * spacing).true_positives
    return 2 * hits / (len(found) + len(truth))


def test_a_random_network_has_a_ring_at_its_structure_period():
    frame, atoms = _network(dose=1.0)
    period = ring_period(frame)
    bond = float(np.median(cKDTree(atoms).query(atoms, k=2)[0][:, 1]))
    # a honeycomb-like network's first ring lies near 1.5 bonds (its rings' row spacing)
    assert period is not None and 1.2 * bond < period < 2.2 * bond


def test_noise_and_an_amorphous_film_have_no_ring():
    rng = np.random.default_rng(5)
    assert ring_period(rng.poisson(2.0, (256, 256)).astype(np.float32)) is None
    assert ring_period((100 + 7 * rng.standard_normal((512, 512))).astype(np.float32)) is None
    for seed in (0, 1):
        film = _film(seed=seed)
        assert ring_period(film) is None
        assert ring_measures(film) is None


def test_sharp_discs_have_no_ring():
    # a disc's spectrum is an Airy pattern: its first side lobe rises over the zero below it
    # (before: taken for a ring at 6 px, and 40 discs asked as atoms lost the particles hint)
    rng = np.random.default_rng(2)
    rows, cols = np.mgrid[:200, :200]
    image = np.zeros((200, 200), np.float32)
    for row, col in rng.uniform(10, 190, (40, 2)):
        image[(rows - row) ** 2 + (cols - col) ** 2 <= 5**2] = 1.0
    assert ring_period(image + rng.normal(0, 0.1, image.shape).astype(np.float32)) is None


def test_a_random_network_at_low_dose_is_detected():
    # before: the spacing came from the shot noise's speckle (blob scale, 3-5 px for 6.5 px
    # bonds) and half or more of the points were noise (F1 0.5-0.7)
    frame, atoms = _network(dose=1.0, seed=1)
    found = detect_atoms(frame)
    assert str(found.params["spacing_source"]).startswith("short-range order")
    bond = float(np.median(cKDTree(atoms).query(atoms, k=2)[0][:, 1]))
    points = np.asarray(found.coords, dtype=np.float64)[:, -2:]
    assert _f1(points, atoms, frame.shape[0], bond) > 0.85
    assert not found.quality["warnings"]


def test_an_amorphous_film_still_gives_no_atom():
    found = detect_atoms(_film(seed=2))
    assert len(found) == 0
    assert any("texture" in warning for warning in found.quality["warnings"])
