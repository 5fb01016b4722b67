"""Layers' data as the plugin reads and writes it (any thread unless said): an image layer's
full-resolution array, snapshot and prepared image; points as core coordinates and back; a
layer's feature columns joined without copying."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # imported where used: opening a dock does not wait for pandas
    import pandas as pd

from napari_ivae.core.errors import InputError


def image_array(layer: Any) -> np.ndarray:
    """The full-resolution data of an Image layer as a numpy array.

    Raises
    ------
    InputError
        If ``layer`` is not an Image layer or holds no pixels.
    """
    from napari.layers import Image

    if layer is None:
        raise InputError(
            "no image layer: open an image (File > Open, or File > Open Sample > "
            "napari-ivae) and pick it in the widget."
        )
    if not isinstance(layer, Image):
        raise InputError(
            f"layer {getattr(layer, 'name', layer)!r} is not an image layer: pick an Image layer "
            "(open one with File > Open or File > Open Sample > napari-ivae)."
        )
    array = np.asarray(image_data(layer))
    if array.size == 0:
        raise InputError(f"image layer {layer.name!r} is empty.")
    return array


def image_data(layer: Any) -> Any:
    """The full-resolution data of an Image layer as napari holds it: a dask or zarr array
    stays lazy (nothing is read), anything else is returned as is.

    Raises
    ------
    InputError
        As :func:`image_array`.
    """
    from napari.layers import Image

    if layer is None or not isinstance(layer, Image):
        image_array(layer)  # raises the message for a missing or non-image layer
    data = layer.data[0] if layer.multiscale else layer.data
    if 0 in tuple(data.shape):
        raise InputError(f"image layer {layer.name!r} is empty.")
    return data


def image_snapshot(
    layer: Any, *, invert: bool = False, flatten: str | None = None
) -> tuple[Any, dict]:
    """What :func:`prepared_image` needs from a layer, taken in the GUI thread (cheap):
    ``(array, prepare_image keyword arguments)``; :func:`prepare_snapshot` does the work.
    A lazy (dask/zarr) layer is not read here."""
    from napari_ivae.core.io.imageio import is_lazy

    channel = "luminance" if getattr(layer, "rgb", False) else None
    data = image_data(layer)
    array = data if is_lazy(data) else image_array(layer)
    frame_axis = 0 if len(array.shape) - (1 if channel else 0) == 3 else None
    return array, {
        "channel": channel,
        "frame_axis": frame_axis,
        "invert": invert,
        "flatten": flatten,
    }


def prepare_snapshot(snapshot: tuple[Any, dict], report: dict | None = None) -> Any:
    """float32 ``(Y, X)`` or ``(F, Y, X)`` image from :func:`image_snapshot` (any thread).

    A lazy grey image stays lazy (a dask array; inverted chunk by chunk when asked) so that
    detection and patch cutting read it part by part; background flattening and colour
    conversion need the whole frame and read it. ``report`` (a dict) receives what
    :func:`~napari_ivae.core.io.image.prepare_image` did (``nan_filled``...); given, a lazy
    image's NaN/inf pixels are counted too (one pass, chunk by chunk) and read as the median
    of their frame (:func:`~napari_ivae.core.patches.source.counted_and_filled`), ``nan_filled``
    their count, as in memory."""
    from napari_ivae.core.io.image import prepare_image
    from napari_ivae.core.io.imageio import is_lazy

    array, kwargs = snapshot
    if is_lazy(array) and kwargs.get("channel") is None and not kwargs.get("flatten"):
        return _lazy_prepared(array, invert=bool(kwargs.get("invert")), report=report)
    return prepare_image(np.asarray(array), **kwargs, report=report)


def _lazy_prepared(array: Any, invert: bool, report: dict | None = None) -> Any:
    import dask.array as da

    image = da.asarray(array).astype(np.float32)
    if report is not None and np.dtype(array.dtype).kind in "fc":  # integers hold no NaN
        from napari_ivae.core.patches.source import counted_and_filled

        image, count = counted_and_filled(image)
        if count:
            report["nan_filled"] = count
    if invert:  # the finite extremes: a missing pixel does not make every pixel NaN
        low, high = da.compute(da.nanmin(image), da.nanmax(image))
        image = (low + high) - image
    return image


def prepared_image(layer: Any, *, invert: bool = False, flatten: str | None = None) -> np.ndarray:
    """Image layer -> float32 ``(Y, X)`` or ``(F, Y, X)`` ready for detection / patches."""
    return prepare_snapshot(image_snapshot(layer, invert=invert, flatten=flatten))


def points_coords(layer: Any) -> np.ndarray:
    """Points layer -> ``(N, 3)`` ``(frame, row, col)`` float64 coordinates in data pixels."""
    from napari.layers import Points

    if not isinstance(layer, Points):
        raise InputError(
            f"layer {getattr(layer, 'name', layer)!r} is not a Points layer: pick "
            "a Points layer (run Detect first) or use a grid of patches."
        )
    data = np.asarray(layer.data, dtype=np.float64)
    if len(data) == 0:
        raise InputError(f"points layer {layer.name!r} has no points: detect or draw some first.")
    if data.shape[1] == 2:
        return np.column_stack([np.zeros(len(data)), data])
    return np.column_stack([np.round(data[:, -3]), data[:, -2:]])


def in_image_pixels(coords: np.ndarray, layer: Any, image: Any) -> np.ndarray:
    """Coordinates in ``layer``'s data space -> ``image``'s pixels, on the last two axes.

    A Points or Shapes layer drawn over a calibrated image (a micrograph opened in nm) need not
    share its transform: napari gives a new layer made with nothing selected a scale of 1, so
    its data are in nm while the image's are in pixels. Both go through world coordinates
    (napari's own transforms); where the two layers' transforms agree the coordinates come
    back unchanged (the same array, no rounding).

    Parameters
    ----------
    coords : numpy.ndarray
        ``(N, D)`` coordinates in ``layer``'s data space, the plane's (row, col) last.
    layer, image : napari.layers.Layer
        The layer the coordinates belong to and the image whose pixels they are wanted in.

    Returns
    -------
    numpy.ndarray
        ``(N, D)``: the leading axes (a frame index) as given, the last two in image pixels.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if image is None or layer is None or layer is image or len(coords) == 0:
        return coords
    own, theirs = _plane_affine(layer), _plane_affine(image)
    if np.array_equal(own, theirs):
        return coords
    # world = own @ [r, c, 1]; pixels = theirs^-1 @ world
    plane = np.linalg.solve(theirs, own)
    mapped = coords.copy()
    mapped[:, -2:] = coords[:, -2:] @ plane[:2, :2].T + plane[:2, 2]
    return mapped


def _plane_affine(layer: Any) -> np.ndarray:
    """The 3 x 3 homogeneous data-to-world transform of a layer's last two axes (scale,
    translate, rotation, shear and affine together, as napari composes them)."""
    full = np.asarray(layer._data_to_world.affine_matrix, dtype=np.float64)
    n = full.shape[0] - 1
    keep = [n - 2, n - 1, n]
    return full[np.ix_(keep, keep)]


def points_data(coords: np.ndarray, image_ndim: int) -> np.ndarray:
    """``(N, 3)`` (frame, row, col) -> napari Points data matching a 2D or 3D image."""
    coords = np.asarray(coords, dtype=float).reshape(-1, 3)
    return coords if image_ndim >= 3 else coords[:, 1:]


def set_features(layer: Any, new_columns: dict | pd.DataFrame, *, drop: tuple = ()) -> None:
    """Add/replace the given feature columns (others kept, ``drop`` removed) and reassign
    ``layer.features`` so napari emits the change.

    The layer's other columns come first, in their order, then the given ones. The table is
    joined from the kept columns and the new ones as they are (pandas copies on write, so
    nothing is copied here): inserting columns one by one left pandas a block per column to
    merge when napari validated the frame, ~100 ms on the GUI thread for half a million points.
    """
    import pandas as pd

    n = len(layer.data)
    current = layer.features if len(layer.features) == n else pd.DataFrame(index=range(n))
    new = pd.DataFrame(new_columns)
    if len(new.columns) and len(new) != n:
        raise ValueError(f"{len(new)} values per feature column for {n} points")
    layer.features = joined_columns(current, new, drop=drop)


def joined_columns(current: pd.DataFrame, new: pd.DataFrame, *, drop: tuple = ()) -> pd.DataFrame:
    """``current``'s columns in their order (less ``drop`` and those ``new`` has), then
    ``new``'s, row by row; joined without copying (pandas copies on write). Any thread."""
    import pandas as pd

    dropped = set(drop) | set(new.columns)
    kept = current[[c for c in current.columns if c not in dropped]].reset_index(drop=True)
    return pd.concat([kept, new.reset_index(drop=True)], axis=1) if len(new.columns) else kept
