"""Where independent pieces of work run: threads here, processes here, or a dask cluster.

Detection (frame by frame, or chunk by chunk within a frame) and encoding (chunk by chunk) are
lists of independent tasks. :func:`map_tasks` runs such a list on a *scheduler*:

==========================  =====================================================================
scheduler                   runs the tasks
==========================  =====================================================================
``None`` / ``"threads"``    in threads of this process (the default: nothing to start)
``"sync"``                  one after the other in this process (for debugging)
``"processes"``             in worker processes of this machine (started and stopped here)
``"tcp://host:port"``       on the workers of a running ``dask.distributed`` scheduler
a ``distributed.Client``    on that client's cluster (e.g. a ``LocalCluster`` made in Python)
==========================  =====================================================================

Results come back in the order of the tasks whatever order they finish in, so the outcome does
not depend on the scheduler. Images go to other processes as references, not pixels:
:func:`portable` turns a memory-mapped array into its file name and layout, a dask array (a
zarr's) travels as its graph and a :class:`~napari_ivae.core.io.imageio.TiffStack` as its path,
so every worker must see the same files (a shared file system for a cluster).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from napari_ivae.core.errors import InputError

SCHEDULERS = ("threads", "sync", "processes")


class MemmapRef:
    """A memory-mapped ``.npy``/TIFF array that pickles as its file name and layout and is
    mapped again where it is unpickled (a worker reads only what it indexes)."""

    def __init__(self, array: np.memmap):
        base: Any = array
        while isinstance(getattr(base, "base", None), np.memmap):
            base = base.base
        if not isinstance(base, np.memmap) or base.filename is None or base.shape != array.shape:
            raise InputError("only a whole memory-mapped array can be shared with workers")
        self.filename, self.offset = str(base.filename), int(base.offset)
        self.dtype, self.shape = base.dtype, tuple(base.shape)
        self.order: Literal["C", "F"] = (
            "F" if base.flags.f_contiguous and not base.flags.c_contiguous else "C"
        )
        self.ndim = len(self.shape)
        self._array: np.ndarray | None = array

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_array"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._array = None

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(
                self.filename,
                dtype=self.dtype,
                mode="r",
                offset=self.offset,
                shape=self.shape,
                order=self.order,
            )
        return self._array

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __getitem__(self, key):
        return self.array[key]


def portable(image):
    """``image`` in a form that can be sent to another process cheaply (see the module doc).

    Parameters
    ----------
    image : array-like
        A memory map (whole, as :func:`~napari_ivae.core.io.imageio.read_image` gives it) becomes
        a :class:`MemmapRef`; anything else is returned as it is.
    """
    if isinstance(image, np.memmap) and getattr(image, "filename", None):
        try:
            return MemmapRef(image)
        except InputError:
            return image
    return image


class _Box:
    """Hides a value from dask.distributed, which would otherwise compute a dask array passed
    as a task's argument instead of handing it over."""

    def __init__(self, value):
        self.value = value


def _unboxed(func, boxed_args):
    """Run a task on a cluster worker. Dask arrays it reads are computed right here: the
    worker's default would send each slice back to the cluster and wait for a free worker
    thread, which a task holding the only one never gets."""
    import dask

    with dask.config.set(scheduler="synchronous"):
        return func(*[a.value if isinstance(a, _Box) else a for a in boxed_args])


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every system (macOS, Windows)
        return os.cpu_count() or 1


def check_scheduler(scheduler) -> None:
    """Raise :class:`InputError` unless ``scheduler`` is one :func:`map_tasks` knows."""
    if scheduler is None or _is_client(scheduler):
        return
    if not isinstance(scheduler, str) or not (scheduler in SCHEDULERS or "://" in scheduler):
        raise InputError(
            f"scheduler {scheduler!r} is not known; use 'threads' (default), "
            "'processes', 'sync', a dask scheduler address such as "
            "'tcp://host:8786', or a distributed.Client"
        )


def _is_client(scheduler) -> bool:
    return type(scheduler).__name__ == "Client" and hasattr(scheduler, "submit")


def map_tasks(
    func: Callable,
    tasks: Sequence[tuple],
    scheduler=None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list:
    """Run ``func(*task)`` for every task and return the results in the tasks' order.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled for processes and clusters).
    tasks : sequence of tuple
        The arguments of each call.
    scheduler : None, str or distributed.Client
        See the module doc.
    progress : callable, optional
        ``progress(done, total)`` each time a task finishes.
    workers : int, optional
        Threads or processes to use (default: the CPUs this process may use, at most the
        number of tasks).

    Returns
    -------
    list
        ``[func(*task) for task in tasks]``.
    """
    check_scheduler(scheduler)
    tasks, total = list(tasks), len(tasks)
    results: list = [None] * total
    if total == 0:
        return results
    workers = max(1, min(int(usable_cores() if workers is None else workers), total))
    if scheduler == "sync" or (scheduler in (None, "threads") and workers == 1):
        for index, task in enumerate(tasks):
            results[index] = func(*task)
            if progress is not None:
                progress(index + 1, total)
        return results
    if scheduler in (None, "threads", "processes"):
        from concurrent import futures

        if scheduler == "processes":
            import multiprocessing

            # spawned, not forked: a fork of a process holding torch's or BLAS's threads can hang
            pool: futures.Executor = futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn")
            )
        else:
            pool = futures.ThreadPoolExecutor(workers)
        with pool:
            pending = {pool.submit(func, *task): index for index, task in enumerate(tasks)}
            for done, future in enumerate(futures.as_completed(pending), start=1):
                results[pending[future]] = future.result()
                if progress is not None:
                    progress(done, total)
        return results
    return _on_cluster(func, tasks, scheduler, progress, results)


def _on_cluster(func, tasks, scheduler, progress, results) -> list:
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise InputError(
            "a dask cluster needs the 'distributed' package "
            "(pip install 'napari-ivae[distributed]')"
        ) from err
    own = not _is_client(scheduler)
    if own:
        try:
            client = Client(scheduler, timeout=30, set_as_default=False)
        except OSError as err:
            raise InputError(f"cannot reach the dask scheduler at {scheduler}: {err}") from err
    else:
        client = scheduler
    try:
        futures = [
            client.submit(_unboxed, func, [_Box(a) for a in task], pure=False) for task in tasks
        ]
        index_of = {future.key: index for index, future in enumerate(futures)}
        # this client's loop: it is not the default client, and as_completed looks for one
        for done, future in enumerate(as_completed(futures, loop=client.loop), start=1):
            results[index_of[future.key]] = future.result()
            if progress is not None:
                progress(done, len(tasks))
    finally:
        if own:
            client.close()
    return results


__all__ = ["MemmapRef", "SCHEDULERS", "check_scheduler", "map_tasks", "portable", "usable_cores"]
