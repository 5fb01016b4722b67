"""``napari-ivae batch``: apply one saved model to many images, resumable after an interruption.

Every image (files, folders, glob patterns) goes through the pipeline the model was trained
with, as its bundle records it (:data:`~napari_ivae.core.models.persistence.PIPELINE_KEYS`): detect
(the detection mode and the settings chosen by hand in napari, or given as ``--spacing`` and
``--polarity``; everything else is estimated from each image), cut patches (the model's
patch size, the same normalisation, points or grid), encode, and paint the per-patch values
back onto the image. Each image gets its own folder
``OUT/<stem>/`` holding

* ``<stem>.csv``: one row per patch, ``frame,row,col``, the detection's measured columns, then
  ``z_mean_1..``, ``z_std_1..``, ``angle`` (radians), ``dx``, ``dy``, ``class_prob_<name>``,
  ``class``, ``cluster`` (as far as the model has them, as ``encode`` writes them);
* ``<stem>_maps.npz`` (or one ``<stem>_<name>.tif`` per map with ``--maps tif``): the maps of
  ``z_mean_k``, ``angle``, ``dx``, ``dy``, ``class``, ``cluster``, each of the image's shape;
* ``batch.json``: what was done (input size and time stamp, the model's checksum, counts).

The folder is assembled under a hidden temporary name and renamed into place when complete,
so a folder ``OUT/<stem>/`` always holds a finished result and an interrupted run leaves no
partial output behind (a hidden leftover of a killed run is removed by the next run). A rerun
skips every image whose folder exists and whose ``batch.json`` names the same input file
(size and modification time) and the same model; the others are (re)done. A bad image gives
one error line and the batch goes on; the failures are listed at the end (exit code 3).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from napari_ivae.cli._batch_image import (  # noqa: F401 - importable from here too
    FrameMaps,
    latent_columns,
    map_columns,
    process_image,
    result_maps,
)
from napari_ivae.cli._batch_inputs import _output_names, collect_inputs, left_out
from napari_ivae.cli._batch_outputs import (  # noqa: F401 - importable from here too
    MANIFEST,
    _checksum,
    _file_identity,
    _final_names,
    _Lock,
    _out_folder,
    _plain,
    _remove_leftovers,
    is_done,
    write_result,
)
from napari_ivae.cli._batch_settings import (  # noqa: F401 - importable from here too
    _check_grid_options,
    describe_settings,
    pipeline_settings,
)
from napari_ivae.cli._interrupts import _TermAsInterrupt
from napari_ivae.cli._paths import reach_scheduler
from napari_ivae.cli._progress import add_scheduler_argument
from napari_ivae.core.errors import InputError

EXIT_SOME_FAILED = 3


def add_parser(subparsers) -> None:
    """Register ``napari-ivae batch``."""
    p = subparsers.add_parser(
        "batch",
        help="apply a saved model to many images (resumable)",
        description="Apply a model saved by `napari-ivae train` (or napari) to every image: "
        "detect, cut patches and encode as the model was trained, and write one "
        "folder per image with a CSV table and the maps. Images already done are "
        "skipped when the command is run again.",
    )
    p.add_argument("model", metavar="MODEL.ivae.pt", help="trained model file")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="images (.tif, .npy, .dm3, .dm4, .mrc, .ser, .emd, .sxm, .gwy, .png, .jpg, .bmp), "
        "folders holding them, or glob patterns (quoted: 'data/*.tif')",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (created if missing); one sub-folder per image",
    )
    p.add_argument(
        "--mode",
        choices=("atoms", "particles"),
        help="what to detect (default: what the model's points were detected as, else atoms)",
    )
    p.add_argument(
        "--grid",
        type=int,
        metavar="STRIDE",
        help="cut grid patches every STRIDE px instead (default: as the model was trained)",
    )
    p.add_argument(
        "--spacing",
        type=float,
        metavar="PX",
        help="atoms: nearest-neighbour distance, as `napari-ivae detect --spacing` (default: "
        "as set when the model's points were detected in napari, else estimated per image)",
    )
    p.add_argument(
        "--polarity",
        choices=("auto", "bright", "dark"),
        help="atoms or particles brighter or darker than the background, as `napari-ivae "
        "detect --polarity` (default: as set when the model's points were detected in "
        "napari, else decided per image)",
    )
    p.add_argument("--channel", metavar="C", help="colour images: 'luminance' or a channel index")
    p.add_argument(
        "--frame-axis",
        type=int,
        metavar="AXIS",
        help="axis holding frames (needed for ambiguous 3D input)",
    )
    p.add_argument(
        "--maps",
        choices=("npz", "tif", "none"),
        default="npz",
        help="maps as one .npz per image (default), one .tif per map, or none",
    )
    p.add_argument(
        "--redo", action="store_true", help="process every image again, also those already done"
    )
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    add_scheduler_argument(p)
    p.add_argument("--batch-size", type=int, default=256, help="patches per batch (default 256)")
    p.set_defaults(func=run)


# ----------------------------------------------------------------------------- command
def _say(line: str) -> None:
    try:
        print(f"napari-ivae batch: {line}", file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _seconds(value: float) -> str:
    if value < 10:
        return f"{max(value, 0.0):.1f} s"
    value = int(round(value))
    return f"{value // 60}:{value % 60:02d}" if value >= 60 else f"{value} s"


def run(args) -> int:
    """Apply the model to every image; returns 0, 3 when some images failed, 130 when
    interrupted (Ctrl-C or SIGTERM: the finished images are kept)."""
    from napari_ivae.cli import cli_spelling
    from napari_ivae.cli._train_checks import check_device
    from napari_ivae.core.models.persistence import load_model
    from napari_ivae.core.scheduling import check_scheduler

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    check_scheduler(args.scheduler)
    reach_scheduler(args.scheduler)
    if args.grid is not None and args.grid < 1:
        raise InputError(f"--grid must be a stride of at least 1 px, got {args.grid}")
    images = collect_inputs(args.inputs)
    names = _output_names(images)
    check_device(args.device)
    bundle = load_model(args.model, device=args.device)
    settings = pipeline_settings(
        bundle, mode=args.mode, grid=args.grid, spacing=args.spacing, polarity=args.polarity
    )
    _check_grid_options(args, settings)
    out_dir = _out_folder(args.out)  # created only once the options are known to be good
    model_sha = _checksum(Path(args.model).expanduser())
    inputs = {"MODEL": args.model, **{f"INPUT {p.name}": p for p in images}}
    # what else decides the outputs: a rerun with other options redoes the images
    options = _plain(
        {
            "settings": settings,
            "maps": args.maps,
            "channel": args.channel,
            "frame_axis": args.frame_axis,
        }
    )

    with _Lock(out_dir), _TermAsInterrupt():
        removed = _remove_leftovers(out_dir)
        _say(
            f"{len(images)} image{'s' if len(images) != 1 else ''} with the "
            f"{bundle.config.kind} model: "
            f"{describe_settings(settings)}; results in {out_dir}"
            + (f" (removed {removed} partial result(s) of an interrupted run)" if removed else "")
        )
        unread = left_out(args.inputs)
        if unread:
            names_ = ", ".join(p.name for p in unread[:3]) + (", ..." if len(unread) > 3 else "")
            _say(
                f"note: left out {len(unread)} file{'s' if len(unread) != 1 else ''} of a format "
                f"napari-ivae does not read ({names_}); save them as .npy or .tif to include them"
            )
        done, skipped, failed, worked = 0, 0, [], 0.0
        total = len(images)
        stopped_at, index = None, 1
        try:
            for index, (path, name) in enumerate(zip(images, names), start=1):
                head = f"[{index}/{total}] {path.name}"
                try:
                    identity = _file_identity(path)
                except OSError as err:
                    failed.append((path, err.strerror or str(err)))
                    _say(f"{head}: error: {failed[-1][1]}")
                    continue
                if not args.redo and is_done(out_dir / name, identity, model_sha, options):
                    skipped += 1
                    _say(f"{head}: done earlier, skipped")
                    continue
                started = time.perf_counter()
                try:
                    result = process_image(
                        bundle,
                        settings,
                        path,
                        channel=args.channel,
                        frame_axis=args.frame_axis,
                        batch_size=args.batch_size,
                        maps=args.maps != "none",
                        scheduler=args.scheduler,
                        progress=True,
                    )
                    record = {
                        "input": identity,
                        "model": str(Path(args.model).resolve()),
                        "model_sha256": model_sha,
                        "model_kind": bundle.config.kind,
                        "options": options,
                        "counts": result["counts"],
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    }
                    write_result(out_dir, name, result, _plain(record), args.maps, inputs)
                except KeyboardInterrupt:
                    raise
                except Exception as err:  # noqa: BLE001 - one bad image must not stop the batch
                    reason = _final_names(cli_spelling(str(err)) or type(err).__name__)
                    if not isinstance(err, InputError):
                        reason = f"{type(err).__name__}: {reason}"
                    failed.append((path, reason))
                    _say(f"{head}: error: {reason}")
                    continue
                done += 1
                worked += time.perf_counter() - started
                remaining = total - index
                counts = result["counts"]
                found = (
                    ""
                    if settings["source"] == "grid"
                    else f"{counts['points']} {settings['mode']}, "
                )
                _say(
                    f"{head}: {found}{counts['patches']} patches -> {out_dir / name} "
                    f"({_seconds(time.perf_counter() - started)}; ETA "
                    f"{_seconds(worked / done * remaining)})"
                )
        except KeyboardInterrupt:  # Ctrl-C, or kill (SIGTERM): the image under way is undone
            stopped_at = index
    summary = f"{done} done, {skipped} skipped (done earlier), {len(failed)} failed"
    if stopped_at is not None:
        left = total - done - skipped - len(failed)
        _say(
            f"interrupted at [{stopped_at}/{total}]: {summary}; the finished results are kept "
            f"in {out_dir}; run the same command again to do the {left} image"
            f"{'s' if left != 1 else ''} left"
        )
        return 130
    if failed:
        _say(f"{summary}: {', '.join(str(p) for p, _ in failed)} (errors above)")
        return EXIT_SOME_FAILED
    _say(summary)
    return 0
