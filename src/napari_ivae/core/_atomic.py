"""Write a file so that a crash never leaves a half-written file over a good one.

Every file napari-ivae writes (model bundles, ``.npz`` archives, CSV tables, labels images,
``.tif`` maps) goes through :func:`write_atomically`: the content is written to a temporary
file beside the target, flushed to disk, given the mode a plain ``open(path, "w")`` would have
given it (the umask's, or the replaced file's own), and only then renamed over the target.
:func:`write_output` does the same and turns every write failure into one
:class:`~napari_ivae.core.errors.InputError` line.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from napari_ivae.core.errors import InputError


def _umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, then put it back at once
    os.umask(mask)
    return mask


def _target_mode(path: Path) -> int:
    """Mode the file gets: an existing file keeps its own, a new one 0666 minus the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def write_atomically(path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it over ``path``.

    Parameters
    ----------
    path : str or Path
        Destination; its folder must exist.
    write : callable
        Writes the whole content to the binary (seekable) stream it is given.

    Returns
    -------
    Path
        ``path``. On any error the temporary file is removed, ``path`` is left as it was, and
        the error re-raised.
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, _target_mode(path))  # mkstemp makes 0600: colleagues could not read it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def describe_write_error(err: BaseException) -> str:
    """A short reason for a failed write (``No space left on device``, ``File too large``)."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, OSError):  # torch wraps the OSError
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OSError):
        if cause.errno in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT):
            return os.strerror(cause.errno)
        return cause.strerror or str(cause)
    text = str(err).strip().splitlines()
    reason = text[0] if text else type(err).__name__
    if any(
        marker in reason
        for marker in (
            "file write failed",
            "PytorchStreamWriter",
            "inline_container",
            "unexpected pos",
        )
    ):
        reason = "the write failed midway (disk full or file-size limit reached)"
    return reason


def write_output(path, write: Callable[[BinaryIO], object], what: str = "file") -> Path:
    """:func:`write_atomically`, with every failure turned into one clear error line.

    Parameters
    ----------
    path : str or Path
        Destination; its folder must exist.
    write : callable
        Writes the whole content to the binary stream it is given.
    what : str
        What is written, for the message (``"CSV file"``, ``"model file"``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        The file could not be written (no permission, disk full, file too large, ...). The
        previous content of ``path``, if any, is unchanged.
    """
    try:
        return write_atomically(path, write)
    except (OSError, RuntimeError) as err:  # torch.save reports write failures as RuntimeError
        raise InputError(
            f"cannot write the {what} {path}: {describe_write_error(err)}; "
            "nothing was changed there"
        ) from err
