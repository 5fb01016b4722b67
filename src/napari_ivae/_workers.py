"""Background workers for the widgets: training with stop / abort, and one-shot jobs.

superqt's generator worker treats a ``RuntimeError`` raised by the generator as "the worker was
deleted": it emits neither ``errored`` nor ``finished`` and the widget would stay busy forever.
Torch reports most failures (out of memory, shape mismatch) as ``RuntimeError``, so every job
here runs inside a guard that re-raises anything unexpected as
:class:`~napari_ivae.core.errors.TrainingError` (or leaves an ``IvaeError`` as it is).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Generator
from typing import Any

from napari.qt.threading import FunctionWorker, GeneratorWorker, create_worker

from napari_ivae.core.errors import IvaeError, TrainingError


def _as_user_error(err: Exception, what: str) -> IvaeError:
    if isinstance(err, IvaeError):
        return err
    return TrainingError(f"{what} failed: {type(err).__name__}: {err}")


def guarded_generator(generator: Generator, what: str = "training") -> Generator:
    """Re-yield ``generator`` and return its value; unexpected errors become ``IvaeError``.

    Parameters
    ----------
    generator : Generator
        Any generator, e.g. ``core.models.training.train(...)``.
    what : str
        Name of the job, used in the error message.
    """
    try:
        result = yield from generator
    except Exception as err:  # noqa: BLE001 - re-raised with a user-facing type
        raise _as_user_error(err, what) from err
    return result


GUI_SWITCH_INTERVAL = 0.001  # s; Python's default 0.005 lets a busy worker hold the GIL longer
_switch_interval_users: list[object] = []
_default_switch_interval = sys.getswitchinterval()


def _hold_short_switch_interval(owner: object) -> None:
    """While training runs, make the interpreter hand the GIL to the GUI thread sooner."""
    if not _switch_interval_users:
        sys.setswitchinterval(min(_default_switch_interval, GUI_SWITCH_INTERVAL))
    _switch_interval_users.append(owner)


def _release_short_switch_interval(owner: object) -> None:
    if owner in _switch_interval_users:
        _switch_interval_users.remove(owner)
    if not _switch_interval_users:
        sys.setswitchinterval(_default_switch_interval)


SPARE_POOL_THREADS = 2
_live_workers: set = set()  # created here and not finished (started or about to be)


def reserve_pool_thread(worker: Any, spare: int = SPARE_POOL_THREADS) -> None:
    """Make room in Qt's global thread pool for one more long-running worker, plus ``spare``.

    napari's workers run on ``QThreadPool.globalInstance()``, whose size is the number of
    cores (2 on a small machine). Qt's own helpers use the same pool: when napari's activity
    spinner starts, ``QMovie`` scales its frames with a multithreaded image conversion and the
    GUI thread waits for those tasks *while holding the GIL*. If our workers fill the pool,
    those tasks never run, and our workers are waiting for the GIL: the viewer freezes. So we
    always leave ``spare`` threads free for Qt. Workers created but not yet running count too
    (superqt starts them a few milliseconds later); counting a running one twice only leaves
    an idle thread more. The pool never shrinks.
    """
    from qtpy.QtCore import QThreadPool

    _live_workers.add(worker)
    worker.finished.connect(lambda: _live_workers.discard(worker))
    pool = QThreadPool.globalInstance()
    wanted = pool.activeThreadCount() + len(_live_workers) + int(spare)
    if pool.maxThreadCount() < wanted:
        pool.setMaxThreadCount(wanted)


def worker_threads() -> int:
    """Torch threads for a background job: all cores but one, so the GUI thread keeps one."""
    return max(1, (os.cpu_count() or 2) - 1)


class TrainingJob:
    """A training run in a napari generator worker, with stop (keep) and abort (discard).

    Parameters
    ----------
    make_generator : callable
        ``make_generator(stop_event)`` returns the core training generator (yielding
        ``TrainEvent`` and returning ``TrainResult``); it is called in the worker thread.
    total : int
        Expected number of yields, for the activity-dock progress bar (corrected from the first
        event's ``total_steps`` when it differs).
    desc : str
        Progress bar description.

    Notes
    -----
    Connect to ``job.worker`` signals (``yielded``, ``returned``, ``errored``, ``aborted``,
    ``finished``) *before* calling :meth:`start`. ``stop()`` asks the core to finish the
    current batch and return the partial model (``returned`` is emitted); ``abort()`` quits the
    worker at the next batch and nothing is returned (``aborted`` is emitted).
    """

    def __init__(
        self,
        make_generator: Callable[[threading.Event], Generator],
        *,
        total: int,
        desc: str = "training",
    ) -> None:
        self.stop_event = threading.Event()
        self.aborted = False
        self._make_generator = make_generator
        self.worker: GeneratorWorker = create_worker(
            self._run,
            _progress={"total": max(int(total), 1), "desc": desc},
            _start_thread=False,
            _ignore_errors=True,  # errors are shown by the widget
        )
        reserve_pool_thread(self.worker)
        self.worker.yielded.connect(self._fix_total)

    def _run(self) -> Generator[Any, None, Any]:
        import torch

        torch.set_num_threads(worker_threads())
        return (yield from guarded_generator(self._make_generator(self.stop_event), "training"))

    def _fix_total(self, event: Any) -> None:
        pbar = getattr(self.worker, "pbar", None)
        total = getattr(event, "total_steps", None)
        if pbar is not None and total and pbar.total != total:
            pbar.total = int(total)

    def start(self) -> None:
        """Start the worker thread (connect signals first)."""
        _hold_short_switch_interval(self)
        self.worker.finished.connect(lambda: _release_short_switch_interval(self))
        self.worker.start()

    def stop(self) -> None:
        """Finish the current batch, then return the partially trained model."""
        self.stop_event.set()

    def abort(self) -> None:
        """Quit at the next batch and discard the model."""
        self.aborted = True
        self.stop_event.set()
        self.worker.quit()

    @property
    def is_running(self) -> bool:
        """True while the worker thread has not finished."""
        return bool(self.worker.is_running)


_progress_here = threading.local()  # the running job's relay, in its worker thread


def report_progress(done: int, total: int) -> None:
    """Tell the activity dock how far the :func:`function_job` running in this thread is
    (``done`` of ``total`` items); does nothing outside one (the CLI, a test calling the
    compute function directly). Matches the core's ``progress(done, total)`` callbacks."""
    relay = getattr(_progress_here, "relay", None)
    if relay is not None:
        relay.moved.emit(int(done), int(total))


def _progress_relay() -> Any:
    """A GUI-thread object that moves its ``worker``'s ``pbar`` (napari's progress in the
    activity dock) when the worker reports counts: napari's progress objects update Qt
    widgets, so they are only touched in the GUI thread (the signal is queued across
    threads)."""
    from qtpy.QtCore import QObject, Signal, Slot

    class Relay(QObject):
        moved = Signal(int, int)
        worker: Any = None

        @Slot(int, int)
        def move(self, done: int, total: int) -> None:
            pbar = getattr(self.worker, "pbar", None)
            if pbar is None or total <= 0:
                return
            if pbar.total != total:
                pbar.total = total
            pbar.update(done - pbar.n)

    relay = Relay()
    relay.moved.connect(relay.move)  # the relay lives in the GUI thread: a queued call
    return relay


def _call_guarded(func: Callable, what: str, *args: Any, _relay: Any = None, **kwargs: Any) -> Any:
    _progress_here.relay = _relay
    try:
        return func(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - re-raised with a user-facing type
        raise _as_user_error(err, what) from err
    finally:
        _progress_here.relay = None


def function_job(
    func: Callable, *args: Any, what: str = "job", activity: bool = True, **kwargs: Any
) -> FunctionWorker:
    """A not-yet-started napari function worker running ``func(*args, **kwargs)``.

    Errors reach ``errored`` as ``IvaeError`` subclasses (and are not re-raised into the Qt
    event loop: connect ``errored`` to show them); the activity dock shows a progress bar
    named ``what`` (unless ``activity`` is false: for a job of a few hundredths of a second
    the bar would only flicker, at about 10 ms of the GUI thread's time to show and remove):
    indeterminate, or counting once ``func`` calls :func:`report_progress`.
    """
    relay = _progress_relay()
    bar = {"_progress": {"desc": what}} if activity else {}
    worker = create_worker(
        _call_guarded,
        func,
        what,
        *args,
        **bar,
        _start_thread=False,
        _ignore_errors=True,
        _relay=relay,
        **kwargs,
    )
    relay.worker = worker
    worker.finished.connect(relay.deleteLater)
    reserve_pool_thread(worker)
    return worker


def background(
    owner: Any,
    compute: Callable,
    args: tuple = (),
    *,
    what: str,
    show: Callable | None = None,
    on_done: Callable | None = None,
    on_error: Callable | None = None,
    on_finished: Callable | None = None,
    status: Any = None,
    buttons: tuple = (),
    activity: bool = True,
) -> FunctionWorker:
    """The one way the widgets run a heavy action: ``compute(*args)`` in a worker thread, then
    ``show(result)`` (layer writing) in the GUI thread.

    Parameters
    ----------
    owner : magicgui widget or None
        The widget the action belongs to. While the job runs ``is_busy(owner, what)`` is true;
        once the widget's Qt object is deleted (viewer closed) the results are dropped.
    compute : callable
        Runs in the worker; touches no layer.
    args : tuple
        Arguments of ``compute`` (snapshots taken in the GUI thread).
    what : str
        Name of the action ("extracting patches"): activity dock, status line ("...") and
        error messages.
    show : callable, optional
        ``show(result)`` in the GUI thread; its return value goes to ``on_done``.
    on_done, on_error : callable, optional
        ``on_done(shown)`` after a successful show; ``on_error(err)`` after a failure in either
        step, before the error is reported in ``status`` and as a notification.
    on_finished : callable, optional
        ``on_finished()`` in the GUI thread when the job has ended either way (connected
        before the worker starts: a job that fails at once still calls it).
    status : StatusLine, optional
        Says ``what...`` while busy and shows errors.
    buttons : tuple of magicgui widgets
        Disabled while the job runs (the busy state), enabled again when it ends.
    activity : bool
        Show the job in napari's activity dock (:func:`function_job`).

    Returns
    -------
    FunctionWorker
        The started worker.
    """
    from napari_ivae._widgets._common import report, while_alive

    worker = function_job(compute, *args, what=what, activity=activity)
    if owner is not None:
        _jobs_of(owner)[what] = worker
    _hold_short_switch_interval(worker)

    def done(result: Any) -> None:
        try:
            shown = show(result) if show is not None else result
        except Exception as err:  # noqa: BLE001 - handed to the error display
            failed(err)
            return
        if on_done is not None:
            on_done(shown)

    def failed(err: BaseException) -> None:
        if on_error is not None:
            on_error(err)
        if status is not None:
            report(status, err)

    def idle() -> None:
        if owner is not None and _jobs_of(owner).get(what) is worker:
            del _jobs_of(owner)[what]
        for button in buttons:
            button.enabled = True

    guard = (lambda slot: while_alive(owner, slot)) if owner is not None else (lambda s: s)
    worker.returned.connect(guard(done))
    worker.errored.connect(guard(failed))
    worker.finished.connect(guard(idle))
    worker.finished.connect(lambda: _release_short_switch_interval(worker))
    if on_finished is not None:
        worker.finished.connect(guard(on_finished))
    for button in buttons:
        button.enabled = False
    if status is not None:
        status.ok(f"{what}...")
    worker.start()
    return worker


def _jobs_of(owner: Any) -> dict:
    jobs = getattr(owner, "_ivae_jobs", None)
    if jobs is None:
        jobs = {}
        owner._ivae_jobs = jobs
    return jobs


def is_busy(owner: Any, what: str | None = None) -> bool:
    """Whether ``owner`` has a :func:`background` job running (named ``what``, or any)."""
    jobs = getattr(owner, "_ivae_jobs", None) or {}
    return bool(jobs) if what is None else what in jobs
