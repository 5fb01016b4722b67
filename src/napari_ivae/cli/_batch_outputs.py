"""What ``napari-ivae batch`` writes: one finished folder per image (assembled under a hidden
name and renamed into place), its manifest, and the checks that a result is already done."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from napari_ivae.cli._batch_image import FrameMaps
from napari_ivae.cli._paths import _same_file, check_output
from napari_ivae.core._atomic import write_output
from napari_ivae.core.errors import InputError

MANIFEST = "batch.json"
_PARTIAL = ".napari-ivae-partial-"  # hidden folder being filled (``.<stem>.napari-ivae-partial-*``)
_LOCK = ".napari-ivae-batch.lock"


def _out_folder(value) -> Path:
    out = Path(value).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder (it is created if missing)")
    if not out.exists():
        if not out.parent.exists():
            raise InputError(f"--out folder {out.parent} does not exist; create it first")
        check_output(out, flag="--out")  # its parent accepts new entries
        out.mkdir()
    check_output(out / MANIFEST, flag="--out")
    return out


def _file_identity(path: Path) -> dict:
    files = _image_files(path)
    infos = [os.stat(file) for file in files]
    return {
        "path": str(path.resolve()),
        "size": sum(info.st_size for info in infos),
        "mtime_ns": max((info.st_mtime_ns for info in infos), default=0),
    }


def _image_files(path: Path) -> list[Path]:
    """The file of an image, or every file of a ``.zarr`` folder (in a fixed order)."""
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def _checksum(path: Path) -> str:
    digest = hashlib.sha256()
    for file in _image_files(path):
        if file != path:  # a zarr's chunk names are part of its content
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def is_done(folder: Path, image: dict, model_sha: str, options: dict | None = None) -> bool:
    """Whether ``folder`` holds a finished result of this image (same file), this model and
    these options (how patches were cut, which maps)."""
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same_image = all(record.get("input", {}).get(k) == image[k] for k in ("size", "mtime_ns"))
    files_there = all((folder / name).is_file() for name in record.get("files", []))
    same_options = options is None or record.get("options") == options
    return same_image and record.get("model_sha256") == model_sha and files_there and same_options


def write_result(
    out_dir: Path, name: str, result: dict, record: dict, maps_format: str, inputs: dict
) -> Path:
    """Write one image's files into a hidden folder, then rename it to ``out_dir/name``."""
    from napari_ivae.core.io.imageio import write_image

    final = out_dir / name
    partial = Path(tempfile.mkdtemp(prefix=f".{name}{_PARTIAL}", dir=out_dir))
    try:
        files = [f"{name}.csv"]
        text = result["table"].to_csv(index=False).encode("utf-8")
        write_output(partial / files[0], lambda stream: stream.write(text), "CSV file")
        arrays = result["maps"]
        if isinstance(arrays, FrameMaps):  # a large stack: maps painted into scratch files
            arrays = arrays.paint(partial) if arrays else {}
        if arrays and maps_format == "npz":
            files.append(f"{name}_maps.npz")
            write_output(
                partial / files[-1], lambda stream: _savez_by_frames(stream, arrays), "maps file"
            )
        elif arrays and maps_format == "tif":
            for key, array in arrays.items():
                files.append(f"{name}_{key}.tif")
                if isinstance(array, np.memmap):  # the folder is renamed only when complete
                    _tiff_pages(partial / files[-1], array)
                else:
                    write_image(partial / files[-1], array)
        scratch = [a.filename for a in arrays.values() if isinstance(a, np.memmap)]
        arrays = None  # unmap before removing
        for path in scratch:
            Path(path).unlink(missing_ok=True)
        for file in files:  # outputs never replace inputs (e.g. a tif map matched by a glob)
            for flag, source in inputs.items():
                if _same_file(final / file, Path(source)):
                    raise InputError(
                        f"{final / file} would replace the {flag} input file; "
                        "choose another --out folder"
                    )
        record = {**record, "files": files}
        data = json.dumps(record, indent=1).encode("utf-8")
        write_output(partial / MANIFEST, lambda stream: stream.write(data), "manifest")
        os.chmod(partial, 0o777 & ~_umask())
        if final.exists():  # an older result (other model or changed image): swap it out
            old = Path(tempfile.mkdtemp(prefix=f".{name}{_PARTIAL}old-", dir=out_dir))
            os.replace(final, old / name)
            os.replace(partial, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _savez_by_frames(stream, arrays: dict) -> None:
    """``np.savez(stream, **arrays)``, copying a memory map one frame at a time (its pages are
    handed back as they are copied)."""
    import zipfile

    from napari_ivae.core.patches.source import release_pages

    with zipfile.ZipFile(
        stream, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True
    ) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(
                    member, np.lib.format.header_data_from_array_1_0(array)
                )
                for frame in array if array.ndim == 3 else [array]:
                    member.write(np.ascontiguousarray(frame).tobytes())
                    release_pages(array)


def _tiff_pages(path: Path, stack) -> None:
    """A (frames, Y, X) memory map as a multi-page TIFF, one frame in memory at a time."""
    import tifffile

    from napari_ivae.core.patches.source import release_pages

    def frames():
        for frame in stack:
            yield np.ascontiguousarray(frame)
            release_pages(stack)

    tifffile.imwrite(path, frames(), shape=stack.shape, dtype=stack.dtype, photometric="minisblack")


def _umask() -> int:
    from napari_ivae.core._atomic import _umask as read_umask

    return read_umask()


def _remove_leftovers(out_dir: Path) -> int:
    """Remove hidden partial folders left by a run that was killed; returns how many."""
    count = 0
    for entry in out_dir.iterdir():
        if entry.is_dir() and entry.name.startswith(".") and _PARTIAL in entry.name:
            shutil.rmtree(entry, ignore_errors=True)
            count += 1
    return count


class _Lock:
    """One batch at a time per output folder (a second one would remove the first's work)."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / _LOCK
        self.stream = None

    def __enter__(self):
        import fcntl

        self.stream = open(self.path, "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(self.stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.stream.close()
            raise InputError(
                f"another napari-ivae batch is writing into {self.path.parent}; "
                "wait for it to end or choose another --out folder"
            ) from None
        return self

    def __exit__(self, *exc):
        self.stream.close()
        self.path.unlink(missing_ok=True)
        return False


def _final_names(text: str) -> str:
    """A message naming a file of the hidden folder being filled (removed by now) names it
    where it would have been: ``OUT/.img.napari-ivae-partial-x1y2/img.csv`` -> ``OUT/img/img.csv``."""
    return re.sub(r"\.([^/\\\s]+?)" + re.escape(_PARTIAL) + r"[^/\\\s]+", r"\1", text)


def _plain(value):
    """JSON-ready copy (tuples as lists, numpy scalars as numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
