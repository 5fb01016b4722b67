"""The pixel size a TIFF file states, read with tifffile from the first calibration found of:

* FEI / Thermo Fisher SEM, FIB and TEM (tags 34680/34682): ``[Scan]`` (else ``[EScan]``)
  ``PixelWidth`` / ``PixelHeight`` in metres;
* Zeiss SEM (tag 34118): ``AP_PIXEL_SIZE`` (else ``AP_IMAGE_PIXEL_SIZE``) with its unit, the
  pixel of the scan raster: times raster / saved columns where ``AP_WIDTH`` spans more
  (or fewer) such pixels than the image has columns;
* OME-TIFF: the first ``Pixels`` element's ``PhysicalSizeX/Y`` (unit ``µm`` unless stated);
* ImageJ: ``1 / XResolution`` in the description's ``unit`` (``nm``, ``micron``, ``\\u00B5m``...);
* Gatan DigitalMicrograph: private tags 65003/65004 (units) and 65009/65010 (scales);
* plain ``XResolution`` / ``YResolution`` with a ``ResolutionUnit`` of length.

A picture editor or a scanner also writes resolution tags (72, 300, 9600 dots per inch): such a
size is not a calibration. Sizes from ImageJ's inch/cm units and from plain tags are therefore
kept only under :data:`PICTURE_LIMIT_UM` (2.5 µm, more than 10 000 dots per inch, beyond any
scanner or printer); a vendor's or OME's size, or ImageJ's in a microscope unit, always is.
"""

from __future__ import annotations

import math
import re

from napari_ivae.core.errors import InputError
from napari_ivae.core.io.calibrated import metric_length

__all__ = ["PICTURE_LIMIT_UM", "tiff_pixel_size"]

PICTURE_LIMIT_UM = 2.5
# a unit as vendors and ImageJ spell it -> ours
_UNITS = {
    "pm": "pm",
    "a": "Å",
    "å": "Å",
    "angstrom": "Å",
    "nm": "nm",
    "nanometer": "nm",
    "µm": "µm",
    "μm": "µm",
    "um": "µm",
    "micron": "µm",
    "microns": "µm",
    "micrometer": "µm",
    "mm": "mm",
}
# lengths that are not a microscope's (a picture's inch): converted, then held to the limit
_FAR_UNITS = {"cm": 1e4, "inch": 25400.0, "in": 25400.0, "m": 1e6}
_METRES = {"pm": 1e-12, "Å": 1e-10, "nm": 1e-9, "µm": 1e-6, "mm": 1e-3}
_RESUNIT_UM = {2: 25400.0, 3: 1e4, 4: 1e3, 5: 1.0}  # TIFF ResolutionUnit (4, 5: tifffile's)


def tiff_pixel_size(path) -> tuple[float, str] | None:
    """``(size, unit)`` of a pixel as the TIFF file states it, e.g. ``(2.5, "nm")``.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.tif``/``.tiff`` file.

    Returns
    -------
    tuple of (float, str) or None
        The unit is one of ``pm``, ``Å``, ``nm``, ``µm``, ``mm``; ``None`` where the file states
        no calibration, states one that is not square, or only a picture's dots per inch.

    Raises
    ------
    InputError
        The file cannot be opened as a TIFF (one line).
    """
    import tifffile

    try:
        tiff = tifffile.TiffFile(path)
    except Exception as err:  # noqa: BLE001 - tifffile raises many kinds on a foreign file
        raise InputError(f"Could not read image '{path}': {err}".splitlines()[0]) from err
    with tiff:
        for source in (_fei, _zeiss, _ome, _imagej, _gatan, _tags):
            try:
                found = source(tiff)
            except Exception:  # noqa: BLE001 - damaged metadata is no calibration, not an error
                found = None
            if found is not None:
                return found
    return None


def _fei(tiff) -> tuple[float, str] | None:
    meta = tiff.fei_metadata or {}
    for section in ("Scan", "EScan"):
        part = meta.get(section) or {}
        width, height = part.get("PixelWidth"), part.get("PixelHeight", part.get("PixelWidth"))
        if width is not None:
            (sx, unit), (sy, _) = (metric_length(_number(v)) for v in (width, height))
            return _square(sx, sy, unit)
    return None


def _zeiss(tiff) -> tuple[float, str] | None:
    meta = tiff.sem_metadata or {}
    for key in ("ap_pixel_size", "ap_image_pixel_size"):
        entry = meta.get(key)
        if isinstance(entry, tuple) and len(entry) == 3:
            size, unit = _spelled(_number(entry[1]), str(entry[2]))
            size *= _zeiss_reduced(meta, size, unit, tiff.pages.first.imagewidth)
            return _square(size, size, unit)
    return None


def _zeiss_reduced(meta: dict, size: float, unit: str, columns: int) -> float:
    """How many times larger a pixel of the saved image is than the stated ``size``: Zeiss
    states the pixel of its scan raster (``AP_WIDTH`` over 1024 pixels) also for an image
    saved with fewer columns (a real 512-column file: 5.825 nm stated, 5.965 µm wide).
    1 where the file gives no width or its width is ``columns`` stated pixels."""
    entry = meta.get("ap_width")
    if not (isinstance(entry, tuple) and len(entry) == 3 and unit in _METRES):
        return 1.0
    width, width_unit = _spelled(_number(entry[1]), str(entry[2]))
    if width_unit not in _METRES or not (width > 0 and size > 0):
        return 1.0
    raster = width * _METRES[width_unit] / (size * _METRES[unit])
    stated = round(raster)
    if stated < 1 or abs(raster - stated) > 0.01 * stated or stated == columns:
        return 1.0  # a width and a size that do not make whole pixels: the size as stated
    return stated / columns


def _ome(tiff) -> tuple[float, str] | None:
    text = tiff.ome_metadata
    if not text:
        return None
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(text)
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None or "PhysicalSizeX" not in pixels.attrib:
        return None
    sizes = []
    for axis in "XY":
        value = pixels.get(f"PhysicalSize{axis}", pixels.get("PhysicalSizeX"))
        unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")
        sizes.append(_spelled(_number(value), unit))
    (sx, ux), (sy, uy) = sizes
    return _square(sx, sy, ux) if ux == uy else None


def _imagej(tiff) -> tuple[float, str] | None:
    meta = tiff.imagej_metadata or {}
    unit = _unescape(str(meta.get("unit", ""))).strip().lower()
    if not unit or unit in ("pixel", "pixels"):
        return None
    px, py = tiff.pages.first.resolution  # pixels per unit
    if unit in _FAR_UNITS:
        return _picture_checked(_FAR_UNITS[unit] / px, _FAR_UNITS[unit] / py)
    sx, ux = _spelled(1.0 / px, unit)
    sy, _ = _spelled(1.0 / py, unit)
    return _square(sx, sy, ux)


def _gatan(tiff) -> tuple[float, str] | None:
    """A TIFF saved by DigitalMicrograph: its private tags 65003/65004 (the unit of x, of y)
    and 65009/65010 (the scale of x, of y); both units a length, the pixel square."""
    tags = tiff.pages.first.tags
    if not all(code in tags for code in (65003, 65004, 65009, 65010)):
        return None
    (sx, ux), (sy, uy) = (
        _spelled(_number(tags[scale].value), str(tags[unit].value))
        for unit, scale in ((65003, 65009), (65004, 65010))
    )
    return _square(sx, sy, ux) if ux == uy else None


def _tags(tiff) -> tuple[float, str] | None:
    page = tiff.pages.first
    if 282 not in page.tags or page.resolutionunit not in _RESUNIT_UM:
        return None
    um = _RESUNIT_UM[page.resolutionunit]
    px, py = page.resolution
    return _picture_checked(um / px, um / py)


def _picture_checked(sx_um: float, sy_um: float) -> tuple[float, str] | None:
    """A size from a length that pictures use too: kept only where no picture could state it."""
    if not (0 < sx_um < PICTURE_LIMIT_UM and 0 < sy_um < PICTURE_LIMIT_UM):
        return None
    return _square(sx_um, sy_um, "µm")


def _square(sx: float, sy: float, unit: str) -> tuple[float, str] | None:
    """``(size, unit)`` for a positive, finite, square pixel, rounded to 10 significant digits
    (a size converted from inches or metres: 0.1 µm, not 0.09999999999999999)."""
    if not (unit and math.isfinite(sx) and sx > 0 and math.isclose(sx, sy, rel_tol=1e-6)):
        return None
    return float(f"{sx:.10g}"), unit


def _spelled(size: float, unit: str) -> tuple[float, str]:
    """``(size, unit as we spell it)`` for a microscope ``unit``; ``(nan, "")`` for another."""
    key = _unescape(unit).strip().lower()
    if key in _UNITS:
        return size, _UNITS[key]
    return math.nan, ""


def _number(value) -> float:
    return float(str(value).strip())


def _unescape(text: str) -> str:
    """ImageJ writes non-ASCII units escaped: ``\\u00B5m`` -> ``µm``."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
