"""Patches cut from images: centred on points, or on a regular grid.

Geometry convention (shared with :mod:`napari_ivae.core.analysis.maps`): pixel ``(r, c)`` has its centre
at the continuous coordinate ``(r, c)``. A patch of shape ``(H, W)`` centred on ``(row, col)``
holds the image sampled at rows ``row - H // 2 + k`` (``k = 0..H-1``) and columns
``col - W // 2 + j``: the centre is the patch element ``[H // 2, W // 2]`` (the exact middle for
odd sizes, just below/right of the middle for even sizes). Integer centres therefore give exact
crops ``image[row - H//2 : row - H//2 + H, col - W//2 : col - W//2 + W]``.

Patches are written into one preallocated ``(N, H, W)`` float32 array, chunk by chunk, so
extracting many patches needs little more memory than the patches themselves. They come as a
:class:`~napari_ivae.core.patches.patchset.PatchSet` (its ``.npz`` round trip is there too,
and imported from here).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.patches import _sampling as sampling
from napari_ivae.core.patches.patchset import (
    PatchSet,
    load_patches,
    patchset_from_arrays,
    patchset_to_arrays,
)

NORMALIZE_MODES = ("none", "patch", "global")
BORDER_POLICIES = ("drop", "flag")


def extract_patches(
    image,
    coords,
    size,
    *,
    subpixel: bool = True,
    border: str = "drop",
    normalize: str = "none",
    order: int = 1,
    value_range: tuple[float, float] | None = None,
) -> PatchSet:
    """Cut one patch centred on each point.

    Parameters
    ----------
    image : array-like
        ``(Y, X)`` image or ``(frames, Y, X)`` stack (use
        :func:`napari_ivae.core.io.image.prepare_image` first for RGB or NaN-holding data).
    coords : array-like
        ``(N, 2)`` ``(row, col)`` for a 2D image, or ``(N, 3)`` ``(frame, row, col)``
        (napari's Points order; required for a stack).
    size : int or (int, int)
        Patch height and width in pixels.
    subpixel : bool
        True: non-integer centres are sampled by interpolation (``order``). False: centres are
        rounded to the nearest pixel and patches are exact crops. Integer centres always give
        exact crops.
    border : {"drop", "flag"}
        What to do with patches that cross the image edge: drop them (the kept points are
        listed in ``indices``), or keep them with mirror-reflected outside pixels and
        ``valid = False``. Points whose centre lies outside the image are always dropped.
    normalize : {"none", "patch", "global"}
        ``"global"``: ``(raw - min) / (max - min)`` with the min/max of the whole image;
        ``"patch"``: each patch scaled to [0, 1] by its own min/max; ``"none"``: raw values.
        Scaled values are clipped to [0, 1].
    order : {1, 3}
        Interpolation order for sub-pixel centres (bilinear or cubic spline, as
        ``scipy.ndimage.map_coordinates``).
    value_range : (float, float), optional
        ``(min, max)`` for ``normalize="global"`` instead of the image's own, e.g. the
        ``normalization`` recorded when a model's training patches were cut, so new images
        are scaled the same way.

    Returns
    -------
    PatchSet

    Raises
    ------
    InputError
        Bad image/points, a patch larger than the image, no points, or no patch inside the
        image (the message suggests a smaller patch).
    """
    from napari_ivae.core.io.imageio import is_lazy

    if is_lazy(image):  # a zarr/dask image: cut window by window, never read whole
        from napari_ivae.core.patches.source import PatchSource

        return PatchSource(
            image,
            coords,
            size,
            subpixel=subpixel,
            border=border,
            normalize=normalize,
            order=order,
            value_range=value_range,
        ).patchset()
    stack, is_stack = sampling.as_stack(image)
    shape = sampling.patch_shape(size, stack.shape[1:])
    border = sampling.check_choice("border", border, BORDER_POLICIES)
    normalize = sampling.check_choice("normalize", normalize, NORMALIZE_MODES)
    sampling.check_order(order)
    image_shape = stack.shape[1:]
    points = sampling.kept_points(
        coords, stack.shape[0], is_stack, shape, image_shape, border, subpixel
    )
    indices, valid = points.indices, points.valid
    frames, centres = points.frames[indices], points.centres[indices]

    patches = np.empty((len(indices),) + shape, dtype=np.float32)
    by_frame = np.argsort(frames, kind="stable")
    starts = np.flatnonzero(np.diff(frames[by_frame], prepend=-1))
    for rows in np.split(by_frame, starts[1:]):
        frame = frames[rows[0]]
        sampling.sample_frame(
            stack[frame], centres[rows], rows, patches, order, reflect=valid is not None
        )
    sampling.check_finite(patches)

    normalization, pmin, pmax = _normalize(patches, normalize, stack, value_range)
    return PatchSet(
        patches=patches,
        centres=centres,
        frames=frames,
        indices=indices,
        image_shape=tuple(int(s) for s in image_shape),
        normalization=normalization,
        valid=valid,
        n_frames=int(stack.shape[0]),
        is_stack=is_stack,
        patch_min=pmin,
        patch_max=pmax,
        message=points.message,
    )


def grid_patches(
    image,
    size,
    stride,
    *,
    normalize: str = "none",
    value_range: tuple[float, float] | None = None,
    register: bool | None = None,
    spacing: float | None = None,
) -> PatchSet:
    """Cut patches on a regular grid (e.g. for the shift-VAE).

    The grid has ``n_rows = (Y - H) // stride + 1`` rows (likewise columns) and is centred in
    the image: the ``(Y - H) - (n_rows - 1) * stride`` pixels left over are split between the
    two sides (the extra pixel, if odd, goes to the bottom/right). Patches are exact crops,
    ordered frame by frame, then row by row. Patch ``(i, j)`` has its centre at
    ``grid_origin + (i, j) * stride`` (see the module doc for the centre convention).

    Lattice registration (``register``): each patch is instead cut centred on the bright
    lattice feature nearest to its grid centre (at most one spacing away), so that every patch
    starts at the same phase of its local lattice and a shift-VAE's latent maps show domains
    rather than the lattice beat (see :mod:`napari_ivae.core.patches._grid_registration`). The grid,
    its ``centres`` and the maps are unchanged; ``shifts`` records where each patch was cut.

    Parameters
    ----------
    image : array-like
        ``(Y, X)`` image or ``(frames, Y, X)`` stack.
    size : int or (int, int)
        Patch height and width in pixels.
    stride : int
        Grid step in pixels (same along rows and columns).
    normalize : {"none", "patch", "global"}
        As in :func:`extract_patches`.
    value_range : (float, float), optional
        As in :func:`extract_patches`.
    register : bool or None
        Register the patches on the lattice. ``None`` (default): when the image shows a
        lattice (its spacing can be measured, or ``spacing`` is given). ``True``: always
        (raises if no spacing is found). ``False``: plain crops at the grid centres.
    spacing : float, optional
        Nearest-neighbour atom spacing in pixels; default measured from the first frame
        (:func:`napari_ivae.core.detection.spacing.estimate_spacing`).

    Returns
    -------
    PatchSet
        With ``grid_shape = (n_rows, n_cols)``, ``stride`` and ``grid_origin`` set,
        ``indices`` all ``-1`` and, when registered, ``shifts``.

    Raises
    ------
    InputError
        Bad size/stride, or ``register=True`` on an image with no measurable lattice.
    """
    from napari_ivae.core.io.imageio import is_lazy
    from napari_ivae.core.patches import _grid_registration as registration

    if is_lazy(image):  # a zarr/dask image: cut window by window, never read whole
        from napari_ivae.core.patches.source import PatchSource

        return PatchSource.grid(
            image,
            size,
            stride,
            normalize=normalize,
            value_range=value_range,
            register=register,
            spacing=spacing,
        ).patchset()
    stack, is_stack = sampling.as_stack(image)
    shape = sampling.patch_shape(size, stack.shape[1:])
    normalize = sampling.check_choice("normalize", normalize, NORMALIZE_MODES)
    n_frames, height, width = stack.shape
    stride, grid_shape, (top, left), rows, cols, centres = sampling.grid_layout(
        (height, width), shape, stride, n_frames
    )
    per_frame = grid_shape[0] * grid_shape[1]

    patches = np.empty((n_frames * per_frame,) + shape, dtype=np.float32)
    for frame in range(n_frames):
        block = patches[frame * per_frame : (frame + 1) * per_frame]
        sampling.grid_frame(stack[frame], shape, stride, (top, left), grid_shape, block)

    frames = np.repeat(np.arange(n_frames, dtype=np.int64), per_frame)

    shifts, message = None, ""
    spacing = registration.registration_spacing(
        spacing, register, lambda: registration.measured_spacing(stack)
    )
    if spacing is not None:
        shifts = np.zeros_like(centres)
        for frame in range(n_frames):
            rows_of = slice(frame * per_frame, (frame + 1) * per_frame)
            shifts[rows_of] = registration.lattice_shifts(
                stack[frame], centres[rows_of], shape, spacing
            )
            sampling.sample_frame(
                stack[frame],
                centres[rows_of] + shifts[rows_of],
                np.arange(rows_of.start, rows_of.stop),
                patches,
                1,
                False,
            )
        message = registration.registration_message(spacing, shifts)
    sampling.check_finite(patches)
    normalization, pmin, pmax = _normalize(patches, normalize, stack, value_range)
    return PatchSet(
        patches=patches,
        centres=centres,
        frames=frames,
        indices=np.full(len(patches), -1, dtype=np.int64),
        image_shape=(int(height), int(width)),
        normalization=normalization,
        grid_shape=grid_shape,
        stride=stride,
        n_frames=int(n_frames),
        is_stack=is_stack,
        patch_min=pmin,
        patch_max=pmax,
        grid_origin=(float(rows[0]), float(cols[0])),
        shifts=shifts,
        message=message,
    )


def _normalize(patches: np.ndarray, mode: str, stack: np.ndarray, value_range=None):
    """Scale ``patches`` in place; return (record, patch_min, patch_max)."""
    if value_range is not None and mode != "global":
        raise InputError('value_range is only used with normalize="global".')
    if mode == "none":
        return {"mode": "none"}, None, None
    if mode == "global":
        lo, hi = (
            sampling.finite_range(stack) if value_range is None else sampling.as_range(value_range)
        )
        sampling.scale_global(patches, lo, hi)
        return sampling.minmax_record("global", lo, hi), None, None
    pmin, pmax = sampling.scale_each(patches)
    return sampling.minmax_record("patch"), pmin, pmax


__all__ = [
    "BORDER_POLICIES",
    "NORMALIZE_MODES",
    "PatchSet",
    "extract_patches",
    "grid_patches",
    "load_patches",
    "patchset_from_arrays",
    "patchset_to_arrays",
]
