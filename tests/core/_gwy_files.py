"""Write Gwyddion .gwy files for the reader's tests (a test helper, not product), per the public
description of the format: ``GWYP``, then one serialized object (a NUL-terminated type name, the
byte size of its components as uint32, the components), each component a NUL-terminated name, a
type character and its value, little-endian (``b c i q d s o``, and arrays ``C I Q D S O`` with a
uint32 count first). The top object is a ``GwyContainer`` holding ``/N/data`` ``GwyDataField``
objects and their ``/N/data/title`` strings."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Obj:
    """A serialized object: its type name and its ``(name, value)`` components in order."""

    kind: str
    components: list = field(default_factory=list)


class Char(bytes):
    """A one-byte ``c`` component (a plain ``bytes`` is not one)."""


def serialize(obj: Obj) -> bytes:
    """The bytes of ``obj``: type name, size, components."""
    body = b"".join(_component(name, value) for name, value in obj.components)
    return obj.kind.encode() + b"\0" + struct.pack("<I", len(body)) + body


def _component(name: str, value) -> bytes:
    head = name.encode() + b"\0"
    if isinstance(value, bool):
        return head + b"b" + bytes([value])
    if isinstance(value, Char):
        return head + b"c" + value[:1]
    if isinstance(value, int):
        return head + (b"i" + struct.pack("<i", value) if -(2**31) <= value < 2**31
                       else b"q" + struct.pack("<q", value))  # fmt: skip
    if isinstance(value, float):
        return head + b"d" + struct.pack("<d", value)
    if isinstance(value, str):
        return head + b"s" + value.encode() + b"\0"
    if isinstance(value, Obj):
        return head + b"o" + serialize(value)
    if isinstance(value, np.ndarray):
        code = {"u1": b"C", "i4": b"I", "i8": b"Q", "f8": b"D"}[value.dtype.str[1:]]
        return (
            head
            + code
            + struct.pack("<I", value.size)
            + value.astype(value.dtype.newbyteorder("<")).tobytes()
        )
    items = list(value)  # a list of strings or of objects
    if all(isinstance(v, str) for v in items):
        return (
            head
            + b"S"
            + struct.pack("<I", len(items))
            + b"".join(v.encode() + b"\0" for v in items)
        )
    return head + b"O" + struct.pack("<I", len(items)) + b"".join(serialize(v) for v in items)


def unit(text: str) -> Obj:
    return Obj("GwySIUnit", [("unitstr", text)])


def data_field(image, *, real=(2e-8, 1.5e-8), offset=(1.5e-9, -2e-9), unit_xy="m", unit_z="m",
               extra_field=()) -> Obj:  # fmt: skip
    """A ``GwyDataField`` of ``image`` (rows top first); ``unit_xy``/``unit_z`` None: left out;
    ``extra_field``: more components, after the data (a later one of a name replaces it)."""
    yres, xres = np.shape(image)
    parts = [("xres", xres), ("yres", yres), ("xreal", float(real[0])), ("yreal", float(real[1])),
             ("xoff", float(offset[0])), ("yoff", float(offset[1]))]  # fmt: skip
    parts += [
        (k, unit(u)) for k, u in (("si_unit_xy", unit_xy), ("si_unit_z", unit_z)) if u is not None
    ]
    parts += [("data", np.asarray(image, "f8").ravel()), *extra_field]
    return Obj("GwyDataField", parts)


def gwy_bytes(channels, *, extra=(), **field_options) -> bytes:
    """A .gwy file of ``channels``: ``{N: (title or None, image)}`` (None: no title), each a
    data field made by :func:`data_field`; ``extra``: more ``(name, value)`` components of the
    container, before the channels."""
    parts = list(extra)
    for number, (title, image) in channels.items():
        parts.append((f"/{number}/data", data_field(image, **field_options)))
        if title is not None:
            parts.append((f"/{number}/data/title", title))
    return b"GWYP" + serialize(Obj("GwyContainer", parts))


def write_gwy(path, channels, **options) -> None:
    path.write_bytes(gwy_bytes(channels, **options))
