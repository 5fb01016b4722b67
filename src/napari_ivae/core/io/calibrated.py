"""Microscope files that state their pixel size: Gatan DigitalMicrograph ``.dm3``/``.dm4``
(:mod:`.digital_micrograph`), MRC (:mod:`.mrc`), FEI TIA ``.ser`` (:mod:`.tia_ser`), Velox or
Berkeley ``.emd`` (:mod:`.emd`), Nanonis ``.sxm`` scans (:mod:`.nanonis_sxm`) and Gwyddion
``.gwy`` files (:mod:`.gwyddion`), read into one :class:`CalibratedImage`. (A TIFF's pixel
size: :mod:`.tiff_calibration`.)"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "CALIBRATED_SUFFIXES",
    "CalibratedImage",
    "images_note",
    "metric_length",
    "read_calibrated",
    "read_headed",
]

DM_SUFFIXES = (".dm3", ".dm4")
MRC_SUFFIXES = (".mrc", ".mrcs", ".map", ".st")
SER_SUFFIXES = (".ser",)
EMD_SUFFIXES = (".emd",)
SXM_SUFFIXES = (".sxm",)
GWY_SUFFIXES = (".gwy",)
CALIBRATED_SUFFIXES = (
    DM_SUFFIXES + MRC_SUFFIXES + SER_SUFFIXES + EMD_SUFFIXES + SXM_SUFFIXES + GWY_SUFFIXES
)


@dataclass
class CalibratedImage:
    """The image of a microscope file and its calibration.

    Attributes
    ----------
    data : numpy.ndarray
        The pixels, shape ``(y, x)`` or ``(frames, y, x)`` (a memory map when asked for).
    scale, origin : tuple of float
        Per array axis (same order as ``data.shape``): the size of a pixel in ``units`` and the
        pixel index of the zero of the calibrated axis (0 where the file gives none).
    units : tuple of str
        Per array axis; ``""`` where the file gives none (the axis is in pixels).
    kind : str
        The file format, e.g. ``"DM4"``, ``"MRC"``, ``"TIA SER"``, ``"Velox EMD"``,
        ``"Nanonis SXM"``, ``"Gwyddion GWY"``.
    meta : dict
        What else the file states (its tag tree, its header's fields).
    """

    data: np.ndarray
    scale: tuple = ()
    origin: tuple = ()
    units: tuple = ()
    kind: str = ""
    meta: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of_plane(
        cls, data: np.ndarray, scale, origin, units, kind: str, meta: dict
    ) -> CalibratedImage:
        """An image calibrated in its plane only: ``scale``, ``origin`` and ``units`` of
        ``(y, x)``; the leading (frame) axes, if any, scale 1, origin 0 and no unit."""
        lead = np.ndim(data) - 2
        return cls(
            data,
            (1.0,) * lead + tuple(scale),
            (0.0,) * lead + tuple(origin),
            ("",) * lead + tuple(units),
            kind,
            meta,
        )

    @property
    def pixel_size(self) -> tuple[float, str] | None:
        """``(size, unit)`` of a pixel in the image plane when both of its axes are calibrated
        in one unit with one positive size; ``None`` otherwise (square pixels only)."""
        if len(self.scale) < 2:
            return None
        (sy, sx), (uy, ux) = self.scale[-2:], self.units[-2:]
        same = math.isclose(sy, sx, rel_tol=1e-6)
        if not (ux and ux == uy and same and math.isfinite(sx) and sx > 0):
            return None
        return float(sx), ux


def metric_length(metres: float) -> tuple[float, str]:
    """A length in metres as ``(value, "nm")`` under a µm, else ``(value, "µm")``, rounded to
    10 significant digits (2.5e-9 m -> 2.5 nm, not 2.5000000000000004)."""
    value, unit = (metres * 1e9, "nm") if abs(metres) < 1e-6 else (metres * 1e6, "µm")
    return float(f"{value:.10g}"), unit


def read_calibrated(path, *, mmap: bool = False) -> CalibratedImage:
    """Read a ``.dm3``/``.dm4``, MRC (``.mrc``, ``.mrcs``, ``.map``, ``.st``), TIA ``.ser``,
    Velox/Berkeley ``.emd``, Nanonis ``.sxm`` (its ``Z`` forward channel, the topograph) or
    Gwyddion ``.gwy`` file (its lowest-numbered channel).

    Parameters
    ----------
    path : str or pathlib.Path
        The file, its format known by its suffix.
    mmap : bool
        Map the pixels into memory (read-only) instead of reading them (an ``.emd`` file's
        HDF5 dataset is read whatever ``mmap`` says).

    Returns
    -------
    CalibratedImage

    Raises
    ------
    InputError
        A suffix of neither format, or a missing, damaged or unsupported file (one line).
    """
    from napari_ivae.core.errors import InputError

    suffix = Path(path).suffix.lower()
    if suffix in DM_SUFFIXES:
        from napari_ivae.core.io.digital_micrograph import read_dm

        return read_dm(path, mmap=mmap)
    if suffix in MRC_SUFFIXES:
        from napari_ivae.core.io.mrc import read_mrc

        return read_mrc(path, mmap=mmap)
    if suffix in SER_SUFFIXES:
        from napari_ivae.core.io.tia_ser import read_ser

        return read_ser(path, mmap=mmap)
    if suffix in EMD_SUFFIXES:
        from napari_ivae.core.io.emd import read_emd

        return read_emd(path)
    if suffix in SXM_SUFFIXES:
        from napari_ivae.core.io.nanonis_sxm import read_sxm

        return read_sxm(path, mmap=mmap)
    if suffix in GWY_SUFFIXES:
        from napari_ivae.core.io.gwyddion import read_gwy

        return read_gwy(path, mmap=mmap)
    name = Path(path).name
    raise InputError(
        f"'{name}' is not a .dm3/.dm4, MRC, .ser, .emd, .sxm or .gwy file (by its extension)"
    )


def images_note(path) -> str:
    """For a file that holds several images (an ``.emd`` file's detectors, an ``.sxm`` scan's
    channels and directions, a ``.gwy`` file's channels): which one is read and how to read
    another, in the format's own words; ``""`` for any other file.

    Raises
    ------
    InputError
        A file of those formats that cannot be read (one line).
    """
    import importlib

    module = {".emd": "emd", ".sxm": "nanonis_sxm", ".gwy": "gwyddion"}.get(
        Path(path).suffix.lower()
    )
    if module is None:
        return ""
    return importlib.import_module(f"napari_ivae.core.io.{module}").images_note(path)


def read_headed(
    path, head_bytes: int, kind: str, read: Callable[[Path, bytes, int], CalibratedImage]
) -> CalibratedImage:
    """Open a file, read its first ``head_bytes`` and hand ``(path, head, size)`` to ``read``.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    head_bytes : int
        How much of its start ``read`` needs (the header).
    kind : str
        The format's name in messages, e.g. ``"MRC file"``.
    read : callable
        The format's reader; it raises ``ValueError`` with what is wrong.

    Raises
    ------
    InputError
        A file that cannot be opened, or the reader's ``ValueError``, in one line naming it.
    """
    from napari_ivae.core.errors import InputError

    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as stream:
            head = stream.read(head_bytes)
    except OSError as err:
        raise InputError(f"Could not read image '{path}': {err.strerror or err}") from err
    try:
        return read(path, head, size)
    except ValueError as err:
        raise InputError(f"Could not read {kind} '{path}': {err}") from None
