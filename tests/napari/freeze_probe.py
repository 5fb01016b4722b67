"""Run by test_workers.py in a subprocess: two busy workers on a 2-thread pool, then a large
QImage conversion on the GUI thread (Qt splits it over the global pool while the GUI thread
holds the GIL). Prints "converted" when the conversion finishes; without free pool threads it
never does. ``--no-reserve`` turns the pool reservation off to show the freeze."""

from __future__ import annotations

import sys
import threading
import time

from qtpy.QtCore import QThreadPool
from qtpy.QtGui import QImage
from qtpy.QtWidgets import QApplication

import napari_ivae._workers as workers


def main() -> None:
    app = QApplication.instance() or QApplication([])
    pool = QThreadPool.globalInstance()
    pool.setMaxThreadCount(2)  # a 2-core machine
    if "--no-reserve" in sys.argv:
        workers.reserve_pool_thread = lambda worker, spare=0: None
    release = threading.Event()

    def busy_generator(stop_event):
        count = 0
        while not release.is_set():
            count += sum(range(1000))  # pure Python: needs the GIL again and again
            yield count
        return count

    def busy_function():
        count = 0
        while not release.is_set():
            count += 1
        return count

    job = workers.TrainingJob(busy_generator, total=10)
    other = workers.function_job(busy_function, what="busy")
    job.start()
    other.start()
    deadline = time.time() + 10
    while pool.activeThreadCount() < 2 and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    print(f"busy workers {pool.activeThreadCount()}, pool {pool.maxThreadCount()}", flush=True)
    image = QImage(2000, 2000, QImage.Format.Format_ARGB32)
    image.fill(0xFF336699)
    image.convertToFormat(QImage.Format.Format_RGB888)
    print("converted", flush=True)
    release.set()
    deadline = time.time() + 10
    while (job.is_running or other.is_running) and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    # the runnables emit 'finished' after is_running turns False: exiting before they return
    # deletes their signals under them, and Qt aborts the process
    pool.waitForDone(10_000)
    app.processEvents()


if __name__ == "__main__":
    main()
