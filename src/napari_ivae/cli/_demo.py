"""``napari-ivae demo``: napari with the plugin and a sample, or the whole pipeline headless."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from napari_ivae.core.errors import IvaeError


def add_parser(subparsers) -> None:
    """Register the ``demo`` sub-command."""
    from napari_ivae.demo import WORKFLOWS

    parser = subparsers.add_parser(
        "demo",
        help="open napari with the plugin and sample data (headless: run the pipeline)",
        description="With a display: napari opens with the four napari-ivae widgets docked and "
        "a sample image loaded. With --headless (or no $DISPLAY): the same widgets "
        "run detect -> patches -> train -> maps in a real viewer on a virtual "
        "display, and the result layers, the model and a screenshot are written "
        "to --out.",
    )
    parser.add_argument(
        "--headless", action="store_true", help="run the whole pipeline without showing a window"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        help="folder for the results (default: ./demo-out)",
    )
    parser.add_argument(
        "--workflow",
        choices=sorted(WORKFLOWS),
        default="atoms_rvae",
        help="which demo to run (default: atoms_rvae)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs (default: the workflow's, about a minute on 2 CPU cores)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(func=run)


_DISPLAYS: list[subprocess.Popen] = []


def start_virtual_display() -> subprocess.Popen:
    """Start ``Xvfb`` on a free display number and point ``$DISPLAY`` at it."""
    if shutil.which("Xvfb") is None:
        raise IvaeError(
            "no display and no Xvfb: install it (Debian/Ubuntu: apt-get install "
            "xvfb) or run on a machine with a display."
        )
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        raise IvaeError("Xvfb did not start; run with a display or check the Xvfb installation.")
    os.environ["DISPLAY"] = f":{number}"
    return proc


def _die_with_parent() -> None:
    """Xvfb must outlive Qt's last X call, so it ends with this process (Linux prctl)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _check_options(args: argparse.Namespace) -> None:
    """``--epochs``, ``--seed`` and the ``--out`` folder, before napari starts."""
    from napari_ivae.cli._paths import check_output, check_seed
    from napari_ivae.core.errors import InputError

    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs must be at least 1, got {args.epochs}")
    check_seed(args.seed)
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the results")
    if args.headless or not os.environ.get("DISPLAY"):
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(
                f"--out folder {out} cannot be created ({err.strerror or err})"
            ) from err
        check_output(out / "summary.json")


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    _check_options(args)
    headless = args.headless or not os.environ.get("DISPLAY")
    if headless:
        # held until exit (a dropped Popen of a running process warns); stops with this process
        _DISPLAYS.append(start_virtual_display())
        os.environ.pop("QT_QPA_PLATFORM", None)  # offscreen cannot draw image layers
        return _run_headless(args)
    return _run_interactive(args)


def _run_interactive(args: argparse.Namespace) -> int:
    import napari

    from napari_ivae.demo import WORKFLOWS, dock_widgets

    viewer = napari.Viewer(title="napari-ivae demo")
    viewer.open_sample("napari-ivae", WORKFLOWS[args.workflow].sample)
    dock_widgets(viewer)
    print("napari-ivae: follow the widgets from Detect to Results (docs/tutorials/).")
    napari.run()
    return 0


def _run_headless(args: argparse.Namespace) -> int:
    import napari

    from napari_ivae._demo_outputs import replaced_note
    from napari_ivae._widgets._session import get_session
    from napari_ivae.demo import (
        arrange_view,
        run_workflow,
        save_outputs,
        screenshot,
        still_activity_indicator,
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"napari-ivae demo ({args.workflow}) headless on display {os.environ['DISPLAY']}")
    viewer = napari.Viewer(title="napari-ivae demo", show=True)
    still_activity_indicator(viewer)  # nobody watches it; animated, it costs CPU
    try:
        summary = run_workflow(viewer, args.workflow, epochs=args.epochs, seed=args.seed)
        arrange_view(viewer, args.workflow)
        earlier = {name: (out / name).exists() for name in ("screenshot.png", "summary.json")}
        shot = screenshot(viewer, out / "screenshot.png")
        written = save_outputs(viewer, get_session(viewer), out)
        print(f"  wrote {shot}{replaced_note(earlier['screenshot.png'])}")
        summary["files"] = [str(p) for p in [shot, *written]]
        from napari_ivae.core._atomic import write_output

        text = json.dumps(summary, indent=2).encode("utf-8")
        write_output(out / "summary.json", lambda stream: stream.write(text), "summary file")
        print(f"  wrote {out / 'summary.json'}{replaced_note(earlier['summary.json'])}")
    finally:
        viewer.close()
    print(
        json.dumps(
            {"demo": args.workflow, "seconds": summary["seconds"], "files": len(summary["files"])}
        )
    )
    sys.stdout.flush()
    return 0
