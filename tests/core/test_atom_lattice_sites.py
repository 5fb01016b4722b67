"""A crystal's columns where its lattice puts them and no peak was found
(atom_lattice_sites): on a support as textured as the columns, a dip under a column or a bump
beside it loses its peak or moves it off the column."""

import numpy as np
from scipy.spatial import cKDTree
from test_atoms_stranger import PARTICLES, SEPARATION, particles_on_support

from napari_ivae.core.detection.atom_lattice_sites import lattice_sites
from napari_ivae.core.detection.atoms import detect_atoms


def _found(seed=0):
    image, truth, _ = particles_on_support(seed)
    found = detect_atoms(image)
    columns = ("intensity", "prominence", "snr", "refine_shift")  # as frame_atoms gives them
    table = {name: found.properties[name].to_numpy() for name in columns}
    table = {"row": found.coords[:, 1], "col": found.coords[:, 2], **table}
    return image.astype(np.float32), truth, table, found.params


def test_a_column_missing_from_the_table_is_filled_where_the_lattice_puts_it():
    image, truth, table, params = _found()
    points = np.column_stack([table["row"], table["col"]])
    centre = np.asarray(PARTICLES[0][0], dtype=float)
    inner = np.linalg.norm(points - centre, axis=1) < 0.5 * PARTICLES[0][1]
    gone = np.flatnonzero(inner)[::10][:3]  # apart: each keeps its neighbours
    column = truth[cKDTree(truth).query(points[gone])[1]]  # the columns they were found at
    held = {name: np.delete(values, gone) for name, values in table.items()}
    counts = {"noise": 0.02}
    result = lattice_sites(image, held, params, counts)
    refound = np.column_stack([result["row"], result["col"]])
    assert (cKDTree(refound).query(column)[0] < 0.35 * SEPARATION).all()
    assert counts["lattice_added"] >= 3
    # nothing is added far from every particle column (the support's own places)
    assert (cKDTree(truth).query(refound)[0] < 2 * SEPARATION).all()


def test_a_moved_peak_goes_and_its_column_is_filled():
    image, truth, table, params = _found()
    points = np.column_stack([table["row"], table["col"]])
    centre = np.asarray(PARTICLES[1][0], dtype=float)  # 25 deg: no other grain within 5 deg
    index = int(np.argmin(np.linalg.norm(points - centre, axis=1)))
    column = truth[cKDTree(truth).query(points[index])[1]]
    moved = {name: values.copy() for name, values in table.items()}
    moved["row"][index] += 0.45 * SEPARATION  # onto a bump between the columns
    moved_to = np.array([moved["row"][index], moved["col"][index]])
    counts = {"noise": 0.02}
    result = lattice_sites(image, moved, params, counts)
    refound = np.column_stack([result["row"], result["col"]])
    assert cKDTree(refound).query(column)[0] < 0.35 * SEPARATION
    assert counts["lattice_dropped"] >= 1
    assert cKDTree(refound).query(moved_to)[0] > 0.2 * SEPARATION


def test_a_frame_without_a_crystalline_region_is_left_as_it_is():
    rng = np.random.default_rng(0)
    frame = rng.normal(0, 1, (128, 128)).astype(np.float32)
    table = {"row": np.arange(20.0) * 5 + 10, "col": np.full(20, 64.0)}
    params = {"spacing": 9.0, "sigma": 1.3, "border": 2.7, "crystal_only": True}
    assert lattice_sites(frame, table, params, {}) is table
