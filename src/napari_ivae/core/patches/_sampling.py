"""Input checks and the chunked sampling loops behind :mod:`napari_ivae.core.patches.cutting`.

Memory discipline: patches are written into a preallocated output; each chunk handles about
``CHUNK_ELEMENTS`` pixels, so temporaries stay at a few MiB whatever the number of patches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import looks_like_colour

CHUNK_ELEMENTS = 1 << 18  # pixels handled per chunk (1 MiB of float32)


def chunks(n_items: int, elements_per_item: int) -> Iterator[slice]:
    """Slices over ``range(n_items)`` holding about ``CHUNK_ELEMENTS`` elements each."""
    step = max(1, CHUNK_ELEMENTS // max(1, elements_per_item))
    for start in range(0, n_items, step):
        yield slice(start, min(start + step, n_items))


def as_stack(image) -> tuple[np.ndarray, bool]:
    """Return the image as a ``(frames, Y, X)`` array (a view when possible) and whether it was one."""
    try:
        arr = np.asarray(image)
    except Exception as err:  # noqa: BLE001 - anything numpy cannot read is the user's input
        raise InputError(f"Could not read the image as an array: {err}") from err
    if arr.dtype.kind not in "biuf":
        raise InputError(f"The image must hold numbers, got dtype {arr.dtype}.")
    if looks_like_colour(arr.shape):
        raise InputError(
            f"The image of shape {arr.shape} looks like RGB(A) colour data. Convert it to one "
            'channel first, e.g. prepare_image(data, channel="luminance").'
        )
    if arr.ndim not in (2, 3):
        raise InputError(
            f"Expected a (Y, X) image or a (frames, Y, X) stack, got an array of shape {arr.shape}."
        )
    stack = arr if arr.ndim == 3 else arr[None]
    if stack.shape[0] < 1 or min(stack.shape[1:]) < 2:
        raise InputError(f"The image of shape {arr.shape} is too small to cut patches from.")
    return stack, arr.ndim == 3


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise InputError."""
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")
    return value


def as_range(value_range) -> tuple[float, float]:
    """Validate a ``(min, max)`` pair."""
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"value_range must be a (min, max) pair of numbers, got {value_range!r}."
        ) from err
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise InputError(f"value_range must be finite with max > min, got {value_range!r}.")
    return lo, hi


def patch_shape(size, image_shape) -> tuple[int, int]:
    """Validate the patch size against one frame's ``(Y, X)``."""
    sizes = (size, size) if np.ndim(size) == 0 else tuple(size)
    if len(sizes) != 2 or any(
        isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes
    ):
        raise InputError(f"Patch size must be a positive integer or a pair of them, got {size!r}.")
    height, width = int(sizes[0]), int(sizes[1])
    if height > image_shape[0] or width > image_shape[1]:
        raise InputError(
            f"Patch size {height}x{width} px is larger than the {image_shape[0]}x{image_shape[1]} "
            "image. Choose a patch size smaller than the image."
        )
    return height, width


def as_points(coords, n_frames: int, is_stack: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validate points; return ``frames`` (N,) int64 and ``centres`` (N, 2) float64 (row, col)."""
    try:
        # no copy of float64 points (none is changed here; what is returned is new)
        pts = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"Points must be a numeric (N, 2) or (N, 3) array: {err}") from err
    if pts.ndim == 1 and pts.size in (2, 3):
        pts = pts[None]
    if pts.ndim != 2 or pts.shape[1] not in (2, 3):
        raise InputError(
            f"Points must be an (N, 2) (row, col) or (N, 3) (frame, row, col) array, got shape {pts.shape}."
        )
    if len(pts) == 0:
        raise InputError(
            "No points given: detect atoms/particles or add points first, or use grid patches."
        )
    bad = ~np.isfinite(pts).all(axis=1)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} of {len(pts)} points have NaN or infinite coordinates; remove them."
        )
    if pts.shape[1] == 2:
        if is_stack:
            raise InputError(
                f"The image is a stack of {n_frames} frames: give points as (frame, row, col)."
            )
        return np.zeros(len(pts), dtype=np.int64), np.array(pts)
    frames = np.round(pts[:, 0])
    if np.any(np.abs(pts[:, 0] - frames) > 1e-6):
        raise InputError("The frame coordinate of every point must be a whole number.")
    out_of_range = (frames < 0) | (frames >= n_frames)
    if out_of_range.any():
        raise InputError(
            f"{int(out_of_range.sum())} points refer to frames outside 0..{n_frames - 1} of the image."
        )
    return frames.astype(np.int64), np.ascontiguousarray(pts[:, 1:])


def check_order(order) -> int:
    """Return the interpolation ``order`` if it is 1 (bilinear) or 3 (cubic spline), else raise."""
    if order not in (1, 3):
        raise InputError(f"order must be 1 (bilinear) or 3 (cubic spline), got {order!r}.")
    return order


class KeptPoints(NamedTuple):
    """Points checked against the frame and the patch size (:func:`kept_points`)."""

    frames: np.ndarray  # (N,) int64, every point
    centres: np.ndarray  # (N, 2) float64, every point (rounded without subpixel)
    indices: np.ndarray  # (K,) int64: the points kept
    valid: np.ndarray | None  # (K,) bool, False = crosses the border (border="flag"), else None
    message: str  # how many were dropped or kept with reflected edges


def kept_points(coords, n_frames, is_stack, shape, image_shape, border, subpixel) -> KeptPoints:
    """The points whose patches are cut: a centre outside the frame is always dropped, a patch
    crossing the border too unless ``border="flag"`` (kept, ``valid`` False). Raises
    :class:`InputError` when no point is kept (the message suggests a smaller patch)."""
    frames, centres = as_points(coords, n_frames, is_stack)
    if not subpixel:
        centres = np.round(centres)
    outside = ~centre_inside(centres, image_shape)
    crossing = ~patch_inside(centres, shape, image_shape)
    keep = ~outside if border == "flag" else ~crossing
    if not keep.any():
        raise InputError(
            f"All {len(centres)} patches of {shape[0]}x{shape[1]} px cross the border of the "
            f"{image_shape[0]}x{image_shape[1]} image (or their centre lies outside it). "
            'Use a smaller patch size, or border="flag" to keep them with reflected edges.'
        )
    indices = np.flatnonzero(keep).astype(np.int64)
    valid = None
    if border == "flag" and crossing[indices].any():
        valid = ~crossing[indices]
    message = _drop_message(len(centres), outside, crossing, border, shape)
    return KeptPoints(frames, centres, indices, valid, message)


def _drop_message(n_points, outside, crossing, border, shape) -> str:
    notes = []
    if outside.any():
        notes.append(
            f"{int(outside.sum())} of {n_points} points lie outside the image and were dropped"
        )
    n_cross = int((crossing & ~outside).sum())
    if n_cross:
        verb = (
            "were dropped" if border == "drop" else "were kept with reflected edges (valid=False)"
        )
        notes.append(
            f"{n_cross} of {n_points} patches of {shape[0]}x{shape[1]} px cross the image border and {verb}"
        )
    return "; ".join(notes)


def grid_layout(image_shape, shape, stride, n_frames: int):
    """The regular grid of :func:`~napari_ivae.core.patches.cutting.grid_patches` on frames of
    ``image_shape``: ``(stride, grid_shape, (top, left), rows, cols, centres)``, the grid
    centred in the frame (the pixels left over split between both sides, the odd one to the
    bottom/right), ``rows``/``cols`` the patch centres' coordinates and ``centres`` the
    ``(n_frames * n_rows * n_cols, 2)`` centres frame by frame, row by row. Raises
    :class:`InputError` for a stride that is not a positive whole number of pixels."""
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise InputError(f"stride must be a positive integer number of pixels, got {stride!r}.")
    stride = int(stride)
    height, width = image_shape
    grid_shape = ((height - shape[0]) // stride + 1, (width - shape[1]) // stride + 1)
    top = ((height - shape[0]) - (grid_shape[0] - 1) * stride) // 2
    left = ((width - shape[1]) - (grid_shape[1] - 1) * stride) // 2
    rows = top + shape[0] // 2 + stride * np.arange(grid_shape[0], dtype=np.float64)
    cols = left + shape[1] // 2 + stride * np.arange(grid_shape[1], dtype=np.float64)
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    centres = np.tile(np.column_stack([rr.ravel(), cc.ravel()]), (n_frames, 1))
    return stride, grid_shape, (top, left), rows, cols, centres


def minmax_record(mode: str, lo: float | None = None, hi: float | None = None) -> dict:
    """The ``normalization`` record of patches scaled to [0, 1]: ``"global"`` (with the image's
    ``lo``/``hi``) or ``"patch"`` (each by its own range)."""
    if mode == "global":
        return {"mode": "global", "method": "minmax", "min": lo, "max": hi, "range": [0.0, 1.0]}
    return {"mode": "patch", "method": "minmax", "range": [0.0, 1.0]}


def scale_global(patches: np.ndarray, lo: float, hi: float) -> None:
    """Scale ``patches`` in place from ``[lo, hi]`` to [0, 1] (clipped: cubic interpolation
    may overshoot), chunk by chunk."""
    scale = hi - lo if hi > lo else 1.0
    for chunk in chunks(len(patches), patches.shape[1] * patches.shape[2]):
        patches[chunk] -= lo
        patches[chunk] /= scale
    np.clip(patches, 0.0, 1.0, out=patches)


def scale_each(patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each patch in place by its own min/max to [0, 1], chunk by chunk; return the
    ``(N,)`` minima and maxima."""
    flat = patches.reshape(len(patches), -1)
    pmin = flat.min(axis=1)
    pmax = flat.max(axis=1)
    span = np.where(pmax > pmin, pmax - pmin, 1.0).astype(np.float32)
    for chunk in chunks(len(patches), flat.shape[1]):
        patches[chunk] -= pmin[chunk, None, None]
        patches[chunk] /= span[chunk, None, None]
    np.clip(patches, 0.0, 1.0, out=patches)
    return pmin, pmax


def centre_inside(centres: np.ndarray, image_shape) -> np.ndarray:
    """True where the centre lies within the image's pixel-centre extent."""
    upper = np.asarray(image_shape, dtype=np.float64) - 1.0
    return np.all((centres >= 0.0) & (centres <= upper), axis=1)


def patch_inside(centres: np.ndarray, shape, image_shape) -> np.ndarray:
    """True where every sample of the patch lies within the image (no border crossing)."""
    half = np.array([shape[0] // 2, shape[1] // 2], dtype=np.float64)
    first = centres - half
    last = first + np.asarray(shape, dtype=np.float64) - 1.0
    upper = np.asarray(image_shape, dtype=np.float64) - 1.0
    return np.all((first >= 0.0) & (last <= upper), axis=1)


def sample_frame(frame, centres, rows, out, order: int, reflect: bool) -> None:
    """Write the patches centred on ``centres`` of one frame into ``out[rows]``.

    Integer centres are copied exactly; fractional ones are interpolated (bilinear, computed
    separably from an ``(H+1, W+1)`` crop, equal to ``map_coordinates(order=1)``; or cubic
    spline). ``reflect`` pads the frame by mirror reflection for patches crossing the border.
    """
    height, width = out.shape[1:]
    src = np.asarray(frame, dtype=np.float32)
    margin = max(height, width) + 2 if reflect else 0
    if margin:
        src = np.pad(src, margin, mode="reflect")
    tops = centres[:, 0] - height // 2 + margin
    lefts = centres[:, 1] - width // 2 + margin
    integer = (tops == np.floor(tops)) & (lefts == np.floor(lefts))
    if integer.any():
        _crop(src, tops[integer], lefts[integer], rows[integer], out)
    if (~integer).any():
        interpolate = _bilinear if order == 1 else _spline
        interpolate(src, tops[~integer], lefts[~integer], rows[~integer], out)


def _crop(src, tops, lefts, rows, out) -> None:
    height, width = out.shape[1:]
    windows = sliding_window_view(src, (height, width))
    i0, j0 = tops.astype(np.intp), lefts.astype(np.intp)
    for s in chunks(len(rows), height * width):
        out[rows[s]] = windows[i0[s], j0[s]]


def _bilinear(src, tops, lefts, rows, out) -> None:
    height, width = out.shape[1:]
    i0 = np.floor(tops).astype(np.intp)
    j0 = np.floor(lefts).astype(np.intp)
    fy = (tops - i0).astype(np.float32)
    fx = (lefts - j0).astype(np.float32)
    # A patch ending exactly on the last row/column has fraction 0 there: shift its block one
    # pixel back and use weight 1 on the second row/column so the block stays inside.
    for index, frac, length, limit in (
        (i0, fy, height, src.shape[0]),
        (j0, fx, width, src.shape[1]),
    ):
        over = index + length > limit - 1
        index[over] -= 1
        frac[over] = 1.0
    windows = sliding_window_view(src, (height + 1, width + 1))
    for s in chunks(len(rows), (height + 1) * (width + 1)):
        block = windows[i0[s], j0[s]]
        wy = fy[s, None, None]
        wx = fx[s, None, None]
        vertical = block[:, :-1, :] * (1.0 - wy)
        vertical += block[:, 1:, :] * wy
        result = vertical[:, :, :-1] * (1.0 - wx)
        result += vertical[:, :, 1:] * wx
        out[rows[s]] = result


def _spline(src, tops, lefts, rows, out) -> None:
    from scipy import ndimage

    height, width = out.shape[1:]
    coefficients = ndimage.spline_filter(src, order=3, mode="mirror", output=np.float64)
    ky = np.arange(height, dtype=np.float64)[None, :, None]
    kx = np.arange(width, dtype=np.float64)[None, None, :]
    for s in chunks(len(rows), 4 * height * width):
        n = s.stop - s.start
        grid = np.empty((2, n, height, width), dtype=np.float64)
        grid[0] = tops[s, None, None] + ky
        grid[1] = lefts[s, None, None] + kx
        values = ndimage.map_coordinates(
            coefficients, grid.reshape(2, -1), order=3, prefilter=False, mode="mirror"
        )
        out[rows[s]] = values.reshape(n, height, width)


def grid_frame(frame, shape, stride, origin, grid_shape, out) -> None:
    """Copy the grid patches of one frame into ``out`` (row-major over the grid)."""
    windows = sliding_window_view(np.asarray(frame), shape)
    windows = windows[origin[0] :: stride, origin[1] :: stride][: grid_shape[0], : grid_shape[1]]
    n_cols = grid_shape[1]
    for i in range(grid_shape[0]):
        out[i * n_cols : (i + 1) * n_cols] = windows[i]


def check_finite(patches: np.ndarray) -> None:
    """Raise InputError if any patch holds NaN or infinite values."""
    n_bad = 0
    for s in chunks(len(patches), patches.shape[1] * patches.shape[2]):
        n_bad += int((~np.isfinite(patches[s]).all(axis=(1, 2))).sum())
    if n_bad:
        raise InputError(
            f"{n_bad} of {len(patches)} patches contain NaN or infinite pixels. Fill or crop the "
            "image first (prepare_image), or remove the points that fall on missing data."
        )


def finite_range(stack: np.ndarray) -> tuple[float, float]:
    """Minimum and maximum of the finite values of a stack, frame by frame."""
    lo, hi = np.inf, -np.inf
    for frame in stack:
        values = np.asarray(frame)
        if values.dtype.kind == "f":
            values = values[np.isfinite(values)]
        if values.size:
            lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    if not np.isfinite(lo):
        raise InputError("The image has no finite values.")
    return lo, hi
