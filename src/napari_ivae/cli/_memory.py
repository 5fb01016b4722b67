"""The C allocator of a command-line run told to keep the memory a step freed for the next.

A detection on a large frame allocates and frees arrays of tens of megabytes a few hundred
times. glibc's ``malloc`` hands each one over 128 kB (raised only as it sees them freed) to
the kernel as a fresh mapping, and every first touch of its pages is the kernel zeroing them:
1.6 of the 9.3 CPU seconds of one 1920 x 1920 particle detection were the kernel's. Served
from the heap and kept there, a freed array's pages are the next one's (0.6 s). Only a
process that ends with its command (the console script) does this: a napari session keeps
running after a detection and should return what it freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# glibc's mallopt() parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: blocks up to this come from the heap
TRIM_THRESHOLD = 2**31 - 1  # the heap's free top is never given back before the process ends
TOP_PAD = 64 * 2**20  # the heap grows by at least this much at a time (fewer system calls)


def keep_freed_memory() -> bool:
    """Tell glibc's allocator to serve large blocks from its heap and keep what is freed.

    Returns
    -------
    bool
        Whether it was told (False off Linux or without glibc: nothing changed).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(
        mallopt(parameter, value) == 1
        for parameter, value in (
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (_M_TOP_PAD, TOP_PAD),
        )
    )
