"""Read the images of an FEI TIA series file (``.ser``, older FEI/Thermo Fisher TEMs) and their
pixel size.

Written from the public "TIA Series File format" description (numpy only). The file is
little-endian. Its header: ``ByteOrder`` (i2, 0x4949), ``SeriesID`` (i2, 0x0197),
``SeriesVersion`` (i2, 0x0210 or 0x0220), ``DataTypeID`` (i4, 0x4122 for 2D images, 0x4120
for 1D spectra), ``TagTypeID`` (i4), ``TotalNumberElements`` and ``ValidNumberElements`` (i4),
``OffsetArrayOffset`` (i4 in version 0x0210, i8 in 0x0220), ``NumberDimensions`` (i4). At
``OffsetArrayOffset`` the offset of each element's data (i4 or i8 as above). Each 2D element:
``CalibrationOffsetX`` (f8), ``CalibrationDeltaX`` (f8, metres per pixel),
``CalibrationElementX`` (i4), the same three for Y, ``DataType`` (i2), ``ArraySizeX`` and
``ArraySizeY`` (i4), then the pixels, x fastest. Several elements make a stack. Every offset
and count is checked against the file's size; a damaged file is refused in one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_ivae.core.io.calibrated import CalibratedImage, metric_length, read_headed

__all__ = ["read_ser"]

_HEAD = 34  # the header up to NumberDimensions in version 0x0220 (30 in 0x0210)
_SERIES_ID, _VERSIONS = 0x0197, (0x0210, 0x0220)
_IMAGE, _SPECTRUM = 0x4122, 0x4120
_TYPES = {1: "u1", 2: "u2", 3: "u4", 4: "i1", 5: "i2", 6: "i4", 7: "f4", 8: "f8"}
_ELEMENT = np.dtype(
    [
        ("offset_x", "<f8"), ("delta_x", "<f8"), ("element_x", "<i4"),
        ("offset_y", "<f8"), ("delta_y", "<f8"), ("element_y", "<i4"),
        ("data_type", "<i2"), ("size_x", "<i4"), ("size_y", "<i4"),
    ]
)  # fmt: skip
# a real-space step is under a mm; TIA's diffraction patterns are calibrated in 1/m (1e7 and up)
_METRES_BELOW = 1e-3


def read_ser(path, *, mmap: bool = False) -> CalibratedImage:
    """Read the image, or the stack of images, of a TIA ``.ser`` file with its pixel size.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    mmap : bool
        Map the pixels into memory (read-only) instead of reading them. A stack whose images
        are not evenly spaced in the file is read whatever ``mmap`` says.

    Returns
    -------
    CalibratedImage
        Shape ``(y, x)`` for one element, ``(elements, y, x)`` for a series; the image axes in
        ``nm`` (or ``µm``) where the file gives a real-space step, else in pixels.

    Raises
    ------
    InputError
        A missing, damaged, truncated or unsupported file (a series of spectra), in one line
        naming it.
    """
    return read_headed(
        path, _HEAD, "TIA series file", lambda found, head, size: _read(found, head, size, mmap)
    )


def _read(path: Path, head: bytes, size: int, mmap: bool) -> CalibratedImage:
    if size == 0:
        raise ValueError("the file is empty (0 bytes)")
    if len(head) < 30:
        raise ValueError(f"it is truncated ({size} bytes, under a header)")
    order, series, version = (int(v) for v in np.frombuffer(head[:6], "<u2"))
    if order != 0x4949 or series != _SERIES_ID:
        raise ValueError("it is not a TIA series file (its header lacks 0x4949 0x0197)")
    if version not in _VERSIONS:
        raise ValueError(f"its version 0x{version:04x} is not 0x0210 or 0x0220")
    data_type, tag_type, total, valid = (int(v) for v in np.frombuffer(head[6:22], "<i4"))
    if data_type == _SPECTRUM:
        raise ValueError("it holds 1D spectra, not images")
    if data_type != _IMAGE:
        raise ValueError(f"its data type 0x{data_type & 0xFFFFFFFF:04x} is not a TIA image")
    wide = version == 0x0220
    if wide and len(head) < _HEAD:
        raise ValueError(f"it is truncated ({size} bytes, under a header)")
    index = int(np.frombuffer(head[22 : 30 if wide else 26], "<i8" if wide else "<i4")[0])
    if valid > total:
        raise ValueError(f"its header is damaged ({valid} of {total} elements valid)")
    if valid <= 0:
        raise ValueError(f"it holds no image ({valid} of {total} elements valid)")
    step = 8 if wide else 4
    if index < 0 or index + valid * step > size:
        raise ValueError(f"it is truncated ({size} bytes; its offset array ends past that)")
    raw = np.memmap(path, dtype="u1", mode="r")
    offsets = raw[index : index + valid * step].view("<i8" if wide else "<i4").astype(np.int64)
    if offsets.min() < 0 or offsets.max() + _ELEMENT.itemsize > size:
        raise ValueError(f"it is truncated ({size} bytes; an element starts past that)")
    gaps = np.diff(offsets)
    even = not len(gaps) or (gaps.min() == gaps.max() and gaps[0] > 0)
    if even:  # the usual layout: a view, whatever the number of elements
        strides = (int(gaps[0]) if len(gaps) else 0,)
        heads = np.ndarray((valid,), _ELEMENT, raw, int(offsets[0]), strides)
    else:
        heads = np.stack([raw[o : o + _ELEMENT.itemsize].view(_ELEMENT)[0] for o in offsets])
    first = heads[0]
    kinds = ("data_type", "size_x", "size_y")
    if any((heads[k] != first[k]).any() for k in kinds):
        raise ValueError(f"its {len(heads)} images differ in size or data type")
    code, nx, ny = (int(first[k]) for k in kinds)
    if code not in _TYPES:
        raise ValueError(f"its data type {code} is not read (1-8: integers and reals)")
    if nx <= 0 or ny <= 0:
        raise ValueError(f"it gives a zero or negative image size ({nx} x {ny})")
    dtype = np.dtype(_TYPES[code]).newbyteorder("<")
    nbytes = nx * ny * dtype.itemsize
    starts = offsets + _ELEMENT.itemsize
    if int(starts.max()) + nbytes > size:
        raise ValueError(f"it is truncated ({size} bytes; an image ends past that)")
    pixels = _pixels(raw, starts, dtype, (ny, nx), mmap and even)
    scale, origin, units = _calibration(first, ny)
    meta = {
        "version": version,
        "tag_type": tag_type,
        "elements": valid,
        "total_elements": total,
    }
    return CalibratedImage.of_plane(
        pixels,
        scale,
        origin,
        units,
        "TIA SER",
        meta,
    )


def _pixels(raw: np.memmap, starts: np.ndarray, dtype: np.dtype, shape, mmap: bool):
    """The images, top row first (TIA stores an image's bottom row first): with ``mmap`` a
    view of the mapped file (the images evenly spaced in it), else a copy in native order."""
    item = dtype.itemsize
    if mmap:
        strides = (int(starts[1] - starts[0]) if len(starts) > 1 else 0, shape[1] * item, item)
        view = np.ndarray((len(starts), *shape), dtype, raw, int(starts[0]), strides)
        return view[:, ::-1] if len(starts) > 1 else view[0, ::-1]
    count = shape[0] * shape[1] * item
    out = np.empty((len(starts), *shape), dtype.newbyteorder("="))
    for frame, start in zip(out, starts):
        frame[...] = raw[start : start + count].view(dtype).reshape(shape)[::-1]
    return out if len(starts) > 1 else out[0]


def _calibration(element, rows: int) -> tuple[tuple, tuple, tuple]:
    """Scale, origin (pixel index of the zero, rows counted from the top) and unit of
    ``(y, x)``: in nm or µm where both steps are real-space lengths (metres), else pixels."""
    deltas = float(element["delta_y"]), float(element["delta_x"])
    if not all(0 < d < _METRES_BELOW for d in deltas):
        return (1.0, 1.0), (0.0, 0.0), ("", "")
    unit = metric_length(deltas[1])[1]
    factor = 1e9 if unit == "nm" else 1e6
    scale = tuple(float(f"{d * factor:.10g}") for d in deltas)
    # the value at stored pixel i is offset + (i - element) * delta; rows are stored bottom first
    y0, x0 = (
        float(element[f"element_{a}"]) - float(element[f"offset_{a}"]) / d
        for a, d in zip("yx", deltas)
    )
    return scale, (rows - 1 - y0, x0), (unit, unit)
