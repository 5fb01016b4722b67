"""Maps of an image too large to paint in memory: written tile by tile into zarr arrays.

:func:`store_maps` paints the maps of :mod:`napari_ivae.core.analysis.maps` (nearest-point
cells for points, grid cells for grid patches) one ``tile x tile`` block of one frame at a
time into zarr arrays in a folder, with coarser levels (every 2nd, 4th... pixel of the full
map) for a multiscale display. Memory stays at one block of pixels (plus the points of one
frame), whatever the image's size, and every pixel equals the in-memory map's: the same
nearest-point search over the same points (a frame's search tree is built once, over all of
its points) or the same grid cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_ivae.core.errors import InputError

MAP_TILE = 2048  # map pixels painted at once along each side (a multiple of 2**levels)
MAP_CHUNK = 1024  # side of the zarr chunks of the stored maps
LEVEL_SIDE = 2048  # coarser levels are added until the largest side is at most this
LABEL_COLUMNS = ("class", "cluster")


def map_levels(image_shape, level_side: int | None = None) -> int:
    """Number of pyramid levels (1 = full resolution only) for maps of ``(Y, X)``: halved
    until the larger side is at most ``level_side`` (default :data:`LEVEL_SIDE`)."""
    level_side = LEVEL_SIDE if level_side is None else int(level_side)
    side, levels = max(int(s) for s in image_shape[-2:]), 1
    while side > level_side:
        side, levels = -(-side // 2), levels + 1
    return levels


def store_maps(
    columns: dict,
    geometry,
    folder,
    *,
    degrees: bool = False,
    levels: int | None = None,
    tile: int | None = None,
    chunk: int | None = None,
    progress=None,
) -> dict:
    """Paint per-patch values onto the image tile by tile into zarr arrays.

    Parameters
    ----------
    columns : dict
        ``{name: (N,) values}`` in the order of ``geometry``; ``"angle"`` (radians) is mapped
        as an angle (wrapped to ``[-pi, pi)``), ``"class"`` and ``"cluster"`` as int32 labels
        (value + 1, 0 = none), the others as float32 (NaN where no point is near).
    geometry : PatchSet
        Where the patches lie (:meth:`~napari_ivae.core.patches.source.PatchSource.geometry`,
        or any PatchSet): points, or grid patches.
    folder : str or Path
        A folder to write into (created if missing); each map is ``<folder>/<name>.zarr``,
        one zarr array per level under it (``0``, ``1``, ...).
    degrees : bool
        Store the angle map in degrees instead of radians.
    levels : int, optional
        Pyramid levels, level ``k`` holding every ``2**k``-th pixel of the full map (default:
        :func:`map_levels`).
    tile : int, optional
        Side of the block of pixels painted at once (default :data:`MAP_TILE`; rounded up to
        a multiple of ``2**(levels - 1)``).
    chunk : int, optional
        Side of the zarr chunks (default :data:`MAP_CHUNK`; every level uses the same side).
    progress : callable, optional
        ``progress(done, total)`` after each painted block.

    Returns
    -------
    dict
        ``{name: [zarr array per level]}``, level 0 of shape ``([F,] Y, X)`` as
        :func:`~napari_ivae.core.analysis.maps.patch_map` returns (float32 or int32).
    """
    import zarr

    from napari_ivae.core.analysis import _point_maps
    from napari_ivae.core.analysis import maps as point_maps

    if not columns:
        raise InputError("No columns to map.")
    n = len(geometry.frames)
    values = {}
    for name, column in columns.items():
        table = np.asarray(column, dtype=np.float64)
        if table.shape != (n,):
            raise InputError(f"column {name!r} has shape {table.shape}; give one value per patch.")
        values[name] = table
    height, width = (int(s) for s in geometry.image_shape)
    n_frames = int(geometry.n_frames)
    levels = map_levels((height, width)) if levels is None else max(1, int(levels))
    step = 2 ** (levels - 1)
    tile = max(step, -(-int(MAP_TILE if tile is None else tile) // step) * step)
    chunk = int(MAP_CHUNK if chunk is None else chunk)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stores: dict = {}
    for name in values:
        labels = name in LABEL_COLUMNS
        stores[name] = []
        for level in range(levels):
            f = 2**level
            shape = (-(-height // f), -(-width // f))
            stores[name].append(
                zarr.open_array(
                    store=str(folder / f"{name}.zarr" / str(level)),
                    mode="w",
                    shape=((n_frames,) if geometry.is_stack else ()) + shape,
                    chunks=((1,) if geometry.is_stack else ()) + (chunk, chunk),
                    dtype=np.int32 if labels else np.float32,
                    fill_value=0 if labels else np.nan,
                )
            )
    frames = np.asarray(geometry.frames)
    if geometry.is_grid:
        painter = _grid_painter(values, geometry, point_maps)
    else:
        per_frame = [geometry.centres[frames == f] for f in range(n_frames)]
        spacing = _point_maps.median_neighbour_distance(per_frame)
        max_distance = point_maps.point_reach(spacing, (height, width), geometry.particle_diameter)
        painter = _point_painter(values, geometry, frames, max_distance)
    blocks = [(r, c) for r in range(0, height, tile) for c in range(0, width, tile)]
    total, done = n_frames * len(blocks), 0
    for frame in range(n_frames):
        paint = painter(frame)
        for r0, c0 in blocks:
            rows, cols = slice(r0, min(r0 + tile, height)), slice(c0, min(c0 + tile, width))
            if paint is not None:
                for name, block in paint(rows, cols).items():
                    if name == "angle":
                        block = point_maps.wrap_angle(block)
                        if degrees:
                            block = np.degrees(block)
                    dtype = np.int32 if name in LABEL_COLUMNS else np.float32
                    block = block.astype(dtype)
                    for level, array in enumerate(stores[name]):
                        f = 2**level
                        part = block[::f, ::f]
                        top, left = r0 // f, c0 // f
                        where = (
                            slice(top, top + part.shape[0]),
                            slice(left, left + part.shape[1]),
                        )
                        array[((frame,) if geometry.is_stack else ()) + where] = part
            done += 1
            if progress is not None:
                progress(done, total)
    return stores


def _as_table(name: str, column: np.ndarray) -> np.ndarray:
    """One column's values as rows that can be averaged or looked up: angles as (cos, sin),
    labels shifted so that "no class" (-1) is 0, anything else as it is."""
    if name == "angle":
        return np.column_stack([np.cos(column), np.sin(column)])
    if name in LABEL_COLUMNS:
        return (np.maximum(column, -1.0) + 1.0)[:, None]
    return column[:, None]


def _from_table(name: str, mapped: np.ndarray) -> np.ndarray:
    """The map block of one column from its looked-up table rows (:func:`_as_table`)."""
    if name == "angle":
        return np.arctan2(mapped[..., 1], mapped[..., 0])
    if name in LABEL_COLUMNS:
        return np.nan_to_num(mapped[..., 0], nan=0.0)
    return mapped[..., 0]


def _point_painter(values: dict, geometry, frames, max_distance):
    """``painter(frame)`` -> ``paint(rows, cols)`` -> ``{name: block}`` (angles unwrapped,
    labels as floats) by the nearest point of the frame within ``max_distance``."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.analysis._point_maps import QUERY_CHUNK, query_within

    def painter(frame: int):
        selected = np.flatnonzero(frames == frame)
        if len(selected) == 0:
            return None
        tree = cKDTree(geometry.centres[selected])
        within = max_distance[selected] if np.ndim(max_distance) else max_distance
        tables = {}
        for name, column in values.items():
            column = column[selected]
            table = _as_table(name, column)
            tables[name] = np.vstack([table, np.full((1, table.shape[1]), np.nan)])

        def paint(rows: slice, cols: slice) -> dict:
            shape = (rows.stop - rows.start, cols.stop - cols.start)
            index = np.empty(shape, dtype=np.int64)
            band = max(1, QUERY_CHUNK // shape[1])
            for top in range(0, shape[0], band):
                bottom = min(top + band, shape[0])
                rr, cc = np.mgrid[rows.start + top : rows.start + bottom, cols]
                pixels = np.column_stack([rr.ravel(), cc.ravel()]).astype(np.float64)
                nearest = query_within(tree, pixels, within)
                index[top:bottom] = nearest.reshape(bottom - top, shape[1])
            # index -1 picks the NaN row
            return {
                name: _from_table(name, table[index].astype(np.float32))
                for name, table in tables.items()
            }

        return paint

    return painter


def _grid_painter(values: dict, geometry, point_maps):
    """As :func:`_point_painter` for grid patches: each pixel takes its grid cell's value."""
    height, width = (int(s) for s in geometry.image_shape)
    n_rows, n_cols = geometry.grid_shape
    stride = geometry.stride
    origin = np.asarray(point_maps._grid_origin(geometry))
    cells = np.round((geometry.centres - origin) / stride).astype(np.int64)
    patch_h, patch_w = geometry.patch_shape
    row_cell = point_maps._cell_index(height, origin[0], stride, n_rows, patch_h, False)
    col_cell = point_maps._cell_index(width, origin[1], stride, n_cols, patch_w, False)
    frames = np.asarray(geometry.frames)

    def painter(frame: int):
        selected = np.flatnonzero(frames == frame)
        grids = {}
        for name, column in values.items():
            column = column[selected]
            table = _as_table(name, column)
            grid = np.full((n_rows + 1, n_cols + 1, table.shape[1]), np.nan, dtype=np.float32)
            grid[cells[selected, 0], cells[selected, 1]] = table
            grids[name] = grid

        def paint(rows: slice, cols: slice) -> dict:
            index = (row_cell[rows][:, None], col_cell[cols][None, :])
            return {name: _from_table(name, grid[index]) for name, grid in grids.items()}

        return paint

    return painter


def as_dask(levels: list):
    """The stored levels of one map as dask arrays: one array, or (several levels) the list
    napari shows as a multiscale layer."""
    import dask.array as da

    arrays = [da.from_zarr(level) for level in levels]
    return arrays[0] if len(arrays) == 1 else arrays


__all__ = ["LEVEL_SIDE", "MAP_TILE", "as_dask", "map_levels", "store_maps"]
