"""A scanning-probe frame levelled: line offsets, the plane's tilt and step edges taken out.

An STM or AFM topograph is a height per scan line, recorded by a feedback loop: each line
carries an offset of its own (the loop's drift, a tip change), the sample's plane is tilted,
and a vicinal surface's terraces stand one atomic step above the next, at ten or more times
the atoms' corrugation. None of that is in the atoms' band: the offsets and steps swamp the
lattice's periodicity and the band-pass's response at the atom scale.

The frame is rebuilt from its own pixel-to-pixel differences (the least-squares surface with
those differences, :func:`integrated`), less what the atoms cannot make:

* the line offsets: each pair of adjacent lines differs by the median of its differences
  (the atoms and the steps cross a line at a minority of its pixels), which is taken out;
* the tilt: the median difference along the lines;
* the step edges: differences over ``STEP_CUT`` times the 95th percentile of every difference
  (the atoms' steepest flanks reach about it; a step stands far above), set to zero, so each
  terrace joins the next at its own height.

A frame whose lines carry no offsets of their own is no scanning-probe topograph to level:
the line offsets' spread (the adjacent lines' medians) must stand ``OFFSET_RATIO`` times
above the typical difference along a line (the atoms' and the noise's). On the benchmarks'
frames without line artefacts that ratio stays under 0.95 (the highest: a hexagonal lattice
whose rows run along the lines, their medians following the rows; a STEM frame with line
noise and row jumps: 1.05; STM frames whose mild offsets do not stop the detection: 0.8-2.1);
an unlevelled STM staircase's is 40-55, still 6.5-9 with a sixth of its offsets. Any other
frame is returned as it came, untouched.

Where steps stand alone, with the lines already aligned, the frame is left as it came too:
a long edge in the differences is also a particle's, a hole's or a padding's rim.
"""

from __future__ import annotations

import numpy as np

OFFSET_RATIO = 3.0  # the line offsets' spread over the typical difference along a line
STEP_CUT = 3.0  # a difference over this many times the 95th percentile is a step edge
STEP_PERCENTILE = 95.0
MIN_SIDE = 16  # frames narrower than this are too small to tell lines from atoms


def scan_levelled(frame: np.ndarray) -> tuple[np.ndarray, dict | None]:
    """The frame levelled when its scan lines carry offsets of their own.

    Parameters
    ----------
    frame : numpy.ndarray
        2D float frame (prepared).

    Returns
    -------
    tuple
        ``(frame, found)``: the levelled frame (float32) and what was taken out (``found``:
        the line offsets' spread over the along-line differences, ``offset_ratio``, and the
        share of differences taken as step edges, ``step_share``); or the frame itself and
        ``None`` when its lines carry no offsets of their own.
    """
    if min(frame.shape) < MIN_SIDE:
        return frame, None
    ratio = offset_ratio(frame)
    if not ratio > OFFSET_RATIO:
        return frame, None
    z = np.asarray(frame, dtype=np.float64)
    along = np.diff(z, axis=1)
    across = np.diff(z, axis=0)
    across -= np.median(across, axis=1)[:, None]  # the line offsets, and the tilt across
    along -= np.median(along)  # the tilt along the lines
    share = _without_steps(along, across)
    levelled = integrated(along, across)
    return levelled.astype(np.float32), {"offset_ratio": ratio, "step_share": share}


def offset_ratio(frame: np.ndarray) -> float:
    """The line offsets' robust spread over the typical absolute difference along a line.

    Parameters
    ----------
    frame : numpy.ndarray
        2D frame.

    Returns
    -------
    float
        ``1.4826 MAD`` of the medians of adjacent lines' differences (every other pixel of
        each line), over the median absolute difference of neighbours along the lines (every
        fourth line, less their median); ``inf`` when only the lines differ.
    """
    frame = np.asarray(frame)
    across = frame[1:, ::2].astype(np.float64) - frame[:-1, ::2]
    along = np.diff(frame[::4].astype(np.float64), axis=1)
    return _offset_ratio(np.median(across, axis=1), along)


def _offset_ratio(offsets: np.ndarray, along: np.ndarray) -> float:
    """The line offsets' robust spread over the typical absolute difference along a line."""
    spread = 1.4826 * np.median(np.abs(offsets - np.median(offsets)))
    typical = np.median(np.abs(along - np.median(along)))
    if not typical > 0:
        return np.inf if spread > 0 else 0.0
    return float(spread / typical)


def _without_steps(along: np.ndarray, across: np.ndarray) -> float:
    """Zero the differences that are step edges (in place); return their share."""
    size = along.size + across.size
    magnitudes = np.concatenate([np.abs(along).ravel(), np.abs(across).ravel()])
    cut = STEP_CUT * np.percentile(magnitudes, STEP_PERCENTILE)
    steps = 0
    for differences in (along, across):
        edge = np.abs(differences) > cut
        differences[edge] = 0.0
        steps += int(edge.sum())
    return steps / size


def integrated(along: np.ndarray, across: np.ndarray) -> np.ndarray:
    """The least-squares surface whose differences are ``along`` and ``across``.

    Parameters
    ----------
    along : numpy.ndarray
        ``(Y, X - 1)`` differences along the lines (``z[:, 1:] - z[:, :-1]``).
    across : numpy.ndarray
        ``(Y - 1, X)`` differences across them (``z[1:] - z[:-1]``).

    Returns
    -------
    numpy.ndarray
        ``(Y, X)`` float64 surface of mean zero: the Poisson equation with reflecting edges,
        solved by the discrete cosine transform (a frame's own differences give it back).
    """
    from scipy import fft

    rows, cols = across.shape[0] + 1, along.shape[1] + 1
    divergence = np.zeros((rows, cols))
    divergence[:, :-1] += along
    divergence[:, 1:] -= along
    divergence[:-1] += across
    divergence[1:] -= across
    spectrum = fft.dctn(divergence, type=2, norm="ortho")
    eigen_rows = 2.0 * np.cos(np.pi * np.arange(rows) / rows) - 2.0
    eigen_cols = 2.0 * np.cos(np.pi * np.arange(cols) / cols) - 2.0
    eigen = eigen_rows[:, None] + eigen_cols[None, :]
    eigen[0, 0] = 1.0
    spectrum /= eigen
    spectrum[0, 0] = 0.0
    return fft.idctn(spectrum, type=2, norm="ortho")
