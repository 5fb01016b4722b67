"""Which written map a demo segments: the angle or z map that is the most spatially coherent
(lowest edge length over the pixels with data, of the active maps), chosen from the data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _role(layer: Any) -> str | None:
    meta = layer.metadata if isinstance(layer.metadata, dict) else {}
    return meta.get("napari_ivae", {}).get("role")


def map_coherence(role: str, data: Any) -> float:
    """Edge length (px, :func:`~napari_ivae.core.analysis.segmentation.edge_length`, over the
    pixels with data) of one written map, lower = more spatially coherent; ``inf`` for an
    inactive map.

    A z map is active when its variance over the valid pixels exceeds the search's
    ``ACTIVE_VARIANCE`` (a constant map has no edges, so would otherwise win). The angle map
    (degrees) is circular: it is scored as the angle from its circular mean, wrapped to
    +-180 deg (the seam falls opposite the mean, where the fewest pixels are, instead of at
    +-180 deg wherever the angles cross it), and is active when that angle's variance in
    radians squared exceeds the same floor (a spread of about 6 deg).
    """
    from napari_ivae.core.analysis.search import ACTIVE_VARIANCE
    from napari_ivae.core.analysis.segmentation import edge_length

    values = np.asarray(data, dtype=np.float64)
    values = values.reshape(-1, *values.shape[-2:])[0]
    valid = np.isfinite(values)
    if valid.sum() < 2:
        return math.inf
    if role == "angle_map":
        radians = np.radians(values)
        centre = np.angle(np.mean(np.exp(1j * radians[valid])))
        values = np.mod(radians - centre + np.pi, 2 * np.pi) - np.pi
    if float(np.var(values[valid])) <= ACTIVE_VARIANCE:
        return math.inf
    # over the pixels with data (a NaN border filled with a value would add its own edges)
    return edge_length(values)


def _is_scored(role: str) -> bool:
    return role == "angle_map" or (
        role.startswith("z") and role.endswith("_map") and role[1:-4].isdigit()
    )


def smoothest_map(viewer: Any) -> tuple[str | None, str]:
    """The role (``"z1_map"``, ``"angle_map"``...) of the written angle or z map with the
    lowest :func:`map_coherence`, and one line saying why (every scored map's edge length).

    None when no such map is active. The choice is made from the data, not by name: on the
    gold sample with today's defaults z1 holds the two grains and the angle is flat noise.
    """
    scores = {}
    for layer in viewer.layers:
        role = _role(layer) or ""
        if _is_scored(role):
            scores[role] = map_coherence(role, layer.data)
    if not scores:
        return None, "no angle or z map was written: nothing segmented"
    listed = ", ".join(
        f"{role.removesuffix('_map')} "
        + (f"{score:.0f} px" if math.isfinite(score) else "inactive (flat)")
        for role, score in sorted(scores.items())
    )
    best = min(scores, key=scores.__getitem__)
    if not math.isfinite(scores[best]):
        return None, f"every angle and z map is flat ({listed}): nothing segmented"
    return best, (
        f"segmenting {best.removesuffix('_map')}: the most coherent map "
        f"(lowest edge length over the pixels with data, of the active maps: {listed})"
    )
