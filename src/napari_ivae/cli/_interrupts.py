"""Signal handling of the long-running commands: SIGTERM (``kill``, job schedulers) ends a run
as Ctrl-C does (``batch``), or the first Ctrl-C or SIGTERM stops after the current step and
keeps what was made (``train``, ``search``)."""

from __future__ import annotations

import signal
import sys
import threading


class _TermAsInterrupt:
    """SIGTERM (``kill``) ends the run like Ctrl-C: the image in progress is cleaned up."""

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread
            self.previous = None
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


_STOPPING = (
    "napari-ivae train: stopping after this batch; the partial model will be saved "
    "(Ctrl-C again to abort without saving)"
)


class _StopOnInterrupt:
    """First Ctrl-C (or SIGTERM, as ``kill`` and job schedulers send it) sets ``event`` and
    says ``message`` (train: stop after this batch, keep the model); the second one aborts."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, message: str = _STOPPING):
        self.event = threading.Event()
        self._previous: dict = {}
        self._message = message

    def _handler(self, signum, frame):
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        try:
            print(f"\n{self._message}", file=sys.stderr, flush=True)
        except (BrokenPipeError, OSError):
            pass

    def __enter__(self):
        for number in self.SIGNALS:
            try:
                self._previous[number] = signal.signal(number, self._handler)
            except ValueError:  # not the main thread (embedded use): no Ctrl-C handling
                break
        return self

    def __exit__(self, *exc):
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        return False
