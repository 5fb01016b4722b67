"""The names of a Velox file's images: the label Velox showed each under
(``/Presentation/Displays/ImageDisplay/<uuid>``, one JSON text per display whose ``dataPath``
names the image group and whose ``display.label`` the user saw: "DPC", "iDPC", "DF4-A"), else its
``BinaryResult`` detector, else "image n"; numbered where names repeat ("DF4", "DF4 2")."""

from __future__ import annotations

import json

__all__ = ["velox_names"]


def velox_names(handle, keys: list[str], metas: list[dict]) -> tuple[list[str], list[bool]]:
    """Each image's name and whether Velox displayed it.

    Parameters
    ----------
    handle : h5py.File
        The open file.
    keys : list of str
        The image groups' names under ``/Data/Image``, in the order read.
    metas : list of dict
        Each image's ``BinaryResult`` ({} where there is none).

    Returns
    -------
    names : list of str
        Unique names, one per image.
    displayed : list of bool
        Whether the image has a display (a derived image such as a difference of two segments
        often has none).
    """
    labels = _display_labels(handle)
    bases = [
        labels.get(key) or meta.get("Detector") or f"image {n + 1}"
        for n, (key, meta) in enumerate(zip(keys, metas))
    ]
    names = []
    for n, base in enumerate(bases):
        earlier = bases[:n].count(base)
        names.append(base if not earlier else f"{base} {earlier + 1}")
    return names, [key in labels for key in keys]


def _display_labels(handle) -> dict[str, str]:
    """Image group name -> its display's label; {} where the file has no readable displays."""
    import h5py

    displays = handle.get("Presentation/Displays/ImageDisplay")
    if not isinstance(displays, h5py.Group):
        return {}
    labels: dict[str, str] = {}
    for key in displays:
        found = displays.get(key)
        if not isinstance(found, h5py.Dataset) or found.size < 1 or found.dtype.kind not in "OS":
            continue
        text = found[()].reshape(-1)[0] if found.ndim else found[()]
        try:
            parsed = json.loads(
                text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
            )
            path, label = parsed["dataPath"], parsed["display"]["label"]
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        if isinstance(path, str) and isinstance(label, str) and label.strip():
            labels.setdefault(path.rstrip("/").rsplit("/", 1)[-1], label.strip())
    return labels
