"""The output-path policy of every sub-command, applied before any long work.

An output file (``--out`` and files derived from it, such as detect's labels image) is refused
when it

* has the wrong extension, is a folder, or lies in a folder that does not exist;
* is one of the command's inputs (same resolved path, or the same file through a link), since
  writing it would destroy the data being read;
* is not a regular file (``/dev/null``, a pipe) or is read-only;
* lies in a folder where no file can be created (checked by creating and removing one).

The files themselves are then written atomically (:mod:`napari_ivae.core._atomic`): a failure
midway leaves any earlier file of that name as it was.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from napari_ivae.core.errors import InputError

SCHEDULER_TIMEOUT = 30  # seconds to reach a --scheduler address, as the core waits


def reach_scheduler(scheduler) -> None:
    """Refuse a ``--scheduler tcp://...`` address that cannot be reached, before any work
    (a batch otherwise waited for it, and failed, once per image; a small detect ignored it).

    Raises
    ------
    InputError
        No ``distributed`` package, or no scheduler answers at the address.
    """
    if not isinstance(scheduler, str) or "://" not in scheduler:
        return
    try:
        from distributed import Client
    except ImportError as err:
        raise InputError(
            "--scheduler with an address needs the 'distributed' package "
            "(pip install 'napari-ivae[distributed]')"
        ) from err
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT, set_as_default=False)
    except OSError as err:
        raise InputError(
            f"--scheduler {scheduler}: cannot reach the dask scheduler there ({err}); start "
            "it, or leave --scheduler out to work in this process"
        ) from err
    client.close()


def replaced(existed: bool) -> str:
    """What a command's last line adds when its output replaced an earlier file of that
    name (so that it is never done silently), else ``""``."""
    return " (it replaced the earlier file of that name)" if existed else ""


def output_path(
    value,
    suffix: str | None = None,
    what: str = "file",
    *,
    inputs: dict | None = None,
    flag: str = "--out",
) -> Path:
    """Validate an ``--out`` argument and return it as a ``Path``.

    Parameters
    ----------
    value : str or Path
        The path given on the command line.
    suffix : str, optional
        Required extension (e.g. ``".npz"``), checked case-insensitively.
    what : str
        Description used in the error message (e.g. ``"numpy archive"``).
    inputs : dict, optional
        ``{flag: path}`` of the command's input files (``None`` paths are skipped); the output
        may be none of them.
    flag : str
        The option that named the output, for messages.

    Returns
    -------
    Path
        The output path (a symbolic link is followed, so the file it points to is replaced).

    Raises
    ------
    InputError
        Wrong extension, a folder, a missing or unwritable folder, an input file, a read-only
        or non-regular file.
    """
    out = Path(value).expanduser()
    if suffix and out.suffix.lower() != suffix:
        raise InputError(f"{flag} must end in {suffix} ({what}), got '{out.name}'")
    if out.is_dir():
        raise InputError(f"{flag} {out} is a folder; give a file name inside it")
    if not out.parent.exists():
        raise InputError(f"{flag} folder {out.parent} does not exist; create it first")
    if out.is_symlink():
        out = Path(os.path.realpath(out))
    check_output(out, inputs, flag)
    return out


def check_output(out: Path, inputs: dict | None = None, flag: str = "--out") -> None:
    """Refuse an output that is an input, not a regular file, read-only, or in a locked folder.

    Parameters
    ----------
    out : Path
        The file about to be written (its folder exists).
    inputs : dict, optional
        ``{flag: path}`` of the input files.
    flag : str
        The option that named the output, for messages.

    Raises
    ------
    InputError
        With one line naming the problem and the option.
    """
    for input_flag, source in (inputs or {}).items():
        if source is not None and _same_file(out, Path(source).expanduser()):
            raise InputError(
                f"{flag} {out} is the {input_flag} input file; writing it would "
                "destroy that input, so choose another output file name"
            )
    try:
        info = os.stat(out)
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise InputError(f"{flag} {out} cannot be checked: {err.strerror or err}") from err
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{flag} {out} exists and is not a regular file; give a file name")
        if not os.access(out, os.W_OK):
            raise InputError(
                f"{flag} {out} exists and is read-only; choose another file name "
                "or make it writable"
            )
    _check_folder_writable(out.parent, flag)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _check_folder_writable(folder: Path, flag: str) -> None:
    try:
        handle, probe = tempfile.mkstemp(prefix=".napari-ivae-probe.", dir=folder)
    except OSError as err:
        raise InputError(
            f"{flag} folder {folder} is not writable ({err.strerror or err}); choose another folder"
        ) from err
    os.close(handle)
    os.unlink(probe)


MAX_SEED = 2**32 - 1


def check_seed(value: int, flag: str = "--seed") -> int:
    """A random seed must lie in ``0..2**32 - 1`` (what every generator used here accepts).

    Parameters
    ----------
    value : int
        The seed given on the command line.
    flag : str
        The option, for the message.

    Returns
    -------
    int
        ``value``.

    Raises
    ------
    InputError
        Negative or larger than ``2**32 - 1``.
    """
    if not 0 <= value <= MAX_SEED:
        raise InputError(f"{flag} must be a whole number from 0 to {MAX_SEED}, got {value}")
    return value
