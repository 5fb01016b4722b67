"""What ``napari-ivae demo --out`` writes: every result layer (maps as .tif, points as .csv) and
the model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def save_outputs(
    viewer: Any, session: Any, out: Path, log: Callable[[str], None] = print
) -> list[Path]:
    """Write every plugin result layer (.tif for maps, .csv for points) and the model.

    Every file is written atomically (a failure leaves an earlier file of that name as it was);
    the line of a file that replaced an earlier one says so, and two layers whose names make
    the same file name get their own files (``name.tif``, ``name_2.tif``).
    """
    from napari_ivae.core._atomic import write_output
    from napari_ivae.core.io.imageio import write_image

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    earlier: set[Path] = set()
    for layer in viewer.layers:
        meta = layer.metadata.get("napari_ivae") if isinstance(layer.metadata, dict) else None
        if not meta:
            continue
        suffix = ".csv" if layer._type_string == "points" else ".tif"
        path = _free_name(out, _file_stem(layer.name), suffix, written)
        if path.exists():
            earlier.add(path)
        if layer._type_string == "points":
            table = layer.features.copy().drop(columns=["frame", "row", "col"], errors="ignore")
            coords = np.asarray(layer.data)
            table.insert(0, "col", coords[:, -1])
            table.insert(0, "row", coords[:, -2])
            table.insert(0, "frame", coords[:, -3] if coords.shape[1] == 3 else 0)
            text = table.to_csv(index=False).encode("utf-8")
            write_output(path, lambda stream, text=text: stream.write(text), "CSV file")
        else:
            path = write_image(path, np.asarray(layer.data))
        written.append(path)
    if session.bundle is not None:
        from napari_ivae.core.models.persistence import pipeline_metadata, save_model

        extra = pipeline_metadata(session.bundle.metadata)
        if (out / "model.ivae.pt").exists():
            earlier.add(out / "model.ivae.pt")
        written.append(
            save_model(
                out / "model.ivae.pt",
                session.bundle.model,
                result=session.train_result,
                metadata=extra,
            )
        )
    for path in written:
        log(f"  wrote {path}{replaced_note(path in earlier)}")
    return written


def replaced_note(existed: bool) -> str:
    """`` (it replaced the earlier file of that name)`` for a file that was there before."""
    return " (it replaced the earlier file of that name)" if existed else ""


def _free_name(out: Path, stem: str, suffix: str, taken: list) -> Path:
    """``out/stem.suffix``, or ``stem_2``, ``stem_3``... when this run wrote that name already."""
    path, number = out / f"{stem}{suffix}", 1
    while path in taken:
        number += 1
        path = out / f"{stem}_{number}{suffix}"
    return path


def _file_stem(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.replace(" [ivae]", ""))
    return keep.strip("_") or "layer"
