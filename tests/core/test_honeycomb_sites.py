"""A honeycomb's atoms judged where its hexagon centres put them (HRTEM graphene)."""

import functools

import numpy as np
import pandas as pd
import pytest

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atom_frame import _detect_frame
from napari_ivae.core.detection.atom_honeycomb_sites import (
    bond_maxima,
    hexagon_centres,
    honeycomb_sites,
    site_depths,
    sites_of,
)
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.synthetic.hrtem import make_hrtem
from napari_ivae.core.synthetic.lattice import make_lattice


def _hexagon_lattice(a=16.0, n=12, angle=0.3):
    """Hexagon centres of a honeycomb with bond a / sqrt 3, and its atoms."""
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    first, second = turn @ np.array([a, 0.0]), turn @ np.array([a / 2, a * np.sqrt(3) / 2])
    i, j = np.meshgrid(np.arange(-1, n + 1), np.arange(-1, n + 1), indexing="ij")
    cells = 200.0 + i.ravel()[:, None] * first + j.ravel()[:, None] * second
    inner = ((i >= 0) & (i < n) & (j >= 0) & (j < n)).ravel()
    bond = a / np.sqrt(3)
    up = turn @ np.array([0.0, bond])  # the two atoms of the cell, either side of the centre
    atoms = np.concatenate([cells + up, cells - up])  # those of the rim's cells included
    return cells[inner], atoms, bond


@functools.cache
def _graphene(shape, dose, vacancies=0.0, seed=1):
    """A bright-atom HRTEM graphene image and the parameters detect_atoms resolves for it."""
    result = make_hrtem(shape, cs_mm=-0.02, dose=dose, rotation=13, vacancies=vacancies, seed=seed)
    return result, detect_atoms(result.image).params


def _table(points):
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ones = np.ones(len(points))
    return pd.DataFrame(
        {
            "row": points[:, 0],
            "col": points[:, 1],
            "intensity": ones,
            "prominence": ones,
            "snr": ones,
            "refine_shift": 0 * ones,
        }
    )


def test_sites_are_the_atoms_and_bond_centres_are_their_midpoints():
    centres, atoms, bond = _hexagon_lattice()
    geometry = sites_of(centres)
    # every site is an atom (interior ones: three hexagons around them in the set)
    to_atom = np.min(np.linalg.norm(geometry["sites"][:, None] - atoms[None], axis=2), axis=1)
    assert len(geometry["sites"]) > 150 and to_atom.max() < 1e-6
    to_atom = np.min(np.linalg.norm(geometry["bond_sites"][:, None] - atoms[None], axis=2), axis=1)
    assert to_atom.max() < 1e-6
    # an atom is no bond maximum; the midpoint of two bonded atoms is, and so is a point
    # nudged a quarter bond from it
    atom = atoms[np.argmin(np.linalg.norm(atoms - centres.mean(axis=0), axis=1))]
    pair = atoms[np.argsort(np.linalg.norm(atoms - atom, axis=1))[:2]]
    middle = pair.mean(axis=0)
    assert np.linalg.norm(pair[0] - pair[1]) == pytest.approx(bond)
    flags = bond_maxima(np.array([atom, middle, middle + 0.2 * bond]), geometry)
    assert flags.tolist() == [False, True, True]


def test_too_few_hexagons_give_no_sites():
    centres, _, _ = _hexagon_lattice(n=3)
    assert len(sites_of(centres)["sites"]) == 0
    assert len(sites_of(centres[:5])["bonds"]) == 0


def test_without_the_honeycomb_flag_the_table_is_unchanged():
    result = make_hrtem(128, cs_mm=-0.02, dose=1000, rotation=13, seed=1)
    table = _table([[10.0, 10.0], [50.0, 60.0]])
    counts = {"found": 2}
    out = honeycomb_sites(result.image, table, {"honeycomb": False}, counts)
    assert out is table and counts == {"found": 2}


@pytest.mark.parametrize(("dose", "least_f1"), [(1000, 0.95), (200, 0.93)])
def test_bright_graphene_bond_maxima_are_dropped_and_missed_atoms_added(dose, least_f1):
    # HRTEM graphene's bonds are nearly as bright as its atoms: the maxima fell on bond centres
    # as the noise decided (precision 0.78 at dose 1000 and 0.61 at 200 without this step)
    result, params = _graphene(256, dose)
    spacing = result.params["spacing_px"]
    assert params["honeycomb"]
    frame = result.image.astype(np.float32)
    table, counts = _detect_frame(frame, params, None)  # the frame's atoms as found
    found = table[["row", "col"]].to_numpy()
    judged = honeycomb_sites(frame, table, params, counts)
    before = match_points(found, result.positions, 0.35 * spacing)
    after = match_points(judged[["row", "col"]].to_numpy(), result.positions, 0.35 * spacing)
    assert counts["honeycomb_dropped"] > 0 and counts["honeycomb_added"] > 0
    assert after.precision > 0.93 and after.precision > before.precision + 0.03
    # dose 200: 0.91 when a missed site was judged by its contrast against a ring (0.5
    # spacings) over the bright bonds; its height over its hexagon centres tells it (0.93)
    assert after.f1 > least_f1 and after.f1 > before.f1 + 0.05


def test_a_vacancy_gets_no_atom():
    result, params = _graphene(320, 1000, vacancies=0.03, seed=3)
    spacing = result.params["spacing_px"]
    frame = result.image.astype(np.float32)
    table, counts = _detect_frame(frame, params, None)
    assert len(honeycomb_sites(frame, table.iloc[:0], params, counts)) == 0  # nothing to judge
    judged = honeycomb_sites(frame, table, params, counts)
    assert counts["honeycomb_added"] > 0
    points = judged[["row", "col"]].to_numpy()
    # every point is near an atom (none at a vacancy's site, whose hexagons surround it too)
    from scipy.spatial import cKDTree

    inside = np.all((points > spacing) & (points < 320 - spacing), axis=1)
    near = cKDTree(result.positions).query(points[inside])[0]
    assert np.mean(near > 0.5 * spacing) < 0.01


def test_honeycomb_flag_is_set_for_bright_graphene_only():
    graphene = make_hrtem(320, cs_mm=-0.02, dose=1000, hole_radius_nm=1.0, seed=3).image
    for image, expected in (
        # bright atoms called bright by blob strength: the check ran only on "dark" calls
        (graphene, True),
        # a close-packed bright lattice: its minima form the honeycomb, not its maxima
        (make_lattice(320, spacing=12, lattice="hexagonal", noise=0.05, dose=30, seed=3), False),
        (make_lattice(320, spacing=12, lattice="square", noise=0.05, dose=30, seed=3), False),
    ):
        params = detect_atoms(getattr(image, "image", image)).params
        assert params["honeycomb"] is expected
        assert params["polarity"].startswith("bright")


def test_vacancies_stand_far_below_half_a_typical_atom_over_their_hexagons():
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection._filters import gaussian_smooth

    result, params = _graphene(320, 200, vacancies=0.03, seed=3)
    frame = result.image.astype(np.float32)
    geometry = sites_of(hexagon_centres(frame, params))
    depth = site_depths(gaussian_smooth(frame, params["sigma"]), geometry)
    atom = cKDTree(result.positions).query(geometry["sites"])[0] < 0.35 * params["spacing"]
    assert (~atom).sum() >= 3 and atom.sum() > 300
    assert depth[atom].min() > 0.5 > depth[~atom].max()


def test_atoms_at_the_frame_edge_are_placed_beside_their_bond():
    # within a hexagon spacing of the edge an atom's third hexagon centre is outside the
    # frame: no triangle, but its two others put it beside their bond (recall 0.67 within a
    # quarter spacing at dose 200 before, when these atoms stayed where the noise put them)
    result, params = _graphene(256, 200)
    spacing = result.params["spacing_px"]
    frame = result.image.astype(np.float32)
    table, counts = _detect_frame(frame, params, None)
    judged = honeycomb_sites(frame, table, params, counts)[["row", "col"]].to_numpy()
    edge = np.minimum(result.positions, 255 - result.positions).min(axis=1)
    rim = result.positions[(edge > 0.3 * spacing) & (edge < 1.5 * spacing)]
    assert len(rim) > 50
    assert match_points(judged, rim, 0.25 * spacing).recall > 0.75


def _lattice_params(frame):
    """The parameters detect_atoms resolves from the lattice estimate, before its first pass
    (where the polarity and honeycomb checks run)."""
    from napari_ivae.core.detection.atom_defaults import _resolve_params

    keys = ("spacing", "sigma", "background", "min_distance", "threshold", "refine_radius")
    given = dict.fromkeys((*keys, "merge_distance", "border"))
    run = dict(refine="com", com_iterations=2, invert=False, crystal_only=True)
    return {**_resolve_params(np.asarray(frame, dtype=np.float32), **given), **run}


def test_a_given_polarity_is_checked_for_a_honeycomb_too():
    from napari_ivae.core.detection.atom_honeycomb import honeycomb_of

    # positive-Cs Scherzer graphene: the atoms are dark; once inverted (invert=True) they are
    # the bright honeycomb around the hexagon centres
    dark = make_hrtem(256, cs_mm=0.02, dose=1000, rotation=13, seed=5).image
    oriented = dark.max() + dark.min() - dark
    assert honeycomb_of(oriented, _lattice_params(oriented))
    assert not honeycomb_of(dark, _lattice_params(dark))  # hexagon centres: no honeycomb
    # a close-packed bright lattice: its minima form the honeycomb, not its atoms
    hexagonal = make_lattice(320, spacing=12, lattice="hexagonal", noise=0.05, dose=30, seed=3)
    assert not honeycomb_of(hexagonal.image, _lattice_params(hexagonal.image))


def _jittered(points, jitter, seed):
    """Points found as whole pixels at a frame's noise: jittered, then rounded."""
    rng = np.random.default_rng(seed)
    return np.round(points + rng.normal(0.0, jitter, points.shape))


def test_the_shape_check_reads_a_jittered_lattice_at_its_constant():
    """The honeycomb check's points are whole pixels at the noise: the nearest of six jittered
    neighbours falls short of the lattice constant (0.88 x at 0.7 px on 10.8 px), the mean of
    the nearest three stays within its tolerance; a honeycomb's nearest stays at its bond."""
    from napari_ivae.core.detection.atom_honeycomb import (
        HEXAGONAL_SHELL,
        HONEYCOMB_TOLERANCE,
        _neighbourhood,
    )

    a = 10.8
    centres, atoms, bond = _hexagon_lattice(a=a, n=24)
    distance, count = _neighbourhood(_jittered(centres, 0.7, 0), HEXAGONAL_SHELL)
    assert abs(distance / a - 1.0) < HONEYCOMB_TOLERANCE and count >= 5
    distance, count = _neighbourhood(_jittered(atoms, 0.3, 1))
    assert abs(distance / bond - 1.0) < HONEYCOMB_TOLERANCE and count <= 3


def test_a_dark_call_is_overruled_only_where_the_bright_extremes_sit_at_vertices():
    """Graphene's atoms sit where three hexagon centres meet; dark colloid cores in bright
    rings put their bright extremes on the rings, inside each core's cell: the dark call
    stays."""
    from napari_ivae.core.detection.atom_honeycomb import _at_vertices

    a = 16.0
    centres, atoms, bond = _hexagon_lattice(a=a, n=12)
    rng = np.random.default_rng(5)
    angles = rng.uniform(0.0, 2.0 * np.pi, len(centres))
    on_rings = centres + 0.33 * a * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    assert _at_vertices(_jittered(centres, 0.7, 0), _jittered(atoms, 0.7, 1), a)
    assert not _at_vertices(_jittered(centres, 0.7, 0), _jittered(on_rings, 0.7, 1), a)


def test_a_dark_calls_bright_extremes_are_read_over_their_nearest_two():
    """On a dark call the bright extremes are whole pixels at the noise too: their nearest of
    three jittered neighbours falls short of the bond (12.2 px constant, 0.5 px: 0.898 x, outside
    the tolerance); the mean of the nearest ``BRIGHT_SHELL`` stays within it, the count at 3."""
    from napari_ivae.core.detection.atom_honeycomb import (
        BRIGHT_SHELL,
        HONEYCOMB_TOLERANCE,
        _neighbourhood,
    )

    _, atoms, bond = _hexagon_lattice(a=12.2, n=24)
    found = _jittered(atoms, 0.5, 0)
    nearest, _ = _neighbourhood(found)
    assert abs(nearest / bond - 1.0) > HONEYCOMB_TOLERANCE
    distance, count = _neighbourhood(found, BRIGHT_SHELL)
    assert abs(distance / bond - 1.0) < HONEYCOMB_TOLERANCE and count <= 3


def test_hrtem_graphene_whose_bright_nearest_falls_short_is_found_on_its_atoms():
    # benchmarks/stranger_heldlike.py hrtem_graphene_defect seed 10 (a seed the defaults were
    # never measured on): a dark call whose bright extremes' nearest read 0.898 x the bond, so
    # the honeycomb overrule did not fire and the hexagon centres were found (F1 0.000)
    from _scripts import load_script

    heldlike = load_script("benchmarks/stranger_heldlike.py", "stranger_heldlike_hrtem10")
    case = heldlike.make("hrtem_graphene_defect", 10)
    found = detect_atoms(case["image"])
    truth = case["truth"]
    inside = ((truth >= 12) & (truth < 1012)).all(axis=1)
    match = match_points(found.coords[:, 1:], truth[inside], 2.0)
    assert match.recall >= 0.95
