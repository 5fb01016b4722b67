"""The patches a model sees, and where they came from: :class:`PatchSet`, and its round trip
through numpy arrays and ``.npz`` files (no pickling).

The geometry convention (a patch's centre is its element ``[H // 2, W // 2]``) is described in
:mod:`napari_ivae.core.patches.cutting`, which cuts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_ivae.core.errors import InputError


@dataclass
class PatchSet:
    """Patches and where they came from.

    Attributes
    ----------
    patches : (N, H, W) float32 C-contiguous array
    centres : (N, 2) float64 ``(row, col)`` of each patch centre in its frame (the
        convention: :mod:`napari_ivae.core.patches.cutting`).
    frames : (N,) int64 frame index of each patch (0 for a 2D image).
    indices : (N,) int64 index of the source point in the ``coords`` given to
        :func:`~napari_ivae.core.patches.cutting.extract_patches`; ``-1`` for grid patches.
    image_shape : tuple
        ``(Y, X)`` of one frame.
    normalization : dict
        JSON-compatible record of the intensity scaling: ``{"mode": "none"}``,
        ``{"mode": "global", "min": lo, "max": hi, ...}`` (``patch = (raw - lo) / (hi - lo)``) or
        ``{"mode": "patch", ...}`` (each patch scaled by its own min/max, kept in
        ``patch_min`` / ``patch_max``).
    grid_shape : tuple or None
        ``(n_rows, n_cols)`` of the grid in each frame, for grid patches; else None.
    stride : int or None
        Grid step in pixels, for grid patches; else None.
    valid : (N,) bool array or None
        False for patches that cross the image border (``border="flag"``; their outside
        pixels are mirror-reflected). None when every patch lies inside the image.
    n_frames : int
        Number of frames of the source image (1 for a 2D image).
    is_stack : bool
        True when the source was a ``(frames, Y, X)`` stack (maps are then ``(F, Y, X)``).
    patch_min, patch_max : (N,) float32 arrays or None
        Raw intensity range of each patch, for ``normalize="patch"``.
    grid_origin : tuple or None
        ``(row, col)`` of the first grid patch centre, for grid patches.
    shifts : (N, 2) float64 array or None
        Lattice-registered grid patches (``grid_patches(register=...)``): patch ``n`` was cut
        centred on ``centres[n] + shifts[n]``, the lattice feature nearest to its grid centre
        ``centres[n]`` (which still places its value in the maps). None when not registered.
    message : str
        Human-readable note, e.g. how many points were dropped at the border.
    particle_diameter : float, (N,) float64 array or None
        When the points are particles with a measured size: each patch's particle diameter
        in pixels (:func:`~napari_ivae.core.patches.sizing.patch_diameters`), or one median
        diameter for all; their point maps then reach no farther than each particle (see
        :func:`~napari_ivae.core.analysis.maps.point_reach`). None for atoms and other points.
    """

    patches: np.ndarray
    centres: np.ndarray
    frames: np.ndarray
    indices: np.ndarray
    image_shape: tuple
    normalization: dict
    grid_shape: tuple | None = None
    stride: int | None = None
    valid: np.ndarray | None = None
    n_frames: int = 1
    is_stack: bool = False
    patch_min: np.ndarray | None = None
    patch_max: np.ndarray | None = None
    grid_origin: tuple | None = None
    shifts: np.ndarray | None = None
    message: str = ""
    particle_diameter: float | np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    @property
    def patch_shape(self) -> tuple[int, int]:
        """``(H, W)`` of one patch."""
        return int(self.patches.shape[1]), int(self.patches.shape[2])

    @property
    def is_grid(self) -> bool:
        """True for patches cut on a regular grid."""
        return self.grid_shape is not None

    @property
    def coords(self) -> np.ndarray:
        """``(N, 3)`` float64 ``(frame, row, col)`` of the patch centres (napari's order)."""
        return np.column_stack([self.frames.astype(np.float64), self.centres])


_OPTIONAL_ARRAYS = ("valid", "patch_min", "patch_max", "shifts")


def patchset_to_arrays(patchset: PatchSet) -> dict:
    """The PatchSet as a dict of numpy arrays for ``np.savez`` (no pickling needed).

    Keys: ``patches, centres, frames, indices, image_shape, n_frames, is_stack`` and, when set,
    ``valid, patch_min, patch_max, shifts, grid_shape, stride, grid_origin,
    particle_diameter``; ``normalization`` and
    ``message`` are JSON / plain strings.
    """
    import json

    arrays = {
        "patches": patchset.patches,
        "centres": patchset.centres,
        "frames": patchset.frames,
        "indices": patchset.indices,
        "image_shape": np.asarray(patchset.image_shape, dtype=np.int64),
        "n_frames": np.asarray(patchset.n_frames, dtype=np.int64),
        "is_stack": np.asarray(patchset.is_stack),
        "normalization": np.asarray(json.dumps(patchset.normalization)),
        "message": np.asarray(patchset.message),
    }
    for name in _OPTIONAL_ARRAYS:
        if getattr(patchset, name) is not None:
            arrays[name] = np.asarray(getattr(patchset, name))
    if patchset.is_grid:
        arrays["grid_shape"] = np.asarray(patchset.grid_shape, dtype=np.int64)
        arrays["stride"] = np.asarray(patchset.stride, dtype=np.int64)
        arrays["grid_origin"] = np.asarray(patchset.grid_origin, dtype=np.float64)
    if patchset.particle_diameter is not None:
        arrays["particle_diameter"] = np.asarray(patchset.particle_diameter, dtype=np.float64)
    return arrays


def patchset_from_arrays(arrays) -> PatchSet:
    """Rebuild a PatchSet from :func:`patchset_to_arrays` output (or an opened ``.npz``)."""
    import json

    missing = [
        k for k in ("patches", "centres", "frames", "indices", "image_shape") if k not in arrays
    ]
    if missing:
        raise InputError(
            f"Not a patches file written by napari-ivae: missing {', '.join(missing)}."
        )
    grid = "grid_shape" in arrays
    return PatchSet(
        patches=np.ascontiguousarray(arrays["patches"], dtype=np.float32),
        centres=np.asarray(arrays["centres"], dtype=np.float64),
        frames=np.asarray(arrays["frames"], dtype=np.int64),
        indices=np.asarray(arrays["indices"], dtype=np.int64),
        image_shape=tuple(int(s) for s in arrays["image_shape"]),
        normalization=(
            json.loads(str(arrays["normalization"]))
            if "normalization" in arrays
            else {"mode": "none"}
        ),
        grid_shape=tuple(int(s) for s in arrays["grid_shape"]) if grid else None,
        stride=int(arrays["stride"]) if grid else None,
        grid_origin=tuple(float(s) for s in arrays["grid_origin"]) if grid else None,
        n_frames=int(arrays["n_frames"]) if "n_frames" in arrays else 1,
        is_stack=bool(arrays["is_stack"]) if "is_stack" in arrays else False,
        message=str(arrays["message"]) if "message" in arrays else "",
        particle_diameter=_diameters(arrays),
        **{name: np.asarray(arrays[name]) for name in _OPTIONAL_ARRAYS if name in arrays},
    )


def _diameters(arrays) -> float | np.ndarray | None:
    """A patches file's particle diameters: one per patch, or (older files) one median."""
    if "particle_diameter" not in arrays:
        return None
    value = np.asarray(arrays["particle_diameter"], dtype=np.float64)
    return float(value) if value.ndim == 0 else value


def load_patches(path) -> PatchSet:
    """Read a ``.npz`` written by ``napari-ivae patches`` (or ``np.savez(**patchset_to_arrays(ps))``)."""
    from pathlib import Path

    path = Path(path).expanduser()
    if path.suffix.lower() != ".npz" or not path.is_file():
        raise InputError(f"{path} is not an existing .npz patches file.")
    try:
        with np.load(path, allow_pickle=False) as data:
            return patchset_from_arrays({key: data[key] for key in data.files})
    except (OSError, ValueError) as err:
        raise InputError(f"Cannot read patches from {path}: {err}") from err


__all__ = ["PatchSet", "load_patches", "patchset_from_arrays", "patchset_to_arrays"]
