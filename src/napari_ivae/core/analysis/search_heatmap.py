"""The beta(t) search's heat map: one coloured cell per run, as an RGB image or a PNG."""

from __future__ import annotations

import numpy as np

from napari_ivae.core.analysis.search_scores import SearchResult
from napari_ivae.core.errors import InputError

#: a few anchors of matplotlib's viridis, interpolated (no plotting library needed)
_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)


def heatmap_image(result: SearchResult, *, score: str = "edge", cell: int = 48) -> np.ndarray:
    """The search's heat map as an RGB image: beta_start (rows, bottom = smallest) x beta_end.

    One panel per lambda, side by side. Colour: ``score`` (``"edge"``: bright = short edges =
    smooth; ``"fourier"``: bright = high ratio = smooth), scaled over all panels; grey =
    collapsed or not run; the chosen run is framed in red, the best fixed beta in white.

    Returns
    -------
    uint8 array (rows, cols, 3).
    """
    if score not in ("edge", "fourier"):
        raise InputError(f'score must be "edge" or "fourier", got {score!r}.')
    lams = sorted({run.smoothness for run in result.runs})
    starts = sorted({run.beta_start for run in result.runs})
    ends = sorted({run.beta_end for run in result.runs})
    values = np.array([getattr(run, score) for run in result.runs if not run.collapsed])
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    gap = cell // 4
    height = len(starts) * cell
    width = len(lams) * len(ends) * cell + (len(lams) - 1) * gap
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    for k in range(len(lams)):
        left = k * (len(ends) * cell + gap)
        image[:, left : left + len(ends) * cell] = 160
    for i, run in enumerate(result.runs):
        r = len(starts) - 1 - starts.index(run.beta_start)
        c = lams.index(run.smoothness) * (len(ends) * cell + gap) + ends.index(run.beta_end) * cell
        block = image[r * cell : (r + 1) * cell, c : c + cell]
        if not run.collapsed:
            t = (getattr(run, score) - lo) / (hi - lo) if hi > lo else 1.0
            t = 1.0 - t if score == "edge" else t
            position = t * (len(_VIRIDIS) - 1)
            k = min(int(position), len(_VIRIDIS) - 2)
            colour = _VIRIDIS[k] + (position - k) * (_VIRIDIS[k + 1] - _VIRIDIS[k])
            block[:] = colour.astype(np.uint8)
        frame = {result.best: (230, 30, 30), result.best_fixed: (255, 255, 255)}.get(i)
        if frame is not None:
            w = max(2, cell // 12)
            for edge in (block[:w], block[-w:], block[:, :w], block[:, -w:]):
                edge[:] = frame
    return image


def heatmap_png(result: SearchResult, path, *, score: str = "edge") -> None:
    """Write :func:`heatmap_image` to ``path`` as a PNG (atomically; a failed write is an
    :class:`~napari_ivae.core.errors.InputError` naming the file, the old file unchanged)."""
    import imageio.v3 as iio

    from napari_ivae.core._atomic import write_output

    encoded = iio.imwrite("<bytes>", heatmap_image(result, score=score), extension=".png")
    write_output(path, lambda stream: stream.write(encoded), "heat map")
