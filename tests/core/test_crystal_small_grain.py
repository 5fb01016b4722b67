"""A small grain whose orientation no other grain shares is part of the crystalline region
(bragg_reflections.outside_reflections looks for its reflections in tiles of its own size)."""

import numpy as np
from test_atoms_stranger import PARTICLES, SEPARATION, particles_on_support

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.crystal import crystal_region


def test_every_particle_is_in_the_region_whatever_its_orientation():
    # the 45 px particle at 25 degrees was left out (its reflections, ~1 % of the frame's
    # area, were lost in the whole non-crystalline part's spectrum): none of its atoms kept
    for seed in (0, 1, 2):
        image, truth, _ = particles_on_support(seed)
        region = crystal_region(image, SEPARATION)
        centres = np.array([centre for centre, _, _ in PARTICLES], dtype=float)
        assert region.contains(centres).all(), seed


def test_the_small_grain_s_atoms_are_found():
    image, truth, _ = particles_on_support(0)
    found = detect_atoms(image).coords[:, 1:]
    (centre, radius, _) = PARTICLES[1]
    grain = truth[np.hypot(*(truth - np.asarray(centre)).T) < 0.8 * radius]
    near = np.hypot(*(grain[:, None, :] - found[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert (near < 0.35 * SEPARATION).mean() > 0.7


def test_reflections_do_not_depend_on_how_many_tiles_are_transformed_at_once(monkeypatch):
    """The tiles' periodograms are taken a batch at a time: batches of 1, 7 or all give the
    same reflections, bit for bit."""
    from napari_ivae.core.detection import bragg_reflections as bragg

    image, _, _ = particles_on_support(0)
    detail = (image - image.mean()).astype(np.float32)
    found, spectra = [], []
    for batch in (1, 7, 10**6):
        monkeypatch.setattr(bragg, "TILE_BATCH", batch)
        found.append(bragg.bragg_reflections(detail, SEPARATION))
        spectra.append(bragg._tile_periodograms(detail, 128))
    assert len(found[0]) > 0
    assert spectra[0].shape == (11 * 11, 128, 128)  # 768 px: tiles at every 64 px
    for other, periodograms in zip(found[1:], spectra[1:]):
        assert np.array_equal(other, found[0])
        assert np.array_equal(periodograms, spectra[0])
