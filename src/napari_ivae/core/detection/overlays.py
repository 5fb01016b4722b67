"""Burned-in annotations: a scale bar (and the label beside it) drawn into the pixels.

Microscope software burns a saturated bar, and often its length as text, into exported
images. Detection would find "particles" or "atoms" on it; :func:`annotation_mask` finds it so
that detectors can leave it out by themselves (and say so).
"""

from __future__ import annotations

import numpy as np


def annotation_mask(frame: np.ndarray) -> np.ndarray:
    """A burned-in scale bar (and the text beside it): constant-valued, saturated, straight.

    A scale bar is a filled rectangle at the frame's extreme value, at least four times as long
    as it is thick and at least 4 % of the frame across. Other components at the same
    extreme value near it (its label) go with it. The mask is grown by 2 pixels.
    """
    from scipy import ndimage

    frame = np.asarray(frame)
    mask = np.zeros(frame.shape, dtype=bool)
    for extreme in (frame.max(), frame.min()):
        objects, count = ndimage.label(frame == extreme)
        if count == 0 or count > 5000:
            continue
        boxes = ndimage.find_objects(objects)
        bars = []
        for label, box in enumerate(boxes, start=1):
            height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
            long_side, short_side = max(height, width), min(height, width)
            filled = (objects[box] == label).mean()
            if (
                filled >= 0.9
                and long_side >= 4 * short_side
                and long_side >= 0.04 * max(frame.shape)
            ):
                bars.append(box)
        for box in bars:
            length = max(box[0].stop - box[0].start, box[1].stop - box[1].start)
            near = (
                slice(max(box[0].start - length // 2, 0), box[0].stop + length // 2),
                slice(max(box[1].start - length // 4, 0), box[1].stop + length // 4),
            )
            mask[near] |= objects[near] > 0
            mask[box] = True
    return ndimage.binary_dilation(mask, iterations=2) if mask.any() else mask


__all__ = ["annotation_mask"]
