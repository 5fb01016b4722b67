"""The checks of ``napari-ivae detect``'s options against the image, each a one-line error
naming the option: a 4D layout, ``--channel``, ``--invert`` with ``--polarity``."""

from __future__ import annotations

from napari_ivae.core.errors import InputError


def _check_4d(shape, frame_axis) -> None:
    """4D input: frames on ``--frame-axis`` and colour (3 or 4 values) last; no other layout."""
    if len(shape) != 4:
        return
    if frame_axis is None:
        raise InputError(
            f"the image is 4D {shape}: give --frame-axis (the axis holding the "
            "frames); its colour channels (3 or 4) must be on the last axis"
        )
    if not -4 <= frame_axis < 4:
        raise InputError(
            f"--frame-axis {frame_axis} is not an axis of the 4D image {shape}; use 0 to 3"
        )
    if shape[-1] not in (3, 4) or frame_axis % 4 == 3:
        raise InputError(
            f"the 4D image {shape} with --frame-axis {frame_axis} needs its colour "
            f"channels (3 or 4) on the last axis, which has {shape[-1]} values; "
            "the command line has no option for another channel axis: save one "
            "channel per file (e.g. image[..., 0]) or move the channels last"
        )


def _parse_channel(value):
    if value is None or value == "luminance":
        return value
    try:
        return int(value)
    except ValueError:
        raise InputError(f"--channel must be 'luminance' or an integer, got '{value}'.") from None


def _atoms_inverted(args):
    """``--invert`` or ``--polarity dark``: True; ``--polarity bright``: False; else auto."""
    if args.invert and args.polarity == "bright":
        raise InputError("--invert and --polarity bright contradict each other; give one")
    if args.invert or args.polarity == "dark":
        return True
    return False if args.polarity == "bright" else None
