"""Read a Nanonis ``.sxm`` scan (STM/AFM controller) and its pixel size.

Written from the publicly documented layout (numpy and the standard library). The file starts
with an ASCII header of ``:KEY:`` lines, each followed by its value lines, and ending with
``:SCANIT_END:``; after some newlines come the bytes ``\\x1a\\x04`` and the data. The data are
float32 (big-endian: ``:SCANIT_TYPE:`` ``FLOAT MSBFIRST``): for each channel of the
``:DATA_INFO:`` table (tab-separated ``Channel Name Unit Direction Calibration Offset``) one
``(lines, pixels)`` frame of the forward scan and, where its direction is ``both``, one of the
backward scan, stored right to left. ``:SCAN_PIXELS:`` gives pixels and lines, ``:SCAN_RANGE:``
the scanned size in metres (x first); an ``up`` scan (``:SCAN_DIR:``) stores its bottom line
first. Lines not scanned (an unfinished scan) hold NaN and are kept so. The default image is
the Z forward topograph, but in a constant-height scan (Z constant) the channel that varies.
Every size is checked against the file's; a damaged file is refused in one line.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from napari_ivae.core.io.calibrated import CalibratedImage, metric_length, read_headed

__all__ = ["images_note", "read_sxm"]

_HEAD = 1 << 20  # a Nanonis header is a few kB; one that does not end within 1 MiB is damaged
_END, _DATA_MARK = b":SCANIT_END:", b"\x1a\x04"
_KEY = re.compile(r":([^:\s][^\n]*):")
_DIRECTIONS = ("forward", "backward")
_TOPOGRAPH = "z"  # Nanonis's name of the topograph channel (case ignored)
_METRES_BELOW = 1e-3  # a step of a mm or more is no scanning-probe pixel (a damaged range)


def read_sxm(
    path, *, channel: str | None = None, direction: str = "forward", mmap: bool = False
) -> CalibratedImage:
    """Read one channel of a Nanonis ``.sxm`` scan as a 2D image with its pixel size.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    channel : str, optional
        The channel's name in the file's ``:DATA_INFO:`` (``"Current"``; case ignored). By
        default ``Z`` (the topograph), or where it is constant (a constant-height scan) the
        frequency shift, else the current, else the first channel that varies.
    direction : {"forward", "backward"}
        The scan direction; ``"backward"`` only for a channel recorded in both.
    mmap : bool
        Map the pixels into memory (read-only, in the file's byte order) instead of reading
        them.

    Returns
    -------
    CalibratedImage
        Shape ``(lines, pixels)``, the top line first and the left pixel first whatever the
        scan direction; the axes in ``nm`` (or ``µm``) from the scan range. NaN where a line
        was not scanned. ``meta``: ``channels`` (the names), ``images`` (``"Z forward"``...),
        ``image`` (the one read), ``unit`` (its values'), ``scan_dir``, ``scan_angle`` (degrees,
        not applied), ``scan_range_m``, ``scan_offset_m``, ``version``.

    Raises
    ------
    InputError
        A missing, damaged or truncated file, a missing or non-numeric header value, an unknown
        channel or direction, in one line naming the file.
    """
    return read_headed(
        path, _HEAD, "Nanonis scan", lambda p, h, s: _read(p, h, s, channel, direction, mmap)
    )


def images_note(path) -> str:
    """For a scan of several images (channels and directions), which one is read and how to
    read another, e.g. ``the file holds 2 images (Z forward, Z backward); Z forward was read
    (in Python read_sxm(path, direction='backward'))``; else ``""``.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.sxm`` file (:class:`~napari_ivae.core.errors.InputError` as :func:`read_sxm`).

    Returns
    -------
    str
    """
    meta = read_sxm(path, mmap=True).meta
    names, chosen = meta["images"], meta["image"]
    if len(names) < 2:
        return ""
    other = next((n for n in meta["channels"] if n != chosen.rsplit(" ", 1)[0]), None)
    how = f"channel={other!r}" if other else "direction='backward'"
    return (
        f"the file holds {len(names)} images ({', '.join(names)}); {chosen} was read "
        f"(in Python read_sxm(path, {how}))"
    )


def _read(path: Path, head: bytes, size: int, channel, direction, mmap: bool) -> CalibratedImage:
    if str(direction).lower() not in _DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not 'forward' or 'backward'")
    direction = direction.lower()
    if size == 0:
        raise ValueError("the file is empty (0 bytes)")
    if not head.startswith(b":NANONIS_VERSION:"):
        raise ValueError("it is not a Nanonis scan (it does not start with :NANONIS_VERSION:)")
    end = head.find(_END)
    if end < 0:
        where = f"in its first {_HEAD >> 20} MiB" if size > _HEAD else f"({size} bytes)"
        raise ValueError(f"its header has no :SCANIT_END: {where}; truncated or damaged")
    mark = head.find(_DATA_MARK, end)
    if mark < 0 or head[end + len(_END) : mark].strip():
        raise ValueError("its header is not followed by the data mark 0x1a 0x04")
    header = _header(head[:end].decode("latin-1"))
    nx, ny = _numbers(header, "SCAN_PIXELS", 2, int)
    if nx <= 0 or ny <= 0:
        raise ValueError(f"its :SCAN_PIXELS: gives a zero or negative size ({nx} x {ny})")
    scan_range = _numbers(header, "SCAN_RANGE", 2, float)
    scan_dir = _value(header, "SCAN_DIR").lower()
    if scan_dir not in ("up", "down"):
        raise ValueError(f"its :SCAN_DIR: {scan_dir!r} is not 'up' or 'down'")
    angle = _numbers(header, "SCAN_ANGLE", 1, float)[0] if "SCAN_ANGLE" in header else None
    offset = _numbers(header, "SCAN_OFFSET", 2, float) if "SCAN_OFFSET" in header else None
    dtype = np.dtype(f"{_byte_order(header)}f4")
    channels = _channels(header)
    images = [f"{name} {d}" for name, _, both in channels for d in _DIRECTIONS[: 1 + both]]
    frame = nx * ny * 4
    start = mark + len(_DATA_MARK)
    if start + len(images) * frame > size:
        need = start + len(images) * frame
        raise ValueError(f"it is truncated ({size} bytes; its header needs {need})")
    if channel is None:
        channel = _measured(path, channels, direction, dtype, start, nx * ny)
    index, unit = _chosen(channels, channel, direction)
    at = start + index * frame
    pixels: np.ndarray
    if mmap:
        pixels = np.memmap(path, dtype=dtype, mode="r", offset=at, shape=(ny, nx))
    else:
        raw = np.fromfile(path, dtype=dtype, count=nx * ny, offset=at).reshape(ny, nx)
        pixels = raw.astype("=f4", copy=False)
    view = pixels[::-1] if scan_dir == "up" else pixels  # the top line first
    if images[index].endswith("backward"):  # stored right to left
        view = view[:, ::-1]
    if not mmap:
        view = np.ascontiguousarray(view)
    scale, units = _calibration(scan_range, nx, ny)
    meta = {
        "channels": [name for name, _, _ in channels],
        "images": images,
        "image": images[index],
        "unit": unit,
        "scan_dir": scan_dir,
        "scan_angle": angle,
        "scan_range_m": scan_range,
        "scan_offset_m": offset,
        "version": _value(header, "NANONIS_VERSION"),
    }
    return CalibratedImage(view, scale, (0.0, 0.0), units, "Nanonis SXM", meta)


def _header(text: str) -> dict[str, list[str]]:
    """The header's keys (without colons) and their value lines (the ``:KEY:`` line's own
    text after the key too, where a writer puts the value there)."""
    header: dict[str, list[str]] = {}
    lines: list[str] | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        found = _KEY.fullmatch(line.strip())
        if found:
            lines = header.setdefault(found.group(1), [])
        elif lines is not None:
            lines.append(line)
        elif line.strip():
            raise ValueError("its header does not start with a :KEY: line")
    return header


def _value(header: dict, key: str) -> str:
    """The first non-empty value line of ``key``, stripped."""
    if key not in header:
        raise ValueError(f"its header lacks :{key}:")
    values = [v.strip() for v in header[key] if v.strip()]
    if not values:
        raise ValueError(f"its :{key}: has no value")
    return values[0]


def _numbers(header: dict, key: str, count: int, kind) -> tuple:
    """The first ``count`` numbers of ``key``'s value (``kind``: int or float)."""
    words = _value(header, key).split()
    try:
        numbers = tuple(kind(w) for w in words[:count])
    except (ValueError, OverflowError):
        raise ValueError(f"its :{key}: {' '.join(words)[:60]!r} is not {count} numbers") from None
    if len(numbers) < count:
        raise ValueError(f"its :{key}: {' '.join(words)[:60]!r} is not {count} numbers")
    return numbers


def _byte_order(header: dict) -> str:
    """``>`` for ``FLOAT MSBFIRST`` (what Nanonis writes; the default), ``<`` for ``LSBFIRST``."""
    if "SCANIT_TYPE" not in header:
        return ">"
    words = _value(header, "SCANIT_TYPE").upper().split()
    if words and words[0] == "FLOAT" and words[-1] in ("MSBFIRST", "LSBFIRST"):
        return ">" if words[-1] == "MSBFIRST" else "<"
    raise ValueError(f"its data type {' '.join(words)[:40]!r} is not FLOAT MSBFIRST")


def _channels(header: dict) -> list[tuple[str, str, bool]]:
    """``(name, unit, both directions)`` per row of ``:DATA_INFO:``, in the file's order."""
    rows = [
        [c.strip() for c in line.split("\t") if c.strip()] for line in header.get("DATA_INFO", [])
    ]
    rows = [r for r in rows if r]
    if not rows or [c.lower() for c in rows[0][:4]] != ["channel", "name", "unit", "direction"]:
        raise ValueError("its :DATA_INFO: lacks the table of channels (Channel Name Unit ...)")
    channels = []
    for row in rows[1:]:
        if len(row) < 4 or row[3].lower() not in ("both", "forward"):
            raise ValueError(f"its :DATA_INFO: row {' '.join(row)[:60]!r} is damaged")
        channels.append((row[1], row[2], row[3].lower() == "both"))
    if not channels:
        raise ValueError("its :DATA_INFO: lists no channel")
    return channels


def _measured(path, channels, direction: str, dtype, start: int, count: int) -> str | None:
    """The default channel: ``Z`` (the topograph), but in a constant-height scan (``Z`` held
    constant) the frequency shift (nc-AFM) or the current (STM), else the first channel that
    varies; ``None`` (the first) where there is no ``Z`` or nothing varies."""
    names = [name.lower() for name, _, _ in channels]
    order = [_TOPOGRAPH, "frequency_shift", "current"]
    order = [n for n in order if n in names] + [n for n in names if n not in order]
    if _TOPOGRAPH not in names:
        return None
    for name in order:
        if direction == "backward" and not channels[names.index(name)][2]:
            continue
        index, _ = _chosen(channels, name, direction)
        pixels = np.fromfile(path, dtype=dtype, count=count, offset=start + index * count * 4)
        finite = pixels[np.isfinite(pixels)]
        if finite.size and finite.min() < finite.max():
            return channels[names.index(name)][0]
    return None


def _chosen(channels, channel: str | None, direction: str) -> tuple[int, str]:
    """The index of the chosen frame in the data and its channel's unit."""
    names = [name.lower() for name, _, _ in channels]
    if channel is None:
        channel = channels[names.index(_TOPOGRAPH)][0] if _TOPOGRAPH in names else channels[0][0]
    if channel.lower() not in names:
        listed = ", ".join(name for name, _, _ in channels)
        raise ValueError(f"it has no channel {channel!r} (it holds {listed})")
    wanted = names.index(channel.lower())
    name, unit, both = channels[wanted]
    if direction == "backward" and not both:
        raise ValueError(f"its channel {name!r} was recorded forward only")
    index = sum(1 + b for _, _, b in channels[:wanted]) + (direction == "backward")
    return index, unit


def _calibration(scan_range: tuple, nx: int, ny: int) -> tuple[tuple, tuple]:
    """Scale and unit of ``(y, x)``: the scan range over the pixels, in nm (µm from 1 µm a
    pixel) where both are real lengths, else pixels."""
    steps = scan_range[1] / ny, scan_range[0] / nx
    if not all(math.isfinite(s) and 0 < s < _METRES_BELOW for s in steps):
        return (1.0, 1.0), ("", "")
    unit = metric_length(steps[1])[1]
    factor = 1e9 if unit == "nm" else 1e6
    return tuple(float(f"{s * factor:.10g}") for s in steps), (unit, unit)
