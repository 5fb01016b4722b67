"""Options shared by several sub-commands, spelled and explained the same in each."""

from __future__ import annotations

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
