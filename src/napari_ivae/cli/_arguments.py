"""Options shared by several sub-commands, spelled and explained the same in each."""

from __future__ import annotations


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
