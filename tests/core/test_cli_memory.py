"""keep_freed_memory: glibc serves a large block from its heap (no fresh mapping) afterwards."""

import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
from napari_ivae.cli._memory import keep_freed_memory

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
told = keep_freed_memory() if sys.argv[1] == "told" else False
block = libc.malloc(16 * 2**20)
mapped = libc.mallinfo2().hblkhd
libc.free(block)
print(told, mapped >= 16 * 2**20)
"""


def _glibc_with_mallinfo2():
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallinfo2  # noqa: B018 - glibc >= 2.33
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc's mallinfo2 needed")
@pytest.mark.parametrize("mode, expected", [("told", "True False"), ("not", "False True")])
def test_a_large_block_comes_from_the_heap_once_told(mode, expected):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == expected.split()
