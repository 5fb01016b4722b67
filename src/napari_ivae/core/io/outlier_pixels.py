"""Hot pixels, X-ray hits and other isolated extreme pixels, replaced before detection.

One saturated pixel (65 535 in a frame of counts 50-300) sets every scale measured from the
frame's range: atom detection then finds one atom and particle detection a third of the
particles. A detector defect or an X-ray hit is told from the specimen by two things at once:

- it lies far outside the frame's bulk: beyond :data:`REACH` spans of the 0.1-99.9 percentile
  range (``span``) past either end of it, which shot noise does not reach (a low-dose frame's
  Poisson tail ends within a span);
- it is *isolated*: the pixels around it (the ring one pixel outside its connected group of
  extreme pixels) stay within :data:`RING_REACH` span of the bulk. An image formed by a lens or
  a probe cannot rise by two spans from one pixel to the next all around a spot, so a real
  bright atom or particle, however bright, keeps its shoulders and is left alone.

Each isolated group is replaced by the median of its ring.
"""

from __future__ import annotations

import numpy as np

BULK_PERCENTILES = (0.1, 99.9)
REACH = 3.0  # extreme: this many bulk spans beyond the bulk's ends
RING_REACH = 1.0  # isolated: the ring around the group within this many spans of the bulk
MAX_GROUPS = 2000  # more extreme groups than this are part of the image, not defects
MAX_GROUP_PIXELS = 64  # a larger extreme region is a feature (or a saturated area), kept
_SAMPLE = 1 << 20  # pixels the percentiles are measured on


def replaced_message(count: int) -> str:
    """What the user is told of ``count`` replaced pixels (no closing full stop)."""
    many = count > 1
    return (
        f"{count} isolated extreme pixel{'s' if many else ''} (hot pixels or X-ray hits) "
        f"{'were' if many else 'was'} replaced by the median of the pixels around "
        f"{'them' if many else 'it'}"
    )


def replace_outlier_pixels(frame: np.ndarray) -> int:
    """Replace isolated extreme pixels of one frame in place by the median of their ring.

    Parameters
    ----------
    frame : numpy.ndarray
        A finite 2D float array (NaN/inf already filled); changed in place.

    Returns
    -------
    int
        How many pixels were replaced.
    """
    step = max(1, frame.size // _SAMPLE)
    lo, hi = np.percentile(frame.ravel()[::step], BULK_PERCENTILES)
    span = float(hi - lo)
    if not span > 0:
        return 0
    extreme = (frame > hi + REACH * span) | (frame < lo - REACH * span)
    if not extreme.any():
        return 0
    from scipy import ndimage  # only for a frame that has extreme pixels: a slow first import

    groups, n_groups = ndimage.label(extreme, structure=np.ones((3, 3), bool))
    if n_groups > MAX_GROUPS:
        return 0
    replaced = 0
    for index, box in enumerate(ndimage.find_objects(groups), start=1):
        grown = tuple(
            slice(max(s.start - 1, 0), min(s.stop + 1, n)) for s, n in zip(box, frame.shape)
        )
        inside = groups[grown] == index
        size = int(inside.sum())
        if size > MAX_GROUP_PIXELS:
            continue
        ring = ndimage.binary_dilation(inside, np.ones((3, 3), bool)) & ~extreme[grown]
        values = frame[grown][ring]
        if values.size == 0:
            continue
        if values.max() > hi + RING_REACH * span or values.min() < lo - RING_REACH * span:
            continue  # the group has shoulders: a steep feature of the image, kept
        frame[grown][inside] = np.median(values)
        replaced += size
    return replaced
