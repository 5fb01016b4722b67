"""Read MRC images and stacks (``.mrc``, ``.mrcs``, ``.map``, ``.st``) and their pixel size.

Written from the MRC2014 description (numpy only): a 1024-byte header of 4-byte words in the
byte order its machine stamp gives (bytes 212-213: ``DD`` little-endian, ``\\x11\\x11``
big-endian; guessed from the sizes where a file has no stamp): ``NX NY NZ`` (x fastest),
``MODE`` (0 int8, 1 int16, 2 float32, 4 complex64, 6 uint16, 12 float16), the sampling
``MX MY MZ`` and the cell ``X Y Z`` in Å (the pixel size is cell / sampling), ``NSYMBT`` the
bytes of the extended header that sits between the header and the pixels. IMOD's flag for
unsigned bytes (mode 0) is honoured. A damaged file is refused in one line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np

from napari_ivae.core.io.calibrated import CalibratedImage, read_headed

__all__ = ["read_mrc"]

_HEADER = 1024
_MODES = {0: "i1", 1: "i2", 2: "f4", 4: "c8", 6: "u2", 12: "f2"}
_UNREAD = {3: "complex 16-bit integers", 101: "4-bit packed pixels"}
_IMOD_STAMP, _IMOD_UNSIGNED = 1146047817, 1  # IMOD: mode 0 holds unsigned bytes


def read_mrc(path, *, mmap: bool = False) -> CalibratedImage:
    """Read the image or stack of an MRC file with its pixel size (Å).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    mmap : bool
        Map the pixels into memory (read-only, in the file's byte order) instead of reading them.

    Returns
    -------
    CalibratedImage
        Shape ``(y, x)`` for one section, ``(sections, y, x)`` for a stack or volume; scale in Å
        per axis where the header gives a cell and a sampling (else 1 and no unit).

    Raises
    ------
    InputError
        A missing, damaged, truncated or unsupported file, in one line naming it.
    """
    return read_headed(
        path, _HEADER, "MRC file", lambda found, head, size: _read(found, head, size, mmap)
    )


def _read(path: Path, head: bytes, size: int, mmap: bool) -> CalibratedImage:
    if size == 0:
        raise ValueError("the file is empty (0 bytes)")
    if len(head) < _HEADER:
        raise ValueError(f"it is truncated or not an MRC file ({size} bytes, under a header)")
    order = _byte_order(head)
    ints = np.frombuffer(head, dtype=f"{order}i4")
    floats = np.frombuffer(head, dtype=f"{order}f4")
    nx, ny, nz, mode = (int(v) for v in ints[:4])
    if min(nx, ny, nz) <= 0:
        raise ValueError(f"its header gives a zero or negative size ({nx} x {ny} x {nz})")
    if mode in _UNREAD:
        raise ValueError(f"its mode {mode} ({_UNREAD[mode]}) is not read")
    if mode not in _MODES:
        raise ValueError(f"its mode {mode} is not an MRC mode (damaged, or not an MRC file)")
    dtype = np.dtype(_MODES[mode]).newbyteorder(order)
    if mode == 0 and ints[38] == _IMOD_STAMP and ints[39] & _IMOD_UNSIGNED:
        dtype = np.dtype("u1")
    extended = int(ints[23])
    count = nx * ny * nz
    start = _HEADER + extended
    if extended < 0 or start + count * dtype.itemsize > size:
        need = start + count * dtype.itemsize
        raise ValueError(f"it is truncated ({size} bytes; its header needs {need})")
    pixels: np.ndarray
    if mmap:
        pixels = np.memmap(path, dtype=dtype, mode="r", offset=start, shape=(count,))
    else:
        raw = np.fromfile(path, dtype=dtype, count=count, offset=start)
        pixels = raw.astype(dtype.newbyteorder("="), copy=False)
    shape = (ny, nx) if nz == 1 else (nz, ny, nx)
    sampling, cell = ints[7:10], floats[10:13]
    sx, sy = (_step(float(c), int(m)) for c, m in zip(cell[:2], sampling[:2]))
    header = {"mode": mode, "nx": nx, "ny": ny, "nz": nz, "extended_header_bytes": extended}
    # the sections of a stack are frames (a tilt series, particles, a movie): not calibrated
    return CalibratedImage.of_plane(
        pixels.reshape(shape),
        (sy or 1.0, sx or 1.0),
        (0.0, 0.0),
        ("Å" if sy else "", "Å" if sx else ""),
        "MRC",
        header,
    )


def _byte_order(head: bytes) -> Literal["<", ">"]:
    """``<`` or ``>``: the machine stamp's, or the one in which the sizes and mode make sense."""
    stamp = head[212:214]
    if stamp in (b"\x44\x44", b"\x44\x41"):
        return "<"
    if stamp == b"\x11\x11":
        return ">"
    orders: tuple[Literal["<", ">"], ...] = ("<", ">")
    for order in orders:
        nx, ny, nz, mode = np.frombuffer(head[:16], dtype=f"{order}i4")
        if 0 < nx < 2**20 and 0 < ny < 2**20 and 0 < nz < 2**24 and 0 <= mode < 2**10:
            return order
    raise ValueError("it is not an MRC file (its header's sizes make no sense)")


def _step(cell: float, sampling: int) -> float:
    """The pixel size along one axis in Å (0: not stated)."""
    if sampling <= 0 or not math.isfinite(cell) or cell <= 0:
        return 0.0
    return float(f"{cell / sampling:.7g}")  # the float32 cell's size as written: 1.05, not 1.0499
