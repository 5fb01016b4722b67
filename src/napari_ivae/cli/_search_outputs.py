"""What ``napari-ivae search`` writes into ``--out``, all or nothing.

Every file is first written into a hidden folder inside ``--out`` (the chosen model first: the
largest, the most likely to meet a full disk or a file-size limit) and moved into place only
when all of them are written, so a failed write leaves no half set of results beside earlier
ones. The chosen model is then kept where it can be (``best.recovered-<time>.ivae.pt`` in
``--out``, the current folder or the temporary folder) and the error line says where.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from napari_ivae.core.errors import InputError

OUTPUTS = ("search.csv", "search.json", "heatmap.png", "best.ivae.pt", "best_maps.npz")
MODEL = "best.ivae.pt"
_STAGING = ".napari-ivae-search-"  # the hidden folder the files are written into first


def write_results(out: Path, args, result, extras: dict, *, created: bool = False) -> dict:
    """Write the search's files into ``out`` (all of them, or none).

    Parameters
    ----------
    out : Path
        ``--out`` (it exists).
    args : argparse.Namespace
        The command line (``patches`` and the options are stored with the model).
    result : SearchResult
        From :func:`napari_ivae.core.analysis.search.search_beta`.
    extras : dict
        The other arrays of the patches' ``.npz`` (grid geometry, normalisation).
    created : bool
        ``out`` was made by this run: it is removed again when nothing could be written.

    Returns
    -------
    dict
        ``written`` (the names now in ``out``), ``removed`` (earlier results of names this run
        does not write, e.g. a ``best.ivae.pt`` when no run was chosen: with ``--force`` they
        would be mixed with this run's), ``summary`` and ``segmentation`` (lines to print).

    Raises
    ------
    InputError
        A file could not be written: nothing of this run is in ``out``; the message says where
        the chosen model was kept, or that it could be kept nowhere.
    """
    metadata = _model_metadata(args, result, extras) if result.best is not None else None
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=out))
    try:
        lines = _write_all(staging, result, extras, metadata)
    except InputError as err:
        kept = _keep_model(staging, out, result, metadata, args.seed)
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise InputError(f"{_named_in(err, staging, out)}; {kept}") from err
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    written = [name for name in OUTPUTS if (staging / name).exists()]
    removed = [name for name in OUTPUTS if name not in written and (out / name).exists()]
    for name in written:  # renames in one folder: no space needed, each atomic
        os.replace(staging / name, out / name)
    for name in removed:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)
    return {"written": written, "removed": removed, **lines}


def _write_all(folder: Path, result, extras: dict, metadata: dict | None) -> dict:
    """Every file into ``folder``; returns the lines to print (summary, segmentation)."""
    from napari_ivae.core._atomic import write_output
    from napari_ivae.core.analysis.search import heatmap_png
    from napari_ivae.core.models.persistence import save_model

    table = result.table()
    summary = result.summary()
    segmentation_line = ""
    if metadata is not None:
        save_model(folder / MODEL, result.train_result.model, result.train_result, metadata)
        arrays, segmentation_line = _best_maps(result, extras)
        write_output(folder / "best_maps.npz", lambda s: np.savez(s, **arrays), "maps file")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(table[0]) if table else ["beta_start"])
    writer.writeheader()
    writer.writerows(table)
    write_output(folder / "search.csv", lambda s: s.write(text.getvalue().encode()), "CSV file")
    report = {
        "summary": summary,
        "segmentation": segmentation_line,
        "chosen": result.best,
        "best_fixed": result.best_fixed,
        "stopped": result.stopped,
        "runs": table,
    }
    data = json.dumps(report, indent=1, default=float).encode()
    write_output(folder / "search.json", lambda s: s.write(data), "JSON file")
    if table:
        heatmap_png(result, folder / "heatmap.png")
    return {"summary": summary, "segmentation": segmentation_line}


def _best_maps(result, extras: dict) -> tuple[dict, str]:
    """The arrays of ``best_maps.npz`` and the line describing the chosen map's segmentation."""
    from napari_ivae.core.analysis.segmentation import edge_length, segment_map

    best = result.runs[result.best]
    chosen_map = result.maps[result.best][best.map_index]
    labels = segment_map(chosen_map, method="otsu")
    frames = labels.reshape(-1, *labels.shape[-2:])
    seg_edge = float(np.mean([edge_length(f.astype(np.float32), denoise=False) for f in frames]))
    line = (
        f"segmentation of z{best.map_index + 1} (Otsu): 2 domains "
        f"({np.mean(labels == 2):.0%} / {np.mean(labels == 1):.0%} of the "
        f"tiles), edge length {seg_edge:.1f} cells"
    )
    order = list(result.maps)
    arrays = {
        "maps": np.stack([result.maps[i] for i in order]),
        "runs": np.asarray(order),
        "chosen": np.asarray(result.best),
        "segmentation": labels,
        "segmentation_edge": np.asarray(seg_edge),
        "grid_shape": np.asarray(result.grid_shape),
    }
    for key in ("centres", "frames", "stride", "grid_origin", "image_shape"):
        if key in extras:
            arrays[key] = extras[key]
    return arrays, line


def _model_metadata(args, result, extras: dict) -> dict:
    """Provenance stored with the chosen model."""
    metadata = {
        "source_patches": str(Path(args.patches).expanduser().resolve()),
        "n_patches": int(np.prod(result.grid_shape)),
        "search": result.summary(),
        "cli_options": {k: v for k, v in vars(args).items() if k != "func"},
    }
    for key in ("normalization", "patch_params"):
        if key in extras:
            try:
                metadata[key] = json.loads(str(extras[key]))
            except ValueError:
                metadata[key] = str(extras[key])
    return metadata


def _keep_model(staging: Path, out: Path, result, metadata: dict | None, seed: int) -> str:
    """After a failed write: keep the chosen model outside the half-written set; says where."""
    from napari_ivae.cli._train_checks import _fallback_paths
    from napari_ivae.core.models.persistence import save_model

    nothing = f"nothing was written to {out}"
    if metadata is None:  # no run was chosen: there is no model
        return nothing
    candidates = _fallback_paths(out / MODEL)
    staged = staging / MODEL
    if staged.is_file():  # written before another file failed: moved, not written again
        try:
            os.replace(staged, candidates[0])
            return f"{nothing} but the chosen model, kept as {candidates[0]}"
        except OSError:
            pass
    tried = []
    for candidate in candidates:
        try:
            save_model(candidate, result.train_result.model, result.train_result, metadata)
        except InputError:
            tried.append(str(candidate.parent))
            continue
        return f"{nothing}; the chosen model was kept as {candidate}"
    return (
        f"{nothing}, and the chosen model could not be kept anywhere either"
        + (f" (tried {', '.join(tried)})" if tried else "")
        + ": free some space (or raise the file-size limit) and run the same command "
        f"again; with the same --seed {seed} it finds the same runs"
    )


def _named_in(err: Exception, staging: Path, out: Path) -> str:
    """The error naming a file where it would have been (``OUT/name``), not in the hidden
    folder it was written into first."""
    return str(err).replace(str(staging), str(out))
