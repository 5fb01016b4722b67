"""What the codes say: classes, maps, segmentation, scores and the beta(t) search.

The names below are this package's public API; each is imported from its module on first use,
so importing the package costs nothing until one is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_ivae.core._lazy import lazy_api

if TYPE_CHECKING:
    from .clustering import Clustering, cluster_latents
    from .heldout import HeldOutConfusion, heldout_confusion, model_heldout_confusion
    from .maps import angle_map, class_map, grid_map, patch_map, point_map
    from .metrics import MatchResult, judge_suits, match_points, suit_match_rate
    from .search import SearchResult, search_beta
    from .segmentation import edge_length, fourier_peak_ratio, segment_map
    from .stored_maps import map_levels, store_maps

_EXPORTS = {
    "Clustering": "clustering",
    "cluster_latents": "clustering",
    "angle_map": "maps",
    "class_map": "maps",
    "grid_map": "maps",
    "patch_map": "maps",
    "point_map": "maps",
    "map_levels": "stored_maps",
    "store_maps": "stored_maps",
    "edge_length": "segmentation",
    "fourier_peak_ratio": "segmentation",
    "segment_map": "segmentation",
    "MatchResult": "metrics",
    "judge_suits": "metrics",
    "match_points": "metrics",
    "suit_match_rate": "metrics",
    "HeldOutConfusion": "heldout",
    "heldout_confusion": "heldout",
    "model_heldout_confusion": "heldout",
    "SearchResult": "search",
    "search_beta": "search",
}

__all__ = [
    "Clustering",
    "HeldOutConfusion",
    "MatchResult",
    "SearchResult",
    "angle_map",
    "class_map",
    "cluster_latents",
    "edge_length",
    "fourier_peak_ratio",
    "grid_map",
    "heldout_confusion",
    "judge_suits",
    "map_levels",
    "match_points",
    "model_heldout_confusion",
    "patch_map",
    "point_map",
    "search_beta",
    "segment_map",
    "store_maps",
    "suit_match_rate",
]


__getattr__, __dir__ = lazy_api(__name__, _EXPORTS)
