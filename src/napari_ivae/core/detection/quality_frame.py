"""The atoms self-check's doubts from the frame itself, where the points look fine.

Atoms at an automatic spacing whose points pass every check of
:mod:`~napari_ivae.core.detection.quality` can still follow something that is not a lattice
of columns, because the points are put on the lattice the spacing search found
(:mod:`~napari_ivae.core.detection.frame_order`). Three doubts, each naming what to try:

- the spacing at the pixel limit (under ``PIXEL_LIMIT`` x ``spacing.MIN_SPACING``, the
  on-lattice band's upper factor): alternate pixels or scan lines (a constant-height STM
  frame's line-to-line offsets) give points that far apart; the benchmark lattices' finest
  spacing is 3.1 px;
- a motif's exemption (points closer than the spacing that form the frame's lattice) on a frame
  whose second direction is under ``MIN_SECOND_SHARE`` of its first: every lattice measured
  0.13-1.0 (``lattice_directions``), lattice fringes of one set of planes less;
- a lattice over the whole frame (no crystalline region) whose reflections carry under
  ``MIN_REFLECTION_SHARE`` of the frame's detail: a faint periodicity over other texture (a
  scan pattern over amorphous carbon: 0.02); whole-frame benchmark lattices 0.12-0.99.
"""

from __future__ import annotations

PIXEL_LIMIT = 1.25  # spacings within the on-lattice band of 2 px are the pixels' own pattern
MIN_SECOND_SHARE = 0.1  # under every lattice's measured 0.13
MIN_REFLECTION_SHARE = 0.05  # under half the weakest whole-frame lattice measured (0.12)
# what the doubts say the points may be: the particles hint's sign
NOT_COLUMNS = "not atom columns"


def frame_doubts(frame, params: dict, measures: dict, warnings: list) -> list:
    """Warnings for atoms at an automatic spacing that no other check doubted, from the frame.

    Parameters
    ----------
    frame : numpy.ndarray or None
        The (first) prepared frame; ``None``: nothing is checked.
    params : dict
        The detection's parameters.
    measures : dict
        The self-check's measures so far; ``reflection_share`` and ``second_share`` are added.
    warnings : list
        The warnings so far: any, and nothing is checked.

    Returns
    -------
    list of str
        At most one warning.
    """
    from napari_ivae.core.detection.frame_order import frame_order
    from napari_ivae.core.detection.quality import FEW, MIN_ON_LATTICE, _lattice_over_frame
    from napari_ivae.core.detection.spacing import MIN_SPACING

    if frame is None or warnings or params.get("spacing_source") != "auto":
        return []
    if measures.get("count", 0) < FEW or measures.get("on_lattice") is None:
        return []
    spacing = float(params["spacing"])
    if spacing < PIXEL_LIMIT * MIN_SPACING:
        return [
            f"the atoms lie {spacing:.1f} px apart, at the pixel limit: alternate pixels or "
            f"scan lines (line-to-line offsets) give that, {NOT_COLUMNS}; look at the "
            "overlay; if the columns are resolved, give --spacing"
        ]
    if not _lattice_over_frame(params):
        return []
    order = frame_order(frame, float(params.get("sigma", 0.0)))
    if order is None:
        return []
    measures.update(order)
    if measures["on_lattice"] < MIN_ON_LATTICE and order["second_share"] < MIN_SECOND_SHARE:
        return [
            f"only {measures['on_lattice']:.0%} of the atoms have their nearest neighbour near "
            f"the spacing, and the frame is periodic mostly along one direction (its second "
            f"{order['second_share']:.0%} of its first): lattice fringes give that, "
            f"{NOT_COLUMNS}; look at the overlay; if the columns are resolved, give --spacing"
        ]
    if order["reflection_share"] < MIN_REFLECTION_SHARE:
        return [
            f"the lattice found carries only {order['reflection_share']:.0%} of the frame's "
            "detail: a faint periodicity (a scan pattern) over other texture (an amorphous "
            f"film, particles) gives that, {NOT_COLUMNS}; look at the overlay; if the columns "
            "are resolved, give --spacing"
        ]
    return []


__all__ = ["frame_doubts"]
