"""Checks of ``--out`` paths shared by the sub-commands (done before any long work)."""

from __future__ import annotations

from pathlib import Path

from napari_ivae.core.errors import InputError


def output_path(value, suffix: str | None = None, what: str = "file") -> Path:
    """Validate an ``--out`` argument and return it as a ``Path``.

    Parameters
    ----------
    value : str or Path
        The path given on the command line.
    suffix : str, optional
        Required extension (e.g. ``".npz"``), checked case-insensitively.
    what : str
        Description used in the error message (e.g. ``"numpy archive"``).

    Raises
    ------
    InputError
        Wrong extension, a folder instead of a file, or a parent folder that does not exist.
    """
    out = Path(value).expanduser()
    if suffix and out.suffix.lower() != suffix:
        raise InputError(f"--out must end in {suffix} ({what}), got '{out.name}'")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name inside it")
    if not out.parent.exists():
        raise InputError(f"--out folder {out.parent} does not exist; create it first")
    return out
