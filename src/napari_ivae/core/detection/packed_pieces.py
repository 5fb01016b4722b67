"""A phase's pieces for :func:`~napari_ivae.core.detection.packed.packed_phase`: each phase
labelled once, when a test first needs its pieces (a phase that fails the tests its pixel count
answers is never labelled), and the area of the piece that holds a phase's median pixel.
"""

from __future__ import annotations

import numpy as np


def _pieces(phases: dict, name: str, pieces: dict) -> tuple[np.ndarray, np.ndarray]:
    """The labels of ``phases[name]`` and its pieces' areas, kept in ``pieces``."""
    from scipy import ndimage

    if name not in pieces:
        labels, count = ndimage.label(phases[name])
        areas = np.bincount(labels.ravel())[1:] if count else np.zeros(0, dtype=np.int64)
        pieces[name] = labels, areas
    return pieces[name]


def _holding_area(areas: np.ndarray) -> float:
    """The area of the piece that holds a phase's median pixel (pieces ordered by area)."""
    ordered = np.sort(areas)
    total = np.cumsum(ordered)
    return float(ordered[int(np.searchsorted(total, 0.5 * total[-1]))])
