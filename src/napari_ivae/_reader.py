"""napari reader for Gatan DigitalMicrograph ``.dm3`` / ``.dm4``, MRC, FEI TIA ``.ser``,
Thermo Fisher Velox / Berkeley ``.emd``, Nanonis ``.sxm`` and Gwyddion ``.gwy`` files, with their
calibration.
(TIFF files are left to napari's own reader: the plugin does not claim them; ``napari-ivae
detect`` states a TIFF's pixel size.)

The file is parsed by :mod:`napari_ivae.core.io.calibrated` and its pixels mapped from disk
(read when drawn; an ``.emd`` file's are read, and each of its images is a layer). A calibrated
image opens with its pixel size as the layer's ``scale`` and its unit as ``units``, so napari's
scale bar and cursor read in nm; the plugin's results copy both and stay on top of it (their
tables are in pixels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari_ivae.core.io.calibrated import CALIBRATED_SUFFIXES

__all__ = ["get_reader", "read_layers"]


def get_reader(path: Any):
    """The reader of ``path`` (one ``.dm3``/``.dm4``/MRC/``.ser``/``.emd``/``.sxm``/``.gwy`` file,
    or a list of them), else ``None``."""
    paths = path if isinstance(path, (list, tuple)) else [path]
    if paths and all(str(p).lower().endswith(CALIBRATED_SUFFIXES) for p in paths):
        return read_layers
    return None


def read_layers(path: Any) -> list[tuple]:
    """One image layer per file (per image of an ``.emd`` file of several, the one
    :func:`napari_ivae.core.io.emd.read_emd` reads by default on top): ``(data, {"name",
    "scale", "translate", "units", "metadata"}, "image")``.

    Parameters
    ----------
    path : str, pathlib.Path or list of them
        ``.dm3``/``.dm4``, MRC (``.mrc``, ``.mrcs``, ``.map``, ``.st``), TIA ``.ser``,
        ``.emd``, Nanonis ``.sxm`` (its Z forward topograph) or Gwyddion ``.gwy`` (its
        lowest-numbered channel) files.

    Returns
    -------
    list of tuple
        napari's layer data tuples.
    """
    from napari_ivae.core.io.calibrated import read_calibrated

    paths = path if isinstance(path, (list, tuple)) else [path]
    layers = []
    for one in paths:
        first = read_calibrated(one, mmap=True)
        images = [(first, Path(one).stem)]
        names = first.meta.get("images", []) if str(one).lower().endswith(".emd") else []
        if len(names) > 1:
            chosen = first.meta["image"]
            others = [(_readable(one, n), n) for n in names if n != chosen]
            images = [(im, f"{Path(one).stem} {name}") for im, name in others if im is not None]
            images.append((first, f"{Path(one).stem} {chosen}"))
        for image, name in images:
            layers.append(_layer(image, name, one))
    return layers


def _readable(path, name: str):
    """The ``.emd`` file's image ``name``; ``None`` where it is none that can be shown (a
    Velox DPC file's complex image beside its real ones; a spectrum beside an image)."""
    from napari_ivae.core.errors import InputError
    from napari_ivae.core.io.emd import read_emd

    try:
        return read_emd(path, detector=name)
    except InputError:
        return None


def _layer(image, name: str, source) -> tuple:
    scale, translate, units = _calibration(image)
    meta = {"source_file": str(source), "file_format": image.kind}
    if image.pixel_size is not None:
        meta["pixel_size"], meta["pixel_unit"] = image.pixel_size
    kwargs = {"name": name, "metadata": meta}
    if any(u != "pixel" for u in units):
        kwargs.update(scale=scale, translate=translate, units=units)
    return image.data, kwargs, "image"


def _calibration(image) -> tuple[tuple, tuple, tuple]:
    """Scale, translate and units per axis: an axis keeps its calibration when its unit is one
    napari knows; the image plane only when both of its axes have one unit (else pixels)."""
    ndim = image.data.ndim
    scale, translate, units = [1.0] * ndim, [0.0] * ndim, ["pixel"] * ndim
    for axis in range(ndim):
        unit = _known_unit(image.units[axis])
        if unit and image.scale[axis] > 0:
            scale[axis], units[axis] = image.scale[axis], unit
            translate[axis] = -image.origin[axis] * image.scale[axis]
    plane = slice(ndim - 2, ndim)
    if units[-1] != units[-2] or "pixel" in units[plane]:
        scale[plane], translate[plane], units[plane] = [1.0] * 2, [0.0] * 2, ["pixel"] * 2
    return tuple(scale), tuple(translate), tuple(units)


def _known_unit(text: str) -> str:
    """``text`` when pint (napari's units) reads it as a unit, else ``""``."""
    if not text:
        return ""
    try:
        import pint

        pint.get_application_registry().Unit(text)
    except Exception:  # noqa: BLE001 - pint's parser raises anything ("1/": AssertionError)
        # an unknown unit name: the axis stays in pixels
        return ""
    return text
