"""Patches around points or on a grid, in memory or cut on demand, and their labels.

The names below are this package's public API; each is imported from its module on first use,
so importing the package costs nothing until one is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_ivae.core._lazy import lazy_api

if TYPE_CHECKING:
    from .annotations import LabelAssignment, labels_from_shapes
    from .cutting import extract_patches, grid_patches
    from .patchset import PatchSet, load_patches, patchset_from_arrays, patchset_to_arrays
    from .source import PatchSource, encode_source, maps_by_frame

_EXPORTS = {
    "PatchSet": "patchset",
    "extract_patches": "cutting",
    "grid_patches": "cutting",
    "load_patches": "patchset",
    "patchset_to_arrays": "patchset",
    "patchset_from_arrays": "patchset",
    "PatchSource": "source",
    "encode_source": "source",
    "maps_by_frame": "source",
    "LabelAssignment": "annotations",
    "labels_from_shapes": "annotations",
}

__all__ = [
    "LabelAssignment",
    "PatchSet",
    "PatchSource",
    "encode_source",
    "extract_patches",
    "grid_patches",
    "labels_from_shapes",
    "load_patches",
    "maps_by_frame",
    "patchset_from_arrays",
    "patchset_to_arrays",
]


__getattr__, __dir__ = lazy_api(__name__, _EXPORTS)
