"""Turn whatever array a user has into a clean float32 image or stack for detection.

:func:`prepare_image` is the single entry point: it picks a channel (or luminance) of colour
images, brings the frame axis of stacks first, checks the dtype, fills NaN/inf, rejects empty,
tiny and constant images with a clear :class:`~napari_ivae.core.errors.InputError`, inverts dark
features and flattens uneven backgrounds.

NaN and infinite pixels are **filled with the median of the finite pixels of their frame** and a
``UserWarning`` says how many (pass ``nan="error"`` to refuse such images instead). The number
filled is also stored in the ``report`` dictionary when one is given. Isolated extreme pixels
(hot pixels, X-ray hits: :mod:`~napari_ivae.core.io.outlier_pixels`) are replaced by the median
of the pixels around them, with a warning and ``outliers_replaced`` in the report.
"""

from __future__ import annotations

import warnings

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.io.outlier_pixels import replace_outlier_pixels, replaced_message

MIN_SIDE = 8  # smallest image side (pixels) that detection can work on
_LUMINANCE_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])  # ITU-R BT.709, as skimage.rgb2gray
COLOURED = 0.25  # an overlay's pixel: its channels this share of the value range apart
OVERLAY_SHARE = 0.05  # a grey image with an overlay: at most this share of pixels coloured
OVERLAY_ONE_COLOUR = 0.5  # ... and at least this share of them of one colour (drawn)
FLATTEN_MODES = (None, "plane", "poly2", "gaussian")


def prepare_image(
    data,
    *,
    channel: str | int | None = None,
    frame_axis: int | None = None,
    channel_axis: int | None = None,
    invert: bool = False,
    flatten: str | None = None,
    flatten_sigma: float | None = None,
    nan: str = "fill",
    report: dict | None = None,
) -> np.ndarray:
    """Return a float32 ``(Y, X)`` image or ``(F, Y, X)`` stack ready for detection.

    Parameters
    ----------
    data : array-like
        2D image, 3D stack ``(frames, Y, X)``, colour image ``(Y, X, 3|4)``, or a 4D colour
        stack (then ``frame_axis`` is required). Integer or float dtypes.
    channel : {None, "luminance"} or int
        Colour images: which channel to keep, or ``"luminance"`` (default for RGB(A); alpha is
        ignored). Giving it for a ``(C, Y, X)`` array with ``C <= 4`` declares axis 0 as channels.
    frame_axis : int, optional
        Axis holding frames (time). Required for 4D input and for ambiguous 3D input whose first
        axis has 2-4 entries (channels or frames?).
    channel_axis : int, optional
        Axis holding colour channels when it is not the last axis of size 3 or 4.
    invert : bool
        Flip intensities (``max + min - value``) so dark features (bright-field, ABF, dark STM
        features) become bright peaks.
    flatten : {None, "plane", "poly2", "gaussian"}
        Background removal per frame: least-squares plane (STM tilt), 2nd-order polynomial, or
        subtraction of a wide Gaussian blur (uneven STEM/SEM illumination).
    flatten_sigma : float, optional
        Gaussian width for ``flatten="gaussian"``; default ``max(Y, X) / 10`` pixels.
    nan : {"fill", "error"}
        What to do with NaN/inf pixels: fill with the frame's finite median (with a warning),
        or raise :class:`InputError`.
    report : dict, optional
        If given, filled with what was done (``nan_filled``, ``outliers_replaced``,
        ``channel``, ``is_stack``, ``flatten``, ``inverted``).

    Returns
    -------
    numpy.ndarray
        C-contiguous float32 ``(Y, X)`` or ``(F, Y, X)``.

    Raises
    ------
    InputError
        Empty, tiny (< 8 px), constant, boolean/complex/non-numeric input, ambiguous axes.
    """
    if flatten not in FLATTEN_MODES:
        raise InputError(f"flatten={flatten!r} is not known; use one of {FLATTEN_MODES}.")
    if nan not in ("fill", "error"):
        raise InputError(f"nan={nan!r} is not known; use 'fill' or 'error'.")
    array = _as_numeric_array(data)
    array, channel_used = _to_frames_yx(array, channel, frame_axis, channel_axis)
    is_stack = array.ndim == 3
    # float32 throughout (the output precision) unless the values are transformed first:
    # halves the memory traffic on large images
    work_dtype = np.float32 if flatten is None and not invert else np.float64
    frames = array.reshape((-1,) + array.shape[-2:]).astype(work_dtype, copy=True)
    n_filled = _fill_non_finite(frames, nan)
    _check_not_constant(frames, is_stack)
    n_outliers = _replace_outliers(frames)
    if invert:
        frames = frames.max() + frames.min() - frames
    if flatten is not None:
        for i in range(len(frames)):
            frames[i] = flatten_background(frames[i], flatten, sigma=flatten_sigma)
    out = np.ascontiguousarray(frames, dtype=np.float32)
    if report is not None:
        report.update(
            nan_filled=n_filled,
            outliers_replaced=n_outliers,
            channel=channel_used,
            is_stack=is_stack,
            flatten=flatten,
            inverted=bool(invert),
        )
    return out if is_stack else out[0]


def split_frames(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """Return ``(frames (F, Y, X), was_stack)`` for a prepared 2D image or 3D stack."""
    if image.ndim == 2:
        return image[np.newaxis], False
    return image, True


def flatten_background(frame: np.ndarray, mode: str, *, sigma: float | None = None) -> np.ndarray:
    """Subtract a smooth background from one 2D frame.

    Parameters
    ----------
    frame : numpy.ndarray
        2D float image.
    mode : {"plane", "poly2", "gaussian"}
        Least-squares plane, 2nd-order polynomial surface, or a Gaussian blur of width ``sigma``.
    sigma : float, optional
        Gaussian width in pixels (``"gaussian"`` only); default ``max(Y, X) / 10``.

    Returns
    -------
    numpy.ndarray
        The frame minus its background (float64, same shape).
    """
    frame = np.asarray(frame, dtype=np.float64)
    if mode == "gaussian":
        from scipy import ndimage

        sigma = float(sigma) if sigma is not None else max(frame.shape) / 10.0
        if not sigma > 0:
            raise InputError(f"flatten_sigma must be positive, got {sigma}.")
        return frame - ndimage.gaussian_filter(frame, sigma, mode="reflect")
    order = {"plane": 1, "poly2": 2}.get(mode)
    if order is None:
        raise InputError(f"flatten={mode!r} is not known; use one of {FLATTEN_MODES[1:]}.")
    rows, cols = np.indices(frame.shape, dtype=np.float64)
    rows = rows / max(frame.shape[0] - 1, 1) - 0.5
    cols = cols / max(frame.shape[1] - 1, 1) - 0.5
    terms = [np.ones_like(rows), rows, cols]
    if order == 2:
        terms += [rows * rows, rows * cols, cols * cols]
    design = np.stack([t.ravel() for t in terms], axis=1)
    step = max(1, design.shape[0] // 200_000)  # a subsample is plenty for a smooth surface
    coef, *_ = np.linalg.lstsq(design[::step], frame.ravel()[::step], rcond=None)
    return frame - (design @ coef).reshape(frame.shape)


def _as_numeric_array(data) -> np.ndarray:
    if data is None:
        raise InputError("No image given: pass a 2D image or a (frames, Y, X) stack.")
    try:
        array = np.asarray(data)
    except Exception as err:  # e.g. ragged nested lists
        raise InputError(f"Could not turn the input into an array: {err}") from err
    if array.dtype == bool:
        raise InputError(
            "The image is boolean (a mask?); detection needs intensities. "
            "Convert it to numbers first, e.g. image.astype(float)."
        )
    if np.iscomplexobj(array):
        raise InputError("The image is complex-valued; pass its magnitude (np.abs) or real part.")
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"The image has dtype {array.dtype}; an integer or float image is needed.")
    if array.size == 0:
        raise InputError(f"The image is empty (shape {array.shape}).")
    if array.ndim < 2 or array.ndim > 4:
        raise InputError(
            f"Expected a 2D image, a (frames, Y, X) stack or a colour image; got "
            f"{array.ndim} dimensions (shape {array.shape})."
        )
    return array


def _to_frames_yx(array, channel, frame_axis, channel_axis):
    """Reduce colour channels and move frames first; return (array 2D/3D, channel description)."""
    ndim = array.ndim
    frame_axis = _normalise_axis(frame_axis, ndim, "frame_axis")
    channel_axis = _normalise_axis(channel_axis, ndim, "channel_axis")
    if channel_axis is None:
        channel_axis = _guess_channel_axis(array.shape, frame_axis, channel)
    if ndim == 4 and frame_axis is None:
        raise InputError(
            f"A 4D image (shape {array.shape}) needs frame_axis (and a colour axis of size 3/4 "
            "last, or channel_axis): say which axis holds the frames."
        )
    if ndim == 4 and channel_axis is None:
        raise InputError(
            f"A 4D image (shape {array.shape}) with frames on axis {frame_axis} needs a colour "
            f"axis too: the last axis has {array.shape[-1]} values, not 3 or 4 (RGB/RGBA); "
            "pass channel_axis, or save one channel per file (e.g. image[..., 0])."
        )
    if frame_axis is not None and frame_axis == channel_axis:
        raise InputError("frame_axis and channel_axis cannot be the same axis.")
    channel_used = None
    if channel_axis is not None:
        array, channel_used = _reduce_channels(array, channel_axis, channel)
        if frame_axis is not None and frame_axis > channel_axis:
            frame_axis -= 1
    elif channel is not None:
        raise InputError(
            f"channel={channel!r} was given but the image of shape {array.shape} "
            "has no colour axis; leave channel empty or pass channel_axis."
        )
    if array.ndim == 3:
        if frame_axis is None:
            if array.shape[0] <= 4 and channel_axis is None:
                raise InputError(
                    f"Ambiguous 3D image of shape {array.shape}: are the {array.shape[0]} planes "
                    "frames or colour channels? Pass frame_axis=0 for frames, or channel= "
                    "('luminance' or an index) for channels."
                )
            frame_axis = 0
        array = np.moveaxis(array, frame_axis, 0)
    if min(array.shape[-2:]) < MIN_SIDE:
        raise InputError(
            f"The image is too small ({array.shape[-2]}x{array.shape[-1]} px); "
            f"detection needs at least {MIN_SIDE}x{MIN_SIDE} pixels."
        )
    return array, channel_used


def _normalise_axis(axis, ndim, name):
    if axis is None:
        return None
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise InputError(f"{name}={axis!r} is not an axis of a {ndim}D image.")
    return int(axis) % ndim


def _guess_channel_axis(shape, frame_axis, channel):
    ndim = len(shape)
    if ndim == 4:
        return 3 if shape[-1] in (3, 4) and frame_axis != 3 else None
    if ndim != 3 or frame_axis is not None:
        return None  # 2D, or a stack whose frame axis the user named
    if shape[-1] in (3, 4) and (shape[0] > 4 or channel is not None):
        return 2
    if channel is not None and shape[0] <= 4:
        return 0
    return None


def _reduce_channels(array, axis, channel):
    n_channels = array.shape[axis]
    if channel is None or channel == "luminance":
        moved = np.moveaxis(array, axis, -1).astype(np.float64)
        if n_channels in (3, 4):
            return _overlay_to_extreme(moved[..., :3]), "luminance"
        return moved.mean(axis=-1), "mean"
    if isinstance(channel, (int, np.integer)) and -n_channels <= channel < n_channels:
        return np.take(array, int(channel), axis=axis), int(channel) % n_channels
    raise InputError(
        f"channel={channel!r} is not valid for {n_channels} channels; use "
        f"'luminance' or an index 0..{n_channels - 1}."
    )


def _overlay_to_extreme(rgb: np.ndarray) -> np.ndarray:
    """The luminance of ``rgb`` (..., 3); on a grey micrograph (equal channels) saved in colour
    with a coloured overlay drawn in (a yellow scale bar, red text), the overlay's pixels are
    set to the brightest grey value, where :func:`~napari_ivae.core.detection.overlays.
    annotation_mask` looks for burned-in annotations (their luminance is no extreme).

    Coloured: channels more than ``COLOURED`` of the value range apart. Only where at most
    ``OVERLAY_SHARE`` of the pixels are coloured, the others are grey and at least
    ``OVERLAY_ONE_COLOUR`` of the coloured ones have one colour (a colour image, or coloured
    spots whose brightness varies, are left as they are); only the pixels of that colour."""
    grey = rgb @ _LUMINANCE_WEIGHTS
    spread = rgb.max(axis=-1) - rgb.min(axis=-1)
    span = float(rgb.max() - rgb.min())
    if span == 0:
        return grey
    coloured = spread > COLOURED * span
    if not coloured.any() or coloured.mean() > OVERLAY_SHARE:
        return grey
    if np.percentile(spread[~coloured], 99) > 0.01 * span:
        return grey  # not a grey image besides the overlay
    # drawn in one colour (imaged colour, e.g. fluorescence spots, varies)
    colours, counts = np.unique(rgb[coloured], axis=0, return_counts=True)
    if counts.max() < OVERLAY_ONE_COLOUR * coloured.sum():
        return grey
    drawn = np.all(rgb == colours[np.argmax(counts)], axis=-1)
    grey[drawn] = grey[~coloured].max()
    warnings.warn(
        f"{int(drawn.sum())} pixels of one colour on a grey image (a drawn overlay?) were set to "
        "its brightest value, where burned-in annotations are looked for",
        UserWarning,
        stacklevel=4,
    )
    return grey


def _fill_non_finite(frames: np.ndarray, policy: str) -> int:
    bad = ~np.isfinite(frames)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return 0
    if policy == "error":
        raise InputError(
            f"The image has {n_bad} NaN/inf pixels; fill or crop them, or pass "
            "nan='fill' to replace them with the median."
        )
    for i, frame in enumerate(frames):
        frame_bad = bad[i]
        if frame_bad.all():
            raise InputError(f"Frame {i} has no finite pixel (all NaN/inf); remove it.")
        if frame_bad.any():
            frame[frame_bad] = np.median(frame[~frame_bad])
    warnings.warn(
        f"{n_bad} NaN/inf pixels were replaced by the median of their frame.",
        UserWarning,
        stacklevel=3,
    )
    return n_bad


def _replace_outliers(frames: np.ndarray) -> int:
    count = sum(replace_outlier_pixels(frame) for frame in frames)
    if count:
        warnings.warn(replaced_message(count) + ".", UserWarning, stacklevel=3)
    return count


def _check_not_constant(frames: np.ndarray, is_stack: bool) -> None:
    spans = frames.reshape(len(frames), -1)
    constant = np.flatnonzero(spans.max(axis=1) == spans.min(axis=1))
    if constant.size == 0:
        return
    where = f"Frame {int(constant[0])}" if is_stack else "The image"
    raise InputError(
        f"{where} is constant (every pixel = {frames[constant[0]].flat[0]:g}); "
        "there is nothing to detect. Check that the right layer/channel was chosen."
    )
