"""The images a ``napari-ivae batch`` run is given (files, folders, glob patterns), and the
output folder name of each."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from napari_ivae.core.errors import InputError

_GLOB_CHARS = set("*?[")
# microscope and instrument formats read by other software, not by napari-ivae: a folder's files
# of these kinds are named when they are left out, not passed over without a word
OTHER_FORMATS = (
    ".dat", ".spm", ".hdf5", ".h5", ".nxs", ".mib", ".hspy"
)  # fmt: skip


def collect_inputs(values) -> list[Path]:
    """The image files named by files, folders (their images, not recursive) and globs.

    Parameters
    ----------
    values : list of str
        As given on the command line.

    Returns
    -------
    list of Path
        Each image once, in the order given (folders and globs sorted by name).

    Raises
    ------
    InputError
        A name that is neither an image, a folder, nor a pattern matching an image; no images.
    """
    from napari_ivae.core.io.imageio import IMAGE_SUFFIXES

    found: list[Path] = []
    for value in values:
        path = Path(value).expanduser()
        if path.is_dir() and not _is_image(path):
            matches = sorted(p for p in path.iterdir() if _is_image(p))
            if not matches:
                raise InputError(f"folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        elif path.is_file() or _is_image(path):
            matches = [path]
        elif _GLOB_CHARS & set(str(value)):
            matches = sorted(
                Path(p) for p in glob.glob(os.path.expanduser(value)) if _is_image(Path(p))
            )
            if not matches:
                raise InputError(
                    f"pattern '{value}' matches no images ({', '.join(IMAGE_SUFFIXES)})"
                )
        else:
            raise InputError(
                f"input {value} does not exist (give image files, folders or quoted glob patterns)"
            )
        found.extend(matches)
    unique, seen = [], set()
    for path in found:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def left_out(values) -> list[Path]:
    """The files of the folders among ``values`` that hold images in a format napari-ivae
    does not read (:data:`OTHER_FORMATS`: a ``.dat`` STM file, an ``.hdf5``...), sorted."""
    found = []
    for value in values:
        path = Path(value).expanduser()
        if path.is_dir() and not _is_image(path):
            found += [
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in OTHER_FORMATS
            ]
    return sorted(found)


def _is_image(path: Path) -> bool:
    """An image file by its suffix, or a ``.zarr`` folder (one image, not a folder of them)."""
    from napari_ivae.core.io.imageio import IMAGE_SUFFIXES

    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return path.is_dir()
    return path.is_file() and suffix in IMAGE_SUFFIXES


def _output_names(images: list[Path]) -> list[str]:
    """One output name per image (its file stem); two images with one stem are refused."""
    names, owner = [], {}
    for path in images:
        name = path.stem
        if name.startswith("."):
            name = "_" + name[1:]  # never a hidden folder (those are the partial ones)
        if name.lower() in owner:
            raise InputError(
                f"{owner[name.lower()]} and {path} would both write "
                f"'{name}/' in --out; rename one or run them into different "
                "--out folders"
            )
        owner[name.lower()] = path
        names.append(name)
    return names
