"""Frames whose pixels come in identical ``k x k`` blocks (a nearest-neighbour up-sampled image).

A viewer's nearest-neighbour zoom or a sample saved after one repeats every pixel of the
image it came from ``k`` times along both axes. To the atom search such a frame is a lattice of
flat squares: its steps between blocks are the sharpest detail it holds, and at ``k >= 3`` the
spacing estimate takes them for noise, or the blocks for atoms. The frame is recognised from
its pixels alone, exactly: the rows between two block edges equal in every frame, and the
columns alike (:func:`block_replication`; the blocks may start anywhere, as a crop leaves
them). Such frames are searched one pixel a block (:func:`one_per_block`), with the lengths
given divided by ``k``, and the result is said in the frames given (:func:`in_given_frame`):
points at the centres of their blocks, every length times ``k``.
"""

from __future__ import annotations

import re
from math import gcd

import numpy as np

# the lengths a caller may give (pixels of the frame given)
GIVEN_LENGTHS = (
    "spacing",
    "sigma",
    "background",
    "min_distance",
    "refine_radius",
    "merge_distance",
    "border",
)
# params entries that are lengths in pixels (the rest are counts, contrasts or words)
LENGTH_KEYS = GIVEN_LENGTHS + (
    "lattice_spacing",
    "lattice_constant",
    "atom_width",
    "superstructure",
    "finer_period",
    "sublattice_vectors",
)
_PX = re.compile(r"(\d+(?:\.(\d+))?) px")


def _period(differ: np.ndarray) -> int:
    """The largest ``period`` every block edge (a line that differs from the one before) lies
    a multiple of from the first; 1 when there are fewer than two edges."""
    edges = np.flatnonzero(differ) + 1
    if edges.size < 2:
        return 1
    period = 0
    for step in np.diff(edges):
        period = gcd(period, int(step))
    return period


def block_replication(frames: np.ndarray) -> tuple[int, int, int] | None:
    """``(k, row phase, column phase)`` when every frame of ``(F, Y, X)`` is constant on
    ``k x k`` blocks, ``k >= 2``, the blocks starting at those phases; ``None`` otherwise.

    Exact equality of neighbouring rows and columns, in every frame: a frame with one pixel
    unlike its block's others is no replicated frame.
    """
    if frames.ndim != 3 or min(frames.shape[1:]) < 4:
        return None
    if np.all(np.any(frames[:, 1:3] != frames[:, :2], axis=(0, 2))):
        return None  # rows 0, 1 and 2 differ: blocks one row high (most frames; cheaply said)
    rows = np.any(frames[:, 1:, :] != frames[:, :-1, :], axis=(0, 2))
    cols = np.any(frames[:, :, 1:] != frames[:, :, :-1], axis=(0, 1))
    k = gcd(_period(rows), _period(cols))
    if k < 2:
        return None
    row_phase = int((np.flatnonzero(rows)[0] + 1) % k)
    col_phase = int((np.flatnonzero(cols)[0] + 1) % k)
    return k, row_phase, col_phase


def _starts(length: int, k: int, phase: int) -> np.ndarray:
    """The first line of every block along an axis, a part block at either edge included."""
    return np.unique(np.r_[0, np.arange(phase, length, k)])


def one_per_block(frames: np.ndarray, block) -> np.ndarray:
    """The frames ``(F, Y, X)`` one pixel a block (a part block a crop left at an edge too)."""
    k, row_phase, col_phase = block
    rows = _starts(frames.shape[1], k, row_phase)
    cols = _starts(frames.shape[2], k, col_phase)
    return np.ascontiguousarray(frames[:, rows][:, :, cols])


def block_mask(mask: np.ndarray | None, block) -> np.ndarray | None:
    """A ``(Y, X)`` mask one pixel a block: set where any pixel of the block is."""
    if mask is None:
        return None
    k, row_phase, col_phase = block
    rows = np.logical_or.reduceat(mask, _starts(mask.shape[0], k, row_phase), axis=0)
    return np.logical_or.reduceat(rows, _starts(mask.shape[1], k, col_phase), axis=1)


def _to_given(values, k: int, phase: int, length: int) -> np.ndarray:
    """Positions one pixel a block at their blocks' centres in the frame given (a part
    block's continues past the edge: held inside the frame)."""
    origin = phase - k if phase else 0
    given = origin + k * np.asarray(values, dtype=float) + (k - 1) / 2
    return np.clip(given, 0.0, length - 1.0)


def in_blocks(frames: np.ndarray, block, given: dict, superstructure, exclude) -> tuple:
    """The frames one pixel a block, and what was given in the frames' pixels (the lengths,
    the superstructure's period, the ``exclude`` mask) in those of one a block."""
    from napari_ivae.core.validation import exclusion_mask

    k = block[0]
    given = {
        key: (value / k if key in GIVEN_LENGTHS and value is not None else value)
        for key, value in given.items()
    }
    superstructure = None if superstructure is None else superstructure / k
    exclude = block_mask(exclusion_mask(exclude, frames.shape[1:]), block)
    return one_per_block(frames, block), given, superstructure, exclude


def replicated_note(k: int) -> str:
    """The note for a frame searched one pixel a block."""
    return (
        f"The frame's pixels come in identical {k} x {k} blocks (a nearest-neighbour "
        f"up-sampled image): searched one pixel a block, the result in the frame's pixels."
    )


def _times(match: re.Match, k: int) -> str:
    decimals = len(match.group(2) or "")
    return f"{float(match.group(1)) * k:.{decimals}f} px"


def in_given_frame(found, block, checked, prepared):
    """``found`` (a detection on the frames one pixel a block) in the frames given
    (``prepared``): points at their blocks' centres, the lengths in ``params`` and
    ``refine_shift`` times ``k``, the lengths its message says too, its self-check made again
    there (``checked``), which notes the blocks (a note, no warning)."""
    from napari_ivae.core.detection.detections import make_detections

    k, row_phase, col_phase = block
    params = dict(found.params)
    for key in LENGTH_KEYS:
        value = params.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            params[key] = float(value) * k
        elif value is not None and key == "sublattice_vectors":
            params[key] = (np.asarray(value, dtype=float) * k).tolist()
    if "annotation_pixels" in params:
        params["annotation_pixels"] = int(params["annotation_pixels"]) * k * k
    params["replicated"] = {"block": k, "row_phase": row_phase, "col_phase": col_phase}
    table = found.properties.copy()
    table["row"] = _to_given(table["row"], k, row_phase, prepared.shape[-2])
    table["col"] = _to_given(table["col"], k, col_phase, prepared.shape[-1])
    if "refine_shift" in table:
        table["refine_shift"] = np.asarray(table["refine_shift"], dtype=float) * k
    message = _PX.sub(lambda match: _times(match, k), found.message)
    mapped = make_detections(table, labels=found.labels, params=params, message=message)
    mapped = checked(mapped, prepared)
    mapped.quality["notes"].append(replicated_note(k))
    return mapped
