"""glibc's allocator told to keep the memory a detection step freed for the next step.

A detection on a large frame allocates and frees arrays of tens of megabytes a few hundred
times. glibc's ``malloc`` hands each one over 128 kB (raised only as it sees them freed) to
the kernel as a fresh mapping, and every first touch of its pages is the kernel zeroing them:
3.6 of the 15.6 CPU seconds of a 2048 x 2048 detection of 4800 small particles were the
kernel's. Served from the heap and kept there, a freed array's pages are the next one's.

* :func:`keep_freed_memory`: for the rest of the process (the command line, which ends with
  its command);
* :func:`kept_memory`: while a detection runs; afterwards what the heap holds free goes back
  to the system (a napari session keeps running after a detection).

Only the allocator's thresholds change: not a value any step computes. Off Linux, or without
glibc, both do nothing. Blocks over 32 MB (a 2048 x 2048 float64 frame is 33.5 MB) are
mappings whatever is set: glibc's ceiling.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# glibc's mallopt() parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: blocks up to this come from the heap
TRIM_THRESHOLD = 2**31 - 1  # the heap's free top is not given back while memory is kept
TOP_PAD = 64 * 2**20  # the heap grows by at least this much at a time (fewer system calls)
DEFAULT_TRIM = DEFAULT_TOP_PAD = 128 * 2**10  # glibc's defaults, set again afterwards

_LOCK = threading.Lock()
_STATE: dict[str, int] = {"holders": 0, "whole_process": 0}


@functools.cache
def _libc():
    """glibc's ``mallopt`` and ``malloc_trim``, or None (looked up once)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's name: no ctypes.util (0.03-0.06 s to import)
    except OSError:
        from ctypes.util import find_library

        try:
            libc = ctypes.CDLL(find_library("c") or "libc.so")
        except OSError:
            return None
    try:
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except AttributeError:  # musl and others: no mallopt
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return mallopt, trim


def _keep(mallopt) -> bool:
    return all(
        mallopt(parameter, value) == 1
        for parameter, value in (
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (_M_TOP_PAD, TOP_PAD),
        )
    )


def keep_freed_memory() -> bool:
    """Tell glibc's allocator, for the rest of the process, to serve blocks up to 32 MB from
    its heap and keep what is freed there.

    Returns
    -------
    bool
        Whether it was told (False off Linux or without glibc: nothing changed).
    """
    libc = _libc()
    if libc is None:
        return False
    with _LOCK:
        _STATE["whole_process"] = int(_keep(libc[0]))
        return bool(_STATE["whole_process"])


@contextmanager
def kept_memory() -> Iterator[None]:
    """Within the block, glibc's allocator serves blocks up to 32 MB from its heap and keeps
    what is freed; when the last such block ends (they may overlap, in threads), its trimming
    is glibc's default again and the heap's free memory goes back to the system.

    Blocks up to 32 MB stay the heap's afterwards (glibc raises its threshold there by itself
    once it sees such blocks freed). Nothing happens off Linux, without glibc, or after
    :func:`keep_freed_memory`.
    """
    libc = _libc()
    if libc is None:
        yield
        return
    mallopt, trim = libc
    with _LOCK:
        if not _STATE["whole_process"] and _STATE["holders"] == 0:
            _keep(mallopt)
        _STATE["holders"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["holders"] -= 1
            if not _STATE["whole_process"] and _STATE["holders"] == 0:
                mallopt(_M_TRIM_THRESHOLD, DEFAULT_TRIM)
                mallopt(_M_TOP_PAD, DEFAULT_TOP_PAD)
                trim(0)
