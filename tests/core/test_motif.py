"""A weaker sub-lattice found from the unit cell's average (core/detection/motif.py)."""

import numpy as np
import pytest
from _crystal_data import weak_perovskite

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.motif import weaker_sublattice
from napari_ivae.core.detection.spacing import estimate_spacing
from napari_ivae.core.synthetic.lattice import make_lattice


def _interior_f1(found, truth, spacing):
    """F1 away from the frame (the detector leaves atoms cut by the edge out on purpose)."""

    def inside(points):
        return points[np.all((points >= spacing) & (points <= 255 - spacing), axis=1)]

    return match_points(inside(found), inside(truth), 0.35 * spacing).f1


def test_a_weak_b_site_is_found_from_the_unit_cells_average():
    """B columns at 0.25 of A: the autocorrelation sees the A-A lattice only (16 px), the
    first pass finds the A columns only (F1 0.665 before); the cell's average shows B."""
    truth = weak_perovskite()
    assert estimate_spacing(truth.image) == pytest.approx(11.3 * np.sqrt(2), rel=0.05)
    detections = detect_atoms(truth.image)
    assert detections.params["spacing"] == pytest.approx(11.3, rel=0.05)
    assert detections.params["lattice_spacing"] == pytest.approx(11.3 * np.sqrt(2), rel=0.05)
    assert _interior_f1(detections.coords[:, 1:], truth.positions, 11.3) > 0.97  # 0.68 before
    note = "weaker sub-lattice (atoms"
    assert note in detections.params["sublattice"]
    assert note in detections.message
    assert note in detections.quality["measures"]["sublattice"]


@pytest.mark.parametrize("dose", [30, 8])
def test_weak_b_columns_at_low_dose_are_judged_at_their_sites(dose):
    """Most B columns stand below the frame's contrast cut at dose 8 (SNR ~2.5): at the
    sites the cell's average predicts they are judged against the candidates at its empty
    places instead (F1 0.74 with the spacing alone at dose 8)."""
    truth = weak_perovskite(dose=dose)
    detections = detect_atoms(truth.image)
    assert detections.params["counts"]["sublattice_added"] > 50
    assert _interior_f1(detections.coords[:, 1:], truth.positions, 11.3) > 0.95


def test_a_sub_lattice_the_autocorrelation_finds_is_judged_at_its_sites_too():
    """B at 0.35 of A: the spacing estimate is already the A-B distance, but at dose 3 a
    third of the B columns stood below the frame's cut (F1 0.88 before). The first pass's
    contrasts fall in two groups; the cell's average around the strong group gives the sites."""
    truth = make_lattice(
        256,
        spacing=11.3,
        lattice="perovskite",
        sublattice_intensity=0.35,
        atom_sigma=2.5,
        noise=0.0,
        background=0.3,
        dose=3,
        rotation=27,
        seed=11,
    )
    detections = detect_atoms(truth.image)
    assert detections.params["lattice_spacing"] == pytest.approx(11.3, rel=0.05)
    assert "judged at its sites" in detections.params["sublattice"]
    assert _interior_f1(detections.coords[:, 1:], truth.positions, 11.3) > 0.95


@pytest.mark.parametrize("vacancies", [0.1, 0.3])
def test_vacant_b_sites_stay_empty(vacancies):
    """Columns missing at random: the sites' cut does not fill the vacancies (their noise
    peaks are as rare as those at the cell's empty places)."""
    truth = weak_perovskite(dose=8, seed=5, vacancies=vacancies, rotation=17)
    detections = detect_atoms(truth.image)
    assert detections.params["counts"]["sublattice_added"] > 50
    found = detections.coords[:, 1:]
    inside = np.all((found >= 11.3) & (found <= 255 - 11.3), axis=1)
    assert match_points(found[inside], truth.positions, 0.35 * 11.3).precision > 0.95


def test_the_basis_vectors_point_at_the_b_sites():
    truth = weak_perovskite(dose=30)
    clean = weak_perovskite().image  # the same positions, no noise: tells A from B
    rows, cols = np.rint(truth.positions).astype(int).clip(0, 255).T
    strong = clean[rows, cols] > np.median(clean[rows, cols])
    found = weaker_sublattice(truth.image, truth.positions[strong], 11.3 * np.sqrt(2), 1.6)
    assert found is not None
    assert found["separation"] == pytest.approx(11.3, rel=0.05)
    assert len(found["vectors"]) == 4  # the cell centres around an A column
    assert np.hypot(*found["vectors"].T) == pytest.approx(11.3, rel=0.1)
    assert found["z"] > 5 and 0.1 < found["contrast"] < 0.5


@pytest.mark.parametrize("lattice", ["square", "hexagonal"])
@pytest.mark.parametrize("dose", [30, 3, 1])
def test_a_single_atom_lattice_gains_no_sublattice_at_any_dose(lattice, dose):
    """Between the atoms of a one-atom cell the average has minima and saddles (a square
    lattice's cell centre, a hexagonal lattice's hollows), never a maximum."""
    truth = make_lattice(
        320, spacing=12.0, lattice=lattice, noise=0.05, dose=dose, rotation=33, seed=dose
    )
    assert weaker_sublattice(truth.image, truth.positions, 12.0, 1.2) is None
    assert "sublattice" not in detect_atoms(truth.image).params


def test_a_honeycomb_hollow_is_no_sublattice():
    """Both atoms of a honeycomb found: the average around them has its neighbours at the
    separation and the hexagon's hollow centre, a minimum, between them."""
    truth = make_lattice(320, spacing=12.0, lattice="honeycomb", noise=0.05, dose=3, seed=5)
    assert weaker_sublattice(truth.image, truth.positions, 12.0, 1.2) is None


def test_a_faint_halo_around_each_atom_is_no_sublattice():
    """A probe tail (each atom in a halo twice its width) adds no maximum."""
    from scipy import ndimage

    truth = make_lattice(320, spacing=12.0, lattice="square", noise=0.05, dose=30, seed=8)
    image = truth.image + 0.5 * ndimage.gaussian_filter(truth.image, 3.0)
    assert weaker_sublattice(image, truth.positions, 12.0, 1.2) is None


def test_hrtem_like_fringes_with_second_harmonics_gain_no_sublattice():
    """A square cosine lattice with second harmonics at 0.6 of the first (HRTEM-like
    fringes): its cell centres are shallow maxima of contrast below 0.1 of the atoms'."""
    rows, cols = np.mgrid[0:320, 0:320].astype(float)
    k, angle = 2 * np.pi / 14.0, 0.3
    u = k * (np.cos(angle) * cols + np.sin(angle) * rows)
    v = k * (-np.sin(angle) * cols + np.cos(angle) * rows)
    image = np.cos(u) + np.cos(v) + 0.6 * (np.cos(u + v) + np.cos(u - v))
    image += 0.1 * np.random.default_rng(0).standard_normal(image.shape)
    assert "sublattice" not in detect_atoms(image).params


def test_too_few_cells_say_nothing():
    truth = weak_perovskite()
    assert weaker_sublattice(truth.image, truth.positions[:10], 16.0, 1.6) is None


def test_an_average_with_no_maximum_but_its_centre_says_nothing():
    # a window narrower than the lattice (the spacing passed is well below the atoms'
    # distance): the average holds one bump, no other maximum; this raised a ValueError
    # (HRTEM fringes only, stranger_scenes seed 2, crashed detect_atoms)
    rows, cols = np.mgrid[0:200, 0:200].astype(np.float64)
    points = np.array([(r, c) for r in range(10, 200, 20) for c in range(10, 200, 20)], float)
    image = np.zeros((200, 200))
    for r, c in points:
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 2.0**2))
    assert weaker_sublattice(image.astype(np.float32), points, 8.0, 1.0) is None
