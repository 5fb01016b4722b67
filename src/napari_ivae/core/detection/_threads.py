"""A detection's second core: its scale spaces, their per-scale measures and wide blurs side
by side on the main thread.

``napari-ivae detect`` runs one detection on the main thread of its process; the per-scale
work of the particle search (the scale space's inverse transforms, the polarity and scale
choice's peaks and spreads, the background's bound at each scale) and the cosine transforms
of wide blurs are independent between scales or lines, and NumPy and pocketfft release the
interpreter's lock while they compute. Everything is computed as on one thread, bit for bit:
pocketfft gives each thread whole lines of an array, each transformed as alone, and
:func:`shared_out` gives each thread whole scales, gathered in their order; :func:`started`
runs a step that needs none of them (the choice's packed-layer test) beside them.
"""

from __future__ import annotations

DETECTION_THREADS = 2  # threads a detection on the main thread uses, at most


def detection_threads() -> int:
    """How many threads a detection's per-scale work and transforms use: up to
    ``DETECTION_THREADS`` (and the cores this process may run on that other processes leave
    idle) on the main thread, 1 on any other (a stack's frames and a widget's detection run in
    threads of their own).

    The numbers are those of one thread, bit for bit (``tests/core/test_detection_threads.py``).
    """
    import os
    import threading

    if threading.current_thread() is not threading.main_thread():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:  # cores other processes keep busy (the last minute's load, this one's included)
        busy = max(int(os.getloadavg()[0]) - 1, 0)
    except (AttributeError, OSError):
        busy = 0
    # on a loaded machine a thread handed a share waits for a core, and the detection with
    # it: at load 3.5-4 on 2 cores two threads took 0.5 s longer than one
    return max(1, min(DETECTION_THREADS, cores - busy))


def shared_out(work, count: int, threads: int) -> None:
    """``work(indices)`` over ``range(count)``: every ``threads``-th index from each start on
    a thread of its own (the calling thread takes the first share), or all on the caller."""
    threads = min(threads, count)
    if threads <= 1:
        work(range(count))
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads - 1) as pool:
        others = [pool.submit(work, range(k, count, threads)) for k in range(1, threads)]
        work(range(0, count, threads))
        for other in others:
            other.result()


class _Computed:
    """A result computed already, read as a future's."""

    def __init__(self, value) -> None:
        self.value = value

    def result(self):  # noqa: D102 - as concurrent.futures.Future
        return self.value


def started(compute, *args):
    """``compute(*args)`` begun on a thread of its own when :func:`detection_threads` allows
    more than one, else computed now; its ``result()`` gives the result (or raises what it
    raised)."""
    if detection_threads() <= 1:
        return _Computed(compute(*args))
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(compute, *args)
    finally:
        pool.shutdown(wait=False)  # its thread ends with the task


__all__ = ["DETECTION_THREADS", "detection_threads", "shared_out", "started"]
