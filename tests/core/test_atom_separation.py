"""The atom separation as the first pass's fixed point (``atom_separation``): a closer distance
that a pass at it finds again is the separation, even under the 0.45-spacing floor of a single
pass's reading; a reading that a pass at it finds again is kept as it was (a honeycomb)."""

import sys
from pathlib import Path

import numpy as np

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atom_separation import settled_separation, subpixel_separation
from napari_ivae.core.detection.atoms import detect_atoms


def _si110(seed):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from stranger_blind import make

    return make("si110_dumbbells", seed)


def test_both_columns_of_a_dumbbell_041_spacings_apart():
    # columns 2.61 px apart, dumbbells 6.29 px: the first pass reads 2.83 px (whole pixels),
    # 0.4496 of the spacing, under the single reading's floor (one point a dumbbell: F1 0.549)
    case = _si110(5)
    found = detect_atoms(case["image"])
    match = match_points(found.coords[:, 1:], case["truth"], 0.35 * 2.61)
    assert found.params["lattice_spacing"] > 6.0
    assert abs(found.params["spacing"] - 2.61) < 0.2
    assert match.f1 > 0.95


def _honeycomb(bond=6.0, side=192, dose=20.0):
    a = bond * np.sqrt(3)
    a1, a2 = np.array([0.0, a]), np.array([a * np.sqrt(3) / 2, a / 2])
    i, j = np.meshgrid(np.arange(-4, 40), np.arange(-4, 40))
    cells = i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2
    atoms = np.concatenate([cells, cells + [bond, 0.0]])
    atoms = atoms[((atoms > 2) & (atoms < side - 2)).all(axis=1)]
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float64)
    clean = np.zeros((side, side))
    for r, c in atoms:
        clean += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 1.0**2))
    return np.random.default_rng(0).poisson(dose * clean + 2.0).astype(np.float64)


def test_a_reading_a_pass_finds_again_stands(monkeypatch):
    # a honeycomb: the first pass reads the bond (1 / sqrt(3) of the spacing) and a pass at the
    # bond finds it again: the first pass's reading, crop and atoms are kept as they were
    from napari_ivae.core.detection import atom_separation

    answers = []

    def spy(*args):
        answers.append(settled_separation(*args))
        return answers[-1]

    monkeypatch.setattr(atom_separation, "settled_separation", spy)
    found = detect_atoms(_honeycomb())
    assert answers == [None]
    assert abs(found.params["spacing"] - 6.0) < 0.5


def test_subpixel_separation_reads_between_whole_pixels():
    # Gaussian spots 2.6 px apart along a row: whole-pixel maxima lie 2 or 3 px apart
    rows, cols = np.mgrid[0:64, 0:64].astype(np.float64)
    centres = [(r, c) for r in np.arange(8.0, 56.0, 8.0) for c in np.arange(8.0, 56.0, 2.6)]
    frame = sum(np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 0.6**2)) for r, c in centres)
    table = {"row": [round(r) for r, _ in centres], "col": [round(c) for _, c in centres]}
    whole = np.median(np.diff(table["col"][:18]))  # 2 or 3 px
    assert abs(subpixel_separation(frame, table, 0.3) - 2.6) < min(0.15, abs(whole - 2.6))


def test_a_step_closer_into_the_noise_keeps_the_reading():
    # a low-dose polycrystalline honeycomb: the first pass reads the bond (7.07 px); a pass at
    # it reads 5.83 px with 41 % of its atoms still at the bond (noise between the atoms), and
    # a pass at that would settle at 5.4 px (F1 0.817 -> 0.746)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from stranger_networks import make

    image, _ = make("poly honeycomb 7, dose 0.5", 2)
    assert detect_atoms(image).params["spacing"] > 6.5
