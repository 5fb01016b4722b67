"""A ``.zarr`` folder (a plain zarr array, a group holding one, or an OME-Zarr image) opened
lazily, as a dask array in the zarr's own chunks: nothing is read until a part of it is used."""

from __future__ import annotations

from pathlib import Path

from napari_ivae.core.errors import InputError


def open_zarr(path):
    """Open a ``.zarr`` folder lazily as a dask array.

    Parameters
    ----------
    path : str or pathlib.Path
        A zarr array; a group holding exactly one array; or an OME-Zarr image (its
        ``multiscales`` metadata names the levels; the first, full-resolution one is used).
        Leading axes of length 1 (OME-Zarr's ``t, c, z`` of a single plane) are dropped.

    Returns
    -------
    dask.array.Array
        Chunked as the zarr is; read when computed or indexed.

    Raises
    ------
    InputError
        Missing folder, not a zarr, or a group with no (or several) arrays and no multiscales.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"Image folder not found: {path}")
    try:
        import dask.array as da
        import zarr

        node = zarr.open(str(path), mode="r")
        if not isinstance(node, zarr.Array):
            node = node[_zarr_level(node, path)]
        array = da.from_zarr(node)
    except InputError:
        raise
    except Exception as err:  # not a zarr, or unreadable metadata: report, don't crash
        raise InputError(f"Could not open '{path}' as zarr: {err}") from err
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]
    return array


def _zarr_level(group, path) -> str:
    """The full-resolution array of an OME-Zarr group, or a plain group's only array."""
    attributes = dict(group.attrs)
    multiscales = attributes.get("multiscales") or attributes.get("ome", {}).get("multiscales")
    if multiscales:
        return str(multiscales[0]["datasets"][0]["path"])
    names = [name for name, _ in group.arrays()]
    if len(names) != 1:
        raise InputError(
            f"'{path}' is a zarr group with {len(names)} arrays and no OME-Zarr "
            "multiscales metadata: open the array's own folder "
            f"({', '.join(sorted(names)[:5]) or 'none'})"
        )
    return names[0]
