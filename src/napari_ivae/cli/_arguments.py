"""Options shared by several sub-commands, spelled and explained the same in each."""

from __future__ import annotations

from pathlib import Path

from napari_ivae.core.errors import InputError


def add_channel_argument(p, prefix: str = "") -> None:
    """``--channel``, as ``napari-ivae detect`` has it (``prefix`` starts its help)."""
    p.add_argument(
        "--channel", metavar="C", help=f"{prefix}for colour images: 'luminance' or a channel number"
    )


def add_frame_axis_argument(p, prefix: str = "") -> None:
    """``--frame-axis``, as ``napari-ivae detect`` has it (``prefix`` starts its help)."""
    p.add_argument(
        "--frame-axis",
        type=int,
        metavar="AXIS",
        help=f"{prefix}axis holding frames (needed for 4D or ambiguous 3D input)",
    )


def check_frame_axis(shape, frame_axis) -> None:
    """Refuse ``--frame-axis`` on a 2D image (one frame), where it would be ignored.

    Parameters
    ----------
    shape : tuple of int
        The image's shape as read.
    frame_axis : int or None
        The ``--frame-axis`` given.

    Raises
    ------
    InputError
        ``frame_axis`` given for an image of two axes.
    """
    if frame_axis is not None and len(shape) == 2:
        raise InputError(
            f"--frame-axis {frame_axis} was given, but the image {tuple(shape)} is 2D (one "
            "frame): leave --frame-axis out"
        )


def microscope_frame_axis(path, ndim: int, frame_axis, channel):
    """``frame_axis`` as given; 0 for a 3D image of a microscope file (``.dm3``/``.dm4``, MRC,
    ``.ser``, ``.emd``, ``.sxm``, ``.gwy``) when neither ``frame_axis`` nor ``channel`` is given:
    those readers never give colour planes, so 2-4 planes are frames, not an ambiguous image."""
    if frame_axis is not None or channel is not None or ndim != 3:
        return frame_axis
    from napari_ivae.core.io.calibrated import CALIBRATED_SUFFIXES

    return 0 if Path(str(path)).suffix.lower() in CALIBRATED_SUFFIXES else None
