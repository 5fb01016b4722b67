"""freed_memory: glibc serves a large block from its heap (no fresh mapping) once told, for
the whole process or within kept_memory() only."""

import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
from napari_ivae.core.detection.freed_memory import keep_freed_memory, kept_memory

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
libc.malloc.argtypes, libc.malloc.restype = [ctypes.c_size_t], ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mapped(size):
    block = libc.malloc(size)
    out = libc.mallinfo2().hblkhd >= size
    libc.free(block)
    return out

mode = sys.argv[1]
if mode == "told":
    print(keep_freed_memory(), mapped(16 * 2**20))
elif mode == "within":
    with kept_memory():
        inside = mapped(16 * 2**20)
    # afterwards the heap's free memory went back: what it holds free is small
    print(inside, libc.mallinfo2().fordblks < 2**20)
else:
    print(False, mapped(16 * 2**20))
"""


def _glibc_with_mallinfo2():
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallinfo2  # noqa: B018 - glibc >= 2.33
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc's mallinfo2 needed")
@pytest.mark.parametrize(
    "mode, expected",
    [("told", "True False"), ("within", "False True"), ("not", "False True")],
)
def test_a_large_block_comes_from_the_heap_once_told(mode, expected):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == expected.split()


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc needed")
def test_glibc_is_found_without_importing_ctypes_util():
    probe = (
        "import sys\n"
        "from napari_ivae.core.detection.freed_memory import _libc\n"
        "print(_libc() is not None, 'ctypes.util' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
