"""The detections' self-check words what was found as it was found."""

from __future__ import annotations

import numpy as np


def _scattered_atoms(n=120, side=160, seed=1) -> np.ndarray:
    """Gaussian atoms at random places: no lattice periodicity."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    image = np.zeros((side, side), np.float32)
    for y, x in rng.uniform(8, side - 8, (n, 2)):
        image += np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 1.5**2)).astype(np.float32)
    return image + rng.normal(0, 0.05, image.shape).astype(np.float32)


def test_no_lattice_warning_names_the_spots_of_the_atoms_polarity():
    """Without a lattice the spacing comes from the atoms' spots: 'dark spots' for dark atoms
    (it said 'bright spots' whatever the atoms' sign), called by itself or given."""
    from napari_ivae.core.detection.atoms import detect_atoms

    bright = _scattered_atoms()
    for image, invert, spots in [
        (bright, None, "bright spots"),
        (1.0 - bright, None, "dark spots"),
        (1.0 - bright, True, "dark spots"),
    ]:
        found = detect_atoms(image, invert=invert)
        assert found.params["spacing_source"].startswith("blob scale")
        note = next(w for w in found.quality["warnings"] if "no lattice periodicity" in w)
        assert spots in note, (invert, note)
