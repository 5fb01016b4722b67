"""make_hrtem: the phase-contrast chain's physics and the truth."""

import numpy as np
import pytest

from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.hrtem import make_hrtem, scherzer_defocus, wavelength_nm

IDEAL = dict(focal_spread_nm=0.0, convergence_mrad=0.0, dose=None, mtf_half=None)


def _atom_contrast(result):
    """Mean image at the true atoms minus the image's mean, in units of its spread."""
    rows, cols = np.round(result.positions).astype(int).T
    return (result.image[rows, cols].mean() - result.image.mean()) / result.image.std()


def test_wavelength_and_scherzer():
    assert wavelength_nm(80) == pytest.approx(0.004176, rel=1e-3)
    assert wavelength_nm(300) == pytest.approx(0.001969, rel=1e-3)
    # 300 kV, Cs 1.2 mm: sqrt(1.5 Cs lambda) = 59.6 nm underfocus
    assert scherzer_defocus(1.2, 300) == pytest.approx(59.6, abs=0.2)
    assert scherzer_defocus(-0.02, 80) == pytest.approx(-scherzer_defocus(0.02, 80))


def test_a_phase_object_in_focus_without_aberrations_shows_nothing():
    result = make_hrtem(96, cs_mm=0.0, defocus_nm=0.0, atom_phase=0.5, seed=1, **IDEAL)
    assert result.phase.max() > 0.4  # the specimen is there
    np.testing.assert_allclose(result.image, 1.0, atol=1e-6)


@pytest.mark.parametrize("cs_mm, dark", [(0.02, True), (-0.02, False)])
def test_scherzer_weak_phase_atoms_are_dark_and_negative_cs_bright(cs_mm, dark):
    result = make_hrtem(
        128, pixel_size_nm=0.01, cs_mm=cs_mm, weak_phase=True, atom_phase=0.05, seed=2, **IDEAL
    )
    assert (_atom_contrast(result) < -0.5) if dark else (_atom_contrast(result) > 0.5)


def test_defocus_reverses_the_weak_phase_contrast():
    # no Cs: chi = -pi lambda defocus k^2, so +-defocus give I - 1 of opposite sign (to first
    # order in the phase)
    kwargs = dict(cs_mm=0.0, weak_phase=True, atom_phase=0.01, pixel_size_nm=0.01, seed=3)
    under = make_hrtem(96, defocus_nm=8.0, **kwargs, **IDEAL).image - 1.0
    over = make_hrtem(96, defocus_nm=-8.0, **kwargs, **IDEAL).image - 1.0
    assert np.abs(under).max() > 0.005
    assert np.abs(under + over).max() < 0.05 * np.abs(under).max()
    assert np.corrcoef(under.ravel(), over.ravel())[0, 1] < -0.99


def test_mean_is_the_dose_and_the_noise_is_poisson():
    kwargs = dict(seed=4, mtf_half=None)
    noisy = make_hrtem(128, dose=200.0, **kwargs)
    clean = make_hrtem(128, dose=None, **kwargs)
    assert noisy.image.mean() == pytest.approx(200.0, rel=0.01)
    assert clean.image.mean() == pytest.approx(1.0, rel=0.01)
    modulation = clean.image.std() / clean.image.mean()
    assert 0.005 < modulation < 0.2  # a strong mean, a small modulation
    residual = noisy.image - 200.0 * clean.image
    assert residual.var() == pytest.approx(200.0 * clean.image.mean(), rel=0.05)
    blurred = make_hrtem(128, dose=200.0, seed=4, mtf_half=0.25)
    assert blurred.image.mean() == pytest.approx(200.0, rel=0.01)
    assert (blurred.image - 200.0 * clean.image).var() < 0.6 * residual.var()


def test_truth_graphene_density_hole_grains_dopants():
    result = make_hrtem(200, pixel_size_nm=0.02, seed=5)
    area_nm2 = (200 * 0.02) ** 2
    assert len(result.positions) / area_nm2 == pytest.approx(38.2, rel=0.08)  # graphene
    assert result.params["spacing_px"] == pytest.approx(0.142 / 0.02)
    assert ((result.positions >= 0) & (result.positions <= 199)).all()
    holed = make_hrtem(200, pixel_size_nm=0.02, hole_radius_nm=1.0, seed=5)
    radius = np.hypot(*(holed.positions - 100.0).T)
    assert radius.min() > 1.0 / 0.02 - 1 and len(holed.positions) < len(result.positions)
    vacuum = np.hypot(*(np.indices((200, 200)) - 100.0)) < 30
    assert holed.phase[vacuum].max() < 1e-3  # nothing in the hole
    grains = make_hrtem(200, pixel_size_nm=0.02, domains=2, seed=5)
    assert len(grains.positions) > 0.9 * len(result.positions)
    doped = make_hrtem(200, pixel_size_nm=0.02, dopants=0.1, dopant_phase=3.0, seed=5)
    assert 0.05 < (doped.species == 1).mean() < 0.15
    perovskite = make_hrtem(120, lattice="perovskite", pixel_size_nm=0.02, seed=5)
    assert 0.4 < (perovskite.species == 2).mean() < 0.6  # the B columns
    with pytest.raises(InputError, match="smaller pixel_size_nm"):
        make_hrtem(64, pixel_size_nm=0.1)


def test_amorphous_film_adds_random_phase():
    clean = make_hrtem(128, seed=6, dose=None)
    film = make_hrtem(128, seed=6, dose=None, amorphous_nm=1.0)
    assert film.phase.mean() > clean.phase.mean() + 0.02
    np.testing.assert_array_equal(film.positions, clean.positions)
