"""Burned-in annotations in a frame resampled after they were drawn (binned or up-sampled by
the microscopist, or exported at another size): the bar, its label and a label's box are no
longer at one value and their edges are blurred by the resampling kernel, so
:func:`.overlays.annotation_mask`'s exact and JPEG rules miss them.

What resampling leaves is the shape: a bar is still a long straight rectangle whose core lies
at (near) the frame's extreme, a box still a rectangle of straight edges holding glyphs. Both
are found on the half-level map: the pixels nearer the extreme than half the way from the
extreme to the frame's median, where a resampling kernel's blurred edge crosses halfway.
"""

from __future__ import annotations

import functools

import numpy as np

from napari_ivae.core.detection.overlays import (
    BAR_THICK,
    GLYPH_PIXELS,
    JPEG_BAR,
    PANEL_FILLED,
    PANEL_GLYPHS,
    PANEL_MAX_SHARE,
    _inside,
    _sharp,
    _window,
)
from napari_ivae.core.detection.pixel_noise import pixel_noise_from_differences

OUTLIER_SHARE = 0.02  # a bar's core value: at most this share of the frame as far out


def resampled_annotations(frame: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The pixels of a resampled bar (with its sharp label) and of a resampled label box.

    Parameters
    ----------
    frame : numpy.ndarray
        The ``(Y, X)`` frame.
    found : numpy.ndarray
        ``(Y, X)`` bool, what the exact and JPEG rules masked (not grown): a bar they found
        whole, its label judged there, is left to them (a particle on its label's line
        would be taken for a glyph here).

    Returns
    -------
    numpy.ndarray
        ``(Y, X)`` bool, not dilated.

    Notes
    -----
    A bar here is a component of the half-level map (after a 3 x 3 majority, which drops the
    specks of noise added back) whose core (:func:`_cored_bars`: its full lines, with
    straight sides) is as long as :func:`.overlays._bars` asks, flat at the extreme to its
    ends (:func:`_flat_to_its_ends`) and beyond the image (:func:`_stands_out`). Its label is
    the line of glyphs (:func:`_on_one_line`) among the components of that map in the bar's
    window that reach within ``JPEG_BAR`` of the extreme and are judged drawn by
    :func:`.overlays._sharp` against the window's median, kept where the image holds no such
    line elsewhere (:func:`_unlike_the_image`). The bar is masked with the lines its blurred
    edges measure (:func:`_blurred`). A label box is found by
    :func:`.overlay_panels.saved_panels` on the same map.
    """
    from scipy import ndimage

    from napari_ivae.core.detection import overlay_panels

    frame = np.asarray(frame, dtype=float)
    mask = np.zeros(frame.shape, dtype=bool)
    low, high = float(frame.min()), float(frame.max())
    span = high - low
    if span <= 0:
        return mask
    middle = float(np.median(frame))
    noise = functools.cache(lambda: _frame_noise(frame))  # only where a bar is left to judge
    labelled = {}  # the half-level map's components, their sizes and boxes, by extreme
    for extreme in (high, low):
        level = overlay_panels.majority(np.abs(frame - extreme) <= 0.5 * abs(middle - extreme))
        objects = ndimage.label(level)[0]
        labelled[extreme] = objects, np.bincount(objects.ravel()), ndimage.find_objects(objects)
    panels = overlay_panels.saved_panels(frame, span, half=middle, labelled=labelled)
    for box in panels:
        mask[box] = True
    for extreme in (high, low):
        if middle == extreme:
            continue
        objects, sizes, boxes = labelled[extreme]
        bars = [
            box
            for box in _cored_bars(objects, sizes, boxes, frame.shape)
            if not _found_by_exact_rules(found, box)
            and _flat_to_its_ends(frame, box, extreme, JPEG_BAR * span)
            and _stands_out(frame, box, extreme)
            and _beyond_noise(frame, box, extreme, noise())
            and not any(_inside(box, panel) for panel in panels)
        ]
        for box in bars:
            near = _window(box, frame.shape)
            surround = float(np.median(frame[near]))
            length = max(side.stop - side.start for side in box)
            glyphs = []
            for label in np.unique(objects[near]).tolist():
                if not label:
                    continue
                piece = boxes[label - 1]
                if _inside(box, piece) or _inside(piece, box):
                    continue  # the bar itself
                if not _inside(piece, near) or max(s.stop - s.start for s in piece) > length // 2:
                    continue  # the image reaching out, or more than a glyph
                pixels = frame[piece][objects[piece] == label]
                if len(pixels) < GLYPH_PIXELS or np.abs(pixels - extreme).min() > JPEG_BAR * span:
                    continue  # noise above half-way: a glyph's stroke reaches the extreme
                if _sharp(frame, objects, label, piece, extreme, surround):
                    glyphs.append((len(pixels), label, piece))
            line = _on_one_line(glyphs, box)
            if line and _unlike_the_image(frame, labelled[extreme], extreme, middle, line, near):
                for label in line:
                    mask[near] |= objects[near] == label
            mask[_blurred(frame, box, extreme, noise())] = True
    return mask


def _blurred(frame: np.ndarray, bar: tuple, extreme: float, noise: float) -> tuple:
    """``bar``'s core grown, on each long side, by the lines the resampling kernel blurred it
    into: line after line while one lies nearer the ``extreme`` (its median) than the three
    lines beyond it by at least twice the pixel ``noise`` (the step :func:`_beyond_noise`
    asks of the core), at most as many as the core is thick (a gradient of the image toward
    the extreme beside it is not followed). A bar binned or up-sampled has one or two such
    lines; one drawn on the frame and saved as JPEG (no kernel) none: the image's own pixels
    beside it (a lattice's columns 3 px from CsPbBr3's colour bar) were masked with a fixed
    line."""
    axis = _across(bar)
    size = frame.shape[axis]

    def away(start, stop):
        pixels = frame[_with_across(bar, start, stop, frame.shape)]
        return float(np.median(np.abs(pixels - extreme))) if pixels.size else None

    start, stop = bar[axis].start, bar[axis].stop
    # a kernel that blurred the edge over more lines than the core is thick left no core
    reach = stop - start
    while start > max(bar[axis].start - reach, 0):
        line, beyond = away(start - 1, start), away(start - 4, start - 1)
        if beyond is None or beyond - line < 2 * noise:
            break
        start -= 1
    while stop < min(bar[axis].stop + reach, size):
        line, beyond = away(stop, stop + 1), away(stop + 1, stop + 4)
        if beyond is None or beyond - line < 2 * noise:
            break
        stop += 1
    return _with_across(bar, start, stop, frame.shape)


def _unlike_the_image(
    frame: np.ndarray, labelled: tuple, extreme: float, middle: float, line: list, near
) -> bool:
    """Whether a label's glyphs (``line``: its labels in ``labelled``, the half-level map's
    components, sizes and boxes) are more, in the band they span, than the image holds in
    any band of that size outside the bar's window ``near``. The line's glyphs at least
    its median size are counted (a speck of noise beside real glyphs left out), and
    components elsewhere like them: as large, no larger across than the tallest and no
    longer than the widest, reaching as near the ``extreme`` and as sharp (against the
    frame's median ``middle``). A lattice's row of bright columns beside a colour bar
    (CsPbBr3: two of 13-14 px, every band of the frame as many) is the image."""
    objects, sizes, boxes = labelled
    least = float(np.median([sizes[k] for k in line]))
    line = [k for k in line if sizes[k] >= least]
    tall = max(boxes[k - 1][0].stop - boxes[k - 1][0].start for k in line)
    wide = max(boxes[k - 1][1].stop - boxes[k - 1][1].start for k in line)
    labels = [
        k
        for k in (np.flatnonzero(sizes[1:] >= least) + 1).tolist()
        if boxes[k - 1][0].stop - boxes[k - 1][0].start <= tall
        and boxes[k - 1][1].stop - boxes[k - 1][1].start <= wide
        and not _overlaps(boxes[k - 1], near)
    ]
    if not labels:
        return True

    def reach(k):  # how near the extreme component k comes
        box = boxes[k - 1]
        return float(np.abs(frame[box][objects[box] == k] - extreme).min())

    deepest = max(reach(k) for k in line)
    labels = [k for k in labels if reach(k) <= deepest]
    band = tuple(
        max(boxes[k - 1][axis].stop for k in line) - min(boxes[k - 1][axis].start for k in line)
        for axis in (0, 1)
    )
    sharp = functools.cache(lambda k: _sharp(frame, objects, k, boxes[k - 1], extreme, middle))
    centres = np.array([[(b.start + b.stop) / 2 for b in boxes[k - 1]] for k in labels])
    for shift in ((0, 0), (0.5, 0), (0, 0.5), (0.5, 0.5)):
        if not labels:
            break
        tiles = np.floor(centres / band + shift).astype(int)
        _, where, counts = np.unique(tiles, axis=0, return_inverse=True, return_counts=True)
        # only the members of a band holding as many as the line are judged sharp (costly)
        for tile in np.flatnonzero(counts >= len(line)).tolist():
            members = [labels[i] for i in np.flatnonzero(where.ravel() == tile).tolist()]
            if sum(sharp(k) for k in members) >= len(line):
                return False
    return True


def _overlaps(box: tuple, window: tuple) -> bool:
    """Whether ``box`` and ``window`` (slices of the frame) share a pixel."""
    return all(b.start < w.stop and w.start < b.stop for b, w in zip(box, window))


def _cored_bars(objects: np.ndarray, sizes: np.ndarray, boxes: list, shape) -> list:
    """Boxes of the bars among the components ``objects`` (their ``sizes`` and ``boxes``) of
    the half-level map: the lines of a
    component (rows of a wide one, columns of a tall one) at least ``PANEL_FILLED`` full
    across it, and of those the longest run they all fill, as long as
    :func:`.overlays._bars` asks (four times as long as thick, ``BAR_THICK`` thick, 4 % of
    the frame). The kernel's blurred edge lines and the image's own pixels above half-way
    touching the bar (a bright film's grains, noise) fall outside that core.
    """
    if not boxes:
        return []
    least = 0.04 * max(shape)
    candidates = np.flatnonzero(
        (sizes[1:] >= least) & (sizes[1:] <= PANEL_MAX_SHARE * objects.size)
    )
    bars = []
    for label in (candidates + 1).tolist():
        box = boxes[label - 1]
        piece = objects[box] == label
        wide = piece.shape[1] >= piece.shape[0]
        lines = piece if wide else piece.T  # one row per line across the bar's length
        full = np.flatnonzero(lines.mean(axis=1) >= PANEL_FILLED)
        if len(full) < BAR_THICK or full[-1] - full[0] + 1 != len(full):
            continue
        along = lines[full].mean(axis=0) >= 0.5  # (noise added back leaves a few holes)
        run = _longest_run(along)
        if run is None:
            continue
        start, stop = run
        long_side, short_side = stop - start, len(full)
        if long_side < max(4 * short_side, least):
            continue
        # straight sides: a line past the blurred edge line is under half full along the
        # bar (an elongated blob's rows fall off over many lines)
        beyond = [full[0] - 2, full[-1] + 2]
        if any(0 <= k < len(lines) and lines[k, start:stop].mean() >= 0.5 for k in beyond):
            continue
        across = slice(
            box[0 if wide else 1].start + int(full[0]),
            box[0 if wide else 1].start + int(full[-1]) + 1,
        )
        length = slice(box[1 if wide else 0].start + start, box[1 if wide else 0].start + stop)
        bars.append((across, length) if wide else (length, across))
    return bars


def _found_by_exact_rules(found: np.ndarray, bar: tuple) -> bool:
    """Whether the exact rules found most of ``bar``'s core (a resampled bar's blurred rim
    lines lie outside what they take): the bar and its label are theirs (a rim masked again
    here takes the edge of a particle the bar cuts; a particle or the film's dark strands
    beside it can pass for glyphs). A bar of which they found a line or two (x1.5: one row
    left at the extreme) is searched here."""
    return bool(found[bar].mean() > 0.5)


def _beyond_noise(frame: np.ndarray, bar: tuple, extreme: float, noise: float) -> bool:
    """Whether ``bar``'s core steps from the lines beside it (the 2nd to 4th past its blurred
    edge lines, along its length) by at least twice the frame's pixel ``noise``: half-way
    between them, where the half-level map cut the bar out, lies beyond one sigma of
    either, so the cut is the bar's edge, not the noise crossing half-way along a band the
    image dimmed. Measured (stranger_heldlike): dark scan lines over a dim patch of a
    low-dose STEM frame (stem_bright_carbon / oxide_2k, zoom 1 and x0.5) 0.6-1.7 sigma;
    the benchmarks' resampled bars (x0.5 to x2+noise) 2.6 sigma and more."""
    across = bar[_across(bar)]
    beside = [
        frame[_with_across(bar, start, stop, frame.shape)].ravel()
        for start, stop in (
            (across.start - 4, across.start - 1),
            (across.stop + 1, across.stop + 4),
        )
    ]
    beside = [pixels for pixels in beside if pixels.size]
    if not beside:
        return True
    sides = float(np.median(np.abs(np.concatenate(beside) - extreme)))
    step = sides - float(np.median(np.abs(frame[bar] - extreme)))
    return step >= 2 * noise


def _frame_noise(frame: np.ndarray) -> float:
    """The frame's white pixel noise from the differences along every 4th row (plenty of
    samples; scan-line offsets between rows left out)."""
    return pixel_noise_from_differences(np.diff(frame[::4], axis=1))


def _stands_out(frame: np.ndarray, bar: tuple, extreme: float) -> bool:
    """Whether at most ``OUTLIER_SHARE`` of the frame lies as far out as ``bar``'s median
    pixel: a burned-in bar (with its label, and the noise tail beyond it) is drawn beyond
    the image. A frame whose extreme is a noise outlier has its own background there
    (bright STEM frames: 4-6 % of the frame as far out as such a 'bar'; benchmarks'
    resampled bars 0.1-1.1 %)."""
    core = abs(float(np.median(frame[bar])) - extreme)
    return bool((np.abs(frame - extreme) <= core).mean() <= OUTLIER_SHARE)


def _flat_to_its_ends(frame: np.ndarray, bar: tuple, extreme: float, within: float) -> bool:
    """Whether each quarter of ``bar``'s length has its median pixel ``within`` of the
    ``extreme``: a drawn bar is flat at it to its ends (blurred over the kernel's pixel or
    two), an elongated blob or rod whose top saturates only its middle falls off along it."""
    pixels = np.moveaxis(frame[bar], 1 - _across(bar), 0)  # one row per part of its length
    return all(
        abs(float(np.median(part)) - extreme) <= within
        for part in np.array_split(pixels, 4, axis=0)
    )


def _on_one_line(glyphs: list, bar: tuple) -> list:
    """The labels of ``glyphs`` (``(pixels, label, box)``, each judged sharp) on the label's
    line of text: of the glyphs' lines (a glyph's span across the ``bar``, rows of a wide
    bar, and the glyphs overlapping it) holding at least ``PANEL_GLYPHS``, the one nearest
    the bar (the most glyphs, then the larger glyph, of a tie). A label is a line of glyphs
    next to its bar, nothing between them; a grain of noise or a patch of film above
    half-way lies anywhere (none where it is alone), a lattice's row of bright columns
    beyond the label (a colour bar's ink short of the frame's extreme) further off."""
    axis = _across(bar)
    across = bar[axis]

    def beside(line):
        return [g for g in glyphs if g[2][axis].start < line.stop and line.start < g[2][axis].stop]

    def gap(line):
        return max(across.start - line.stop, line.start - across.stop, 0)

    lines = [g[2][axis] for g in glyphs if len(beside(g[2][axis])) >= PANEL_GLYPHS]
    if not lines:
        return []
    line = min(lines, key=lambda s: (gap(s), -len(beside(s)), -max(g[0] for g in beside(s))))
    return [label for _, label, _ in beside(line)]


def _with_across(bar: tuple, start: int, stop: int, shape) -> tuple:
    """``bar``'s box with its lines across (:func:`_across`) from ``start`` to ``stop``,
    clipped to the frame's ``shape`` (empty where none is in it)."""
    axis = _across(bar)
    box = list(bar)
    start = max(start, 0)
    box[axis] = slice(start, max(min(stop, shape[axis]), start))  # empty, never wrapped round
    return tuple(box)


def _across(bar: tuple) -> int:
    """The axis across ``bar``'s length: 0 (rows) for a wide box, 1 for a tall one."""
    return 0 if bar[1].stop - bar[1].start >= bar[0].stop - bar[0].start else 1


def _longest_run(flags: np.ndarray):
    """``(start, stop)`` of the longest run of True in ``flags``, or None."""
    if not flags.any():
        return None
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k])


__all__ = ["resampled_annotations"]
