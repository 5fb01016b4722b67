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

Where steps stand alone, with the lines already aligned, a long edge in the differences is also
a particle's, a hole's or a padding's rim; the frame is levelled only as a staircase
(:func:`terraces_levelled`): its step edges are open curves crossing the frame, each at least
half its shorter side long (``LONG_EDGE``), carrying most of the step edges' pixels, and the
terraces between them show the same texture (their typical difference along the lines within
``TEXTURE_RATIO`` of each other: one lattice on every level, where a particle's or a hole's
rim has the support's noise or the vacuum's on one side). The tilt and the step cut come from
every fourth line and column, which also say whether there are steps enough for one long
edge (most frames stop there: 3-10 ms at 512 x 512, about 60 ms at 2048 x 2048); a staircase
loses its steps with their flanks (the differences of the same sign over the 95th percentile
joined to a step: a tip blurs a step over a few pixels).
"""

from __future__ import annotations

import numpy as np

OFFSET_RATIO = 3.0  # the line offsets' spread over the typical difference along a line
STEP_CUT = 3.0  # a difference over this many times the 95th percentile is a step edge
STEP_PERCENTILE = 95.0
MIN_SIDE = 16  # frames narrower than this are too small to tell lines from atoms
LONG_EDGE = 0.5  # a step edge spans at least this share of the frame's shorter side
LONG_SHARE = 0.5  # the long edges' share of every step edge's pixels
TERRACE_AREA = 0.02  # a terrace covers at least this share of the frame
TEXTURE_RATIO = 1.5  # the terraces' largest typical difference over their smallest
SAMPLE = 4  # terraces: every SAMPLE-th line and column give the tilt and the step cut


def scan_levelled(frame: np.ndarray) -> tuple[np.ndarray, dict | None]:
    """The frame levelled when its scan lines carry offsets of their own, or when it is a
    lattice on terraces (:func:`terraces_levelled`).

    Parameters
    ----------
    frame : numpy.ndarray
        2D float frame (prepared).

    Returns
    -------
    tuple
        ``(frame, found)``: the levelled frame (float32) and what was taken out (``found``:
        the line offsets' spread over the along-line differences, ``offset_ratio``, and the
        share of differences taken as step edges, ``step_share``; for terraces with aligned
        lines, ``step_share`` and ``terraces``); or the frame itself and ``None`` for any
        other frame.
    """
    if min(frame.shape) < MIN_SIDE:
        return frame, None
    ratio = offset_ratio(frame)
    if not ratio > OFFSET_RATIO:
        return terraces_levelled(frame)
    z = np.asarray(frame, dtype=np.float64)
    along = np.diff(z, axis=1)
    across = np.diff(z, axis=0)
    across -= np.median(across, axis=1)[:, None]  # the line offsets, and the tilt across
    along -= np.median(along)  # the tilt along the lines
    share = _without_steps(along, across)
    levelled = integrated(along, across)
    return levelled.astype(np.float32), {"offset_ratio": ratio, "step_share": share}


def terraces_levelled(frame: np.ndarray) -> tuple[np.ndarray, dict | None]:
    """The frame levelled when it is a lattice on terraces: its step edges taken out.

    Parameters
    ----------
    frame : numpy.ndarray
        2D float frame (prepared), its scan lines aligned.

    Returns
    -------
    tuple
        ``(frame, found)``: the frame less its plane's tilt and its steps (float32) and
        ``found`` (the share of differences taken as step edges, ``step_share``, and the
        number of terraces, ``terraces``); or the frame itself and ``None`` when its step
        edges do not cut it into terraces of one texture.
    """
    if min(frame.shape) < MIN_SIDE:
        return frame, None
    tilt, cut, hits = _sampled_steps(frame)
    if hits < LONG_EDGE * min(frame.shape) / (2 * SAMPLE):
        return frame, None  # too few steps on the sampled lines for one long edge
    z = np.asarray(frame, dtype=np.float64)
    along = np.diff(z, axis=1) - tilt[0]
    across = np.diff(z, axis=0) - tilt[1]
    steps_along, steps_across = np.abs(along) > cut, np.abs(across) > cut
    edges = _step_edges(steps_along, steps_across)
    terraces = _terrace_count(z, along, edges)
    if terraces < 2:
        return frame, None
    steps_along = _with_flanks(steps_along, along, cut / STEP_CUT)
    steps_across = _with_flanks(steps_across, across, cut / STEP_CUT)
    along[steps_along] = 0.0
    across[steps_across] = 0.0
    share = (steps_along.sum() + steps_across.sum()) / (along.size + across.size)
    levelled = integrated(along, across)
    return levelled.astype(np.float32), {"step_share": float(share), "terraces": terraces}


def _sampled_steps(frame: np.ndarray) -> tuple[tuple[float, float], float, int]:
    """The tilt along and across the lines (median differences), the step cut (``STEP_CUT``
    times the 95th percentile of the differences less the tilt) and the number of steps, all
    from every ``SAMPLE``-th line (differences along) and column (differences across)."""
    along = np.diff(frame[::SAMPLE].astype(np.float64), axis=1)
    across = np.diff(frame[:, ::SAMPLE].astype(np.float64), axis=0)
    tilt = (float(np.median(along)), float(np.median(across)))
    along = np.abs(along - tilt[0])
    across = np.abs(across - tilt[1])
    cut = STEP_CUT * float(np.percentile(np.concatenate([along.ravel(), across.ravel()]), 95))
    return tilt, cut, int((along > cut).sum() + (across > cut).sum())


def _with_flanks(steps: np.ndarray, differences: np.ndarray, low: float) -> np.ndarray:
    """The step differences and their flanks: the differences of the same sign over ``low``
    joined to them (a step blurred by the tip rises over a few pixels, its foot under the
    cut)."""
    from scipy import ndimage

    grown = np.zeros_like(steps)
    for side in (differences > low, differences < -low):
        labels, count = ndimage.label(side)
        touched = np.zeros(count + 1, dtype=bool)
        touched[labels[steps & side]] = True
        touched[0] = False
        grown |= touched[labels]
    return grown


def _step_edges(steps_along: np.ndarray, steps_across: np.ndarray) -> np.ndarray:
    """The pixels on either side of a step edge, ``(Y, X)``."""
    edges = np.zeros((steps_across.shape[0] + 1, steps_along.shape[1] + 1), dtype=bool)
    edges[:, :-1] |= steps_along
    edges[:, 1:] |= steps_along
    edges[:-1] |= steps_across
    edges[1:] |= steps_across
    return edges


def _terrace_count(z: np.ndarray, along: np.ndarray, edges: np.ndarray) -> int:
    """How many terraces of one texture the long, open step edges bound; 0 when they are no
    staircase (no long edge, most edge pixels in short pieces, a closed edge, or terraces of
    different textures)."""
    from scipy import ndimage

    if not edges.any():
        return 0
    labels, count = ndimage.label(edges, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    extents = np.array([max(s.stop - s.start for s in box) for box in ndimage.find_objects(labels)])
    long = extents >= LONG_EDGE * min(edges.shape)
    if not long.any() or sizes[long].sum() < LONG_SHARE * sizes.sum():
        return 0
    border = np.unique(np.concatenate([labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel()]))
    if not np.isin(np.flatnonzero(long) + 1, border).all():
        return 0  # a closed edge: a particle's or a hole's rim
    return _same_texture_terraces(z, along, edges)


def _same_texture_terraces(z: np.ndarray, along: np.ndarray, edges: np.ndarray) -> int:
    """The number of terraces (the frame apart from its step edges, each at least
    ``TERRACE_AREA`` of it) when their textures agree, else 0.

    A terrace's texture is its typical difference along the lines, of the frame and of the
    frame smoothed over a pixel (which keeps a lattice's and drops white noise's: a noisy
    lattice beside noise alone agrees on the first only)."""
    from scipy import ndimage

    apart = ~ndimage.binary_dilation(edges, iterations=2)
    labels, count = ndimage.label(apart)
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    large = np.flatnonzero(areas >= TERRACE_AREA * edges.size) + 1
    if len(large) < 2:
        return 0
    within = labels[:, :-1] * apart[:, 1:]  # a difference's terrace, where both ends lie on it
    smooth = np.diff(ndimage.gaussian_filter(z, 1.0), axis=1)
    smooth -= np.median(smooth)
    for differences in (along, smooth):
        typical = [np.median(np.abs(differences[within == label])) for label in large]
        if not min(typical) > 0 or max(typical) > TEXTURE_RATIO * min(typical):
            return 0
    return len(large)


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
    from napari_ivae.core.detection._medians import _median  # np.median's numbers, sooner

    spread = 1.4826 * np.median(np.abs(offsets - np.median(offsets)))
    along = np.asarray(along).ravel()  # np.median of the whole array: its values' median
    typical = _median(np.abs(along - _median(along)))
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
