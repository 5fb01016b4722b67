"""Where no lattice periodicity was found, spots are judged against the frame's own texture
(its pixels with their Fourier phases redrawn): an amorphous film is no atoms."""

import numpy as np

from napari_ivae.core.detection.atom_frame import _null_contrasts
from napari_ivae.core.detection.atom_noise_null import (
    MIN_SPREADS,
    excess_over_null,
    shuffled_null,
)
from napari_ivae.core.detection.detections import empty_detections
from napari_ivae.core.detection.quality import assess
from napari_ivae.core.detection.texture_null import iaaft, textured_null_frame

PARAMS = {"spacing": 7.0, "sigma": 1.0, "background": 3.5, "min_distance": 2.8}


def _film(side=384, seed=0):
    """Light atoms at random places (one per 20 px^2), blurred by a 1.2 px probe, 8 counts."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((side, side))
    n = side * side // 20
    np.add.at(canvas, (rng.integers(0, side, n), rng.integers(0, side, n)), rng.uniform(0.5, 1, n))
    k = np.fft.fftfreq(side)
    probe = np.exp(-2 * np.pi**2 * 1.2**2 * (k[:, None] ** 2 + k[None, :] ** 2))
    film = np.fft.ifft2(np.fft.fft2(canvas) * probe).real
    return rng.poisson(8.0 * np.clip(film / film.mean(), 0, None)).astype(np.float32)


def _excess(frame, params):
    contrasts = _null_contrasts(frame, params)
    null, area = shuffled_null(frame, None, params, _null_contrasts)
    return excess_over_null(contrasts, null, float(frame.size), area)[0]


def test_a_film_does_not_stand_out_from_its_own_texture():
    """An amorphous film's blobs outnumber its shuffled pixels' peaks by tens of spreads (it
    kept thousands of atoms); against its texture with the phases redrawn they do not."""
    frame = _film()
    assert _excess(frame, PARAMS) > 3 * MIN_SPREADS  # the block shuffle: structure
    blob = {**PARAMS, "spacing_source": "blob scale (no lattice periodicity)"}
    assert _excess(frame, blob) < MIN_SPREADS


def test_separate_atoms_stand_out_from_their_texture():
    """Atoms apart on a flat background gather their signal in one place each; the texture's
    redrawn phases spread it, so they still stand out."""
    rng = np.random.default_rng(1)
    side = 384
    yy, xx = np.mgrid[:side, :side]
    image = np.full((side, side), 0.2)
    for r, c in rng.uniform(8, side - 8, (150, 2)):
        image += np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 1.5**2))
    frame = rng.poisson(20 * image).astype(np.float32)
    blob = {**PARAMS, "spacing_source": "blob scale (no lattice periodicity)"}
    assert _excess(frame, blob) > MIN_SPREADS


def test_the_surrogate_keeps_the_values_and_the_spectrum():
    field = _film(128).astype(np.float64)
    surrogate = iaaft(field)
    np.testing.assert_array_equal(np.sort(surrogate, axis=None), np.sort(field, axis=None))
    power = np.abs(np.fft.rfft2(field - field.mean())) ** 2
    drawn = np.abs(np.fft.rfft2(surrogate - surrogate.mean())) ** 2
    assert np.abs(drawn - power).sum() < 0.1 * power.sum()
    assert np.corrcoef(field.ravel(), surrogate.ravel())[0, 1] < 0.1  # other places


def test_the_surrogate_is_the_same_for_the_same_frame():
    frame = _film(200, seed=3)
    first = textured_null_frame(frame, None).copy()
    np.testing.assert_array_equal(textured_null_frame(frame.copy(), None), first)


def test_an_empty_result_without_a_lattice_names_the_texture():
    """With no lattice periodicity the empty result's warning says what the spots were judged
    against (the frame's texture: a film?), not only 'noise'."""
    counts = {"candidates": 900, "excluded": 0, "outside_crystal": 0, "below_threshold": 900}
    params = {
        "threshold": "auto",
        "spacing": 8.0,
        "spacing_source": "blob scale (no lattice periodicity)",
        "counts": counts,
    }
    warnings = assess(empty_detections(params=params), "atoms")["warnings"]
    assert warnings[0].startswith("nothing stands out from the frame's own texture")
    assert "amorphous film" in warnings[0]


def _separate_atoms(count, width, side=256, seed=0):
    """``count`` Gaussian atoms of ``width`` px at random places on white noise (SNR 10)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:side, :side]
    frame = rng.normal(0.0, 0.1, (side, side))
    for row, col in rng.uniform(8, side - 8, (count, 2)):
        frame += np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * width**2))
    return frame.astype(np.float32), count


def test_separate_atoms_without_a_lattice_are_kept():
    """Atoms at random places on a quiet background are spots the phase-randomised surrogate
    also makes (it keeps the frame's values): judged against it, 60-120 clear atoms gave 0.
    A frame this skewed is judged against its shuffled pixels, and keeps them; a film stays
    a texture."""
    from napari_ivae.core.detection.atom_noise_null import sparse_spots
    from napari_ivae.core.detection.atoms import detect_atoms

    for count, width in ((60, 2.5), (120, 1.5)):
        frame, truth = _separate_atoms(count, width)
        found = detect_atoms(frame)
        assert str(found.params["spacing_source"]).startswith("blob scale")
        assert len(found) >= 0.75 * truth, (count, len(found))
    film = _film()
    assert not sparse_spots(film - film.mean(), None, PARAMS)
    assert len(detect_atoms(film)) == 0


def test_sparse_spots_decides_as_the_skewness_of_the_smoothed_residual():
    """The skew test (cubes taken as products, pow's near the bound) says what the sample
    skewness of the residual smoothed at the atoms' width says, on either side of the bound."""
    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.atom_noise_null import SPARSE_SKEW, sparse_spots

    spots, _ = _separate_atoms(60, 2.5)
    film = _film(side=256)
    decided = []
    for weight in np.linspace(0.0, 1.0, 21):
        residual = (weight * spots + (1.0 - weight) * film).astype(np.float32)
        values = gaussian_smooth(residual, PARAMS["sigma"]).astype(np.float64).ravel()
        skew = np.mean((values - values.mean()) ** 3) / values.std() ** 3
        assert sparse_spots(residual, None, PARAMS) == (skew > SPARSE_SKEW), weight
        decided.append(skew > SPARSE_SKEW)
    assert any(decided) and not all(decided)
