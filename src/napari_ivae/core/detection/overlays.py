"""Burned-in annotations: a scale bar (and the label beside it) drawn into the pixels.

Microscope software burns a saturated bar, and often its length as text, into exported
images. Detection would find "particles" or "atoms" on it; :func:`annotation_mask` finds it so
that detectors can leave it out by themselves (and say so).
"""

from __future__ import annotations

import numpy as np

SHARP = 0.5  # a label's glyph: 2 px beyond it the frame is this far back from the extreme
# a text panel (a label's box, a data bar): its box this full of the two extremes, at most this
# share of the frame, and at least this many glyphs (components at the other extreme) inside
PANEL_FILLED = 0.9
PANEL_MAX_SHARE = 0.25
PANEL_GLYPHS = 2
GLYPH_PIXELS = 5  # a glyph's least area: more than a 2 x 2 cluster of hot pixels
# a bar saved as JPEG (quality 75, benchmarks/real_variants.py): its pixels within this share
# of the frame's range of the value it was drawn at (measured: 0.02-0.09, a 3 px thick bar's
# edge rows the furthest)
JPEG_BAR = 0.1
BAR_THICK = 2  # a bar's least thickness (pixels)


def annotation_mask(frame: np.ndarray) -> np.ndarray:
    """A burned-in scale bar (and the text beside it): constant-valued, saturated, straight.

    A scale bar is a filled rectangle at the frame's extreme value, at least four times as long
    as it is thick, at least ``BAR_THICK`` pixels thick (a one-pixel line is a dead detector
    row or column) and at least 4 % of the frame across. Other components at the same
    extreme value near it (its label) go with it when they are drawn, not imaged: sharp-edged
    (see :func:`_sharp`; a saturated particle beside the bar stays). A text panel anywhere (a
    label's box, a data bar) goes too: see :mod:`.overlay_panels`. The mask is grown by 2 pixels.

    A picture saved as JPEG no longer holds its bar at one value: on an 8-bit frame, bars are
    looked for within ``JPEG_BAR`` of the frame's range of the extreme too (a bar JPEG left at
    the extreme only in part, a row of it, is replaced by the one holding it). Where a bar's
    pixels are not at one value, its label is what lies as far from the extreme as the bar's
    pixels, in components of ``GLYPH_PIXELS`` or more inside the label's window, each judged
    by the glyph holding it (:class:`_Glyphs`: JPEG breaks a glyph into pieces) and masked
    with it where the glyph is sharp, else judged sharp as before. A bar drawn and saved
    losslessly is found, with its label, as before.
    """
    from scipy import ndimage

    from napari_ivae.core.detection import overlay_panels

    frame = np.asarray(frame)
    mask = np.zeros(frame.shape, dtype=bool)
    middle = None  # the frame's median, once a label is looked at
    span = float(frame.max()) - float(frame.min())
    eight_bit = _on_256_levels(frame)  # JPEG pictures are 8-bit
    panels = overlay_panels.panels(frame, span, eight_bit)
    for extreme in (frame.max(), frame.min()):
        bars = _bars(frame == extreme, frame.shape)
        if span > 0 and eight_bit:
            bars = _with_saved_bars(bars, _jpeg_bars(frame, extreme, span))
        # a bar in a panel (or a strip of the panel's fill) has its label there too: the
        # panel goes whole, and the image around it keeps what lies at the bar's value
        bars = [box for box in bars if not any(_inside(box, panel) for panel in panels)]
        reach = 0.0
        for box in bars:
            # how far the bar's own pixels lie from the extreme (0: drawn and kept exactly,
            # but for a few pixels of the image in the bar's box)
            away = np.abs(frame[box] - extreme)
            if (away > 0).mean() > 0.01:
                # (its box's corners may hold a few pixels of what JPEG smeared around it)
                reach = max(reach, float(np.percentile(away, 99)))
        if not bars:
            continue
        objects, _ = ndimage.label(np.abs(frame - extreme) <= reach)
        boxes = ndimage.find_objects(objects)
        sizes = np.bincount(objects.ravel())
        for box in bars:
            near = _window(box, frame.shape)
            glyphs = None  # the glyphs around a JPEG'd bar, once a label piece is looked at
            for label in np.unique(objects[near]).tolist():
                if not label:
                    continue
                if reach > 0 and (
                    sizes[label] < GLYPH_PIXELS or not _inside(boxes[label - 1], near)
                ):
                    continue  # not at one value: noise pixels, or the image reaching out
                middle = float(np.median(frame)) if middle is None else middle
                if reach > 0:
                    if glyphs is None:
                        glyphs = _Glyphs(frame, extreme, box, near)
                    piece = boxes[label - 1]
                    glyph = glyphs.holding(glyphs.labels[piece][objects[piece] == label], box, near)
                    if glyph is not None and glyphs.sharp(glyph):
                        where = glyphs.boxes[glyph - 1]
                        mask[where] |= glyphs.labels[where] == glyph
                        mask[near] |= objects[near] == label
                        continue
                if _sharp(frame, objects, label, boxes[label - 1], extreme, middle):
                    mask[near] |= objects[near] == label
            mask[box] = True
    for box in panels:
        mask[box] = True
    from napari_ivae.core.detection.overlay_resampled import resampled_annotations

    mask |= resampled_annotations(frame, mask)
    return ndimage.binary_dilation(mask, iterations=2) if mask.any() else mask


class _Glyphs:
    """The glyphs of a label drawn at the bar's value and saved as JPEG: the components of the
    pixels nearer the bar's median value than the label's surroundings (the median of the
    label's window) are, judged sharp against those surroundings. A label is often drawn on
    a part of the image far from the frame's median, and a colour's luminance JPEG leaves
    at 210-245 of 255 (real_variants 'colourbar+jpeg'): its glyphs' rings lay under halfway
    from the extreme to the frame's median.

    JPEG breaks a glyph's strokes, at the level of the bar's pixels, into pieces of a few
    pixels; a piece's ring holds the same glyph's other (dimmed) strokes, so the piece reads
    as not sharp (Ru1 'scalebar+jpeg', benchmarks/real_variants.py: 15 of 17 pieces of the
    digits "20"). The glyph holding it is judged instead.
    """

    def __init__(self, frame: np.ndarray, extreme: float, bar, window):
        from scipy import ndimage

        self.frame, self.extreme = frame, extreme
        drawn = float(np.median(frame[bar]))  # the value the bar and label were drawn at
        self.surround = float(np.median(frame[window]))  # what the label is drawn on
        self.labels, _ = ndimage.label(np.abs(frame - drawn) < 0.5 * abs(self.surround - drawn))
        self.boxes = ndimage.find_objects(self.labels)
        self._judged: dict[int, bool] = {}  # a glyph's pieces share its verdict

    def holding(self, under: np.ndarray, bar, window) -> int | None:
        """The glyph (its label in ``labels``) holding a piece, ``under`` its pixels the
        glyphs' labels, or None where it is not one: more than one component, the bar itself,
        reaching out of the label's ``window``, or more than half the bar's length across
        (the image near the extreme, not text)."""
        found = np.unique(under)
        found = found[found > 0]
        if len(found) != 1:
            return None
        box = self.boxes[int(found[0]) - 1]
        length = max(side.stop - side.start for side in bar)
        if (
            not _inside(box, window)
            or _inside(bar, box)
            or max(side.stop - side.start for side in box) > length // 2
        ):
            return None
        return int(found[0])

    def sharp(self, glyph: int) -> bool:
        """Whether ``glyph`` is drawn on the image (:func:`_sharp`, measured against what
        the label is drawn on, not the frame's median)."""
        if glyph not in self._judged:
            self._judged[glyph] = _sharp(
                self.frame, self.labels, glyph, self.boxes[glyph - 1], self.extreme, self.surround
            )
        return self._judged[glyph]


def _on_256_levels(frame: np.ndarray) -> bool:
    """Whether 95 % of (a sample of) the frame's pixels take at most 256 values: an 8-bit
    picture (scaled or not; a drawn colour's luminance besides)."""
    sample = frame.ravel()[:: max(1, frame.size // 10_000)]
    counts = np.unique(sample, return_counts=True)[1]
    return bool(np.sort(counts)[-256:].sum() >= 0.95 * len(sample))


def _jpeg_bars(frame: np.ndarray, extreme: float, span: float) -> list:
    """Boxes of the bars (:func:`_bars`) within ``JPEG_BAR`` of the frame's range ``span`` of
    ``extreme``: a bar drawn at ``extreme`` and saved as JPEG. Labelled only where a row or a
    column holds a run of such pixels as long as the shortest bar (a running minimum: most
    frames have none, and labelling a bright background's pixels costs)."""
    from scipy import ndimage

    near = (np.abs(frame - extreme) <= JPEG_BAR * span).view(np.uint8)
    length = max(int(np.ceil(0.04 * max(frame.shape))), 1)
    if not any(
        ndimage.minimum_filter1d(near, length, axis=axis).any()
        for axis in (0, 1)
        if frame.shape[axis] >= length
    ):
        return []
    return _bars(near.view(bool), frame.shape, largest=PANEL_MAX_SHARE)


def _window(box, shape) -> tuple:
    """Where a bar's label may lie: half its length above and below, a quarter beside."""
    length = max(box[0].stop - box[0].start, box[1].stop - box[1].start)
    return (
        slice(max(box[0].start - length // 2, 0), min(box[0].stop + length // 2, shape[0])),
        slice(max(box[1].start - length // 4, 0), min(box[1].stop + length // 4, shape[1])),
    )


def _inside(box, window) -> bool:
    """Whether ``box`` lies in ``window`` (slices of the frame; a window's stop may run past
    the frame's edge)."""
    return all(w.start <= b.start and b.stop <= w.stop for b, w in zip(box, window))


def _area(box) -> int:
    return (box[0].stop - box[0].start) * (box[1].stop - box[1].start)


def _with_saved_bars(exact: list, near: list) -> list:
    """The bars at the extreme, with those JPEG left there only in part (a row of the bar,
    which is a bar's shape too) replaced by the bar near the extreme holding them, and the
    bars found only near the extreme added."""
    kept = []
    for box in exact:
        holders = [other for other in near if _inside(box, other)]
        if holders and _area(box) < 0.5 * _area(holders[0]):
            continue  # the part: the near bar holding it takes its place
        kept.append(box)
    for other in near:
        inside = any(
            all(o.start <= b.start and b.stop <= o.stop for b, o in zip(box, other)) for box in kept
        ) or any(
            all(b.start <= o.start and o.stop <= b.stop for b, o in zip(box, other)) for box in kept
        )
        if not inside:
            kept.append(other)
    return kept


def _bars(level: np.ndarray, shape, largest: float = 1.0) -> list:
    """Boxes of the scale bars among the components of ``level``.

    Parameters
    ----------
    level : numpy.ndarray
        Boolean ``(Y, X)``: the pixels at an extreme (or of a drawn colour).
    shape : tuple
        The frame's shape (a bar is at least 4 % of its longer side).

    Returns
    -------
    list of tuple of slice
        Each bar's box: a component (less what a 3 x 3 opening removes where it fills its box
        less than 90 %) filling at least 90 % of its box, four times as long as thick and at
        least ``BAR_THICK`` pixels thick.
    """
    from scipy import ndimage

    objects, count = ndimage.label(level)
    if count == 0:
        return []
    # only components as large as the shortest bar: an 8-bit image stretched with 1 %
    # saturated holds thousands of single pixels at its extremes (those frames were
    # skipped, their bar found as particles); and not a bright background near the extreme
    sizes = np.bincount(objects.ravel())
    candidates = np.flatnonzero(
        (sizes[1:] >= 0.04 * max(shape)) & (sizes[1:] <= largest * level.size)
    )
    if not len(candidates):
        return []
    # those alone, numbered 1..n (boxes of thousands of noise pixels cost)
    objects, count = ndimage.label(np.isin(objects, candidates + 1))
    boxes = ndimage.find_objects(objects)
    bars = []
    for label in range(1, count + 1):
        box = boxes[label - 1]
        if (objects[box] == label).mean() < 0.9:
            # noise pixels at the extreme touching the bar (a dark frame's counts at 0)
            # widen its box: the bar is what a 3 x 3 opening leaves
            box = _opened_box(objects[box] == label, box)
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        long_side, short_side = max(height, width), min(height, width)
        filled = (objects[box] == label).mean()
        # a line one pixel thick is a dead detector row or column (or a scan glitch): software
        # draws its bar thick enough to see
        if (
            filled >= 0.9
            and long_side >= 4 * short_side
            and long_side >= 0.04 * max(shape)
            and short_side >= BAR_THICK
        ):
            bars.append(box)
    return bars


def _opened_box(piece, box):
    """The box of the largest part of ``piece`` (a component's pixels in its ``box``) that a
    3 x 3 opening leaves, in frame coordinates; ``box`` where nothing is left."""
    from scipy import ndimage

    opened, count = ndimage.label(ndimage.binary_opening(piece, np.ones((3, 3), dtype=bool)))
    if count == 0:
        return box
    largest = int(np.argmax(np.bincount(opened.ravel())[1:])) + 1
    inner = ndimage.find_objects(opened)[largest - 1]
    return tuple(
        slice(outer.start + part.start, outer.start + part.stop) for outer, part in zip(box, inner)
    )


def _sharp(frame, objects, label, box, extreme, middle) -> bool:
    """Whether component ``label`` (at ``extreme``) is drawn on the image, not imaged: 2 px
    beyond its outline the frame is back near its median (a glyph of text), not still near the
    extreme (the saturated core of a particle, whose edge falls off over pixels); ``middle``
    is the frame's median.

    Measured (benchmarks/stranger_particles.py, issue 9): glyphs of crisp and antialiased
    labels 0.93-1.03 of the way from the extreme to the median; saturated dark particles
    beside a bar 0.00-0.05, a saturated bright one 0.32."""
    from scipy import ndimage

    pad = 3
    window = tuple(slice(max(side.start - pad, 0), side.stop + pad) for side in box)
    piece = objects[window] == label
    ring = ndimage.binary_dilation(piece, iterations=2) & ~ndimage.binary_dilation(piece)
    span = abs(middle - float(extreme))
    if not ring.any() or span == 0:
        return True
    return float(np.median(np.abs(frame[window][ring] - extreme))) >= SHARP * span


__all__ = ["annotation_mask"]
