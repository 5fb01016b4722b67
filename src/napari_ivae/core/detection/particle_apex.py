"""A scanning-probe topograph's particles centred on their apexes.

On a height map a particle's top is its centre: a tip dilates a sphere into a wider dome but
keeps its apex over the sphere's centre. The scale-space blob and its centre of mass read the
dome's whole footprint, and where a small dome sits on a larger neighbour's dilated slope that
footprint is lopsided: the blob's point lands 4-7 px from the apex, away from the neighbour
(benchmarks/stranger_blind.py ``afm_tip_dilation``: a miss and a false point each). Near the
apex the dome is its own (the neighbour's slope only takes over beyond the contour where it
stands higher), so a quadratic surface fitted there has its vertex at the apex; a plane in the
fit (the neighbour's slope, the frame's tilt) only moves the vertex by the slope over the
curvature, which the fit's small window keeps inside the dome's own top.

Only a frame whose scan lines carry offsets of their own
(:func:`~napari_ivae.core.detection.scan_levelling.scan_levelled`) is a topograph read this way:
its lines levelled first (a line's offset would move the apex by a line or more), and any other
frame's centres are returned as they came.
"""

from __future__ import annotations

import numpy as np

WINDOW = 0.5  # the fit's radius over the blob's (the centre of mass reads the same window)
MIN_WINDOW = 2.0  # pixels: six coefficients need a disc of at least 13 pixels
STEPS = 3  # vertex steps: each re-centres the window on the last vertex
# a dome stands this many pixel noise deviations above its blob's ring on the levelled frame
# (the AFM domes: 50 and more; the blobs a line offset made, gone once levelled: under 1)
RISE_NOISE = 3.0


def apex_centres(signal, centres, radii) -> np.ndarray:
    """``centres`` moved to the apex of a quadratic fitted round each, on a topograph.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame, the particles' polarity positive.
    centres : numpy.ndarray
        ``(n, 2)`` sub-pixel centres.
    radii : numpy.ndarray
        ``(n,)`` blob radii (pixels).

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` centres: each at the vertex of the quadratic surface fitted within
        ``WINDOW`` of its blob radius of it on the line-levelled frame, where that surface is
        a peak, for the blobs standing ``RISE_NOISE`` pixel-noise deviations above the ring
        one blob radius out (a vertex beyond the window: one window radius towards it, up to
        ``STEPS`` times); the rest (and every centre of a frame without line offsets)
        unchanged.
    """
    from napari_ivae.core.detection import scan_levelling

    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2).copy()
    signal = np.asarray(signal)
    # the line offsets' test alone first (a few ms): most frames stop there, before the
    # terraces' test that scan_levelled would run on them
    if not len(centres) or min(signal.shape) < scan_levelling.MIN_SIDE:
        return centres
    if not scan_levelling.offset_ratio(signal) > scan_levelling.OFFSET_RATIO:
        return centres
    levelled, found = scan_levelling.scan_levelled(np.asarray(signal, dtype=np.float64))
    if found is None or "offset_ratio" not in found:
        return centres
    z = np.asarray(levelled, dtype=np.float64)
    along = np.diff(z[::4], axis=1)
    noise = 1.4826 * float(np.median(np.abs(along - np.median(along)))) / np.sqrt(2.0)
    radii = np.broadcast_to(np.asarray(radii, dtype=np.float64), (len(centres),))
    for radius in np.unique(radii):
        same = np.flatnonzero(radii == radius)
        centres[same] = _apexes(z, centres[same], float(radius), noise)
    return centres


def _apexes(z: np.ndarray, centres: np.ndarray, radius: float, noise: float) -> np.ndarray:
    """The quadratic fits' vertices near ``centres`` (blobs of one ``radius``), for the blobs
    that stand ``RISE_NOISE`` times the pixels' ``noise`` above their ring on ``z``."""
    reach = max(WINDOW * radius, MIN_WINDOW)
    half = int(np.ceil(reach))
    dy, dx = np.mgrid[-half : half + 1, -half : half + 1]
    inside = dy**2 + dx**2 <= reach**2
    dy, dx = dy[inside].astype(np.float64), dx[inside].astype(np.float64)
    design = np.column_stack([np.ones_like(dy), dy, dx, dy * dy, dy * dx, dx * dx])
    solve = np.linalg.pinv(design)  # (6, pixels): one least-squares fit for every window
    at = centres.copy()
    # a blob the levelled frame does not raise (a line's offset, taken out) has no apex
    start = np.rint(at).astype(int)
    raised = _rise(z, start, radius, values_at(z, start, dy, dx) @ solve[0]) > RISE_NOISE * noise
    for _ in range(STEPS):
        pixel = np.rint(at).astype(int)
        whole = np.all((pixel >= half) & (pixel < np.array(z.shape) - half), axis=1)
        values = values_at(z, pixel, dy, dx)
        a = values @ solve.T  # (n, 6): c, gy, gx, yy, yx, xx
        hyy, hyx, hxx = 2 * a[:, 3], a[:, 4], 2 * a[:, 5]
        det = hyy * hxx - hyx**2
        peak = raised & whole & (hyy < 0) & (det > 0)
        safe = np.where(peak, det, 1.0)
        # the vertex: the Hessian's inverse times minus the gradient at the window's pixel
        vy = -(hxx * a[:, 1] - hyx * a[:, 2]) / safe
        vx = -(-hyx * a[:, 1] + hyy * a[:, 2]) / safe
        step = pixel + np.column_stack([vy, vx]) - at
        length = np.hypot(*step.T)
        # a vertex beyond the window is uphill, not found: one window's radius towards it
        step *= np.minimum(1.0, reach / np.maximum(length, 1e-12))[:, None]
        at = np.where(peak[:, None], at + step, at)
    return at


def values_at(z: np.ndarray, pixel: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``z`` at ``pixel + (dy, dx)`` for every pixel (``(n, len(dy))``; clipped to the frame)."""
    rows = np.clip(pixel[:, :1] + dy.astype(int)[None], 0, z.shape[0] - 1)
    cols = np.clip(pixel[:, 1:] + dx.astype(int)[None], 0, z.shape[1] - 1)
    return z[rows, cols]


def _rise(z: np.ndarray, pixel: np.ndarray, radius: float, top: np.ndarray) -> np.ndarray:
    """``top`` (the fitted height at each ``pixel``) over the median of ``z`` on the ring one
    blob ``radius`` from it."""
    half = int(np.ceil(radius + 0.5))
    dy, dx = np.mgrid[-half : half + 1, -half : half + 1]
    ring = np.abs(np.hypot(dy, dx) - radius) <= 0.5
    return top - np.median(values_at(z, pixel, dy[ring], dx[ring]), axis=1)
