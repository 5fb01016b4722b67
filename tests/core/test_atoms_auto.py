"""Atom detection defaults that come from the image: atom separation, dose, padding, rim."""

import numpy as np
import pytest

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atom_geometry import atom_width, blob_scale
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.spacing import estimate_spacing
from napari_ivae.core.synthetic.hrtem import make_hrtem
from napari_ivae.core.synthetic.lattice import make_lattice


def _f1(detections, truth, spacing):
    return match_points(detections.coords[:, 1:], truth.positions, 0.35 * spacing).f1


def test_spacing_survives_low_dose():
    """At 0.3 counts per atom peak the old estimate found 'no periodicity'."""
    truth = make_lattice(
        384,
        spacing=17.5,
        lattice="honeycomb",
        atom_sigma=4.5,
        noise=0.0,
        background=0.1,
        dose=0.3,
        rotation=13,
        seed=1,
    )
    spacing, details = estimate_spacing(truth.image, return_details=True)
    assert details["bragg_ratio"] > 30
    assert spacing == pytest.approx(np.sqrt(3) * 17.5, rel=0.03)  # the lattice constant


@pytest.mark.parametrize("sublattice", [0.35, 0.6])
def test_spacing_is_the_atom_separation_of_a_two_atom_cell(sublattice):
    truth = make_lattice(
        256,
        spacing=11.3,
        lattice="perovskite",
        atom_sigma=2.0,
        noise=0.05,
        sublattice_intensity=sublattice,
        rotation=21,
        seed=2,
    )
    assert estimate_spacing(truth.image) == pytest.approx(11.3, rel=0.03)
    detections = detect_atoms(truth.image)
    assert _f1(detections, truth, 11.3) > 0.97  # both sub-lattices


def test_first_pass_finds_the_honeycomb_separation_at_low_dose():
    truth = make_lattice(
        384,
        spacing=17.5,
        lattice="honeycomb",
        atom_sigma=4.5,
        noise=0.0,
        background=0.1,
        dose=0.5,
        rotation=40,
        seed=3,
    )
    detections = detect_atoms(truth.image)
    assert detections.params["lattice_spacing"] == pytest.approx(np.sqrt(3) * 17.5, rel=0.05)
    assert detections.params["spacing"] == pytest.approx(17.5, rel=0.1)
    assert detections.params["sigma_source"] == "atom width"
    assert _f1(detections, truth, 17.5) > 0.9


def test_atom_width_of_a_clean_lattice():
    truth = make_lattice(256, spacing=14.0, atom_sigma=2.5, noise=0.0, seed=4)
    assert atom_width(truth.image, truth.positions, 14.0) == pytest.approx(2.5, rel=0.15)


def test_no_periodicity_falls_back_to_the_blob_scale():
    rng = np.random.default_rng(5)
    rows, cols = np.indices((200, 200))
    image = rng.normal(0.0, 0.05, (200, 200))
    centres = rng.uniform(10, 190, (25, 2))
    for r, c in centres:
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 2.0**2))
    assert 1.0 < blob_scale(image) < 4.0
    detections = detect_atoms(image)
    assert detections.params["spacing_source"].startswith("blob scale")
    assert match_points(detections.coords[:, 1:], centres, 2.0).recall > 0.8


def _hard_core_atoms(side, distance, sigma, dose, seed):
    """Atoms at random places at least ``distance`` apart (no lattice, no ring at this
    dose), Gaussian of ``sigma``, as Poisson counts at ``dose`` per atom peak."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((0, 2))
    for point in rng.uniform(0, side, (20 * side * side // int(distance**2), 2)):
        if len(centres) == 0 or np.min(np.hypot(*(centres - point).T)) > distance:
            centres = np.vstack([centres, point])
    rows, cols = np.indices((side, side))
    image = np.full((side, side), 0.1)
    for r, c in centres:
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    return rng.poisson(image * dose).astype(np.float64) / dose, centres


def test_blob_scale_at_under_a_count_per_atom_is_the_atoms_not_the_single_counts():
    """At 0.3 counts at an atom's peak the single counts were the strongest 'blobs' (sigma
    1, the smallest scale): a spacing of 3-5 px and thousands of noise points, or none. With
    the shuffled pixels' share taken off, the scale is the atoms' and the points about as
    many as the atoms."""
    image, centres = _hard_core_atoms(256, 8.0, 1.6, 0.3, seed=3)
    assert blob_scale(image) == 1.0  # the smallest scale: the single counts
    assert 1.3 < blob_scale(image, noisy_limit=256 / 30) < 2.4
    detections = detect_atoms(image)
    assert detections.params["spacing_source"].startswith("blob scale")
    assert 6.5 < detections.params["spacing"] < 12.0  # the atoms are 8-10 px apart
    assert len(detections.coords) < 1.2 * len(centres)
    assert match_points(detections.coords[:, 1:], centres, 3.0).precision > 0.7


def _hexagonal_crop(cells, spacing, angle, seed):
    """A crop ``cells`` separations across of a hexagonal lattice at ``angle`` degrees (atoms
    0.15 spacing wide, 20 counts at a peak): too few periods for the spacing estimate."""
    rng = np.random.default_rng(seed)
    side = int(round(cells * spacing))
    turn = np.deg2rad([angle, angle + 60])
    a1, a2 = (spacing * np.array([np.cos(t), np.sin(t)]) for t in turn)
    steps = np.arange(-2 * cells - 2, 2 * cells + 3)
    i, j = np.meshgrid(steps, steps, indexing="ij")
    centres = i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2 + rng.uniform(0, spacing, 2)
    centres = centres[np.all((centres > -5) & (centres < side + 5), axis=1)]
    rows, cols = np.indices((side, side))
    image = np.full((side, side), 0.1)
    for r, c in centres:
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * (0.15 * spacing) ** 2))
    return rng.poisson(image * 20.0) / 20.0, centres


@pytest.mark.parametrize("angle, seed", [(0, 1), (10, 1), (20, 0), (40, 0)])
def test_a_crop_of_four_cells_finds_its_atoms(angle, seed):
    """A frame four separations across holds no periodicity the spacing estimate can see,
    and its texture surrogate is a lattice again: judged against it, none of its atoms
    stood out (0 points). It is judged against its shuffled pixels, as a lattice is."""
    image, centres = _hexagonal_crop(4, 10.0, angle, seed)
    detections = detect_atoms(image)
    assert detections.params["spacing_source"].startswith("blob scale")

    def inner(points):
        return points[np.all((points > 5) & (points < image.shape[0] - 5), axis=1)]

    found, truth = inner(detections.coords[:, 1:]), inner(centres)
    assert len(found) > 0
    match = match_points(found, truth, 3.5)
    assert match.recall >= 0.9 and match.precision >= 0.9


def test_vacuum_noise_is_not_atoms():
    """The threshold rises when the candidates are mostly noise."""
    truth = make_lattice(256, spacing=12.0, noise=0.1, particle_radius=50, seed=6)
    detections = detect_atoms(truth.image, spacing=12.0, crystal_only=False)
    assert match_points(detections.coords[:, 1:], truth.positions, 4.2).precision > 0.9


def test_zero_padding_gives_no_candidates_and_keeps_the_noise_level():
    truth = make_lattice(160, spacing=10.0, noise=0.1, seed=7)
    padded = np.zeros((480, 480), dtype=np.float32)
    padded[160:320, 160:320] = truth.image
    detections = detect_atoms(padded, spacing=10.0)
    counts = detections.params["counts"]
    assert counts["noise"] > 0
    assert counts["candidates"] < 2 * len(truth.positions)
    found = detections.coords[:, 1:]
    assert ((found >= 150) & (found <= 330)).all()


def test_rim_atoms_of_a_particle_are_kept():
    truth = make_lattice(
        320,
        spacing=12.0,
        noise=0.05,
        dose=40,
        particle_radius=100,
        amorphous=0.25,
        rotation=10,
        seed=8,
    )
    detections = detect_atoms(truth.image)
    rim = np.hypot(*(truth.positions - 160).T) > 88
    found = match_points(detections.coords[:, 1:], truth.positions[rim], 4.2)
    assert found.recall > 0.8


def test_a_burned_in_scale_bar_is_left_out_and_reported():
    truth = make_lattice(256, spacing=12.0, noise=0.05, seed=9)
    image = truth.image.copy()
    image[236:242, 150:240] = image.max() * 1.2  # a saturated bar
    detections = detect_atoms(image)
    assert detections.params["annotation_pixels"] >= 6 * 90
    found = detections.coords[:, 1:]
    assert not (
        (found[:, 0] >= 234) & (found[:, 0] <= 244) & (found[:, 1] >= 148) & (found[:, 1] <= 242)
    ).any()
    # a note, not a warning: the bar says nothing about the atoms found
    assert any("scale bar" in note for note in detections.quality["notes"])
    assert not any("scale bar" in warning for warning in detections.quality["warnings"])


def test_a_spacing_that_does_not_fit_the_image_is_refused_in_one_line():
    from napari_ivae.core.detection.crystal import crystal_region
    from napari_ivae.core.errors import InputError

    image = np.random.default_rng(10).normal(size=(128, 128))
    with pytest.raises(InputError, match="does not fit"):
        detect_atoms(image, spacing=1000.0)
    assert not crystal_region(image, 1000.0).found  # was an IndexError


def test_dark_atoms_are_recognised_and_can_be_forced():
    truth = make_lattice(256, spacing=12.0, noise=0.05, dose=30, rotation=8, seed=11)
    dark = truth.image.max() + 0.2 - truth.image  # annular bright field: atoms are dips
    detections = detect_atoms(dark)
    assert detections.params["invert"] and detections.params["polarity"] == "dark (auto)"
    assert _f1(detections, truth, 12.0) > 0.95  # atoms cut by the frame edge are dropped
    np.testing.assert_array_equal(detect_atoms(dark, invert=True).coords, detections.coords)
    # forced bright: the dips are not found as atoms
    assert _f1(detect_atoms(dark, invert=False), truth, 12.0) < 0.5
    bright = detect_atoms(truth.image)
    assert not bright.params["invert"] and bright.params["polarity"] == "bright (auto)"


def test_bright_graphene_atoms_are_found_although_the_hexagon_centres_are_larger_blobs():
    # negative-Cs imaging: the atoms are bright; the dark hexagon centres are the stronger
    # blobs, which made the defaults call the atoms dark and find the centres (F1 0)
    result = make_hrtem(256, cs_mm=-0.02, dose=5000, rotation=13, seed=1)
    detections = detect_atoms(result.image)
    assert detections.params["polarity"] == "bright (auto: a honeycomb of bright extremes)"
    spacing = result.params["spacing_px"]
    assert detections.params["spacing"] == pytest.approx(spacing, rel=0.1)
    assert match_points(detections.coords[:, 1:], result.positions, 0.35 * spacing).f1 > 0.9


def test_dark_honeycomb_of_gaussian_atoms_stays_dark():
    truth = make_lattice(320, spacing=12, lattice="honeycomb", noise=0.05, dose=30, seed=12)
    detections = detect_atoms(truth.image.max() + 0.2 - truth.image)
    assert detections.params["polarity"] == "dark (auto)"
    assert match_points(detections.coords[:, 1:], truth.positions, 4.2).f1 > 0.95


def test_dark_skyrmion_cores_are_the_atoms_where_the_bright_junctions_form_no_honeycomb():
    # Lorentz TEM, dark cores in touching bright rings (stranger_optical s1): neither side's
    # blobs dominate (ratio 1.40) and the bright junctions between three cores form no clean
    # honeycomb; the bright call found those junctions (5188 points, P 0.006 R 0.013)
    from _scripts import load_script

    optical = load_script("benchmarks/stranger_optical.py", "stranger_optical_for_polarity")
    case = optical.make("lorentz_skyrmions", 1)
    detections = detect_atoms(case["image"])
    assert detections.params["polarity"].startswith("dark (auto: dark extremes on the lattice")
    truth = case["truth"][:, :2]
    spacing = detections.params["lattice_constant"]
    assert match_points(detections.coords[:, 1:], truth, 0.35 * spacing).f1 > 0.95


def _centred_dumbbells(seed: int, n: int = 384, rows_apart: float = 40.0):
    """HAADF of unresolved [110] dumbbells: bright blobs elongated along the rows on a
    centred rectangular lattice (sqrt(2) wider than tall), whose dark gaps between them form a
    hexagonal lattice as regular as the blobs do."""
    rng = np.random.default_rng(seed)
    across = rows_apart * np.sqrt(2.0)
    rows, cols = np.mgrid[0:n, 0:n].astype(float)
    image = np.zeros((n, n))
    centres = []
    for i in range(-1, int(2 * n / rows_apart) + 2):
        for j in range(-1, int(n / across) + 2):
            y, x = i * rows_apart / 2, j * across + (across / 2 if i % 2 else 0.0)
            centres.append((y, x))
            image += np.exp(-((rows - y) ** 2 / (2 * 7.0**2) + (cols - x) ** 2 / (2 * 14.0**2)))
    image = image / image.max() + 0.05 * rng.standard_normal((n, n))
    return image.astype(np.float32), np.array(centres)


@pytest.mark.parametrize("seed", [0, 3])
def test_haadf_dumbbells_whose_gaps_form_the_lattice_stay_bright(seed):
    # neither side's blobs dominate (ratio 0.67-0.71) and the dark gaps form the hexagonal
    # lattice with no bright honeycomb around them, as for skyrmion cores; but here dark
    # separates the bright blobs, not bright the dark gaps (the dark call: F1 0)
    image, centres = _centred_dumbbells(seed)
    detections = detect_atoms(image)
    assert detections.params["polarity"] == "bright (auto)"
    spacing = detections.params["spacing"]
    away = ((centres >= spacing) & (centres < image.shape[0] - spacing)).all(axis=1)
    found = detections.coords[:, 1:]
    found = found[((found >= spacing) & (found < image.shape[0] - spacing)).all(axis=1)]
    assert match_points(found, centres[away], 0.35 * spacing).f1 > 0.95
