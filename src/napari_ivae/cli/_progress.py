"""Progress of long stages on the command line, and the ``--scheduler`` option.

:class:`Progress` is a ``progress(done, total)`` callable for one stage (frames detected,
chunks searched, patches encoded, frames mapped). On a terminal it redraws one bar line; in a
log (stderr not a terminal) it writes a line at each tenth once the stage has taken a few
seconds, with the count, the time spent and the time left (ETA), and one line when the stage
ends, so a long run in a batch job shows where it is without flooding the log.
"""

from __future__ import annotations

import sys
import time

BAR_WIDTH = 28
QUIET_SECONDS = 2.0  # before this, a stage prints only its final line


class Progress:
    """``progress(done, total)`` for one stage of a command.

    Parameters
    ----------
    command : str
        Prefix of each line (``"napari-ivae detect"``).
    stage : str
        What is counted (``"frames detected"``).
    stream : file, optional
        Where to write (default ``sys.stderr``).
    final_line : bool
        Write the stage's last line even when it was quick (``batch`` leaves that to its
        one line per image).
    """

    def __init__(self, command: str, stage: str, stream=None, final_line: bool = True):
        self.command, self.stage, self.final_line = command, stage, final_line
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.next_tenth = 1

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.start
        finished = done >= total
        if finished and not self.final_line and elapsed < QUIET_SECONDS:
            return
        if self.tty:
            if elapsed < QUIET_SECONDS and not finished:
                return
            filled = int(BAR_WIDTH * done / max(total, 1))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self._write(
                f"\r{self.command}: {self.stage} [{bar}] {self._counts(done, total)}"
                f"{self._eta(done, total, elapsed)}" + ("\n" if finished else "")
            )
            return
        tenth = int(10 * done / max(total, 1))
        if not finished and (tenth < self.next_tenth or elapsed < QUIET_SECONDS):
            return
        self.next_tenth = tenth + 1
        self._write(
            f"{self.command}: {self.stage} {self._counts(done, total)}"
            f"{self._eta(done, total, elapsed)}\n"
        )

    @staticmethod
    def _counts(done: int, total: int) -> str:
        return f"{done}/{total} ({100 * done / max(total, 1):.0f} %)"

    @staticmethod
    def _eta(done: int, total: int, elapsed: float) -> str:
        text = f", {_clock(elapsed)}"
        if 0 < done < total:
            text += f", about {_clock(elapsed / done * (total - done))} left"
        return text

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, OSError):
            pass


def _clock(seconds: float) -> str:
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def add_scheduler_argument(parser) -> None:
    """``--scheduler``: where detection (and in ``batch``, cutting and encoding) runs."""
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="WHERE",
        help="where frames and chunks are worked on: threads (default, in this process), "
        "processes (worker processes of this machine), sync (one after the other), or "
        "the address of a running dask.distributed scheduler, e.g. tcp://host:8786 "
        "(every worker must see the image files)",
    )


__all__ = ["Progress", "add_scheduler_argument"]
