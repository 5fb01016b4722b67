"""The crystalline region the atom detector keeps peaks in: islands below the fringe
amplitude's resolution are no crystal (atom_region.resolved)."""

import dataclasses

import numpy as np
from scipy.spatial import cKDTree
from test_atoms_stranger import SEPARATION, particles_on_support

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.crystal import crystal_region


def test_no_atom_is_kept_on_the_film_far_from_the_particles():
    # the amorphous film's fringe amplitude rises above the region's edge in spots of the
    # low-pass's own size; each spot was a "crystal" island whose bumps were kept as atoms
    # (24-55 atoms two spacings or more from any particle atom over seeds 0-2, before)
    for seed in (0, 1):
        image, truth, _ = particles_on_support(seed)
        found = detect_atoms(image).coords[:, 1:]
        far = cKDTree(truth).query(found)[0] > 2 * SEPARATION
        assert far.sum() == 0, (seed, int(far.sum()))
        assert len(found) > 0.5 * len(truth)


def test_islands_smaller_than_the_resolution_cell_are_dropped_and_the_particle_kept():
    from napari_ivae.core.detection.atom_region import resolved

    image, truth, _ = particles_on_support(0)
    region = crystal_region(image, SEPARATION)
    kept = resolved(region, SEPARATION)
    assert kept.found
    # the particles the region holds stay (the 45 px one, whose orientation no other shares,
    # may be missing from it: its reflections are weak); the film far from them has no
    # crystal left
    centres = np.array([[170.0, 180.0], [560.0, 160.0], [600.0, 610.0]])
    held = region.contains(centres)
    assert held.sum() >= 2 and (kept.contains(centres) == held).all()
    grid = np.stack(np.mgrid[8:768:16, 8:768:16], axis=-1).reshape(-1, 2).astype(float)
    far = grid[cKDTree(truth).query(grid)[0] > 3 * SEPARATION]
    assert region.contains(far).any() and not kept.contains(far).any()


def test_a_region_of_islands_only_keeps_nothing_inside():
    from napari_ivae.core.detection.atom_region import resolved

    image, _, _ = particles_on_support(0)
    region = crystal_region(image, SEPARATION)
    speck = np.zeros_like(region.inside)
    speck[3, 3] = True  # one coarse sample: far below the resolution cell
    kept = resolved(dataclasses.replace(region, inside=speck), SEPARATION)
    assert kept.found and not kept.inside.any()
    assert not kept.contains(np.array([[3.0 * region.scale[0], 3.0 * region.scale[1]]])).any()


def test_a_polycrystal_of_small_grains_keeps_its_atoms():
    # grains of 8-16 lattice constants at dose 0.5: the amplitude rises above the region's
    # edge over 0.06-4.6 % of the frame (a few cells), and every peak was dropped as outside
    # that "region" (0 atoms before); a region of fewer than MIN_REGION_CELLS cells is no
    # distinct region
    from _scripts import load_script

    from napari_ivae.core.analysis.metrics import match_points

    networks = load_script("benchmarks/stranger_networks.py", "stranger_networks_for_region")
    image, truth = networks.make("poly honeycomb 7, dose 0.5", 0)
    found = detect_atoms(image)
    assert found.params["counts"]["outside_crystal"] == 0
    assert match_points(found.coords[:, 1:], truth, 0.35 * 7.0).f1 > 0.6
