"""Read images (``.npy``, ``.tif``/``.tiff``, pictures, ``.zarr``/OME-Zarr, DigitalMicrograph
``.dm3``/``.dm4``, MRC, TIA ``.ser``, Velox/Berkeley ``.emd``, Nanonis ``.sxm``, Gwyddion
``.gwy``) and write them;
read/write point tables as CSV.

A ``.zarr`` folder is always opened lazily (:mod:`.zarr_folder`); a large TIFF stack is mapped
or read page by page (:mod:`.tiff_stack`); a DigitalMicrograph, MRC, TIA, EMD, Nanonis or Gwyddion
file is parsed by :mod:`.digital_micrograph`, :mod:`.mrc`, :mod:`.tia_ser`, :mod:`.emd`,
:mod:`.nanonis_sxm` or :mod:`.gwyddion` (its pixel size, and a TIFF's (:mod:`.tiff_calibration`):
:func:`read_pixel_size`); point tables are read and written by
:mod:`.points_csv`. Their names stay importable from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from napari_ivae.core._atomic import write_output
from napari_ivae.core._lazy import lazy_api
from napari_ivae.core.errors import InputError
from napari_ivae.core.io.calibrated import CALIBRATED_SUFFIXES, read_calibrated
from napari_ivae.core.io.tiff_stack import TiffStack, _tiff_memmap
from napari_ivae.core.io.zarr_folder import open_zarr

if TYPE_CHECKING:
    from napari_ivae.core.io.points_csv import read_points_csv, write_points_csv

__all__ = [
    "IMAGE_SUFFIXES",
    "PICTURE_SUFFIXES",
    "TiffStack",
    "is_lazy",
    "open_zarr",
    "read_image",
    "read_pixel_size",
    "read_points_csv",
    "write_image",
    "write_points_csv",
]

# the point-table functions import pandas (a third of a second): imported when first used
__getattr__ = lazy_api(
    "napari_ivae.core.io", {"read_points_csv": "points_csv", "write_points_csv": "points_csv"}
)[0]

# the last: microscope files that state their pixel size (.dm3/.dm4, MRC, .ser, .emd, .sxm, .gwy)
IMAGE_SUFFIXES = (
    ".npy", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".zarr", *CALIBRATED_SUFFIXES
)  # fmt: skip
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")  # 8/16-bit pictures, grey or colour


def read_image(path, *, mmap: bool = False) -> np.ndarray | TiffStack:
    """Read an image or stack from ``.npy``, ``.tif``/``.tiff``, a picture
    (``.png``, ``.jpg``/``.jpeg``, ``.bmp``: grey or colour; colour becomes luminance in
    :func:`napari_ivae.core.io.image.prepare_image`), a ``.zarr`` folder (opened lazily, see
    :func:`open_zarr`), a Gatan DigitalMicrograph ``.dm3``/``.dm4`` file (its largest image),
    an MRC file (``.mrc``, ``.mrcs``, ``.map``, ``.st``), an FEI TIA series ``.ser`` (its
    images, a stack where there are several), a Thermo Fisher Velox / Berkeley ``.emd`` file
    (one image or its frames: :func:`napari_ivae.core.io.emd.read_emd`), a Nanonis ``.sxm``
    scan (its Z forward channel: :func:`napari_ivae.core.io.nanonis_sxm.read_sxm`) or a
    Gwyddion ``.gwy`` file (its lowest-numbered channel:
    :func:`napari_ivae.core.io.gwyddion.read_gwy`); their calibration:
    :func:`read_pixel_size`.

    Parameters
    ----------
    path : str or pathlib.Path
        File to read.
    mmap : bool
        Map the file into memory instead of reading it (``.npy``, ``.dm3``/``.dm4``, MRC, ``.ser``,
        ``.sxm``, ``.gwy``, and
        TIFF files stored uncompressed and contiguous); a multi-page TIFF that cannot be mapped
        (compressed, or its pages scattered in the file) is opened as a :class:`TiffStack`,
        which decodes a page when it is indexed; other files are read (an ``.emd`` file's HDF5
        dataset too, with h5py). Frames are then read from disk when
        used, for stacks larger than memory (:func:`napari_ivae.core.detection.streaming.detect_stream`,
        :class:`napari_ivae.core.patches.source.PatchSource`).

    Returns
    -------
    numpy.ndarray, TiffStack or dask.array.Array
        The array as stored (no conversion; see :func:`napari_ivae.core.io.image.prepare_image`).

    Raises
    ------
    InputError
        Missing file, unsupported extension, or a file that cannot be decoded.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(
            f"Cannot read '{path.name}': unsupported extension '{path.suffix}'. "
            f"Use one of {', '.join(IMAGE_SUFFIXES)} (convert other formats first)."
        )
    if suffix == ".zarr":
        return open_zarr(path)
    if not path.is_file():
        raise InputError(f"Image file not found: {path}")
    _check_signature(path, suffix)
    if suffix in CALIBRATED_SUFFIXES:  # their readers' errors are one line already
        return read_calibrated(path, mmap=mmap).data
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
        elif suffix in PICTURE_SUFFIXES:
            import imageio.v3 as iio

            array = np.asarray(iio.imread(path))
        else:
            import tifffile

            array = _tiff_memmap(path) if mmap else None
            if array is None and mmap:
                array = TiffStack.open(path)
            if array is None:
                array = tifffile.imread(path)
    except Exception as err:  # corrupt or foreign content: report, don't crash
        detail = (
            str(err)
            if isinstance(err, (OSError, ValueError))
            else f"the file is damaged ({type(err).__name__} in the reader: {err})"
        )
        raise InputError(f"Could not read image '{path}': {detail}") from err
    if not isinstance(array, (np.ndarray, TiffStack)):
        raise InputError(f"'{path}' does not hold a single array.")
    return array


# the first bytes of each format: a file without them is damaged or misnamed
_SIGNATURES = {
    ".npy": ("a numpy .npy", (b"\x93NUMPY",)),
    ".tif": ("a TIFF", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    ".png": ("a PNG", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("a JPEG", (b"\xff\xd8\xff",)),
    ".bmp": ("a BMP", (b"BM",)),
    ".dm3": ("a DigitalMicrograph (DM3/DM4)", (b"\x00\x00\x00\x03", b"\x00\x00\x00\x04")),
    ".ser": ("a TIA series (.ser)", (b"II\x97\x01",)),  # ByteOrder 0x4949, SeriesID 0x0197
    ".emd": ("an HDF5 (EMD)", (b"\x89HDF\r\n\x1a\n",)),  # Velox and Berkeley EMD are HDF5
    ".sxm": ("a Nanonis scan (.sxm)", (b":NANONIS",)),  # its header's first key :NANONIS_VERSION:
    ".gwy": ("a Gwyddion (.gwy)", (b"GWYP", b"GWYO")),  # GWYO: Gwyddion 1, refused by its reader
}


def _check_signature(path: Path, suffix: str) -> None:
    """Refuse an empty file, or one whose first bytes are not its extension's format, in one
    line (instead of the reader's own message: numpy's advice to load a text file with
    ``allow_pickle``, imageio's to install a plugin)."""
    suffix = {".tiff": ".tif", ".jpeg": ".jpg", ".dm4": ".dm3"}.get(suffix, suffix)
    kind, heads = _SIGNATURES.get(suffix, ("", ()))
    if suffix in PICTURE_SUFFIXES:  # the picture reader goes by the content: any picture
        kind = "a picture (PNG, JPEG, BMP or TIFF)"
        heads = tuple(h for key in (".png", ".jpg", ".bmp", ".tif") for h in _SIGNATURES[key][1])
    if not heads:
        return
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError as err:
        raise InputError(f"Could not read image '{path}': {err.strerror or err}") from err
    if not head:
        raise InputError(f"Could not read image '{path}': the file is empty (0 bytes)")
    if not head.startswith(heads):
        raise InputError(
            f"Could not read image '{path}': it is not {kind} file (it does not start as "
            "one); the file is damaged or its extension is wrong"
        )


def read_pixel_size(path) -> tuple[float, str] | None:
    """The size of a pixel and its unit as the image file states them, e.g. ``(0.0195, "nm")``.

    Parameters
    ----------
    path : str or pathlib.Path
        An image file.

    Returns
    -------
    tuple of (float, str) or None
        For a ``.dm3``/``.dm4``, MRC, TIA ``.ser``, ``.emd``, Nanonis ``.sxm`` or Gwyddion
        ``.gwy`` file whose two
        image axes are calibrated
        alike (an MRC file's unit is ``"Å"``), or a TIFF whose FEI/Thermo Fisher, Zeiss SEM,
        OME, ImageJ or resolution tags state a microscope's pixel size
        (:func:`napari_ivae.core.io.tiff_calibration.tiff_pixel_size`; a picture's dots per
        inch are not one); ``None`` for any other file (every result of napari-ivae stays in
        pixels).

    Raises
    ------
    InputError
        A ``.dm3``/``.dm4``, MRC, ``.ser``, ``.emd``, ``.sxm``, ``.gwy`` or TIFF file that cannot
        be read.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        from napari_ivae.core.io.tiff_calibration import tiff_pixel_size

        return tiff_pixel_size(path)
    if suffix == ".emd":  # its pixels are not read for this
        from napari_ivae.core.io.emd import emd_contents

        return emd_contents(path).pixel_size
    if suffix not in CALIBRATED_SUFFIXES:
        return None
    return read_calibrated(path, mmap=True).pixel_size


def is_lazy(image) -> bool:
    """Whether ``image`` is a chunked array read when indexed (dask, zarr) rather than held in
    memory: ``numpy.asarray`` on it would read all of it, so it is worked on part by part."""
    return type(image).__module__.split(".")[0] in ("dask", "zarr")


def write_image(path, array) -> Path:
    """Write an array as ``.npy`` or ``.tif``/``.tiff`` (by the suffix), atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file; its folder must exist.
    array : array-like
        The image (labels, maps, stacks).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Unsupported suffix, or the file cannot be written (the old file is then unchanged).
    """
    path = Path(path)
    array = np.asarray(array)
    suffix = path.suffix.lower()
    if suffix == ".npy":

        def write(stream):
            np.save(stream, array, allow_pickle=False)
    elif suffix in (".tif", ".tiff"):

        def write(stream):
            import io

            import tifffile

            buffer = io.BytesIO()  # tifffile wants a named file or an in-memory buffer
            tifffile.imwrite(buffer, array)
            stream.write(buffer.getbuffer())
    else:
        raise InputError(f"cannot write '{path.name}': use .npy, .tif or .tiff")
    return write_output(path, write, "image file")
