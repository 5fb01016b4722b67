"""Sub-pixel refinement of many peak positions at once (no Python loop per atom).

* :func:`refine_centre_of_mass`: iterative intensity-weighted centre of mass in a disc that is
  re-centred (with bilinear sampling) on the current estimate at each iteration.
* :func:`refine_gaussian`: a batched Levenberg-Marquardt fit of a round 2D Gaussian plus a
  constant background to every atom's window; atoms whose fit fails or wanders keep their
  centre-of-mass position (``fit_ok`` says which).
"""

from __future__ import annotations

import numpy as np


def _disc_offsets(radius: float) -> np.ndarray:
    """Integer (row, col) offsets inside a disc of ``radius`` pixels, shape (M, 2)."""
    r = int(np.ceil(radius))
    grid = np.stack(np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij"), -1)
    offsets = grid.reshape(-1, 2).astype(np.float64)
    return offsets[np.hypot(*offsets.T) <= radius + 1e-9]


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` at ``points`` (..., 2) (row, col); edges clamp.

    Plain numpy gathers in the image's precision: several times faster than
    ``ndimage.map_coordinates`` for the millions of samples a large image needs.
    """
    height, width = image.shape
    dtype = np.float32 if image.dtype == np.float32 else np.float64
    rows = np.clip(points[..., 0], 0.0, height - 1.0)
    cols = np.clip(points[..., 1], 0.0, width - 1.0)
    row0 = np.minimum(rows.astype(np.int64), max(height - 2, 0))
    col0 = np.minimum(cols.astype(np.int64), max(width - 2, 0))
    fr = (rows - row0).astype(dtype)
    fc = (cols - col0).astype(dtype)
    flat = image.ravel()
    base = row0 * width + col0
    step_r = width if height > 1 else 0
    step_c = 1 if width > 1 else 0
    top = flat[base]
    top += (flat[base + step_c] - top) * fc
    bottom = flat[base + step_r]
    bottom += (flat[base + step_r + step_c] - bottom) * fc
    top += (bottom - top) * fr
    return top


def _gather(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Nearest-pixel samples of ``image`` at ``points`` (..., 2); edges clamp."""
    height, width = image.shape
    rows = np.clip(np.rint(points[..., 0]).astype(np.int64), 0, height - 1)
    cols = np.clip(np.rint(points[..., 1]).astype(np.int64), 0, width - 1)
    return image.ravel()[rows * width + cols]


def gather_offsets(image: np.ndarray, anchors: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Pixels of ``image`` at integer ``anchors`` (N, 2) + ``offsets`` (M, 2); edges clamp.

    Returns an ``(N, M)`` array in the image's dtype. Anchors whose whole window lies inside
    the image take a single flat gather; only the few near the edge are clipped.
    """
    height, width = image.shape
    anchors = np.asarray(anchors, dtype=np.int64).reshape(-1, 2)
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    low, high = offsets.min(axis=0), offsets.max(axis=0)
    inside = (
        (anchors[:, 0] + low[0] >= 0)
        & (anchors[:, 0] + high[0] <= height - 1)
        & (anchors[:, 1] + low[1] >= 0)
        & (anchors[:, 1] + high[1] <= width - 1)
    )
    flat = image.ravel()
    linear = offsets[:, 0] * width + offsets[:, 1]
    if inside.all():
        return flat.take((anchors[:, 0] * width + anchors[:, 1])[:, None] + linear[None])
    out = np.empty((len(anchors), len(offsets)), dtype=image.dtype)
    inner = anchors[inside]
    out[inside] = flat.take((inner[:, 0] * width + inner[:, 1])[:, None] + linear[None])
    edge = anchors[~inside][:, None, :] + offsets[None]
    out[~inside] = _gather(image, edge)
    return out


def _bilinear_window(image, centres, offsets):
    """Bilinear samples at ``centres`` (N, 2) + integer ``offsets`` (M, 2), edges clamped.

    The fractional part is the same for a whole window, so one gather of the window grown by a
    pixel and four per-atom weights replace per-sample interpolation.
    """
    anchors = np.floor(centres)
    frac = (centres - anchors).astype(image.dtype)
    offsets = offsets.astype(np.int64)
    grown, index = np.unique(
        np.concatenate([offsets + corner for corner in ((0, 0), (0, 1), (1, 0), (1, 1))]),
        axis=0,
        return_inverse=True,
    )
    index = index.reshape(4, len(offsets))
    pixels = gather_offsets(image, anchors, grown)
    fr, fc = frac[:, :1], frac[:, 1:]
    top = pixels[:, index[0]]
    top += (pixels[:, index[1]] - top) * fc
    bottom = pixels[:, index[2]]
    bottom += (pixels[:, index[3]] - bottom) * fc
    top += (bottom - top) * fr
    return top


def _ring_plane_solver(offsets_float: np.ndarray):
    """Integer pixel offsets and a (K, 3) matrix: pixels there -> plane through the ring.

    The plane (level at the centre, row and column slopes) is fitted by least squares to
    bilinear samples at ``offsets_float`` (R, 2) around an integer centre; both steps are
    linear in the pixel values, so they fold into one matrix.
    """
    floor = np.floor(offsets_float)
    frac = offsets_float - floor
    corners = ((0, 0), (0, 1), (1, 0), (1, 1))
    weights = [
        (1 - frac[:, 0] if dr == 0 else frac[:, 0]) * (1 - frac[:, 1] if dc == 0 else frac[:, 1])
        for dr, dc in corners
    ]
    pixels, index = np.unique(
        np.concatenate([floor + corner for corner in corners]), axis=0, return_inverse=True
    )
    sampling = np.zeros((len(pixels), len(offsets_float)))  # pixels -> ring samples
    ring_index = np.tile(np.arange(len(offsets_float)), 4)
    np.add.at(sampling, (index.ravel(), ring_index), np.concatenate(weights))
    fit = np.linalg.pinv(np.column_stack([np.ones(len(offsets_float)), offsets_float])).T
    return pixels.astype(np.int64), sampling @ fit


def refine_centre_of_mass(
    image, positions, radius, *, iterations=3, background="plane", ring_radius=None
):
    """Refine positions by iterative intensity-weighted centre of mass.

    Parameters
    ----------
    image : numpy.ndarray
        2D frame (float).
    positions : numpy.ndarray
        ``(N, 2)`` starting (row, col), usually integer peak positions.
    radius : float
        Radius (pixels) of the disc over which the centre of mass is taken.
    iterations : int
        Number of re-centring steps.
    background : {"plane", None} or numpy.ndarray
        What is subtracted from each window before weighting (negative weights are clipped):
        ``"plane"`` (default) a plane fitted to a ring around the disc, which removes the pull of a
        sloping background (illumination, a particle's envelope); ``None`` the window's
        minimum; or an ``(N,)`` array of levels.
    ring_radius : float, optional
        Radius of the circle of 24 samples the background plane is fitted to (``"plane"``);
        default ``1.6 * radius`` (between atoms when ``radius`` is 0.3 x spacing). The plane
        is never taken below the window's minimum.

    Returns
    -------
    refined : numpy.ndarray
        ``(N, 2)`` refined positions; an atom whose estimate leaves the disc around its start
        keeps its start position.
    moved_too_far : numpy.ndarray
        ``(N,)`` bool, the atoms that were reset.

    Notes
    -----
    Works in the image's precision (float32 images stay float32) with one flat gather per
    window; no loop over atoms.
    """
    image = np.asarray(image)
    if image.dtype != np.float32:
        image = image.astype(np.float64)
    start = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    offsets = _disc_offsets(radius)
    ring_radius = 1.6 * radius if ring_radius is None else float(ring_radius)
    on_grid = np.array_equal(start, np.round(start))
    angles = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
    ring_offsets = ring_radius * np.column_stack([np.sin(angles), np.cos(angles)])
    setup = dict(
        offsets=offsets,
        offsets_t=offsets.T.astype(image.dtype),
        on_grid=on_grid,
        iterations=max(int(iterations), 1),
        background=_background_mode(background),
        ring_offsets=ring_offsets,
        ring=_ring_plane_solver(ring_offsets) if on_grid else None,
    )
    current = np.empty_like(start)
    levels = (
        None
        if isinstance(background, str) or background is None
        else np.broadcast_to(np.asarray(background, dtype=image.dtype).reshape(-1), (len(start),))
    )
    # chunks of atoms keep every (atoms x pixels) temporary in the CPU cache
    for first in range(0, len(start), _CHUNK):
        part = slice(first, first + _CHUNK)
        current[part] = _com_chunk(
            image, start[part], None if levels is None else levels[part], **setup
        )
    moved_too_far = np.hypot(*(current - start).T) > radius
    current[moved_too_far] = start[moved_too_far]
    return current, moved_too_far


_CHUNK = 2048


def _rows_times(rows: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``rows @ matrix`` summed in a fixed order, so that an atom's result does not depend on
    which other atoms are refined with it (a BLAS product's rounding does: it differs by up to
    1e-4 px between a whole frame and the chunks of a chunked detection)."""
    return np.stack([(rows * column).sum(axis=1) for column in matrix.T], axis=1)


def _background_mode(background) -> str:
    if isinstance(background, str):
        if background != "plane":
            from napari_ivae.core.errors import InputError

            raise InputError(
                f"background={background!r} is not known; use 'plane', None or an array of levels."
            )
        return "plane"
    return "min" if background is None else "levels"


def _com_chunk(
    image, start, levels, *, offsets, offsets_t, on_grid, iterations, background, ring_offsets, ring
):
    current = start.copy()
    if background == "plane":
        if on_grid:  # the plane is fitted once, around the start position
            pixels, solver = ring
            plane = _rows_times(gather_offsets(image, start, pixels), solver.astype(image.dtype))
        else:
            samples = _sample(image, start[:, None, :] + ring_offsets[None])
            solver = np.linalg.pinv(np.column_stack([np.ones(len(ring_offsets)), ring_offsets])).T
            plane = _rows_times(samples, solver.astype(image.dtype))  # level, slopes
        # the plane's shape over the disc, (N, M)
        under_disc = plane[:, 1:2] * offsets_t[0] + plane[:, 2:3] * offsets_t[1]
    for iteration in range(iterations):
        if iteration == 0 and on_grid:
            window = gather_offsets(image, start, offsets)
        else:
            window = _bilinear_window(image, current, offsets)
        if background == "plane":
            moved = (current - start).astype(image.dtype)
            level = plane[:, :1] + (plane[:, 1:] * moved).sum(axis=1, keepdims=True)
            floor = under_disc + level
            np.maximum(floor, window.min(axis=1, keepdims=True), out=floor)
        elif background == "min":
            floor = window.min(axis=1, keepdims=True)
        else:
            floor = levels.reshape(-1, 1)
        weights = window
        weights -= floor
        np.maximum(weights, 0, out=weights)
        total = weights.sum(axis=1)
        moments = np.column_stack(
            [(weights * offsets_t[0]).sum(axis=1), (weights * offsets_t[1]).sum(axis=1)]
        )
        shift = moments / np.where(total > 0, total, 1)[:, None]
        current = current + np.where(total[:, None] > 0, shift, 0.0)
    return current


def refine_gaussian(image, positions, radius, *, sigma_guess, iterations=12):
    """Fit ``b + a * exp(-|x - x0|^2 / (2 s^2))`` to every atom's window, all atoms at once.

    Parameters
    ----------
    image : numpy.ndarray
        2D frame (float).
    positions : numpy.ndarray
        ``(N, 2)`` starting (row, col), e.g. centre-of-mass positions.
    radius : float
        Radius (pixels) of the fitted disc around the rounded start position.
    sigma_guess : float
        Starting Gaussian width (pixels).
    iterations : int
        Levenberg-Marquardt steps.

    Returns
    -------
    refined : numpy.ndarray
        ``(N, 2)`` fitted positions, the start position where the fit failed.
    fit_ok : numpy.ndarray
        ``(N,)`` bool.
    sigma : numpy.ndarray
        ``(N,)`` fitted widths (NaN where the fit failed).
    """
    start = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    n_atoms = len(start)
    if n_atoms == 0:
        return start.copy(), np.zeros(0, bool), np.zeros(0)
    offsets = _disc_offsets(radius)
    params = np.concatenate(
        [
            _fit_gaussians(
                image, start[first : first + _CHUNK], offsets, float(sigma_guess), int(iterations)
            )
            for first in range(0, n_atoms, _CHUNK)
        ]
    )
    centre = params[:, :2]
    fit_ok = (
        np.isfinite(params).all(axis=1)
        & (np.hypot(*(centre - start).T) <= 0.5 * radius)
        & (params[:, 2] > 0)
        & (params[:, 3] > 0.25 * sigma_guess)
        & (params[:, 3] < 4.0 * sigma_guess)
    )
    refined = np.where(fit_ok[:, None], centre, start)
    return refined, fit_ok, np.where(fit_ok, params[:, 3], np.nan)


def _fit_gaussians(image, start, offsets, sigma_guess, iterations):
    """Levenberg-Marquardt fits for one chunk of atoms; returns (N, 5) parameters."""
    n_atoms = len(start)
    anchor = np.round(start)
    pixels = anchor[:, None, :] + offsets[None]  # integer pixel centres: no interpolation
    values = _sample(image, pixels).astype(np.float64)
    low, high = values.min(axis=1), values.max(axis=1)
    # parameters: row, col, amplitude, sigma, background
    params = np.column_stack([start, high - low, np.full(n_atoms, sigma_guess), low])
    damping = np.full(n_atoms, 1e-2)
    cost = _gauss_cost(params, pixels, values)
    for _ in range(iterations):
        residual, jac = _gauss_residual_jacobian(params, pixels, values)
        jt_j = np.matmul(jac.transpose(0, 2, 1), jac)
        jt_r = np.matmul(jac.transpose(0, 2, 1), residual[..., None])[..., 0]
        diag = np.einsum("nii->ni", jt_j)
        system = jt_j + damping[:, None, None] * np.einsum("ni,ij->nij", diag + 1e-12, np.eye(5))
        try:
            step = np.linalg.solve(system, -jt_r[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.zeros_like(params)
        trial = params + np.nan_to_num(step)
        trial[:, 3] = np.abs(trial[:, 3])
        trial_cost = _gauss_cost(trial, pixels, values)
        better = trial_cost < cost
        params[better], cost[better] = trial[better], trial_cost[better]
        damping = np.where(better, damping * 0.3, damping * 10.0)
    return params


def _gauss_model(params, pixels):
    d_row = pixels[..., 0] - params[:, 0, None]
    d_col = pixels[..., 1] - params[:, 1, None]
    sigma_sq = params[:, 3, None] ** 2
    bump = np.exp(-(d_row**2 + d_col**2) / (2.0 * sigma_sq))
    return params[:, 4, None] + params[:, 2, None] * bump, bump, d_row, d_col, sigma_sq


def _gauss_cost(params, pixels, values):
    model = _gauss_model(params, pixels)[0]
    cost = ((model - values) ** 2).sum(axis=1)
    return np.where(np.isfinite(cost), cost, np.inf)


def _gauss_residual_jacobian(params, pixels, values):
    model, bump, d_row, d_col, sigma_sq = _gauss_model(params, pixels)
    amp_bump = params[:, 2, None] * bump
    jac = np.stack(
        [
            amp_bump * d_row / sigma_sq,
            amp_bump * d_col / sigma_sq,
            bump,
            amp_bump * (d_row**2 + d_col**2) / (sigma_sq * params[:, 3, None]),
            np.ones_like(bump),
        ],
        axis=-1,
    )
    return model - values, jac
