"""A weaker sub-lattice held from an earlier result, for other frames or chunks.

The first pass of :func:`~napari_ivae.core.detection.atoms.detect_atoms` may find a weaker
sub-lattice (:mod:`~napari_ivae.core.detection.atom_sites`); its ``SUBLATTICE_KEYS`` entries of
``params`` are what the frames of a stack, the streamed path's later frames and the chunked
path's chunks are judged with. :func:`held_sublattice` takes them from a result's ``params``
(checking them where a caller gave them); :func:`with_sublattice` puts them in place of any the
first pass found.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.errors import InputError

SUBLATTICE_KEYS = ("sublattice_vectors", "sublattice_empty", "sublattice_contrast", "sublattice")


def held_sublattice(params: dict | None, given: bool = False) -> dict | None:
    """The sub-lattice entries of a result's ``params`` (``SUBLATTICE_KEYS``), to hold for
    other frames (``detect_atoms(sublattice=...)``); ``None`` when it has none. ``given``: the
    caller passed them, so they are checked (vectors as lists of ``[row, col]``)."""
    if params is None:
        return None
    if not isinstance(params, dict):
        raise InputError(f"sublattice must be a dict of {SUBLATTICE_KEYS}, got {params!r}.")
    if params.get("sublattice_vectors") is None or len(params["sublattice_vectors"]) == 0:
        if given:
            raise InputError(f"sublattice needs its sublattice_vectors (keys {SUBLATTICE_KEYS}).")
        return None
    held = {key: params[key] for key in SUBLATTICE_KEYS if key in params}
    if not given:
        return held
    try:
        for key in ("sublattice_vectors", "sublattice_empty"):
            vectors = np.asarray(held.get(key, []), dtype=np.float64)
            if vectors.size and (vectors.ndim != 2 or vectors.shape[1] != 2):
                raise ValueError(key)
            if not np.isfinite(vectors).all():
                raise ValueError(key)
            held[key] = vectors.reshape(-1, 2).tolist()
        contrast = float(held.get("sublattice_contrast", np.nan))
    except (TypeError, ValueError) as error:
        raise InputError(
            f"sublattice needs (K, 2) sublattice_vectors and sublattice_empty; got {held!r}."
        ) from error
    if not 0 < contrast <= 1:
        raise InputError(f"sublattice needs a sublattice_contrast in (0, 1]; got {held!r}.")
    return held


def with_sublattice(params: dict, held: dict | None) -> dict:
    """``params`` with a held sub-lattice in place of any the first pass found."""
    if held is None:
        return params
    params = {key: value for key, value in params.items() if key not in SUBLATTICE_KEYS}
    return {**params, **held}


__all__ = ["SUBLATTICE_KEYS", "held_sublattice", "with_sublattice"]
