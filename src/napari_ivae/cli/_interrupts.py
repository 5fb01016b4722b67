"""Signal handling of the long-running commands: SIGTERM (``kill``, job schedulers) ends a run
as Ctrl-C does."""

from __future__ import annotations

import signal


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
