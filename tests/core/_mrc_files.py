"""Write MRC files for the reader's tests (a test helper, not product), per MRC2014."""

from __future__ import annotations

import numpy as np

MODE = {"i1": 0, "i2": 1, "f4": 2, "c8": 4, "u2": 6, "f2": 12}


def mrc_bytes(
    pixels,
    *,
    pixel_size: float | None = None,
    order: str = "<",
    stamp: bool = True,
    extended: bytes = b"",
    mode: int | None = None,
    imod_unsigned: bool = False,
) -> bytes:
    """An MRC file of ``pixels`` (``(y, x)`` or ``(z, y, x)``): cell = size x pixel_size (Å)."""
    pixels = np.asarray(pixels)
    nz, ny, nx = (1, *pixels.shape) if pixels.ndim == 2 else pixels.shape
    ints = np.zeros(256, dtype=f"{order}i4")
    floats = ints.view(f"{order}f4")
    key = "u1" if imod_unsigned else pixels.dtype.str[1:]
    ints[:4] = nx, ny, nz, MODE.get(key, 0) if mode is None else mode
    ints[7:10] = nx, ny, nz  # sampling
    if pixel_size is not None:
        floats[10:13] = nx * pixel_size, ny * pixel_size, nz * pixel_size
    floats[13:16] = 90.0
    ints[16:19] = 1, 2, 3
    floats[19:22] = pixels.min().real, pixels.max().real, pixels.mean().real
    ints[23] = len(extended)
    floats[54] = pixels.std().real
    ints[27] = 20140
    if imod_unsigned:
        ints[38], ints[39] = 1146047817, 1
    head = bytearray(ints.tobytes())
    head[208:212] = b"MAP "
    if extended:
        head[104:108] = b"MRCO"  # an extended header in no particular scheme
    head[212:216] = (b"DA\x00\x00" if order == "<" else b"\x11\x11\x00\x00") if stamp else b"\0" * 4
    body = pixels.astype(pixels.dtype.newbyteorder(order)).tobytes()
    return bytes(head) + extended + body


def write_mrc(path, pixels, **options) -> bytes:
    """Write ``mrc_bytes(pixels, **options)`` to ``path``; returns the bytes."""
    raw = mrc_bytes(pixels, **options)
    with open(path, "wb") as stream:
        stream.write(raw)
    return raw
