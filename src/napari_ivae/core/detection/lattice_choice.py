"""Warnings for an automatic spacing that picked the wrong one of two periodicities (part of
the atoms' self-check, :mod:`~napari_ivae.core.detection.quality`): a superstructure's maxima
over a much finer lattice, or the hollows between the atoms of a hexagonal lattice taken for a
weaker sub-lattice."""

from __future__ import annotations

import numpy as np

# the hollows of a hexagonal lattice: six sites at 1/sqrt(3) of its constant, 60 degrees apart
# (within these tolerances: a weaker sub-lattice's vectors are whole pixels)
HOLLOWS = 6
HOLLOW_LENGTH = 0.15
HOLLOW_ANGLE = 10.0


def lattice_choice_warnings(params: dict, spacing: float) -> list:
    """Warnings for an automatic spacing that picked the wrong one of two periodicities: a
    superstructure's maxima over a much finer lattice (``finer_period``, see
    :mod:`~napari_ivae.core.detection.finer_lattice`), or the hollows between the atoms of a
    hexagonal lattice taken for a weaker sub-lattice (:func:`in_every_hollow`)."""
    warnings = []
    finer = params.get("finer_period")
    if finer:
        warnings.append(
            f"the frame holds a strong lattice of period {finer:.1f} px, much finer than the "
            f"spacing used ({spacing:.1f} px), that the points found do not follow: they may "
            "be the maxima of a superstructure (a moire) rather than the atoms; look at the "
            "overlay, and if the atoms are the fine lattice, give --spacing"
        )
    if in_every_hollow(params):
        lattice = float(params["lattice_constant"])
        warnings.append(
            "the weaker sub-lattice sits in every hollow between three strong atoms (two "
            "weak points per strong one), as the gaps between touching discs or rings "
            "(colloids, bubbles) do: look at the overlay, and if the gaps are no atoms, give "
            f"--spacing {lattice:.1f}"
        )
    return warnings


def in_every_hollow(params: dict) -> bool:
    """Whether a weaker sub-lattice's sites are both hollows of a hexagonal lattice: six
    vectors at 1/sqrt(3) of the lattice constant, 60 degrees apart (a honeycomb's weaker
    sub-lattice fills one of the two, three vectors)."""
    vectors = np.asarray(params.get("sublattice_vectors") or [], dtype=np.float64)
    lattice = float(params.get("lattice_constant", 0.0) or 0.0)
    if vectors.shape != (HOLLOWS, 2) or lattice <= 0:
        return False
    lengths = np.hypot(*vectors.T) * np.sqrt(3.0) / lattice
    angles = np.sort(np.mod(np.arctan2(vectors[:, 0], vectors[:, 1]), 2 * np.pi))
    steps = np.diff(np.append(angles, angles[0] + 2 * np.pi))
    even = np.abs(steps - np.pi / 3).max() < np.deg2rad(HOLLOW_ANGLE)
    return bool(even and np.abs(lengths - 1.0).max() < HOLLOW_LENGTH)
