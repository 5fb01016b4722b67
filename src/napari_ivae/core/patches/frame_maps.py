"""Per-patch values painted back onto the image one frame at a time (a stack's maps never whole
in memory), equal to the frames of :mod:`napari_ivae.core.analysis.maps`' whole-stack maps."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.patches.patchset import PatchSet


def maps_by_frame(columns: dict, geometry: PatchSet, write, max_distance=None):
    """Paint per-patch values back onto the image one frame at a time.

    Each frame's maps equal that frame of the whole-stack maps of :mod:`napari_ivae.core.analysis.maps`
    (the distance beyond which pixels stay empty is measured once over all frames, as there),
    so a stack's maps can go to memory-mapped files without ever being whole in memory.

    Parameters
    ----------
    columns : dict
        ``{name: (N,) values}`` in the order of ``geometry``; ``"angle"`` (radians) is mapped
        as an angle, ``"class"`` and ``"cluster"`` as labels (value + 1, 0 = none), the others
        as floats.
    geometry : PatchSet
        From :meth:`PatchSource.geometry` (or any PatchSet).
    write : callable
        ``write(name, frame, array)`` with each ``(Y, X)`` map of each frame.
    max_distance : float or (N,) array, optional
        Points: pixels farther than this from their nearest point stay empty, one distance
        or one per point (default: 1.5 x the median nearest-neighbour distance over all
        frames, for particles their radii, as :func:`~napari_ivae.core.analysis.maps.point_map`).

    Returns
    -------
    float, (N,) array or None
        The distance used (None for grid patches).
    """
    from napari_ivae.core.analysis import maps

    frames = np.asarray(geometry.frames)
    # the patches of each frame, found once (a stack's patches are usually in frame order)
    order = np.argsort(frames, kind="stable")
    bounds = np.searchsorted(frames[order], np.arange(geometry.n_frames + 1))
    if geometry.is_grid:
        max_distance = None
    elif max_distance is None:
        spacing = _median_spacing(geometry.centres, order, bounds)
        max_distance = maps.point_reach(spacing, geometry.image_shape, geometry.particle_diameter)
    for frame in range(geometry.n_frames):
        rows = np.sort(order[bounds[frame] : bounds[frame + 1]])
        if max_distance is not None and len(rows):
            within = max_distance[rows] if np.ndim(max_distance) else max_distance
            _voronoi_frame(columns, rows, geometry, within, frame, write)
            continue
        empty = np.broadcast_to(
            np.zeros((1,) + geometry.patch_shape, np.float32), (len(rows),) + geometry.patch_shape
        )
        single = PatchSet(
            patches=empty,
            centres=geometry.centres[rows],
            frames=np.zeros(len(rows), np.int64),
            indices=geometry.indices[rows],
            image_shape=geometry.image_shape,
            normalization={},
            grid_shape=geometry.grid_shape,
            stride=geometry.stride,
            grid_origin=geometry.grid_origin,
        )
        for name, values in columns.items():
            values = _take(values, rows)
            if len(rows) == 0:
                blank = 0 if name in ("class", "cluster") else np.nan
                dtype = np.int32 if name in ("class", "cluster") else np.float32
                write(name, frame, np.full(geometry.image_shape, blank, dtype=dtype))
            elif name == "angle":
                write(name, frame, maps.angle_map(values, single))
            elif name in ("class", "cluster"):
                write(name, frame, maps.class_map(values, single))
            else:
                write(
                    name,
                    frame,
                    maps.patch_map(np.asarray(values, np.float32), single).astype(np.float32),
                )
    return max_distance


def _take(values, rows) -> np.ndarray:
    """``values[rows]`` without converting the whole column first (a memory map stays on disk)."""
    if isinstance(values, np.ndarray):
        return np.asarray(values[rows])
    return np.asarray(values)[rows]


def _median_spacing(centres, order, bounds) -> float | None:
    """:func:`~napari_ivae.core.analysis._point_maps.median_neighbour_distance` over the
    frames, one frame's points at a time (only the distances are kept)."""
    from scipy.spatial import cKDTree

    distances = np.empty(len(order), dtype=np.float64)
    filled = 0
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if stop - start >= 2:
            points = centres[np.sort(order[start:stop])]
            d, _ = cKDTree(points).query(points, k=2)
            distances[filled : filled + len(points)] = d[:, 1]
            filled += len(points)
    if not filled:
        return None
    median = float(np.median(distances[:filled]))
    return median if median > 0 else None


def _voronoi_frame(columns: dict, rows, geometry, max_distance, frame: int, write) -> None:
    """One frame's point maps from one nearest-point search shared by every column (the
    values :func:`~napari_ivae.core.analysis.maps.point_map` gives, computed the same way)."""
    from napari_ivae.core.analysis import _point_maps, maps

    index = _point_maps.nearest_index(geometry.centres[rows], geometry.image_shape, max_distance)

    def nearest(table):  # (n, C) float64 -> (Y, X, C) float32, NaN beyond max_distance
        padded = np.vstack([table, np.full((1, table.shape[1]), np.nan)])
        return padded[index].astype(np.float32)

    for name, values in columns.items():
        values = _take(values, rows).astype(np.float64)
        if name == "angle":
            mapped = nearest(np.column_stack([np.cos(values), np.sin(values)]))
            array = maps.wrap_angle(np.arctan2(mapped[..., 1], mapped[..., 0]))
            write(name, frame, array.astype(np.float32))
        elif name in ("class", "cluster"):
            labels = nearest((np.maximum(values, -1.0) + 1.0)[:, None])[..., 0]
            write(name, frame, np.nan_to_num(labels, nan=0.0).astype(np.int32))
        else:
            write(name, frame, nearest(values[:, None])[..., 0])


__all__ = ["maps_by_frame"]
