"""Command-line interface: ``napari-ivae <command> ...``.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which registers
the parser and sets ``func`` to a callable ``run(args) -> int``. Errors derived from
:class:`napari_ivae.core.errors.IvaeError` are printed as one clear line on stderr and give
exit code 2; anything else is a bug and shows its traceback (exit code 1). Python warnings
are printed as one ``napari-ivae <command>: warning: ...`` line each (once per message), and
both use the command-line spellings of the options (``--frame-axis 0``, not ``frame_axis=0``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import re
import sys
import warnings

# module name -> sub-command(s) it registers; imported lazily so `--help` stays fast.
_COMMAND_MODULES = ["train", "encode", "detect", "patches", "batch", "search", "demo"]


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (which option, what is wrong), exit code 2."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``napari-ivae`` parser with every sub-command, or with ``command`` alone.

    Parameters
    ----------
    command : str, optional
        A sub-command's name: only its module is imported and registered (a run needs no
        other; importing them all costs a tenth of a second at every start).

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    from napari_ivae import __version__

    parser = _OneLineParser(
        prog="napari-ivae",
        description="Invariant VAEs for microscopy: detect, cut patches, train, encode.",
    )
    parser.add_argument("--version", action="version", version=f"napari-ivae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [command] if command in _COMMAND_MODULES else _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"napari_ivae.cli._{name.replace('-', '_')}")
        except ModuleNotFoundError as err:  # command not built yet in this checkout
            if err.name and err.name.startswith("napari_ivae.cli."):
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``napari-ivae`` console script.

    Parameters
    ----------
    argv : list of str, optional
        The words after ``napari-ivae``. Without them (the console script, ``python -m
        napari_ivae.cli``) the process's own command line is run, and the process ends when
        this returns: the garbage collector's objects are frozen then, so that the
        interpreter's exit does not walk them all once more (0.06-0.1 s of CPU at the end of
        every ``detect``). Objects no longer referenced are still freed, files closed and exit
        handlers run. For ``detect`` and ``batch`` its C allocator keeps the memory a step
        frees for the next one (:mod:`~napari_ivae.core.detection.freed_memory`: the kernel
        no longer zeroes fresh pages for every large array, a fifth of a large frame's
        detection). SciPy's import leaves its docstrings as written
        (:mod:`~napari_ivae.cli._scipy_docs`: 0.15-0.3 s of every ``detect``), and for
        ``detect`` and ``batch`` NumPy's developer tools and SciPy's sparse matrices and
        rotations load only if used (:mod:`~napari_ivae.cli._numpy_extras`,
        :mod:`~napari_ivae.cli._scipy_extras`). ``detect`` of
        a frame in memory runs without the garbage collector: the cycles of a detection are
        its imports' only (a detection leaves none; 900 objects after the first), and
        collecting among the imports' growing heap again and again took 0.1 s of CPU; a
        streamed or chunked one turns it back on. ``detect`` also asks OpenBLAS for one
        thread unless the environment sets a number (:mod:`~napari_ivae.cli._threads`).

    Returns
    -------
    int
        The exit status: 0, 2 for an error in the input, 130 when interrupted.
    """
    if argv is not None:
        return _run(argv)
    if sys.argv[1:2] == ["detect"]:
        from napari_ivae.cli._threads import one_blas_thread

        one_blas_thread()  # before NumPy loads OpenBLAS
    from napari_ivae.cli._scipy_docs import keep_scipy_docstrings
    from napari_ivae.core.detection.freed_memory import keep_freed_memory

    keep_scipy_docstrings()
    if sys.argv[1:2] in (["detect"], ["batch"]):
        from napari_ivae.cli._numpy_extras import defer_numpy_extras
        from napari_ivae.cli._scipy_extras import defer_scipy_extras

        defer_numpy_extras()
        defer_scipy_extras()
        keep_freed_memory()
    if sys.argv[1:2] == ["detect"]:
        gc.disable()
    try:
        return _run(sys.argv[1:])
    finally:
        gc.freeze()


def _run(words: list[str]) -> int:
    """Parse ``words`` and run the sub-command; its exit status."""
    from napari_ivae.core.errors import IvaeError

    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    prefix = f"napari-ivae {args.command}"
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warnings(prefix)
        try:
            return int(args.func(args) or 0)
        except IvaeError as err:
            print(f"{prefix}: error: {cli_spelling(str(err))}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted", file=sys.stderr)
            return 130


# Python spellings of core parameters in messages -> the options a CLI user types
_SPELLINGS = [
    (re.compile(r"\bframe_axis=(-?\d+)"), r"--frame-axis \1"),
    (re.compile(r"\bframe_axis\b"), "--frame-axis"),
    (re.compile(r"\bborder=[\"']flag[\"']"), "--border flag"),
    (re.compile(r"\bchannel=[\"']?(luminance|\d+)[\"']?"), r"--channel \1"),
    (re.compile(r"\bchannel=(?= |$|\()"), "--channel "),
    (re.compile(r"\bmin_size\b"), "--min-size"),
    (re.compile(r"(?<!-)\bsensitivity\b"), "--sensitivity"),
    (re.compile(r"\bpolarity=[\"'](\w+)[\"']"), r"--polarity \1"),
    (re.compile(r"\bmethod=[\"'](\w+)[\"']"), r"--method \1"),
    (re.compile(r"\(invert\)"), "(--invert)"),
    (re.compile(r"\bcrystal_only=False\b"), "--keep-non-crystal"),
    (
        re.compile(r"\b([Gg])ive the spacing explicitly\b"),
        r"\1ive the spacing explicitly (--spacing PX)",
    ),
    (
        re.compile(r"^(sigma|threshold|border|background|min_distance|spacing) (must|is)\b"),
        lambda m: f"--{m.group(1).replace('_', '-')} {m.group(2)}",
    ),
]


def cli_spelling(text: str) -> str:
    """Rewrite core messages' parameter spellings as command-line options, on one line.

    Parameters
    ----------
    text : str
        A message from the core (error or warning).

    Returns
    -------
    str
        The message with e.g. ``frame_axis=0`` shown as ``--frame-axis 0``, newlines joined.
    """
    for pattern, replacement in _SPELLINGS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def _one_line_warnings(prefix: str):
    shown = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = cli_spelling(str(message))
        if text not in shown:
            shown.add(text)
            print(f"{prefix}: warning: {text}", file=sys.stderr)

    return show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
