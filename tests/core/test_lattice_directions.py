"""A periodicity along one direction only (lattice fringes, scan-line offsets) is no lattice:
the spacing estimate refuses it, the atom detector searches the frame with it taken out."""

import numpy as np
import pytest

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.lattice_directions import ONE_DIRECTION
from napari_ivae.core.detection.spacing import estimate_spacing
from napari_ivae.core.errors import InputError


def _scan_lines(side=256, seed=0):
    """Row offsets (2 counts) and white read noise (0.7) around 20: nothing to find."""
    rng = np.random.default_rng(seed)
    return 20.0 + 2.0 * rng.standard_normal((side, 1)) + 0.7 * rng.standard_normal((side, side))


def _spots(side, centres, sigma, amplitude):
    yy, xx = np.mgrid[:side, :side]
    image = np.zeros((side, side))
    for r, c in centres:
        image += amplitude * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * sigma**2))
    return image


def _lattice(side, a1, a2, sigma, amplitude=1.0):
    n = side // int(min(np.hypot(*a1), np.hypot(*a2))) + 4
    i, j = np.meshgrid(np.arange(-n, n), np.arange(-n, n))
    points = i.ravel()[:, None] * np.asarray(a1) + j.ravel()[:, None] * np.asarray(a2)
    points = points[np.all((points > -5) & (points < side + 5), axis=1)]
    return _spots(side, points, sigma, amplitude)


def test_fringes_along_one_direction_are_refused_as_one_dimensional():
    """Cosine fringes (period 7 px, tilted 20 degrees) under noise: a strong periodicity, with
    every peak on one line through the origin (was accepted: spacing 7 px)."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:256, :256].astype(float)
    phase = 2 * np.pi * (yy * np.cos(0.35) + xx * np.sin(0.35)) / 7.0
    image = np.cos(phase) + 0.5 * rng.standard_normal((256, 256))
    with pytest.raises(InputError, match="one direction only"):
        estimate_spacing(image)


def test_a_lattice_whose_second_direction_is_weak_is_still_a_lattice():
    """Rows of columns 6 px apart that almost merge along the rows (5 px, sigma 1.9: a
    modulation of a few per cent along them) at low dose: the second direction is weak, but
    it stands out of the noise, so the lattice is kept."""
    rng = np.random.default_rng(2)
    image = _lattice(256, (6.0, 0.0), (0.0, 5.0), sigma=1.9)
    counts = rng.poisson(5.0 * (image + 0.2)).astype(float)
    assert estimate_spacing(counts) == pytest.approx(5.0, rel=0.05)


def test_scan_lines_give_no_atoms_and_say_why():
    """Scan-line offsets over white noise: thousands of "atoms" along the rows before (the
    texture surrogate blurs the rows); none with the rows' periodicity taken out. A flatten
    mode given skips the scan levelling, so this is the one-direction path."""
    found = detect_atoms(_scan_lines().astype(np.float32), flatten="plane")
    assert ONE_DIRECTION in found.params["spacing_source"]
    assert len(found) == 0
    assert any("one direction only" in warning for warning in found.quality["warnings"])


def test_scan_lines_are_levelled_by_default_and_give_no_atoms():
    """By default the line offsets are levelled first: no atoms either, and the frame is
    said to hold nothing standing out of its texture."""
    found = detect_atoms(_scan_lines().astype(np.float32))
    assert found.params["scan_levelled"] is not None
    assert len(found) == 0
    assert any("may hold no atoms" in warning for warning in found.quality["warnings"])


def test_separate_atoms_on_scan_lines_are_found():
    """40 atoms on a frame with scan-line offsets: the offsets are taken out, the atoms stay
    (were 1 704 points, spacing 2 px, half the atoms found; now 55, every atom found)."""
    rng = np.random.default_rng(3)
    centres = rng.uniform(20, 236, (40, 2))
    frame = _scan_lines(seed=4) + _spots(256, centres, 2.0, 6.0)
    found = detect_atoms(frame.astype(np.float32)).coords[:, 1:]
    assert len(found) <= 80
    nearest = np.hypot(*(found[:, None, :] - centres[None]).transpose(2, 0, 1)).min(axis=0)
    assert np.mean(nearest < 2.0) >= 0.9


def test_a_chunked_search_does_not_claim_the_periodicity_taken_out():
    """The chunked path (a lazy frame too large for memory) measures the spacing on a sample
    with the periodicity taken out but searches its chunks as read: its source and warning
    say no lattice, not that the periodicity was taken out."""
    from napari_ivae.core.detection.chunked import NOT_TAKEN_OUT, detect_atoms_chunked

    found = detect_atoms_chunked(_scan_lines().astype(np.float32), chunk=128)
    assert found.params["spacing_source"] == NOT_TAKEN_OUT
    assert not any("taken out" in warning for warning in found.quality["warnings"])
