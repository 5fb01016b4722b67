"""Finding atoms and particles in an image, every setting measured from the image.

The names below are this package's public API; each is imported from its module on first use,
so importing the package costs nothing until one is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_ivae.core._lazy import lazy_api

if TYPE_CHECKING:
    from .atoms import detect_atoms
    from .chunked import detect_atoms_chunked
    from .crystal import CrystalRegion, crystal_region
    from .detections import Detections
    from .overlays import annotation_mask
    from .particles import detect_particles
    from .quality import assess
    from .spacing import estimate_spacing
    from .streaming import detect_lazy, detect_stream

_EXPORTS = {
    "detect_atoms": "atoms",
    "detect_particles": "particles",
    "Detections": "detections",
    "estimate_spacing": "spacing",
    "CrystalRegion": "crystal",
    "crystal_region": "crystal",
    "assess": "quality",
    "detect_atoms_chunked": "chunked",
    "detect_stream": "streaming",
    "detect_lazy": "streaming",
    "annotation_mask": "overlays",
}

__all__ = [
    "CrystalRegion",
    "Detections",
    "annotation_mask",
    "assess",
    "crystal_region",
    "detect_atoms",
    "detect_atoms_chunked",
    "detect_lazy",
    "detect_particles",
    "detect_stream",
    "estimate_spacing",
]


__getattr__, __dir__ = lazy_api(__name__, _EXPORTS)
