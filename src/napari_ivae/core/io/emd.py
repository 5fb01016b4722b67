"""Read the image of an ``.emd`` file, Thermo Fisher Velox or Berkeley (NCEM) EMD, and its pixel
size. Both are HDF5 files, read with h5py (imported when an ``.emd`` file is read, never at
start-up); the pixels are read into memory (an HDF5 dataset is not mapped).

Written from the public descriptions of the two layouts (no other reader's code):

* **Velox**: ``/Data/Image/<uuid>/Data`` holds an image's frames, shape ``(height, width,
  frames)``; ``/Data/Image/<uuid>/Metadata`` is a ``uint8`` array ``(N, frames)``, each column a
  zero-padded JSON text whose ``BinaryResult`` gives ``PixelSize`` (``width``, ``height``, texts
  in ``PixelUnitX``/``PixelUnitY``, metres in real space, ``1/m`` in a diffraction pattern) and
  the ``Detector`` (HAADF, BF, DF4-A ...). Spectra (``/Data/SpectrumImage``,
  ``/Data/SpectrumStream``, ``/Data/Spectrum``) are not images.
* **Berkeley EMD**: a group whose attribute ``emd_group_type`` is 1 (under ``/data`` in the
  description; anywhere in real files: HyperSpy's ``/signals``, Prismatic's) holds the dataset
  ``data`` and one vector ``dim1``, ``dim2`` ... per axis (attributes ``name`` and ``units``);
  the last two axes are the image plane (unless only two others are lengths: those), the
  vectors' step its calibration.

A file with several images gives one: the first HAADF, else the first dark-field (a name holding
``DF``), else the first, among those Velox displayed if any; ``meta["images"]`` names them all (a
Velox image by its display's label, else its detector) and ``detector=`` picks another.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.io._velox_names import velox_names
from napari_ivae.core.io.calibrated import CalibratedImage, metric_length

__all__ = ["emd_contents", "images_note", "read_emd"]

_SPECTRA = ("SpectrumImage", "SpectrumStream", "Spectrum")
# a length unit as Berkeley EMD files spell it ("n_m", "[n_m]", "nm"), in metres
_LENGTHS = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "nm": 1e-9, "pm": 1e-12,
            "a": 1e-10, "å": 1e-10, "angstrom": 1e-10}  # fmt: skip


def read_emd(path, *, detector: str | None = None) -> CalibratedImage:
    """Read the image, or stack of frames, of a Velox or Berkeley ``.emd`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    detector : str, optional
        The image to read where the file holds several: a detector name of a Velox file
        (``"BF"``; case ignored) or a Berkeley EMD group's name. By default
        the first HAADF, else dark-field, else the first image.

    Returns
    -------
    CalibratedImage
        Shape ``(y, x)`` for one frame, ``(frames, y, x)`` for several (a Berkeley file's
        leading axes as stored); the image axes in ``nm`` (or ``µm``) where the file gives a
        length, else in pixels. ``meta``: ``images`` (all image names), ``image`` (the one
        read), ``format`` (``"Velox"`` or ``"Berkeley EMD"``).

    Raises
    ------
    InputError
        A missing, damaged or truncated file, one that is not HDF5, or an HDF5 file without a
        Velox or Berkeley EMD image (a spectrum only, other groups), in one line naming it.
    """
    return _open(path, detector, read=True)


def emd_contents(path, *, detector: str | None = None) -> CalibratedImage:
    """What :func:`read_emd` would read, without reading the pixels: its ``data`` is an empty
    array of the image's dtype with as many axes (``meta["shape"]``: its shape).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    detector : str, optional
        As in :func:`read_emd`.

    Returns
    -------
    CalibratedImage

    Raises
    ------
    InputError
        As :func:`read_emd`.
    """
    return _open(path, detector, read=False)


def images_note(path) -> str:
    """For a file of several images, which one is read and how to read another; else ``""``.

    Parameters
    ----------
    path : str or pathlib.Path
        An ``.emd`` file.

    Returns
    -------
    str
        E.g. ``the file holds 3 images (HAADF, BF, DF4-A); HAADF was read ...``.

    Raises
    ------
    InputError
        As :func:`read_emd`.
    """
    meta = emd_contents(path).meta
    names, chosen = meta["images"], meta["image"]
    if len(names) < 2:
        return ""
    other = next(n for n in names if n != chosen)
    return (
        f"the file holds {len(names)} images ({', '.join(names)}); {chosen} was read "
        f"(napari's File > Open shows them all; in Python read_emd(path, detector={other!r}))"
    )


def _open(path, detector: str | None, read: bool) -> CalibratedImage:
    path = Path(path)
    try:
        import h5py
    except ImportError:  # a dependency; only a broken install lacks it
        raise InputError(f"Could not read '{path.name}': reading .emd needs h5py") from None
    try:
        with h5py.File(path, "r") as handle:
            return _read(handle, detector, read)
    except InputError as err:
        raise InputError(f"Could not read EMD file '{path}': {err}") from None
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RuntimeError,
        MemoryError,
    ) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise InputError(f"Could not read EMD file '{path}': {first}") from None


def _read(handle, detector: str | None, read: bool) -> CalibratedImage:
    velox = _group(handle, "Data/Image")
    if velox is not None and len(velox):
        return _velox(velox, detector, read)
    berkeley = _berkeley_groups(handle)
    if berkeley:
        return _berkeley(berkeley, detector, read)
    spectra = [name for name in _SPECTRA if _group(handle, f"Data/{name}") is not None]
    if spectra:
        raise InputError(f"it holds spectra ({', '.join(spectra)}), no image")
    raise InputError(
        "it is HDF5 but holds no Velox image (/Data/Image) or Berkeley EMD group (emd_group_type 1)"
    )


def _group(handle, name: str):
    import h5py

    found = handle.get(name)
    return found if isinstance(found, h5py.Group) else None


def _dataset(group, name: str):
    import h5py

    found = group.get(name)
    if not isinstance(found, h5py.Dataset):
        raise InputError(f"its group {group.name} lacks the dataset '{name}'")
    return found


def _choose(
    names: list[str],
    detector: str | None,
    real: list[bool] | None = None,
    displayed: list[bool] | None = None,
) -> int:
    """The index of the image to read among ``names``; by default one whose pixels are real
    (``real``: per name) where there is one (a Velox DPC file also holds a complex image), and
    among those one Velox displayed where there is one (not a difference of two segments)."""
    if detector is not None:
        folded = [n.casefold() for n in names]
        if detector.casefold() not in folded:
            raise InputError(f"it holds no image '{detector}' (its images: {', '.join(names)})")
        return folded.index(detector.casefold())
    usable = [i for i, ok in enumerate(real or []) if ok] or list(range(len(names)))
    usable = [i for i in usable if displayed and displayed[i]] or usable
    for wanted in ("HAADF", "DF"):
        for index in usable:
            if wanted in names[index].upper():
                return index
    return usable[0]


def _velox(images, detector: str | None, read: bool) -> CalibratedImage:
    keys = [key for key in images if _group(images, key) is not None]
    if not keys:
        raise InputError("its /Data/Image holds no image group")
    groups = [images[key] for key in keys]
    metas = [_velox_metadata(group) for group in groups]
    names, displayed = velox_names(images.file, keys, metas)
    chosen = _choose(names, detector, [_is_real(g.get("Data")) for g in groups], displayed)
    data = _dataset(groups[chosen], "Data")
    if data.ndim not in (2, 3) or min(data.shape) < 1:
        raise InputError(
            f"its image {names[chosen]} has the shape {data.shape}, not (y, x, frames)"
        )
    _check_dtype(data)
    frames = data.shape[2] if data.ndim == 3 else 1
    shape = data.shape[:2] if frames == 1 else (frames, *data.shape[:2])
    if not read:
        pixels = np.empty((0,) * len(shape), data.dtype)
    elif data.ndim == 2:
        pixels = data[()]
    elif frames == 1:
        pixels = data[:, :, 0]
    else:
        pixels = np.ascontiguousarray(np.moveaxis(data[()], -1, 0))
    pixels = pixels.astype(pixels.dtype.newbyteorder("="), copy=False)
    result = metas[chosen]
    scale, units = _velox_scale(result)
    meta = {"format": "Velox", "images": names, "image": names[chosen], "binary_result": result}
    meta["shape"] = shape
    return CalibratedImage.of_plane(pixels, scale, (0.0, 0.0), units, "Velox EMD", meta)


def _velox_metadata(group) -> dict:
    """The ``BinaryResult`` of a Velox image's first frame ({} where there is none)."""
    import h5py

    found = group.get("Metadata")
    if (
        not isinstance(found, h5py.Dataset)
        or found.ndim not in (1, 2)
        or found.dtype.kind not in "uiS"
    ):
        return {}
    column = found[:, 0] if found.ndim == 2 else found[()]
    text = np.asarray(column).astype("u1").tobytes().split(b"\0", 1)[0]
    try:
        parsed = json.loads(text.decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    result = parsed.get("BinaryResult") if isinstance(parsed, dict) else None
    return result if isinstance(result, dict) else {}


def _velox_scale(result: dict) -> tuple[tuple, tuple]:
    """Scale and unit of ``(y, x)`` from a ``BinaryResult``: nm or µm for a size in metres."""
    size = result.get("PixelSize")
    if not isinstance(size, dict):
        return (1.0, 1.0), ("", "")
    axes = (
        (size.get("height"), result.get("PixelUnitY")),
        (size.get("width"), result.get("PixelUnitX")),
    )
    metres = [_number(value) * _LENGTHS.get(_unit(unit), math.nan) for value, unit in axes]
    return _lengths(metres)


def _lengths(metres: list[float]) -> tuple[tuple, tuple]:
    """Per axis in metres -> scale and unit (nm, or µm from a µm); pixels unless both are
    lengths between 0 and 1 mm."""
    if not all(0 < m < 1e-3 for m in metres):  # NaN (no length unit) fails too
        return (1.0, 1.0), ("", "")
    unit = metric_length(metres[-1])[1]
    factor = 1e9 if unit == "nm" else 1e6
    return tuple(float(f"{m * factor:.10g}") for m in metres), (unit, unit)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _unit(value: Any) -> str:
    """A unit text folded: ``"[n_m]"`` -> ``"nm"``, bytes decoded, case kept for ``µ``."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _unit(value.reshape(-1)[0])
    if not isinstance(value, str):
        return ""
    text = value.strip().strip("[]").replace("_", "").strip()
    return text if text in ("µm", "μm") else text.lower()


def _is_real(data) -> bool:
    try:
        _check_dtype(data)
    except (InputError, AttributeError):
        return False
    return True


def _check_dtype(data) -> None:
    fields = data.dtype.fields or {}
    if data.dtype.kind == "c" or (
        len(fields) == 2 and all(f[0].kind == "f" for f in fields.values())
    ):
        # Velox stores a complex image (an FFT, a DPC vector image) as (real, imaginary) pairs
        raise InputError("its pixels are complex (an FFT or a DPC image), not integers or reals")
    if data.dtype.kind not in "uifb":
        raise InputError(f"its pixels are of type {data.dtype} (not integers or reals)")


def _berkeley_groups(handle) -> dict:
    """The Berkeley EMD groups (``emd_group_type`` 1) anywhere in the file, by name: the
    group's own name, its path where two share one (``/data/<name>`` as the description
    has it; HyperSpy writes ``/signals/<name>``, Prismatic ``/4DSTEM_simulation/data/...``)."""
    import h5py

    found: list = []

    def visit(name: str, item) -> None:
        typed = isinstance(item, h5py.Group) and "emd_group_type" in item.attrs
        if typed and _number(_scalar(item.attrs.get("emd_group_type"))) == 1:
            found.append((name, item))

    handle.visititems(visit)
    short = [name.rsplit("/", 1)[-1] for name, _ in found]
    return {
        (own if short.count(own) == 1 else name): group for own, (name, group) in zip(short, found)
    }


def _scalar(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(-1)[0]
    return value


def _berkeley(groups: dict, detector: str | None, read: bool) -> CalibratedImage:
    names = list(groups)
    chosen = names[_choose(names, detector) if detector is not None else 0]
    group = groups[chosen]
    data = _dataset(group, _berkeley_data_name(group))
    if data.ndim < 2 or min(data.shape) < 1:
        raise InputError(f"its data {chosen} has the shape {data.shape}, not an image")
    _check_dtype(data)
    axes = [_berkeley_axis(group, number) for number in range(1, data.ndim + 1)]
    plane = _berkeley_plane([step * _LENGTHS.get(unit, math.nan) for step, _, unit in axes])
    pixels = data[()] if read else np.empty((0,) * data.ndim, data.dtype)
    pixels = np.moveaxis(pixels, plane, (-2, -1))  # a view; the plane as stored where it is last
    pixels = pixels.astype(pixels.dtype.newbyteorder("="), copy=False)
    metres = [axes[a][0] * _LENGTHS.get(axes[a][2], math.nan) for a in plane]
    scale, units = _lengths(metres)
    plane_origin = tuple(axes[a][1] for a in plane) if units[0] else (0.0, 0.0)
    shape = tuple(n for a, n in enumerate(data.shape) if a not in plane)
    shape += tuple(data.shape[a] for a in plane)
    meta = {"format": "Berkeley EMD", "images": names, "image": chosen, "shape": shape}
    return CalibratedImage.of_plane(pixels, scale, plane_origin, units, "Berkeley EMD", meta)


def _berkeley_data_name(group) -> str:
    """``data``; where there is none, the group's one dataset that is no ``dim<N>`` vector
    (Prismatic's ``realslice``, ``datacube``)."""
    import h5py

    others = [k for k in group if isinstance(group.get(k), h5py.Dataset)]
    others = [k for k in others if not re.fullmatch(r"dim\d+", k)]
    return others[0] if "data" not in group and len(others) == 1 else "data"


def _berkeley_plane(metres: list[float]) -> tuple[int, int]:
    """The image plane's two axes: the last two, unless they are not both lengths and two
    others are (a Prismatic slice ``(R_x, R_y, detector bins)``: its first two)."""
    lengths = [axis for axis, m in enumerate(metres) if 0 < m < 1e-3]
    last = (len(metres) - 2, len(metres) - 1)
    if set(last) <= set(lengths) or len(lengths) < 2:
        return last
    return lengths[-2], lengths[-1]


def _berkeley_axis(group, number: int) -> tuple[float, float, str]:
    """Step, pixel index of the zero, and folded unit of the dimension vector ``dim<number>``
    (NaN step where it is missing or holds fewer than two values)."""
    import h5py

    vector = group.get(f"dim{number}")
    if not isinstance(vector, h5py.Dataset) or vector.ndim != 1 or vector.shape[0] < 2:
        return math.nan, 0.0, ""
    if vector.dtype.kind not in "uif":
        return math.nan, 0.0, ""
    first, second = (float(v) for v in vector[:2])
    step = second - first
    zero = -first / step + 0.0 if step else 0.0  # + 0.0: no -0.0
    return step, zero, _unit(vector.attrs.get("units"))
