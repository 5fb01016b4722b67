"""A polycrystal under a count per atom: its spectrum's faint ring keeps the atoms found.

The 20-grain polycrystal at 0.3 counts (seed 1) has no lattice the spectrum can show and a
powder ring only 2.2x its noise's floor: too faint for the short-range-order path (4x), and the
lowest rings' few samples made the rise over the dip fail its z. The blob scale (3.65 px) then
set an 18.2 px spacing for the lattice's 8, and the texture null (the same ring with other
phases) passed none of the 386 peaks: 0 atoms. Now a ring that rises as surely over
better-sampled rings is taken as faint: the blob spacing is held under 2 / sqrt(3) of its
period and the null is the shuffled pixels'. 5 of 18 such frames (0.2-0.4 counts, seeds 0-5)
gave 0 atoms; 1 does now (0.2 counts, warned).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atom_defaults import FAINT_RING
from napari_ivae.core.detection.atom_noise_null import without_lattice
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.short_range_order import faint_ring_period, ring_period

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_crystal_polycrystal import SEPARATION, polycrystal  # noqa: E402

BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")


def test_a_low_dose_polycrystal_s_faint_ring_is_found():
    image, _ = polycrystal(1, grains=20, dose=0.3)
    assert ring_period(image) is None  # under the short-range order's floor test
    period = faint_ring_period(image)  # the lattice's first reflections, sqrt(3) / 2 x 8 px
    assert period == pytest.approx(np.sqrt(3) / 2 * SEPARATION, rel=0.1)


def test_the_low_dose_polycrystal_s_atoms_are_detected():
    # 0 atoms before (spacing 18.2 px from the blob scale, every peak under the texture null)
    image, atoms = polycrystal(1, grains=20, dose=0.3)
    found = detect_atoms(image)
    assert found.params["spacing_source"] == FAINT_RING
    assert found.params["spacing"] == pytest.approx(SEPARATION, rel=0.1)
    match = match_points(found.coords[:, 1:], atoms, 0.35 * SEPARATION)
    assert match.recall > 0.35 and match.precision > 0.9


@pytest.mark.parametrize("seed", [0, 1])
def test_no_faint_ring_on_frames_with_nothing_in_them(seed):
    sys.path.insert(0, BENCHMARKS)
    from empty_frames import CASES, make

    for name in CASES:
        assert faint_ring_period(make(name, 256, seed)) is None, name


def test_only_a_blob_scale_without_a_ring_keeps_the_texture_null():
    assert without_lattice({"spacing_source": "blob scale (no lattice periodicity)"})
    assert not without_lattice({"spacing_source": FAINT_RING})
    assert not without_lattice({"spacing_source": "auto"})
