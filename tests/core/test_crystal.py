"""Crystalline-region detection and what it does to atom detection (generated images only)."""

import numpy as np
import pytest
from _crystal_data import SPACING, particle_on_amorphous_support

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection._filters import block_mean, gaussian_smooth, smooth_background
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.crystal import crystal_region
from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.lattice import make_lattice


def test_region_found_around_a_particle_on_amorphous_support():
    image, truth, bumps = particle_on_amorphous_support()
    region = crystal_region(image, SPACING)
    assert region.found
    assert region.contains(truth).mean() > 0.97
    assert region.contains(bumps).mean() < 0.1
    assert region.mask().shape == image.shape
    assert 0.2 < region.mask().mean() < 0.5  # the disc is 31 % of the frame


def test_atoms_outside_the_crystal_are_left_out_and_reported():
    image, truth, bumps = particle_on_amorphous_support()
    kept = detect_atoms(image)
    everything = detect_atoms(image, crystal_only=False)
    assert match_points(kept.coords[:, 1:], truth, 0.35 * SPACING).f1 > 0.9
    assert match_points(kept.coords[:, 1:], bumps, 0.35 * SPACING).true_positives <= 3
    # without the region the bumps come back as "atoms"
    assert match_points(everything.coords[:, 1:], bumps, 0.35 * SPACING).recall > 0.5
    counts = kept.params["counts"]
    assert counts["outside_crystal"] > 0.5 * len(bumps) and counts["crystal_region"]["found"]
    assert "outside the crystalline region" in kept.message


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(domains=2),
        dict(domains=3, dose=30.0),
        dict(lattice="hexagonal", rotation=17.0, vacancies=0.05),
    ],
)
def test_lattice_everywhere_gets_no_region(kwargs):
    image = make_lattice((384, 384), seed=1, **kwargs).image
    region = crystal_region(image, SPACING)
    assert not region.found and region.contains([[5.0, 5.0]]).all()
    with_region = detect_atoms(image, spacing=SPACING)
    assert with_region.params["counts"]["outside_crystal"] == 0
    assert len(with_region) == len(detect_atoms(image, spacing=SPACING, crystal_only=False))


def test_noise_has_no_region():
    image = np.random.default_rng(0).normal(size=(200, 200))
    region = crystal_region(image, SPACING)
    assert not region.found and len(region.reflections) == 0


def test_faint_atoms_on_a_steep_envelope_are_found():
    """A particle's bright envelope hides faint columns from a plain local-maximum search."""
    truth = make_lattice((256, 256), spacing=SPACING, noise=0.0, seed=2)
    rows, cols = np.mgrid[:256, :256]
    envelope = 8.0 * np.exp(-((rows - 128) ** 2 + (cols - 128) ** 2) / (2 * 60.0**2))
    image = envelope + 0.15 * truth.image
    interior = ((truth.positions > 20) & (truth.positions < 235)).all(axis=1)
    reference = truth.positions[interior]

    def recall(**kwargs):
        found = detect_atoms(image, spacing=SPACING, crystal_only=False, **kwargs)
        return match_points(found.coords[:, 1:], reference, 0.35 * SPACING).recall

    assert recall() > 0.99
    assert recall(background=0) < 0.9  # what the band-pass adds


def test_exclude_mask_blocks_detection_and_is_checked():
    image = make_lattice((200, 200), seed=0).image
    exclude = np.zeros(image.shape, dtype=bool)
    exclude[:, :100] = True
    found = detect_atoms(image, spacing=SPACING, exclude=exclude)
    assert len(found) and (found.coords[:, 2] > 95).all()
    assert found.params["counts"]["excluded"] > 0
    everything = detect_atoms(image, spacing=SPACING, exclude=np.ones(image.shape, bool))
    assert len(everything) == 0 and "excluded mask" in everything.message
    with pytest.raises(InputError, match="exclude mask"):
        detect_atoms(image, exclude=np.zeros((10, 10), bool))


@pytest.mark.parametrize(
    "shape, sigma",
    [((256, 256), 5.0), ((256, 256), 12.0), ((203, 157), 7.0), ((40, 33), 5.0), ((40, 33), 7.0)],
)
def test_smooth_background_matches_a_full_gaussian(shape, sigma):
    image = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    image += np.linspace(0, 5, shape[1])[None, :]
    coarse, full = smooth_background(image, sigma), gaussian_smooth(image, sigma)
    assert coarse.shape == image.shape and coarse.dtype == np.float32
    # beyond two sigmas of the edges (where the edge handling differs) the error is small
    # against the noise of the atom-scale image the background is subtracted from (smoothed
    # at about sigma / 5; white noise of std 1 shrinks to 1 / (2 sqrt(pi) sigma / 5))
    margin = int(2 * sigma)
    error = np.abs(coarse - full)[margin:-margin, margin:-margin]
    atom_scale_noise = 1.0 / (2.0 * np.sqrt(np.pi) * sigma / 5.0)
    assert error.max() < 0.2 * atom_scale_noise
    assert np.sqrt((error**2).mean()) < 0.05 * atom_scale_noise


@pytest.mark.parametrize("shape, factor", [((12, 12), 3), ((13, 10), 4), ((7, 9), 2)])
def test_block_mean_averages_blocks_and_repeats_the_edge(shape, factor):
    image = np.random.default_rng(1).random(shape).astype(np.float32)
    rows, cols = -(-shape[0] // factor) * factor, -(-shape[1] // factor) * factor
    padded = np.pad(image, ((0, rows - shape[0]), (0, cols - shape[1])), mode="edge")
    expected = padded.reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3))
    np.testing.assert_allclose(block_mean(image, factor), expected, rtol=1e-6)
