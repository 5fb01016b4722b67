"""Text panels burned into a frame: a label's filled box or a data bar, holding text (and
often a scale bar) in the other contrast, drawn exactly (``_panels``) or
saved as JPEG (``_data_bars``, :func:`saved_panels`). :func:`.overlays.annotation_mask` masks
them whole.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.overlays import (
    GLYPH_PIXELS,
    JPEG_BAR,
    PANEL_FILLED,
    PANEL_GLYPHS,
    PANEL_MAX_SHARE,
    _opened_box,
)


def panels(frame: np.ndarray, span: float, eight_bit: bool) -> list:
    """Boxes of the text panels in ``frame`` (its range ``span``): drawn at its extremes,
    and, on an 8-bit frame (``eight_bit``: a picture JPEG may have saved), near them.

    Parameters
    ----------
    frame : numpy.ndarray
        The ``(Y, X)`` frame.
    span : float
        ``frame.max() - frame.min()``.
    eight_bit : bool
        Whether the frame takes at most 256 values (:func:`.overlays._on_256_levels`).

    Returns
    -------
    list of tuple of slice
        Each panel's box.
    """
    found = _panels(frame)
    if span > 0 and eight_bit:
        found += _data_bars(frame, span) + saved_panels(frame, span)
    return found


def _panels(frame: np.ndarray) -> list:
    """Boxes of text panels: a rectangle at one extreme of the frame (its background) holding
    text at the other (the glyphs), as microscope software draws a label's box or a data bar.

    A component at an extreme is a panel when its box, counting the other extreme's pixels in
    it, is at least ``PANEL_FILLED`` full (a drawn rectangle: padding strips and clipped
    vacuum are full too, but hold no text), covers at most ``PANEL_MAX_SHARE`` of the frame,
    and holds at least ``PANEL_GLYPHS`` components of ``GLYPH_PIXELS`` or more at the other
    extreme that do not reach its outermost rows and columns (hot pixels are smaller; the
    corners of a saturated disc's box reach them).
    """
    from scipy import ndimage

    low, high = frame.min(), frame.max()
    if low == high:
        return []
    found = []
    for extreme, other in ((low, high), (high, low)):
        objects, count = ndimage.label(frame == extreme)
        if count == 0:
            continue
        sizes = np.bincount(objects.ravel())
        boxes = ndimage.find_objects(objects)
        for label in (np.flatnonzero(sizes[1:] >= 0.04 * max(frame.shape)) + 1).tolist():
            box = boxes[label - 1]
            if ((objects[box] == label) | (frame[box] == other)).mean() < PANEL_FILLED:
                # the image's own pixels at the extreme touching the panel widen its box
                box = _opened_box(objects[box] == label, box)
            area = (box[0].stop - box[0].start) * (box[1].stop - box[1].start)
            if area > PANEL_MAX_SHARE * frame.size or min(frame[box].shape) < 5:
                continue
            text = frame[box] == other
            if ((objects[box] == label) | text).mean() < PANEL_FILLED:
                continue
            if _holds_glyphs(text):
                found.append(box)
    return found


def _data_bars(frame: np.ndarray, span: float) -> list:
    """Boxes of data bars saved as JPEG: a strip across the whole frame at one of its edges,
    near one extreme of the frame (within ``JPEG_BAR`` of its range ``span``) but for text near
    the other, as microscope software exports an SEM frame. JPEG leaves neither the strip nor
    its glyphs at one value, so :func:`_panels` misses them.

    The strip is the run of rows (columns) from the edge that are mostly (half or more) near
    the extreme; it is a data bar when it is at least 5 and at most ``PANEL_MAX_SHARE`` of the
    frame thick, at least ``PANEL_FILLED`` near one extreme or the other, and holds at least
    ``PANEL_GLYPHS`` glyphs (components of ``GLYPH_PIXELS`` or more near the other extreme)
    that stay clear of its inner side (a bright particle on a dark image's edge reaches it).
    """
    from scipy import ndimage

    low, high = float(frame.min()), float(frame.max())
    found = []
    for extreme, other in ((low, high), (high, low)):
        near = np.abs(frame - extreme) <= JPEG_BAR * span
        text = np.abs(frame - other) <= JPEG_BAR * span
        for axis in (0, 1):
            lines = near.mean(axis=1 - axis) >= 0.5  # per row (axis 0) or column (axis 1)
            for from_end in (False, True):
                ordered = lines[::-1] if from_end else lines
                thick = int(np.argmin(ordered)) if not ordered.all() else len(ordered)
                if not 5 <= thick <= PANEL_MAX_SHARE * len(lines):
                    continue
                band = slice(len(lines) - thick, len(lines)) if from_end else slice(0, thick)
                # across the whole frame, its ends named (a bar-in-a-panel test compares them)
                across = slice(0, frame.shape[1 - axis])
                box = (band, across) if axis == 0 else (across, band)
                if (near[box] | text[box]).mean() < PANEL_FILLED:
                    continue
                glyphs, _ = ndimage.label(text[box])
                sizes = np.bincount(glyphs.ravel())
                # the band's inner side: its first line from the far edge, its last from the near
                inner = np.take(glyphs, 0 if from_end else -1, axis=axis)
                sizes[np.unique(inner)] = 0
                if (sizes[1:] >= GLYPH_PIXELS).sum() >= PANEL_GLYPHS:
                    found.append(box)
    return found


def saved_panels(
    frame: np.ndarray, span: float, half: float | None = None, labelled: dict | None = None
) -> list:
    """Boxes of text panels saved as JPEG: :func:`_panels` where neither the box's fill nor
    its text is left at one value (an exported frame's label box, dark or bright, with its
    scale bar and text in the other contrast). Fill and text are the pixels within
    ``JPEG_BAR`` of the frame's range ``span`` of one extreme and the other.

    A component of fill pixels is a panel when its box (:func:`_drawn_box`: less the lines
    of the image's own pixels near the extreme that touch it) is a drawn rectangle: at least
    ``PANEL_FILLED`` full of fill and text, its four outermost lines each ``PANEL_FILLED``
    full of fill (straight axis-aligned edges: a particle's outline meets its box at a few
    pixels), at most ``PANEL_MAX_SHARE`` of the frame, and holding at least ``PANEL_GLYPHS``
    glyphs (text components of ``GLYPH_PIXELS`` or more clear of its outermost lines).

    ``half`` (the frame's median) takes, instead, the pixels nearer each extreme than half the
    way to it: a panel in a frame resampled after it was drawn, whose edges the kernel blurred
    (:mod:`.overlay_resampled`); ``labelled`` holds, by extreme, the components of that
    map (after :func:`majority`), their sizes and boxes, where they were labelled already.
    """
    from scipy import ndimage

    low, high = float(frame.min()), float(frame.max())
    found = []
    for extreme, other in ((low, high), (high, low)):
        near, far = (
            (JPEG_BAR * span, JPEG_BAR * span)
            if half is None
            else (0.5 * abs(half - extreme), 0.5 * abs(half - other))
        )
        text = np.abs(frame - other) <= far
        if labelled is not None and extreme in labelled:
            objects, sizes, boxes = labelled[extreme]
        else:
            level = np.abs(frame - extreme) <= near
            if half is not None:  # noise added back after resampling (thin glyphs stay)
                level = majority(level)
            objects = ndimage.label(level)[0]
            sizes, boxes = np.bincount(objects.ravel()), ndimage.find_objects(objects)
        if not boxes:
            continue
        least = 0.04 * max(frame.shape)
        for label in (np.flatnonzero(sizes[1:] >= least * least / 4) + 1).tolist():
            if sizes[label] > PANEL_MAX_SHARE * frame.size:
                continue
            outer = boxes[label - 1]
            inner = _drawn_box(objects[outer] == label, text[outer])
            if inner is None:
                continue
            box = tuple(slice(o.start + i.start, o.start + i.stop) for o, i in zip(outer, inner))
            fill = objects[box] == label
            if half is None:
                drawn = fill | text[box]
            else:
                # the kernel blurred each glyph's edge: a pixel beside the text is drawn too
                box = _ragged_lines_off(box, fill | ndimage.binary_dilation(text[box]))
                fill = objects[box] == label
                drawn = fill | ndimage.binary_dilation(text[box])
            # a resampled panel cut by the frame's edge may have its bar or text on that line
            edges = fill if half is None else drawn
            if drawn.mean() < PANEL_FILLED or not _straight_edges(edges):
                continue
            if _holds_glyphs(text[box]):
                found.append(box)
    return found


def _ragged_lines_off(box: tuple, drawn: np.ndarray) -> tuple:
    """``box`` less each of its outermost lines (one a side: a resampling kernel's width)
    under ``PANEL_FILLED`` full of ``drawn`` (its pixels in ``box``): the line the kernel
    blurred a panel's edge into, or the image's own pixels touching it."""
    top, bottom, left, right = 0, drawn.shape[0], 0, drawn.shape[1]
    if drawn.shape[0] > 2 and drawn[0].mean() < PANEL_FILLED:
        top += 1
    if drawn.shape[0] > 2 and drawn[-1].mean() < PANEL_FILLED:
        bottom -= 1
    if drawn.shape[1] > 2 and drawn[:, 0].mean() < PANEL_FILLED:
        left += 1
    if drawn.shape[1] > 2 and drawn[:, -1].mean() < PANEL_FILLED:
        right -= 1
    return (
        slice(box[0].start + top, box[0].start + bottom),
        slice(box[1].start + left, box[1].start + right),
    )


def majority(level: np.ndarray) -> np.ndarray:
    """``level`` where most of each pixel's 3 x 3 neighbourhood is: white noise's specks
    gone, a drawn rectangle's straight edges kept."""
    padded = np.pad(level.view(np.uint8), 1, mode="edge")
    rows = padded[:-2] + padded[1:-1] + padded[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) >= 5


def _drawn_box(piece: np.ndarray, text: np.ndarray):
    """The box of the component ``piece`` (its pixels in its own box, ``text`` the other
    extreme's there) less its outer lines that are under half full of the component and the
    text: the image's own pixels near the extreme (a dark particle, noise) touching a drawn
    box widen its box by lines of a few pixels each. None where under 5 lines are left
    either way."""
    rows, cols = slice(0, piece.shape[0]), slice(0, piece.shape[1])
    for _ in range(3):
        full = piece[rows, cols] | text[rows, cols]
        by_row = np.flatnonzero(full.mean(axis=1) >= 0.5)
        by_col = np.flatnonzero(full.mean(axis=0) >= 0.5)
        if len(by_row) < 5 or len(by_col) < 5:
            return None
        new = (
            slice(rows.start + int(by_row[0]), rows.start + int(by_row[-1]) + 1),
            slice(cols.start + int(by_col[0]), cols.start + int(by_col[-1]) + 1),
        )
        if new == (rows, cols):
            break
        rows, cols = new
    return rows, cols


def _holds_glyphs(text: np.ndarray) -> bool:
    """Whether a panel's box (``text``: its pixels at the other extreme) holds at least
    ``PANEL_GLYPHS`` glyphs of ``GLYPH_PIXELS`` or more inside it: a glyph does not reach the
    box's outermost lines (the corners of a saturated disc's box do)."""
    from scipy import ndimage

    glyphs, _ = ndimage.label(text)
    sizes = np.bincount(glyphs.ravel())
    sizes[np.unique(np.concatenate([glyphs[0], glyphs[-1], glyphs[:, 0], glyphs[:, -1]]))] = 0
    return int((sizes[1:] >= GLYPH_PIXELS).sum()) >= PANEL_GLYPHS


def _straight_edges(fill: np.ndarray) -> bool:
    """Whether each of the four outermost lines of ``fill`` (a panel's box) is at least
    ``PANEL_FILLED`` full: a drawn rectangle's outline."""
    return all(line.mean() >= PANEL_FILLED for line in (fill[0], fill[-1], fill[:, 0], fill[:, -1]))


__all__ = ["panels", "saved_panels"]
