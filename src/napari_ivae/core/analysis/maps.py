"""Per-patch values (latents, angles, classes) turned into maps aligned with the source image.

Layout of every map: one frame is ``(Y, X)``, the source image's own shape; a stack gives
``(F, Y, X)``. Values with C channels (an ``(N, C)`` array) add a **last** axis: ``(Y, X, C)`` or
``(F, Y, X, C)`` (use ``np.moveaxis(m, -1, 0)`` for channel-first). Pixels with no value are
NaN (float maps) or 0 (class maps). Map pixel ``(r, c)`` is image pixel ``(r, c)``, so a map can
be added to napari on top of its image with no transform.

Grid patches (:func:`grid_map`): patch ``(i, j)`` owns the ``stride x stride`` cell centred on its
centre ``origin + (i, j) * stride``: pixel row ``r`` belongs to grid row
``i = floor((r - origin_row) / stride + 0.5)`` (likewise columns). Pixels outside every cell are
NaN unless ``extend_to_patches=True``, which also fills the border strips that the outer
patches cover with the nearest cell's value.

Point patches (:func:`point_map`): each pixel takes the value of the nearest point
(``"voronoi"``), or the Gaussian-weighted average of the point values (``"gaussian"``,
normalised so a constant value maps to itself). Pixels farther than ``max_distance`` from every
point are NaN (default: 1.5 x the median nearest-neighbour distance between points; for
particles with a measured size, no farther than 1.5 x each particle's own radius: see
:func:`point_reach`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.analysis import _point_maps as kernels
from napari_ivae.core.errors import InputError

POINT_METHODS = ("voronoi", "gaussian")
ANGLE_FORMS = ("wrapped", "cos_sin")
DEFAULT_DISTANCE_FACTOR = 1.5
PARTICLE_REACH_FACTOR = 1.5  # particle maps reach this many of its radii from each centre


def point_reach(spacing, image_shape, particle_diameter=None):
    """How far from its nearest point a pixel of a point map still gets a value.

    1.5 x ``spacing`` (the median nearest-neighbour distance; the image's diagonal when
    there is none). For particles no farther than 1.5 x their radius, so the maps colour the
    particles, not the support between them: on a TEM image of 125 particles (17.5 px, 45 px
    apart, 3 % of the image) the reach fell from 67 px (maps over 85 % of the image) to 13 px
    (7.6 %, 98 % of the particles' pixels; 1.2 x the radius left 8 % of them out, larger
    particles than the median).

    ``particle_diameter`` is one diameter (their median: one reach, a float) or one per point
    (each particle's own: an ``(N,)`` array of reaches, so a particle twice the median size
    is coloured to its rim and a small one not beyond it).
    """
    shape = tuple(image_shape)[-2:]
    reach = DEFAULT_DISTANCE_FACTOR * spacing if spacing else float(np.hypot(*shape))
    if particle_diameter is None:
        return float(reach)
    diameter = np.asarray(particle_diameter, dtype=np.float64)
    if diameter.ndim == 0:
        if not diameter > 0:
            return float(reach)
        return float(min(reach, PARTICLE_REACH_FACTOR * 0.5 * float(diameter)))
    own = PARTICLE_REACH_FACTOR * 0.5 * diameter
    return np.where(np.isfinite(own) & (own > 0), np.minimum(own, reach), reach)


def patch_map(values, patchset, **kwargs) -> np.ndarray:
    """Map per-patch values with :func:`grid_map` (grid patches) or :func:`point_map` (points).

    ``kwargs`` go to the chosen function (e.g. ``method``, ``max_distance``, ``upsample``).
    """
    if patchset.is_grid:
        return grid_map(values, patchset, **kwargs)
    centres, image_shape = _point_geometry(patchset)
    kwargs.setdefault("particle_diameter", getattr(patchset, "particle_diameter", None))
    return point_map(values, centres, image_shape, **kwargs)


def grid_map(
    values, patchset, *, upsample: bool = True, extend_to_patches: bool = False
) -> np.ndarray:
    """Per-patch values of grid patches as an image (see the module doc for the alignment).

    Parameters
    ----------
    values : (N,) or (N, C) array
        One value (or C values) per patch of ``patchset``, in its order.
    patchset : PatchSet
        Grid patches (from :func:`napari_ivae.core.patches.cutting.grid_patches`).
    upsample : bool
        True: a map of the image's shape. False: the grid itself, ``(n_rows, n_cols)``; show it
        in napari with :func:`grid_layer_transform`.
    extend_to_patches : bool
        Fill the border strips covered by the outer patches (but by no cell) too.

    Returns
    -------
    float32 array ``([F,] Y, X[, C])`` (or ``([F,] n_rows, n_cols[, C])``), NaN where empty.
    """
    if not patchset.is_grid:
        raise InputError(
            "grid_map needs grid patches; use point_map for patches centred on points."
        )
    table, squeeze = _as_values(values, len(patchset))
    n_rows, n_cols = patchset.grid_shape
    stride = patchset.stride
    origin = np.asarray(_grid_origin(patchset))
    cell = np.round((patchset.centres - origin) / stride).astype(np.int64)
    grid = np.full(
        (patchset.n_frames, n_rows + 1, n_cols + 1, table.shape[1]), np.nan, dtype=np.float32
    )
    grid[patchset.frames, cell[:, 0], cell[:, 1]] = table  # last row/column stay NaN (padding)
    if upsample:
        (height, width), (patch_h, patch_w) = patchset.image_shape, patchset.patch_shape
        rows = _cell_index(height, origin[0], stride, n_rows, patch_h, extend_to_patches)
        cols = _cell_index(width, origin[1], stride, n_cols, patch_w, extend_to_patches)
        result = grid[:, rows[:, None], cols[None, :]]
    else:
        result = grid[:, :n_rows, :n_cols]
    return _finish(result, squeeze, patchset.is_stack)


def grid_layer_transform(patchset) -> dict:
    """``{"scale", "translate"}`` that place a ``grid_map(..., upsample=False)`` on its image in napari."""
    if not patchset.is_grid:
        raise InputError("grid_layer_transform needs grid patches.")
    origin = _grid_origin(patchset)
    scale, translate = [float(patchset.stride)] * 2, [float(o) for o in origin]
    if patchset.is_stack:
        scale, translate = [1.0] + scale, [0.0] + translate
    return {"scale": tuple(scale), "translate": tuple(translate)}


def point_map(
    values,
    centres,
    image_shape,
    *,
    method: str = "voronoi",
    sigma: float | None = None,
    max_distance=None,
    particle_diameter=None,
) -> np.ndarray:
    """Per-point values spread over the image (nearest point or Gaussian average).

    Parameters
    ----------
    values : (N,) or (N, C) array
        Values at the points.
    centres : (N, 2) ``(row, col)`` or (N, 3) ``(frame, row, col)`` array
        Point positions in pixels; (N, 3) is required for a stack.
    image_shape : tuple
        ``(Y, X)`` or ``(F, Y, X)`` of the source image.
    method : {"voronoi", "gaussian"}
        Nearest-neighbour value, or normalised Gaussian splatting.
    sigma : float, optional
        Gaussian width in pixels (default: half the median nearest-neighbour distance).
    max_distance : float or (N,) array, optional
        Pixels farther than this from their nearest point are NaN, one distance or one per
        point (default: 1.5 x the median nearest-neighbour distance; the whole image when
        there are fewer than 2 points; :func:`point_reach`).
    particle_diameter : float or (N,) array, optional
        The points are particles of this median diameter, or of these diameters one per
        point (px): the default ``max_distance`` is then at most 1.5 x their radius (each
        point's own).

    Returns
    -------
    float32 array ``([F,] Y, X[, C])``.
    """
    if method not in POINT_METHODS:
        raise InputError(f"method must be one of {POINT_METHODS}, got {method!r}.")
    table, squeeze = _as_values(values, len(np.asarray(centres)))
    frames, points, shape, is_stack = _as_point_geometry(centres, image_shape, len(table))
    per_frame = [points[frames == f] for f in range(shape[0])]
    spacing = kernels.median_neighbour_distance(per_frame)
    if max_distance is None:
        max_distance = point_reach(spacing, shape, particle_diameter)
    reach = np.asarray(max_distance, dtype=np.float64)
    if reach.ndim and reach.shape != (len(table),):
        raise InputError(f"max_distance must be one value or one per point, got {reach.shape}.")
    if not np.all(reach > 0):
        raise InputError(f"max_distance must be positive, got {max_distance!r}.")
    if method == "gaussian":
        if sigma is None:
            sigma = 0.5 * spacing if spacing else max(shape[1:]) / 8.0
        if not sigma > 0:
            raise InputError(f"sigma must be positive, got {sigma!r}.")
    result = np.full(shape + (table.shape[1],), np.nan, dtype=np.float32)
    for frame in range(shape[0]):
        selected = frames == frame
        if not selected.any():
            continue
        within = reach[selected] if reach.ndim else float(reach)
        if method == "voronoi":
            result[frame] = kernels.voronoi_frame(
                table[selected], points[selected], shape[1:], within
            )
        else:
            assert sigma is not None  # resolved above for the gaussian method
            result[frame] = kernels.gaussian_frame(
                table[selected], points[selected], shape[1:], sigma, within
            )
    return _finish(result, squeeze, is_stack)


def angle_map(
    angles, patchset=None, *, centres=None, image_shape=None, form: str = "wrapped", **kwargs
) -> np.ndarray:
    """Map of angles (radians) in a cyclic form.

    Angles are mapped as unit vectors ``(cos, sin)`` so that averaging (Gaussian method)
    respects the wrap-around. ``form="wrapped"`` returns the angle in ``[-pi, pi)`` (show it
    with a cyclic colormap, e.g. napari's ``"twilight"``); ``form="cos_sin"`` returns the two
    components as a last axis of size 2 (averaged vectors are shorter where angles disagree).

    Give either a ``patchset`` or ``centres`` + ``image_shape``; other keyword arguments go to
    :func:`grid_map` / :func:`point_map`.
    """
    if form not in ANGLE_FORMS:
        raise InputError(f"form must be one of {ANGLE_FORMS}, got {form!r}.")
    table = np.asarray(angles, dtype=np.float64)
    if table.ndim != 1:
        raise InputError(f"angles must be a 1D array (one per patch), got shape {table.shape}.")
    vectors = np.column_stack([np.cos(table), np.sin(table)])
    mapped = _dispatch(vectors, patchset, centres, image_shape, kwargs)
    if form == "cos_sin":
        return mapped
    return wrap_angle(np.arctan2(mapped[..., 1], mapped[..., 0])).astype(np.float32)


def class_map(classes, patchset=None, *, centres=None, image_shape=None, **kwargs) -> np.ndarray:
    """Labels image of classes: ``class + 1`` at each pixel, ``0`` = background.

    ``classes`` is ``(N,)`` integers (``-1`` = none, mapped to 0) or ``(N, K)`` probabilities
    (argmax is taken). Points use the nearest-point rule (never averaged); grid patches use
    their cells. Give a ``patchset`` or ``centres`` + ``image_shape``.

    Returns
    -------
    int32 array ``([F,] Y, X)``.
    """
    table = np.asarray(classes)
    if table.ndim == 2:
        table = np.argmax(table, axis=1)
    if table.ndim != 1 or table.dtype.kind not in "biuf":
        raise InputError(
            f"classes must be (N,) integers or (N, K) probabilities, got shape {table.shape}."
        )
    if not np.isfinite(table.astype(np.float64)).all():
        raise InputError("classes contain NaN or infinite values.")
    kwargs.pop("method", None)  # classes are never averaged
    label_values = np.maximum(table.astype(np.float64), -1.0) + 1.0
    mapped = _dispatch(label_values, patchset, centres, image_shape, kwargs)
    return np.nan_to_num(mapped, nan=0.0).astype(np.int32)


def wrap_angle(angles) -> np.ndarray:
    """Angles wrapped to ``[-pi, pi)``."""
    return np.mod(np.asarray(angles) + np.pi, 2 * np.pi) - np.pi


def _dispatch(table, patchset, centres, image_shape, kwargs) -> np.ndarray:
    if patchset is not None:
        return patch_map(table, patchset, **kwargs)
    if centres is None or image_shape is None:
        raise InputError("Give either a PatchSet or both centres and image_shape.")
    return point_map(table, centres, image_shape, **kwargs)


def _as_values(values, n_expected: int) -> tuple[np.ndarray, bool]:
    try:
        table = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"Map values must be numeric: {err}") from err
    squeeze = table.ndim == 1
    if squeeze:
        table = table[:, None]
    if table.ndim != 2:
        raise InputError(f"Map values must be (N,) or (N, C), got shape {np.shape(values)}.")
    if len(table) != n_expected:
        raise InputError(
            f"Got {len(table)} values for {n_expected} patches/points; give one per patch."
        )
    if n_expected == 0:
        raise InputError("No values to map (no patches).")
    if not np.isfinite(table).all():
        raise InputError("Map values contain NaN or infinite entries; check the encoder output.")
    return table, squeeze


def _finish(result: np.ndarray, squeeze: bool, is_stack: bool) -> np.ndarray:
    if squeeze:
        result = result[..., 0]
    if not is_stack:
        result = result[0]
    return np.ascontiguousarray(result, dtype=np.float32)


def _grid_origin(patchset) -> tuple[float, float]:
    if patchset.grid_origin is not None:
        return tuple(patchset.grid_origin)
    return tuple(patchset.centres.min(axis=0))


def _cell_index(length, origin, stride, n_cells, patch_length, extend) -> np.ndarray:
    """Grid cell of each pixel along one axis; ``n_cells`` (the NaN padding) where none."""
    pixels = np.arange(length, dtype=np.float64)
    index = np.floor((pixels - origin) / stride + 0.5).astype(np.int64)
    if extend:
        first = origin - patch_length // 2
        last = origin + (n_cells - 1) * stride - patch_length // 2 + patch_length - 1
        covered = (pixels >= first) & (pixels <= last)
        index = np.where(covered, np.clip(index, 0, n_cells - 1), n_cells)
    return np.where((index >= 0) & (index < n_cells), index, n_cells)


def _point_geometry(patchset):
    if patchset.is_stack:
        return patchset.coords, (patchset.n_frames,) + tuple(patchset.image_shape)
    return patchset.centres, tuple(patchset.image_shape)


def _as_point_geometry(centres, image_shape, n_points):
    pts = np.asarray(centres, dtype=np.float64)
    shape = tuple(int(s) for s in image_shape)
    if pts.ndim != 2 or pts.shape[1] not in (2, 3) or len(pts) != n_points:
        raise InputError(
            f"centres must be an (N, 2) or (N, 3) array with one row per value, got shape {pts.shape}."
        )
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise InputError(f"image_shape must be (Y, X) or (F, Y, X), got {image_shape!r}.")
    if not np.isfinite(pts).all():
        raise InputError("centres contain NaN or infinite values.")
    is_stack = len(shape) == 3
    if pts.shape[1] == 2:
        if is_stack:
            raise InputError("For a stack give centres as (frame, row, col).")
        return np.zeros(len(pts), dtype=np.int64), pts, (1,) + shape, False
    frames = np.round(pts[:, 0]).astype(np.int64)
    n_frames = shape[0] if is_stack else 1
    if frames.min() < 0 or frames.max() >= n_frames:
        raise InputError(f"Point frames must lie in 0..{n_frames - 1}.")
    return frames, pts[:, 1:], (n_frames,) + shape[-2:], is_stack
