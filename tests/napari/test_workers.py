"""The training job wrapper: stop keeps the result, abort discards it, errors are reported."""

from __future__ import annotations

import time

import pytest

from napari_ivae._workers import TrainingJob, function_job, guarded_generator
from napari_ivae.core.errors import InputError, TrainingError


def fake_training(stop_event, n=200, fail_at=None, error=RuntimeError):
    done = 0
    for step in range(n):
        if stop_event.is_set():
            break
        if fail_at is not None and step == fail_at:
            raise error("CUDA out of memory (fake)")
        time.sleep(0.002)
        done += 1
        yield step
    return {"steps": done, "stopped": stop_event.is_set()}


def test_guarded_generator_converts_runtime_errors():
    gen = guarded_generator(iter_then_raise(), "training")
    assert next(gen) == 1
    with pytest.raises(TrainingError, match="out of memory"):
        next(gen)


def iter_then_raise():
    yield 1
    raise RuntimeError("out of memory")


def test_guarded_generator_keeps_user_errors_and_return_value():
    def gen():
        yield 1
        return "done"

    wrapped = guarded_generator(gen())
    assert next(wrapped) == 1
    with pytest.raises(StopIteration) as stop:
        next(wrapped)
    assert stop.value.value == "done"

    def bad():
        raise InputError("bad patches")
        yield  # pragma: no cover

    with pytest.raises(InputError, match="bad patches"):
        next(guarded_generator(bad()))


def test_stop_returns_the_partial_result(qtbot):
    job = TrainingJob(fake_training, total=200)
    returned, steps = [], []
    job.worker.returned.connect(returned.append)
    job.worker.yielded.connect(steps.append)
    job.worker.yielded.connect(lambda step: job.stop() if step == 3 else None)
    with qtbot.waitSignal(job.worker.finished, timeout=10000):
        job.start()
    assert len(returned) == 1
    assert returned[0]["stopped"] is True
    assert 4 <= returned[0]["steps"] < 200
    assert not job.is_running


def test_abort_discards_the_result(qtbot):
    job = TrainingJob(fake_training, total=200)
    returned, aborted = [], []
    job.worker.returned.connect(returned.append)
    job.worker.aborted.connect(lambda: aborted.append(True))
    job.worker.yielded.connect(lambda step: job.abort() if step == 2 else None)
    with qtbot.waitSignal(job.worker.finished, timeout=10000):
        job.start()
    assert returned == [] and aborted == [True] and job.aborted


def test_runtime_error_reaches_errored_and_finished(qtbot):
    """superqt would swallow a RuntimeError (no errored, no finished): the guard prevents it."""
    job = TrainingJob(lambda stop: fake_training(stop, fail_at=3), total=200)
    errors = []
    job.worker.errored.connect(errors.append)
    with qtbot.waitSignal(job.worker.finished, timeout=10000):
        job.start()
    assert len(errors) == 1 and isinstance(errors[0], TrainingError)
    assert "out of memory" in str(errors[0])


def test_function_job_reports_errors(qtbot):
    def boom():
        raise RuntimeError("torch exploded")

    worker = function_job(boom, what="detecting")
    errors = []
    worker.errored.connect(errors.append)
    with qtbot.waitSignal(worker.finished, timeout=10000):
        worker.start()
    assert isinstance(errors[0], TrainingError) and "detecting failed" in str(errors[0])


def test_workers_leave_threads_free_for_qt(qtbot):
    """Two busy workers on a small machine must not fill Qt's global pool: the GUI thread
    waits on pool tasks (image scaling for the activity spinner) while holding the GIL."""
    import threading

    from qtpy.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    before = pool.maxThreadCount()
    pool.setMaxThreadCount(1)  # as if on a one-core machine
    release = threading.Event()

    def blocked(stop_event):
        while not release.is_set() and not stop_event.is_set():
            time.sleep(0.005)
            yield 0
        return {}

    try:
        job = TrainingJob(blocked, total=10)
        other = function_job(release.wait, 10.0, what="waiting")
        job.start()
        other.start()
        qtbot.waitUntil(lambda: pool.activeThreadCount() >= 2, timeout=5000)
        assert pool.maxThreadCount() - pool.activeThreadCount() >= 2
    finally:
        release.set()
        qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=10000)
        pool.setMaxThreadCount(before)


def test_gui_thread_is_not_starved_by_busy_workers():
    """The freeze itself, in a subprocess: with our two workers busy on a 2-thread pool, a
    multithreaded QImage conversion on the GUI thread must finish (it hung before the pool
    reservation)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = Path(__file__).with_name("freeze_probe.py")
    run = subprocess.run(
        [sys.executable, str(probe)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert "converted" in run.stdout, run.stdout + run.stderr[-2000:]
    assert run.returncode == 0, run.stderr[-2000:]
