"""Shared input checks: patch arrays, semi-supervised labels and colour pictures."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.errors import InputError

MIN_PATCH_SIZE = 8


def looks_like_colour(shape) -> bool:
    """Whether an image of ``shape`` is an RGB(A) picture ``(Y, X, 3 or 4)`` rather than a
    stack of frames (a stack of 3 or 4 frames of at most 4 px is not told apart)."""
    shape = tuple(shape)
    return len(shape) == 3 and shape[-1] in (3, 4) and min(shape[:2]) > 4


def as_patch_array(x, patch_shape=None, name: str = "patches") -> np.ndarray:
    """Validate patches and return them as a C-contiguous float32 ``(N, H, W)`` array.

    Parameters
    ----------
    x : array-like
        ``(N, H, W)`` patches; a single ``(H, W)`` patch must be given as ``x[None]``.
    patch_shape : tuple of int, optional
        ``(H, W)`` the patches must have (e.g. a trained model's ``config.patch_shape``).
    name : str
        How the array is called in error messages.

    Raises
    ------
    InputError
        Wrong rank (including RGB-like ``N x H x W x 3``), empty, tiny (< 8 px), NaN/inf,
        non-numeric, or a shape that differs from ``patch_shape``.
    """
    try:
        arr = np.asarray(x)
    except Exception as err:  # noqa: BLE001 (ragged lists and whatever __array__ raises)
        raise InputError(f"{name} could not be read as an array: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 4 and arr.shape[-1] in (3, 4):
        raise InputError(
            f"{name} look like colour images {arr.shape}; convert them to one channel first "
            "(e.g. luminance) so they are (N, H, W)"
        )
    if arr.ndim == 2:
        raise InputError(
            f"{name} must be a stack (N, H, W); got a single 2D array {arr.shape} - "
            "add a leading axis (x[None]) for one patch"
        )
    if arr.ndim != 3:
        raise InputError(f"{name} must be (N, H, W), got an array of shape {arr.shape}")
    if arr.shape[0] == 0:
        raise InputError(f"{name} is empty (0 patches); extract some patches first")
    if min(arr.shape[1:]) < MIN_PATCH_SIZE:
        raise InputError(
            f"{name} are too small ({arr.shape[1]}x{arr.shape[2]} px); use patches of at least "
            f"{MIN_PATCH_SIZE}x{MIN_PATCH_SIZE} pixels"
        )
    if patch_shape is not None and tuple(arr.shape[1:]) != tuple(patch_shape):
        raise InputError(
            f"{name} are {arr.shape[1]}x{arr.shape[2]} px but the model expects "
            f"{patch_shape[0]}x{patch_shape[1]}; extract patches of the model's size"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=(1, 2)).sum())
        raise InputError(
            f"{name} contain NaN or infinite values ({bad} patch(es)); fill or drop them first"
        )
    return arr


def as_label_array(labels, n: int, n_classes: int, *, require_labeled: bool = True) -> np.ndarray:
    """Validate semi-supervised labels and return them as int64 ``(n,)``, ``-1`` = unlabeled.

    Parameters
    ----------
    labels : array-like
        One integer per patch; ``-1`` for unlabeled, ``0..n_classes-1`` otherwise.
    n : int
        Number of patches.
    n_classes : int
        Number of classes K of the model.
    require_labeled : bool
        Demand labeled patches of at least two classes (training an ss-rVAE).

    Raises
    ------
    InputError
        Wrong length, non-integer values, out-of-range classes, no labeled patch, or only one
        class labeled.
    """
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(f"labels must be one value per patch ({n}), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise InputError("labels must be whole numbers (-1 for unlabeled patches)")
    elif arr.dtype.kind not in "biu":
        raise InputError(f"labels must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < -1) | (arr >= n_classes)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} label(s) out of range (e.g. {int(arr[bad][0])}); use -1 for "
            f"unlabeled and 0..{n_classes - 1} for the {n_classes} classes"
        )
    if require_labeled:
        present = np.unique(arr[arr >= 0])
        if present.size == 0:
            raise InputError(
                "no labeled patch: a semi-supervised model needs some patches of every class "
                "labeled (draw shapes around examples of each class)"
            )
        if present.size < 2:
            raise InputError(
                f"only class {int(present[0])} is labeled; label examples of at least two "
                "classes so the classifier can learn to tell them apart"
            )
    return arr


def exclusion_mask(exclude, shape) -> np.ndarray | None:
    """A user's "detect nothing here" mask as booleans of one frame's shape (``None`` stays).

    Raises
    ------
    InputError
        The mask's shape differs from the frame's.
    """
    if exclude is None:
        return None
    mask = np.asarray(exclude)
    if mask.shape != tuple(shape):
        raise InputError(
            f"The exclude mask has shape {mask.shape}; it must match one frame {tuple(shape)}."
        )
    return mask.astype(bool)
