"""Command-line interface: ``napari-ivae <command> ...``.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which registers
the parser and sets ``func`` to a callable ``run(args) -> int``. Errors derived from
:class:`napari_ivae.core.errors.IvaeError` are printed as one clear line on stderr and give
exit code 2; anything else is a bug and shows its traceback (exit code 1).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module name -> sub-command(s) it registers; imported lazily so `--help` stays fast.
_COMMAND_MODULES = ["train", "encode", "detect", "patches", "demo"]


def build_parser() -> argparse.ArgumentParser:
    from napari_ivae import __version__

    parser = argparse.ArgumentParser(
        prog="napari-ivae",
        description="Invariant VAEs for microscopy: detect, cut patches, train, encode.",
    )
    parser.add_argument("--version", action="version", version=f"napari-ivae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"napari_ivae.cli._{name.replace('-', '_')}")
        except ModuleNotFoundError as err:  # command not built yet in this checkout
            if err.name and err.name.startswith("napari_ivae.cli."):
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``napari-ivae`` console script."""
    from napari_ivae.core.errors import IvaeError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except IvaeError as err:
        print(f"napari-ivae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"napari-ivae {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
