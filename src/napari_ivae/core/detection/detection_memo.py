"""Results of a detection's pure steps, kept for the next detection of the same image.

Live tuning re-detects the same image with one parameter changed (the Detect dock's spin box
dragged). Many steps do not depend on that parameter: the burned-in annotation mask, the
spacing estimate, the crystalline region and the atoms' polarity at a spacing, the first
pass at given parameters. A :class:`DetectionMemo` holds their results, each under a key made
of the step's name and the *contents* of its arguments (arrays by a SHA-1 of their bytes,
numbers exactly), so it is never stale: a changed pixel or parameter is another key, and a
step whose arguments cannot be keyed is simply computed. A detection also shares a memo
between its own steps (the full frame's crystalline region, asked for by the first pass's
crop check and by the frame's detection). Results are copied in and out: whatever a caller
does to one cannot reach the next.

    memo = DetectionMemo()
    detect_atoms(image, spacing=12.0, memo=memo)
    detect_atoms(image, spacing=12.0, refine="gaussian", memo=memo)  # most steps remembered

Inside a detection, :func:`remembered` calls a step through the memo that
:func:`using_memo` made active for this thread (or computes it when none is). Given a
``superseded`` test, it is also where a detection whose result is no longer wanted (the
parameter changed again meanwhile) stops: before each step, by raising :class:`Superseded`.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

MAX_BYTES = 128 * 2**20  # the memo's results together; the oldest go first
MAX_ENTRIES = 64
# an argument larger than this is not keyed (the step is computed): hashing a memory-mapped
# stack of gigabytes would read all of it at every run, for a key no tuning burst reuses
MAX_KEYED_BYTES = 256 * 2**20

_ACTIVE: contextvars.ContextVar[tuple | None] = contextvars.ContextVar(
    "napari_ivae_detection_memo", default=None
)


class Unkeyable(TypeError):
    """An argument the memo cannot key by its contents (the step is then computed)."""


class Superseded(BaseException):  # noqa: N818 - what happened, not an error
    """A detection stopped between steps because its result is no longer wanted. A
    ``BaseException``, as ``KeyboardInterrupt``: no step's ``except Exception`` holds it."""


class DetectionMemo:
    """A bounded store of detection steps' results keyed by their arguments' contents.

    Parameters
    ----------
    max_bytes : int
        The stored results' size together (arrays' bytes); the least recently used go first.
    max_entries : int
        At most this many results.

    Attributes
    ----------
    hits, misses : int
        Steps answered from the memo, and computed.
    """

    def __init__(self, max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES) -> None:
        self.max_bytes = int(max_bytes)
        self.max_entries = int(max_entries)
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def lookup(self, key: Any) -> tuple[bool, Any]:
        """``(True, a copy of the result)`` for a known key, else ``(False, None)``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return False, None
            self._entries.move_to_end(key)
            self.hits += 1
            value = entry[0]
        return True, copy.deepcopy(value)

    def store(self, key: Any, value: Any) -> None:
        """Keep a copy of ``value`` under ``key`` (not when it alone is over a quarter of
        ``max_bytes``), dropping the least recently used results beyond the bounds."""
        size = _nbytes(value)
        if size > self.max_bytes // 4:
            return
        kept = copy.deepcopy(value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (kept, size)
            self._bytes += size
            while self._entries and (
                self._bytes > self.max_bytes or len(self._entries) > self.max_entries
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped


@contextmanager
def using_memo(
    memo: DetectionMemo | None = None, superseded: Callable[[], bool] | None = None
) -> Iterator[DetectionMemo]:
    """Make ``memo`` the one :func:`remembered` uses in this thread (and context) while the
    block runs; without one, the memo already active, else a new one for the block (a
    detection's own steps share it). ``superseded()``, when given, is asked before each
    step: true, and the step raises :class:`Superseded` (an active test stays in force)."""
    active = _ACTIVE.get()
    if memo is None and active is not None:
        yield active[0]
        return
    if superseded is None and active is not None:
        superseded = active[2]
    # the array digests of this block, by id (an enclosing block's, for the same memo)
    digests = active[1] if active is not None and active[0] is memo else {}
    memo = DetectionMemo() if memo is None else memo
    token = _ACTIVE.set((memo, digests, superseded))
    try:
        yield memo
    finally:
        _ACTIVE.reset(token)


def remembered(name: str, compute: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``compute(*args, **kwargs)``, or its result from the active memo when the step ``name``
    ran on equal arguments before. ``compute`` must be pure: its result depends on its
    arguments only, and it changes none of them."""
    return remembered_when(name, None, compute, *args, **kwargs)


def remembered_when(
    name: str,
    keep: Callable[[Any], bool] | None,
    compute: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """:func:`remembered`, keeping a result only when ``keep(result)`` (a step that warns
    does so again each time: its result is not kept)."""
    active = _ACTIVE.get()
    if active is None:
        return compute(*args, **kwargs)
    memo, digests, superseded = active
    if superseded is not None and superseded():
        raise Superseded(name)
    try:
        key = (name, _key(args, digests), _key(kwargs, digests))
    except Unkeyable:
        return compute(*args, **kwargs)
    found, value = memo.lookup(key)
    if found:
        return value
    value = compute(*args, **kwargs)
    if keep is None or keep(value):
        memo.store(key, value)
    return value


def shared_gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """``ndimage.gaussian_filter`` of ``image`` in float32, kept in the active detection memo
    (:func:`~napari_ivae.core.detection.detection_memo.remembered`): the shape steps (rims,
    outlines, reliefs, donuts) of both size-range searches smooth the same frame by the same
    pixel (six full-frame filters of a 2048 px frame, five of them repeats).

    Parameters
    ----------
    image : numpy.ndarray
        The frame to smooth, of any dtype (taken as float32 first).
    sigma : float
        The Gaussian's width in pixels.

    Returns
    -------
    numpy.ndarray
        ``ndimage.gaussian_filter(np.asarray(image, dtype=np.float32), sigma)``, the same
        numbers (a copy when remembered).
    """
    return remembered("gaussian_filter", _ndimage_gaussian, np.asarray(image, np.float32), sigma)


def _ndimage_gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(image, sigma)


def checkpoint() -> None:
    """Raise :class:`Superseded` when the active test says the detection is no longer wanted
    (between steps that are not :func:`remembered`: a stack's frames)."""
    active = _ACTIVE.get()
    if active is not None and active[2] is not None and active[2]():
        raise Superseded("checkpoint")


def _key(value: Any, digests: dict) -> Any:
    """A hashable key equal for equal contents (floats exactly; arrays by their bytes)."""
    if value is None or isinstance(value, (bool, str, int)):
        return (type(value).__name__, value)
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, np.generic):
        return ("np", value.dtype.str, value.tobytes())
    if isinstance(value, np.ndarray):
        return _array_key(value, digests)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: repr(item[0]))
        return ("dict", tuple((_key(k, digests), _key(v, digests)) for k, v in items))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_key(v, digests) for v in value))
    raise Unkeyable(type(value).__name__)


def _array_key(array: np.ndarray, digests: dict) -> tuple:
    """An array by its shape, type and the digest of its contents, whatever it is a view of:
    a step's first result comes back as computed (a view: the frame of a ``(1, Y, X)``
    array), a remembered one as a copy, and both must find the same results."""
    if array.dtype.hasobject:
        raise Unkeyable("object array")
    if isinstance(array, np.memmap) or array.nbytes > MAX_KEYED_BYTES:
        raise Unkeyable("a memory-mapped or very large array")
    # a view of all of a contiguous array's bytes in their order (a (1, Y, X) array's frame,
    # a reshape) has its bytes' digest: hashed once by that array, whichever view asks
    base = array
    while isinstance(base.base, np.ndarray) and not isinstance(base.base, np.memmap):
        base = base.base
    whole = base.nbytes == array.nbytes and base.flags.c_contiguous and array.flags.c_contiguous
    return ("array", array.shape, array.dtype.str, _digest(base if whole else array, digests))


def _digest(array: np.ndarray, digests: dict) -> str:
    # within one detection an array's contents do not change: each is hashed once (the
    # array is held in ``digests`` with its digest, so its id is not reused meanwhile)
    held = digests.get(id(array))
    if held is None or held[0] is not array:
        raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        held = digests[id(array)] = (array, hashlib.sha1(raw.data).hexdigest())
    return held[1]


def _nbytes(value: Any) -> int:
    """About the memory a result holds (its arrays' bytes; 64 for anything else)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict):
        return 64 + sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return 64 + sum(_nbytes(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(_nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    if hasattr(value, "memory_usage"):  # a pandas table
        return int(value.memory_usage(deep=True).sum())
    return 64


__all__ = [
    "DetectionMemo",
    "Superseded",
    "checkpoint",
    "shared_gaussian",
    "remembered",
    "remembered_when",
    "using_memo",
]
