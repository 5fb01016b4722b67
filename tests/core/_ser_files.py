"""Write FEI TIA series (.ser) files for the reader's tests (a test helper, not product), per the
public "TIA Series File format" description: header, dimension array, data and tag offset
arrays, data elements (2D images or 1D spectra), time tags."""

from __future__ import annotations

import struct

import numpy as np

TYPE_CODE = {"u1": 1, "u2": 2, "u4": 3, "i1": 4, "i2": 5, "i4": 6, "f4": 7, "f8": 8}
IMAGE, SPECTRUM = 0x4122, 0x4120


def ser_bytes(
    frames,
    *,
    delta=(1.0, 1.0),
    offset=(0.0, 0.0),
    element=(0, 0),
    version: int = 0x0220,
    gaps=None,
    spectra: bool = False,
    type_code: int | None = None,
    total: int | None = None,
) -> bytes:
    """A .ser file of ``frames`` (a list of ``(y, x)`` images, or of 1D spectra).

    ``delta``, ``offset``, ``element`` are the (x, y) calibration of every image (metres per
    pixel, the value at stored pixel ``element``; rows are stored bottom first). ``gaps`` puts
    that many spare bytes after each element (uneven spacing); ``total`` > len(frames) leaves
    elements unused (valid < total).
    """
    frames = [np.asarray(f) for f in frames]
    count = len(frames)
    total = count if total is None else total
    wide = version == 0x0220
    off = "<q" if wide else "<i"
    head = struct.pack("<HHHiiii", 0x4949, 0x0197, version, SPECTRUM if spectra else IMAGE,
                       0x4152, total, count)  # fmt: skip
    description, units = b"Number", b""
    dims = struct.pack("<iddii", count, 0.0, 1.0, 1, len(description)) + description
    dims += struct.pack("<i", len(units)) + units
    offsets_at = len(head) + struct.calcsize(off) + 4 + len(dims)
    head += struct.pack(off, offsets_at) + struct.pack("<i", 1) + dims
    step = struct.calcsize(off)
    data_at = offsets_at + 2 * total * step
    body, data_offsets = b"", []
    for n, frame in enumerate(frames):
        data_offsets.append(data_at + len(body))
        code = TYPE_CODE[frame.dtype.str[1:]] if type_code is None else type_code
        if spectra:
            body += struct.pack("<ddihi", offset[0], delta[0], element[0], code, frame.size)
        else:
            ny, nx = frame.shape
            body += struct.pack("<ddiddihii", offset[0], delta[0], element[0], offset[1],
                                delta[1], element[1], code, nx, ny)  # fmt: skip
        stored = frame[::-1] if frame.ndim == 2 else frame  # TIA stores the bottom row first
        body += stored.astype(frame.dtype.newbyteorder("<")).tobytes()
        body += b"\xee" * (gaps[n] if gaps else 0)
    tag_offsets = []
    tags_at = data_at + len(body)
    for n in range(count):
        tag_offsets.append(tags_at + 6 * n)
        body += struct.pack("<hi", 0x4152, 1000 + n)  # TagTypeID, time (s)
    unused = [0] * (total - count)
    table = np.array(data_offsets + unused + tag_offsets + unused, dtype=off).tobytes()
    return head + table + body


def write_ser(path, frames, **options) -> bytes:
    """Write ``ser_bytes(frames, **options)`` to ``path``; returns the bytes."""
    raw = ser_bytes(frames, **options)
    with open(path, "wb") as stream:
        stream.write(raw)
    return raw
