"""Read a Gwyddion ``.gwy`` file (scanning-probe data after analysis) and its pixel size.

From the published description of the GWY format (numpy and the standard library): ``GWYP``,
then one object: a NUL-terminated type name, its components' byte size (uint32) and components,
each a NUL-terminated name, a type character and the value, little-endian (``b c i q d``:
numbers, ``s`` a NUL-terminated string, ``o`` an object, arrays ``C I Q D S O``: a uint32 count
and the items). The top ``GwyContainer`` holds channel ``N`` as the ``GwyDataField`` ``/N/data``
(``xres``, ``yres``; ``xreal``, ``yreal``, ``xoff``, ``yoff`` in the ``unitstr`` of its
``GwySIUnit`` ``si_unit_xy``; ``data``: ``xres * yres`` doubles, top row first), titled by the
string ``/N/data/title``. Other components are stepped over by their sizes (objects at most three
deep); every size and count is checked against the file's: a damaged file is refused in one line.
"""

from __future__ import annotations

import math
import re
import struct
from collections import namedtuple
from mmap import ACCESS_READ
from mmap import mmap as _mapped
from pathlib import Path
from typing import Any

import numpy as np

from napari_ivae.core.io.calibrated import CalibratedImage, metric_length, read_headed

__all__ = ["images_note", "read_gwy"]

_MAGIC, _CUT = b"GWYP", "truncated or damaged"
_FIXED = {"b": "<B", "c": "<c", "i": "<i", "q": "<q", "d": "<d"}
_ITEMS = {"C": 1, "I": 4, "Q": 8, "D": 8}
_CHANNEL = re.compile(r"/(\d+)/data")
# the lateral unit's metres; a data field without si_unit_xy is taken to be in metres
_METRES = {"m": 1.0, "mm": 1e-3, "µm": 1e-6, "um": 1e-6, "nm": 1e-9, "pm": 1e-12, "Å": 1e-10}
_METRES_BELOW = 1e-3  # a step of a mm or more is no scanning-probe pixel (a damaged size)
# an object: its type name, where its components start and stop; an array: where its items start
_Object = namedtuple("_Object", "kind start stop")
_Array = namedtuple("_Array", "code offset items")


def read_gwy(path, *, channel: str | int | None = None, mmap: bool = False) -> CalibratedImage:
    """Read one channel (data field) of a Gwyddion ``.gwy`` file as a 2D image and pixel size.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    channel : str or int, optional
        The channel's title (``"Phase"``; case ignored; the lowest number of that title) or its
        number ``N`` (the ``/N/data`` of the file, as Gwyddion's data browser numbers them). By
        default the lowest number (channel 0 where there is one).
    mmap : bool
        Map the pixels into memory (read-only, little-endian float64) instead of reading them.

    Returns
    -------
    CalibratedImage
        Shape ``(yres, xres)``, the top row first; the axes in ``nm`` (or ``µm``) from the
        field's size where its lateral unit is a length (``m`` or none stated), else pixels.
        ``meta``: ``channels`` (the titles, by number), ``numbers``, ``channel`` and ``number``
        (the one read), ``unit`` (its values'), ``unit_xy``, ``real`` (``xreal, yreal``) and
        ``offset`` (``xoff, yoff``, not applied) in ``unit_xy``.

    Raises
    ------
    InputError
        A missing, damaged or truncated file, no data field, an unknown channel (one line).
    """
    return read_headed(path, 4, "Gwyddion file", lambda p, h, s: _read(p, h, s, channel, mmap))


def images_note(path) -> str:
    """For a file of several channels, which one is read and how to read another, e.g. ``the
    file holds 2 channels (Topography, Phase); Topography was read (in Python read_gwy(path,
    channel='Phase'))``; else ``""``.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.gwy`` file (:class:`~napari_ivae.core.errors.InputError` as :func:`read_gwy`).

    Returns
    -------
    str
    """
    meta = read_gwy(path, mmap=True).meta
    titles, numbers = meta["channels"], meta["numbers"]
    if len(titles) < 2:
        return ""
    title, number = next((t, n) for t, n in zip(titles, numbers) if n != meta["number"])
    how = f"channel={title!r}" if titles.count(title) == 1 else f"channel={number}"
    return (
        f"the file holds {len(titles)} channels ({', '.join(titles)}); {meta['channel']} was "
        f"read (in Python read_gwy(path, {how}))"
    )


def _read(path: Path, head: bytes, size: int, channel, mmap: bool) -> CalibratedImage:
    if size == 0:
        raise ValueError("the file is empty (0 bytes)")
    if head == b"GWYO":
        raise ValueError("it is a Gwyddion 1 file (GWYO), which is not read; save it anew")
    if head != _MAGIC:
        raise ValueError("it is not a Gwyddion file (it does not start with GWYP)")
    with open(path, "rb") as stream, _mapped(stream.fileno(), 0, access=ACCESS_READ) as buf:
        numbers, titles, fields = _channels(buf, size)
        number = _chosen(numbers, titles, channel)
        field = _components(buf, fields[number])
        xres, yres = (_number(field, k, int, number) for k in ("xres", "yres"))
        data = field.get("data")
        if not isinstance(data, _Array) or data.code != "D":
            raise ValueError(f"its channel {number} has no data (an array of doubles)")
        if data.items != xres * yres:
            raise ValueError(f"its channel {number} holds {data.items} values, not {xres} x {yres}")
        real = tuple(_number(field, k, float) for k in ("xreal", "yreal"))
        offset = tuple(_number(field, k, float) or 0.0 for k in ("xoff", "yoff"))
        unit_xy, unit_z = _unit(buf, field, "si_unit_xy", "m"), _unit(buf, field, "si_unit_z", "")
    pixels: np.ndarray
    if mmap:
        pixels = np.memmap(path, dtype="<f8", mode="r", offset=data.offset, shape=(yres, xres))
    else:
        raw = np.fromfile(path, dtype="<f8", count=data.items, offset=data.offset)
        pixels = raw.reshape(yres, xres).astype("=f8", copy=False)
    scale, units = _calibration(real, unit_xy, xres, yres)
    meta = {"channels": titles, "numbers": numbers, "channel": titles[numbers.index(number)]}
    meta.update(number=number, unit=unit_z, unit_xy=unit_xy, real=real, offset=offset)
    return CalibratedImage(pixels, scale, (0.0, 0.0), units, "Gwyddion GWY", meta)


def _channels(buf, size: int) -> tuple[list[int], list[str], dict[int, _Object]]:
    """The numbers of the top container's data fields (sorted), their titles, their objects."""
    top = _object(buf, len(_MAGIC), size)
    if top.kind != "GwyContainer":
        raise ValueError(f"its top object is a {top.kind[:40]!r}, not a GwyContainer")
    components = _components(buf, top)
    fields = {int(found.group(1)): value for name, value in components.items()
              if (found := _CHANNEL.fullmatch(name)) and isinstance(value, _Object)
              and value.kind == "GwyDataField"}  # fmt: skip
    if not fields:
        raise ValueError("it holds no data field (no /N/data GwyDataField component)")
    numbers = sorted(fields)
    given = [components.get(f"/{number}/data/title") for number in numbers]
    titles = [t if isinstance(t, str) and t else f"channel {n}" for t, n in zip(given, numbers)]
    return numbers, titles, fields


def _chosen(numbers: list[int], titles: list[str], channel) -> int:
    if channel is None:
        return numbers[0]
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
        if int(channel) in numbers:
            return int(channel)
    elif str(channel).lower() in [t.lower() for t in titles]:
        return numbers[[t.lower() for t in titles].index(str(channel).lower())]
    listed = ", ".join(f"{n} {t}" for n, t in zip(numbers, titles))
    raise ValueError(f"it has no channel {channel!r} (it holds {listed})")


def _name(buf, pos: int, stop: int) -> tuple[str, int]:
    """The NUL-terminated text at ``pos`` (before ``stop``) and the position after it."""
    nul = buf.find(b"\0", pos, stop)
    if nul < 0:
        raise ValueError(f"a text at byte {pos} runs past its object; {_CUT}")
    return buf[pos:nul].decode("utf-8", "replace"), nul + 1


def _object(buf, pos: int, stop: int) -> _Object:
    """The object at ``pos`` (its type name, then the size of its components), within ``stop``."""
    kind, pos = _name(buf, pos, stop)
    size = _uint(buf, pos, stop, f"{kind[:40]!r} object's size")
    if size > (left := stop - pos - 4):
        raise ValueError(f"its {kind[:40]!r} object claims {size} bytes of {left}; {_CUT}")
    return _Object(kind, pos + 4, pos + 4 + size)


def _uint(buf, pos: int, stop: int, what: str) -> int:
    if pos + 4 > stop:
        raise ValueError(f"its {what} at byte {pos} is cut short; {_CUT}")
    return struct.unpack_from("<I", buf, pos)[0]


def _components(buf, obj: _Object) -> dict:
    """The components of ``obj`` by name: numbers and strings as values, objects as
    :class:`_Object`, arrays as :class:`_Array`; neither an object nor an array is read here."""
    found: dict = {}
    pos, stop = obj.start, obj.stop
    while pos < stop:
        name, pos = _name(buf, pos, stop)
        code, what = (chr(buf[pos]) if pos < stop else ""), f"component {name[:40]!r}"
        pos += 1
        value: Any
        if code in _FIXED:
            width = struct.calcsize(_FIXED[code])
            if pos + width > stop:
                raise ValueError(f"its {what} is cut short; {_CUT}")
            value, pos = struct.unpack_from(_FIXED[code], buf, pos)[0], pos + width
        elif code == "s":
            value, pos = _name(buf, pos, stop)
        elif code == "o":
            value = _object(buf, pos, stop)
            pos = value.stop
        elif code and code in "CIQDSO":
            count, pos = _uint(buf, pos, stop, f"{what}'s count"), pos + 4
            width = _ITEMS.get(code, 1 if code == "S" else 5)  # the least an item takes
            if count > (stop - pos) // width:
                left = stop - pos
                raise ValueError(f"its array {what} claims {count} items in {left} bytes; {_CUT}")
            value = _Array(code, pos, count)
            pos += count * width if code in _ITEMS else 0
            for _ in range(0 if code in _ITEMS else count):  # stepped over one by one
                pos = _name(buf, pos, stop)[1] if code == "S" else _object(buf, pos, stop).stop
        else:
            raise ValueError(f"its {what} has an unknown type {code!r}; {_CUT}")
        found[name] = value
    return found


def _number(field: dict, key: str, kind: type, number: int | None = None):
    """``key``'s value where it is a ``kind`` (an int: positive, else refused), else None."""
    value = field.get(key)
    if kind is int and (type(value) is not int or value <= 0):
        raise ValueError(f"its channel {number}'s {key} is {value!r}, not a positive integer")
    return value if type(value) is kind else None


def _unit(buf, field: dict, key: str, absent: str) -> str:
    """The ``unitstr`` of the ``GwySIUnit`` ``key`` (``""`` where it has none), else ``absent``."""
    value = field.get(key)
    if not isinstance(value, _Object) or value.kind != "GwySIUnit":
        return absent
    text = _components(buf, value).get("unitstr", "")
    return text if isinstance(text, str) else ""


def _calibration(real: tuple, unit_xy: str, xres: int, yres: int) -> tuple[tuple, tuple]:
    """Scale and unit of ``(y, x)``: the field's size over its pixels, in nm (µm from 1 µm a
    pixel) where both are real lengths, else pixels."""
    factor = _METRES.get(unit_xy)
    if factor is None or None in real:
        return (1.0, 1.0), ("", "")
    steps = real[1] * factor / yres, real[0] * factor / xres
    if not all(math.isfinite(s) and 0 < s < _METRES_BELOW for s in steps):
        return (1.0, 1.0), ("", "")
    unit = metric_length(steps[1])[1]
    factor = 1e9 if unit == "nm" else 1e6
    return tuple(float(f"{s * factor:.10g}") for s in steps), (unit, unit)
