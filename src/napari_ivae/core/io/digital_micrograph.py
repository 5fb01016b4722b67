"""Read Gatan DigitalMicrograph ``.dm3`` / ``.dm4`` images and their pixel calibration.

Written from the public description of the format (C. Boothroyd's "DM3/DM4 file format"
notes), numpy and the standard library only. A file is a big-endian header (version 3 or 4,
the file length in 4 or 8 bytes, a flag for the byte order of the data) followed by a tree of
tags: a *group* holds further tags, a *data* tag holds one value, string, struct or array
described by a big-endian list of type codes and stored in the file's byte order. The image is
the largest entry of the root's ``ImageList`` (entry 0 is usually a small thumbnail):
``ImageData/Data`` (the pixels), ``DataType``, ``Dimensions`` (x first) and
``Calibrations/Dimension`` (``Scale``, ``Origin``, ``Units`` per axis, x first). A complex
image (``DataType`` 3 or 13) stores its pixels as an array of (real, imaginary) structs: it
is read as complex (detection then asks for its magnitude).

Every length read is checked against the file size, so a damaged file is refused in one line
(:class:`~napari_ivae.core.errors.InputError`) instead of a traceback or a hang.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.io.calibrated import DM_SUFFIXES, CalibratedImage

__all__ = ["DM_SUFFIXES", "read_dm"]

# tag value type codes -> numpy type (the file's byte order is added when read)
_SIMPLE = {2: "i2", 3: "i4", 4: "u2", 5: "u4", 6: "f4", 7: "f8", 8: "u1", 9: "i1", 10: "u1"}
_SIMPLE.update({11: "i8", 12: "u8"})
_STRUCT, _STRING, _ARRAY = 15, 18, 20
# ImageData/DataType -> numpy type of a pixel
_PIXEL = {1: "i2", 2: "f4", 3: "c8", 6: "u1", 7: "i4", 9: "i1", 10: "u2", 11: "u4"}
_PIXEL.update({12: "f8", 13: "c16", 14: "u1", 39: "i8", 40: "u8"})
_COLOUR = {8: "RGB (4 bytes a pixel)", 23: "RGB (4 bytes a pixel)", 4: "packed complex"}
_COLOUR.update({5: "packed complex"})
_MAX_DEPTH = 64  # nested groups; real files use about ten
_Order = Literal["<", ">"]
_SMALL = 4096  # arrays of up to this many elements are read (units, names); larger: located


class _Bad(Exception):
    """A damaged or unsupported file (turned into an InputError naming the file)."""


class _Unsupported(_Bad):
    """A tag of a type this reader does not know (a DM4 file's is stepped over by its size)."""


@dataclass(frozen=True)
class _Located:
    """A large array left in the file: where it starts, its element type and count."""

    offset: int
    dtype: np.dtype
    count: int


class _Reader:
    """Walk the tag tree of an open DM file, bounded by the file's size."""

    def __init__(self, stream: BinaryIO, size: int, version: int, order: _Order):
        self.stream, self.size, self.version, self.order = stream, size, version, order
        self.wide = ">q" if version == 4 else ">i"  # counts and lengths: 8 or 4 bytes
        self.wide_size = 8 if version == 4 else 4

    def take(self, n: int) -> bytes:
        if n < 0 or self.stream.tell() + n > self.size:
            raise _Bad("it is truncated (a tag runs past the end of the file)")
        data = self.stream.read(n)
        if len(data) != n:
            raise _Bad("it is truncated")
        return data

    def count(self) -> int:
        value = struct.unpack(self.wide, self.take(self.wide_size))[0]
        if value < 0 or value > self.size:
            raise _Bad(f"a tag gives an impossible length ({value})")
        return int(value)

    def group(self, depth: int) -> dict:
        if depth > _MAX_DEPTH:
            raise _Bad("its tags are nested too deeply")
        self.take(2)  # sorted, open
        entries: dict = {}
        for index in range(self.count()):
            kind, length = struct.unpack(">bH", self.take(3))
            label = self.take(length).decode("latin-1") or str(index)
            size = self.count() if self.version == 4 else 0  # the tag's bytes (DM4 only)
            start = self.stream.tell()
            if kind == 20:
                entries[label] = self.group(depth + 1)
            elif kind == 21:
                try:
                    entries[label] = self.data_tag()
                except _Unsupported:
                    if self.version == 3:  # no size to step over it by
                        raise
                    self.stream.seek(start)
                    self.skip(size)
            elif kind == 0:  # end of the tags
                break
            else:
                shown = "".join(c if c.isprintable() else "?" for c in label[:40])
                raise _Bad(f"tag '{shown}' has an unknown kind {kind}")
        return entries

    def data_tag(self) -> Any:
        if self.take(4) != b"%%%%":
            raise _Bad("a data tag lacks its '%%%%' mark")
        n = self.count()
        if n == 0 or n * self.wide_size > self.size:
            raise _Bad("a data tag has no type")
        info = [self.count() for _ in range(n)]
        return self.value(info)

    def simple(self, code: int) -> np.dtype:
        if code not in _SIMPLE:
            raise _Unsupported(f"a tag has an unsupported value type {code}")
        return np.dtype(_SIMPLE[code]).newbyteorder(self.order)

    def fields(self, info: list, start: int) -> list[np.dtype]:
        """The field types of a struct whose field count is ``info[start]``."""
        n = info[start]
        codes = info[start + 2 : start + 2 + 2 * n : 2]
        if len(codes) != n:
            raise _Bad("a struct tag is incomplete")
        return [self.simple(c) for c in codes]

    def value(self, info: list) -> Any:
        code = info[0]
        if code in _SIMPLE:
            number = self.read_array(self.simple(code), 1)[0]
            # a float32 as its shortest decimal: a scale of 0.1 nm, not 0.10000000149
            return float(str(number)) if code == 6 else number.item()
        if code == _STRING and len(info) >= 2:
            return self.take(2 * info[1]).decode(f"utf-16-{'le' if self.order == '<' else 'be'}")
        if code == _STRUCT and len(info) >= 3:
            return tuple(self.read_array(t, 1)[0].item() for t in self.fields(info, 2))
        if code == _ARRAY and len(info) >= 3:
            if info[1] == _STRUCT:
                if len(info) < 5:
                    raise _Bad("an array tag is incomplete")
                fields = self.fields(info, 3)
                if len(fields) == 2 and fields[0] == fields[1] and fields[0].kind == "f":
                    # a complex image's pixels: (real, imaginary) pairs of floats
                    pair = np.dtype(f"c{2 * fields[0].itemsize}").newbyteorder(self.order)
                    located = _Located(self.stream.tell(), pair, info[-1])
                    self.skip(pair.itemsize * info[-1])
                    return located
                self.skip(sum(t.itemsize for t in fields) * info[-1])
                return None  # other arrays of structs are metadata the image does not need
            element = self.simple(info[1])
            count = info[2]
            if count <= _SMALL:
                return self.read_array(element, count)
            located = _Located(self.stream.tell(), element, count)
            self.skip(element.itemsize * count)
            return located
        raise _Unsupported(f"a tag has an unsupported type {info[:3]}")

    def read_array(self, dtype: np.dtype, count: int) -> np.ndarray:
        return np.frombuffer(self.take(dtype.itemsize * count), dtype=dtype)

    def skip(self, n: int) -> None:
        if n < 0 or self.stream.tell() + n > self.size:
            raise _Bad("it is truncated (an array runs past the end of the file)")
        self.stream.seek(n, 1)


def read_dm(path, *, mmap: bool = False) -> CalibratedImage:
    """Read the image of a ``.dm3`` or ``.dm4`` file with its calibration.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    mmap : bool
        Map the pixels into memory (read-only, in the file's byte order) instead of reading them.

    Returns
    -------
    CalibratedImage
        The largest image of the file's ``ImageList``, shape ``(..., y, x)``, and its scale,
        origin and units per axis.

    Raises
    ------
    InputError
        A missing, damaged, truncated or unsupported file, in one line naming it.
    """
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            size = stream.seek(0, 2)
            stream.seek(0)
            tags, version, order = _read_tags(stream, size)
        return _image(path, tags, version, order, size, mmap)
    except _Bad as err:
        raise InputError(f"Could not read DigitalMicrograph file '{path}': {err}") from None
    except OSError as err:
        raise InputError(f"Could not read image '{path}': {err.strerror or err}") from err


def _read_tags(stream: BinaryIO, size: int) -> tuple[dict, int, _Order]:
    if size == 0:
        raise _Bad("the file is empty (0 bytes)")
    head = stream.read(4)
    version = struct.unpack(">i", head)[0] if len(head) == 4 else None
    if version not in (3, 4):
        raise _Bad("it is not a DM3/DM4 file (it does not start as one)")
    reader = _Reader(stream, size, version, ">")
    reader.take(reader.wide_size)  # the file length: some writers give it wrong, not used
    flag = struct.unpack(">i", reader.take(4))[0]
    if flag not in (0, 1):
        raise _Bad(f"its byte-order flag is {flag}, not 0 or 1")
    reader.order = "<" if flag == 1 else ">"
    return reader.group(0), version, reader.order


def _image(
    path: Path, tags: dict, version: int, order: _Order, size: int, mmap: bool
) -> CalibratedImage:
    entries = tags.get("ImageList")
    images = [e["ImageData"] for e in (entries or {}).values() if "ImageData" in e]
    images = [e for e in images if isinstance(e, dict) and "Data" in e and "Dimensions" in e]
    if not images:
        raise _Bad("it holds no image (no ImageList entry with ImageData)")
    grey = [e for e in images if e.get("DataType") not in _COLOUR]
    images = grey or images  # the RGB thumbnail is never the image when there is another
    usable, problem = [], None
    for i, entry in enumerate(images):
        try:
            usable.append((math.prod(_dimensions(entry)), i > 0, i))
        except _Bad as err:  # an entry without (valid) dimensions: another may be the image
            problem = err
    if not usable:
        raise problem or _Bad("it holds no image")
    found = images[max(usable)[2]]  # the largest; on a tie, not entry 0 (the thumbnail)
    dims = _dimensions(found)
    code = found.get("DataType")
    if code in _COLOUR:
        raise _Bad(f"its data type is {_COLOUR[code]}, which is not read: save it as greyscale")
    if code not in _PIXEL:
        raise _Bad(f"its image has an unsupported data type {code}")
    dtype = np.dtype(_PIXEL[code]).newbyteorder(order)
    data = found["Data"]
    count = math.prod(dims)
    if isinstance(data, np.ndarray):  # a small image was read with the tags
        buffer = data.tobytes()
        if len(buffer) != count * dtype.itemsize:
            raise _Bad(f"its image data do not match its dimensions {tuple(dims)}")
        pixels: np.ndarray = np.frombuffer(buffer, dtype=dtype).copy()
    elif isinstance(data, _Located):
        if data.count * data.dtype.itemsize != count * dtype.itemsize:
            raise _Bad(f"its image data do not match its dimensions {tuple(dims)}")
        if data.offset + count * dtype.itemsize > size:
            raise _Bad("it is truncated (the image data run past the end of the file)")
        if mmap:
            pixels = np.memmap(path, dtype=dtype, mode="r", offset=data.offset, shape=(count,))
        else:
            pixels = np.fromfile(path, dtype=dtype, count=count, offset=data.offset)
    else:
        raise _Bad("its image data are not an array")
    if not mmap:
        pixels = pixels.astype(dtype.newbyteorder("="), copy=False)
    if code == 14:
        pixels = pixels.view(bool)
    shape = tuple(reversed(dims))  # x first in the file
    scale, origin, units = _calibration(found, len(dims))
    meta = {"version": version, "tags": tags}
    return CalibratedImage(pixels.reshape(shape), scale, origin, units, f"DM{version}", meta)


def _dimensions(image: dict) -> list[int]:
    dims = image["Dimensions"]
    values = list(dims.values()) if isinstance(dims, dict) else []
    if not values or not all(isinstance(v, int) for v in values):
        raise _Bad("its image has no dimensions")
    if any(v <= 0 for v in values):
        raise _Bad(f"its image has a zero or negative dimension {tuple(values)}")
    return values


def _calibration(image: dict, ndim: int) -> tuple[tuple, tuple, tuple]:
    """Scale, origin and units per array axis (reversed from the file's x-first order)."""
    axes = (image.get("Calibrations") or {}).get("Dimension") or {}
    axes = list(axes.values()) if isinstance(axes, dict) else []
    scale, origin, units = [], [], []
    for i in range(ndim):
        axis = axes[i] if i < len(axes) and isinstance(axes[i], dict) else {}
        step, zero = axis.get("Scale", 1.0), axis.get("Origin", 0.0)
        ok = isinstance(step, (int, float)) and math.isfinite(step) and step != 0
        scale.append(float(step) if ok else 1.0)
        origin.append(float(zero) if isinstance(zero, (int, float)) and ok else 0.0)
        units.append(_text(axis.get("Units")) if ok else "")
    return tuple(reversed(scale)), tuple(reversed(origin)), tuple(reversed(units))


def _text(value: Any) -> str:
    """A DM string: a string tag, or an array of UTF-16 code units."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.ndim == 1:
        try:
            return value.astype("<u2").tobytes().decode("utf-16-le").strip()
        except (UnicodeDecodeError, OverflowError):
            return ""
    return ""
