"""Particles beside kept ones: the kept particles drawn from their radial profiles and taken out.

Step 9 of :mod:`~napari_ivae.core.detection.particle_blobs` (the numbers below refer to its
overview): a small particle touching a larger one is no scale-space maximum of the frame's
response. The kept particles are drawn from their own measured radial profiles
(:func:`profile_model`) and their response taken out; the maxima of what remains that the kept
ones had hidden, that stand above their misfit and have no twin at their mirror image, are
candidates (:func:`beside_kept`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection._filters import argwhere
from napari_ivae.core.detection._medians import _median_of_numbers
from napari_ivae.core.detection.particle_offsets import square_distances, square_sectors
from napari_ivae.core.detection.particle_surround import SECTORS, _around

PROFILE_REACH = 2.3  # a kept blob's profile is measured out to this many radii (the surround's)
RECENTRE = 2  # the profile's centre is moved this many times to its half-height area's centre
HIDDEN = 0.5  # a blob beside kept ones: their response lowered it by this x its scale's cut


def profile_model(signal, centres, sigma) -> np.ndarray:
    """The kept particles drawn from their own measured radial profiles.

    Around each centre the frame is cut into 1 px rings out to ``PROFILE_REACH`` blob radii
    (``sqrt(2) sigma``) and ``SECTORS`` sectors; a ring's level is the median of its sectors'
    means (a touching neighbour fills one or two sectors, not the median), the background
    the median of the sectors' means from ``1.3`` radii out. The profile above that
    background, up to where it first reaches it, is the particle: flat tops, sharp rims and
    spheres' projections alike, so no rim ring is left when it is taken out (a Gaussian of
    the blob's scale leaves one). The centre is first moved ``RECENTRE`` times to the centre
    of the pixels above half the particle's height within 1.25 x the radius where the
    profile falls below it (an off-centre profile leaves a crescent).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the particles' polarity positive.
    centres : numpy.ndarray
        ``(N, 2)`` (row, col) centres (sub-pixel allowed).
    sigma : array-like
        ``(N,)`` blob sigmas (pixels).

    Returns
    -------
    numpy.ndarray
        The model frame (``signal``'s shape, float32, 0 away from the particles).
    """
    signal = np.asarray(signal, dtype=np.float32)
    height, width = signal.shape
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    flat_model = np.zeros(signal.size, dtype=np.float64)
    for blob_sigma in np.unique(sigma):
        group = np.flatnonzero(sigma == blob_sigma)
        radius = np.sqrt(2.0) * blob_sigma
        outer = PROFILE_REACH * radius
        reach = int(np.ceil(outer)) + 1
        step_offsets = np.arange(-reach, reach + 1)
        side = len(step_offsets)
        rings = int(np.floor(outer)) + 1
        at = centres[group]
        # the last step's pixels: those within reach of a centre up to half a pixel off its
        # square's middle pixel each way (the others are never ``valid``), row-major
        grid_y, grid_x = np.divmod(np.arange(side * side), side)
        near = np.hypot(step_offsets[grid_y], step_offsets[grid_x]) <= outer + 1.0
        keep, beyond = np.flatnonzero(near), np.flatnonzero(~near)
        for step in range(RECENTRE + 1):
            # each blob's (2 reach + 1)^2 square, row by row (n, side, side) and flattened to
            # (n, side^2), or its ``keep`` pixels (n, K): per-row and per-column terms made once
            blobs, last = len(group), step == RECENTRE
            anchor = np.rint(at).astype(np.int64)
            rows, cols = anchor[:, :1] + step_offsets, anchor[:, 1:] + step_offsets
            along_y = (rows - at[:, :1])[:, :, None]  # (n, side, 1)
            along_x = (cols - at[:, 1:])[:, None, :]  # (n, 1, side)
            centre_offset = at - anchor
            on_pixel = not centre_offset.any()
            distance = square_distances(along_y, along_x, on_pixel, keep if last else None)
            in_rows, in_cols = (rows >= 0) & (rows < height), (cols >= 0) & (cols < width)
            row_start, col = np.clip(rows, 0, height - 1) * width, np.clip(cols, 0, width - 1)
            if last:
                valid = _picked(in_rows, in_cols, np.logical_and, grid_y[keep], grid_x[keep])
                index = _picked(row_start, col, np.add, grid_y[keep], grid_x[keep])
            else:
                valid = (in_rows[:, :, None] & in_cols[:, None, :]).reshape(blobs, -1)
                index = (row_start[:, :, None] + col[:, None, :]).reshape(blobs, -1)
            valid &= distance <= outer
            values = signal.ravel()[index]
            square = (blobs, side, side)
            ring = _rings(distance, rings, on_pixel)
            if last:  # the profile drawn: every ring's median pixel
                # the whole square's value range (the sort's key, as its ties, depends on it)
                rest = signal.ravel()[
                    _picked(row_start, col, np.add, grid_y[beyond], grid_x[beyond])
                ]
                low, high = values.min(axis=1), values.max(axis=1)
                if rest.size:
                    low, high = (
                        np.minimum(low, rest.min(axis=1)),
                        np.maximum(high, rest.max(axis=1)),
                    )
                profile, level = _ring_medians(
                    values, valid, ring, rings, distance >= 1.3 * radius, (low, high)
                )
                profile, level = _filled(profile, level)
                break
            sector = square_sectors(along_y, along_x, valid.reshape(square), centre_offset)
            cell = ((np.arange(len(group))[:, None] * rings + ring) * SECTORS)[valid] + sector
            size = len(group) * rings * SECTORS
            total = np.bincount(cell, values[valid], minlength=size)
            count = np.bincount(cell, minlength=size)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (total / count).reshape(len(group), rings, SECTORS)
            means[count.reshape(means.shape) == 0] = np.nan
            outside = np.arange(rings) + 0.5 >= 1.3 * radius
            profile, level = _filled(
                _median_of_numbers(means),  # cells with no pixel (centre, edge): NaN
                _median_of_numbers(means[:, outside].reshape(len(group), -1)),
            )
            half = 0.5 * (profile[:, :1] + level[:, None])
            below = profile < half
            fall = np.where(below.any(axis=1), np.argmax(below, axis=1) + 0.5, outer)
            part = valid & (values > half) & (distance <= 1.25 * fall[:, None])
            pixels = part.sum(axis=1)
            shift = (
                np.stack(
                    [_masked_sum(along_y, part, square), _masked_sum(along_x, part, square)], axis=1
                )
                / np.maximum(pixels, 1)[:, None]
            )
            moves = (pixels >= 3) & (np.hypot(*shift.T) <= radius)
            at = np.where(moves[:, None], at + shift, at)
        height_above = profile - level[:, None]
        reached = height_above <= 0
        end = np.where(reached.any(axis=1), np.argmax(reached, axis=1), rings)
        height_above[np.arange(rings)[None, :] >= end[:, None]] = 0.0
        # linear between the rings' mid-radii, 0 from the ring where the profile ends
        position = np.clip(distance - 0.5, 0.0, rings - 1.0)
        lower = _at_most(position.astype(np.int64), rings - 1)
        upper = _at_most(lower + 1, rings - 1)
        weight = position - lower
        take = np.take_along_axis
        drawn = (1.0 - weight) * take(height_above, lower, axis=1) + weight * take(
            height_above, upper, axis=1
        )
        drawn[distance >= end[:, None] + 0.5] = 0.0
        use = valid & (drawn > 0)
        flat_model += np.bincount(index[use], drawn[use], minlength=signal.size)
    return flat_model.reshape(signal.shape).astype(np.float32)


def _masked_sum(offset, part, square):
    """Per blob, the sum of ``offset`` over its ``part`` pixels: the products in the squares'
    row-major order, summed along it (the same numbers as over the flattened squares)."""
    return (offset * part.reshape(square)).reshape(square[0], -1).sum(axis=1)


def _filled(profile, level):
    """A profile's rings with no pixel at the background ``level``, and a background with no
    pixel at the profile's lowest ring."""
    level = np.where(np.isnan(level), np.nanmin(profile, axis=1), level)
    return np.where(np.isnan(profile), level[:, None], profile), level


def _picked(per_row, per_col, combine, at_row, at_col):
    """``combine`` of each square's row and column terms (``(n, side)`` each) at the pixels
    ``(at_row, at_col)`` only: ``(n, K)``."""
    return combine(np.take(per_row, at_row, axis=1), np.take(per_col, at_col, axis=1))


def _rings(distance, rings, on_pixel):
    """The 1 px ring of each distance, the last ``rings - 1`` (one row's, broadcast, where
    every row is the same table)."""
    if on_pixel and len(distance):
        return np.broadcast_to(_at_most(distance[0].astype(np.int64), rings - 1), distance.shape)
    return _at_most(distance.astype(np.int64), rings - 1)


def _at_most(integers, top):
    """``np.minimum(integers, top)`` in place of the fresh array ``integers`` (no second
    array of a blob square's size)."""
    return np.minimum(integers, top, out=integers)


def _ring_medians(values, valid, ring, rings, outside, bounds=None):
    """Per row: the median of each ring's pixels, and of the pixels ``outside``. ``bounds``:
    each row's (lowest, highest) value where the row holds only part of its square."""
    low, high = (values.min(axis=1), values.max(axis=1)) if bounds is None else bounds
    low = low[:, None]
    span = high[:, None] - low
    unit = np.clip((values - low) / np.where(span > 0, span, 1.0), 0.0, 0.999)
    ordered = _ring_ordered(values, valid, ring, rings, unit)
    rows = len(values)
    count = np.bincount(
        (np.arange(rows)[:, None] * rings + ring)[valid], minlength=rows * rings
    ).reshape(rows, rings)
    start = np.cumsum(count, axis=1) - count
    lower = np.clip(start + (count - 1) // 2, 0, values.shape[1] - 1)
    upper = np.clip(start + count // 2, 0, values.shape[1] - 1)
    take = np.take_along_axis
    profile = 0.5 * (take(ordered, lower, axis=1) + take(ordered, upper, axis=1))
    profile = np.where(count > 0, profile, np.nan)
    return profile, _median_of_numbers(np.where(valid & outside, values, np.nan))


def _ring_ordered(values, valid, ring, rings, unit):
    """Per row, ``values`` in the order of a stable sort of the key ``ring + unit`` (the
    pixels not ``valid`` last, as a key of ``rings + 1``).

    The key of a float32 ``unit`` in ``[0, 1)`` is exact in float64 and ordered as the pair
    (ring, unit's bits); packed above each pixel's column into one integer, a plain sort of
    those is the stable sort (equal keys in column order), faster than sorting indices by
    the float keys. Rows with a NaN: :func:`_stably_ordered`."""
    columns = values.shape[1]
    column_bits = max(int(columns - 1).bit_length(), 1)
    if unit.dtype != np.float32 or rings + 1 >= 1 << (32 - column_bits) or np.isnan(unit).any():
        return _stably_ordered(values, np.where(valid, ring + unit, rings + 1.0), rings + 1.0)
    bits = (unit + np.float32(0.0)).view(np.uint32)  # -0.0 as 0.0: the same key
    packed = np.where(valid, ring, rings + 1).astype(np.uint64) << np.uint64(32)
    packed |= np.where(valid, bits, np.uint32(0))
    packed <<= np.uint64(column_bits)
    packed |= np.arange(columns, dtype=np.uint64)
    packed.sort(axis=1)
    packed &= np.uint64((1 << column_bits) - 1)
    return np.take_along_axis(values, packed.astype(np.intp), axis=1)


def _stably_ordered(values, key, beyond):
    """Per row, ``values`` in the order of a stable sort of ``key``: a faster unstable sort,
    and the stable one again on the rows where equal keys below ``beyond`` (the pixels not
    counted) hold different values (pixels clipped to the top of their ring)."""
    order = np.argsort(key, axis=1)
    ordered = np.take_along_axis(values, order, axis=1)
    ranked = np.take_along_axis(key, order, axis=1)
    tied = (ranked[:, 1:] == ranked[:, :-1]) & (ranked[:, 1:] < beyond)
    unsure = (tied & (ordered[:, 1:] != ordered[:, :-1])).any(axis=1) | np.isnan(ranked[:, -1])
    if unsure.any():
        again = np.argsort(key[unsure], axis=1, kind="stable")
        ordered[unsure] = np.take_along_axis(values[unsure], again, axis=1)
    return ordered


def beside_kept(residual, model, scales, points, sigma, cuts, skip=None):
    """Blobs that the kept blobs' larger responses swallowed in scale space.

    A small particle beside a larger one is a maximum in space at its own scale, but the
    larger one's response grows over it towards the larger scale, so it is no scale-space
    maximum and never a candidate. With the kept particles taken out (``model``, the
    response of :func:`profile_model`), the scale-space maxima of what remains are blobs
    when they reach their scale's cut and

    - the kept blobs' response had lowered them by at least ``HIDDEN`` x that cut (they
      were hidden; a blob the kept ones did not touch was judged by the first search);
    - they stand higher than the residual falls anywhere within ``PROFILE_REACH`` radii of
      a kept blob near them (what a kept particle's profile misses there: a misfit);
    - the residual at their mirror image through the nearest kept blob's centre stays below
      the cut (an elongated particle leaves a lobe at both ends; a neighbour is one-sided).

    Parameters
    ----------
    residual : numpy.ndarray
        ``(scales, Y, X)`` response with the particles' polarity positive, less ``model``.
    model : numpy.ndarray
        The same response of the kept particles alone (``scale_space(profile_model(...))``).
    scales : array-like
        Their sigmas.
    points, sigma : array-like
        The kept blobs: ``(N, 2)`` integer centres and ``(N,)`` sigmas.
    cuts : array-like
        One strength cut per scale.
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where no blob is looked for.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(M, 2)`` integer (row, col), their sigmas and residual strengths.
    """
    import itertools

    scales = np.asarray(scales, dtype=np.float64)
    cuts = np.asarray(cuts, dtype=np.float64)
    points = np.asarray(points).reshape(-1, 2)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    shape = residual.shape[1:]
    none = (np.zeros((0, 2), dtype=int), np.zeros(0), np.zeros(0))
    if not len(points):
        return none
    found = argwhere(
        (residual >= cuts.astype(np.float32)[:, None, None])
        & (model <= -HIDDEN * cuts.astype(np.float32)[:, None, None])
    )
    if skip is not None and len(found):
        found = found[~np.asarray(skip, bool)[found[:, 1], found[:, 2]]]
    found, value = _maxima_among(residual, found)
    if not len(found):
        return none
    kept_radius = np.sqrt(2.0) * sigma
    reach = np.ceil(PROFILE_REACH * kept_radius)
    near_pairs, distance = _kept_near(found[:, 1:], points, kept_radius, reach)
    # the mirror image through the nearest kept blob (nearest to its rim)
    host = points[_nearest_rims(near_pairs, distance - kept_radius[near_pairs[:, 1]], len(found))]
    mirror = np.clip(2 * host - found[:, 1:], 0, np.array(shape) - 1)
    twin = np.full(len(found), -np.inf, dtype=np.float32)
    for step in itertools.product((-1, 0, 1), repeat=2):  # its 3 x 3 neighbourhood
        rows, cols = mirror[:, 0] + step[0], mirror[:, 1] + step[1]
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        twin[inside] = np.maximum(
            twin[inside], residual[found[inside, 0], rows[inside], cols[inside]]
        )
    one_sided = twin < cuts[found[:, 0]]
    found, value = found[one_sided], value[one_sided]
    # the misfit of each kept blob near one of them: the deepest its residual falls around it
    near = one_sided[near_pairs[:, 0]] & (distance <= reach[near_pairs[:, 1]])
    standing = np.cumsum(one_sided) - 1  # the index of each one-sided point among them
    close_found, close_blob = standing[near_pairs[near, 0]], near_pairs[near, 1]
    bar = np.zeros(len(found))
    for blob in np.unique(close_blob):
        area, _, _ = _around(points[blob], int(reach[blob]), shape)
        misfit = -residual[:, area[0], area[1]].min(axis=(1, 2))
        close = close_found[close_blob == blob]
        bar[close] = np.maximum(bar[close], misfit[found[close, 0]])
    above = value > bar
    found, value = found[above], value[above]
    return found[:, 1:], scales[found[:, 0]], value.astype(np.float64)


def _kept_near(found, points, kept_radius, reach):
    """The pairs ``(found point, kept blob)`` (rows, by point then blob) that may matter: the
    blob within ``reach`` of the point, or as near to its rim as the nearest blob's is, and
    their distances (``np.hypot`` of the integer offsets, as over every pair)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    nearest, _ = tree.query(found)
    # the blob nearest to its rim lies within the nearest blob's distance plus the largest
    # difference of radii; one pixel spares the tree's rounding
    ball = np.maximum(nearest + np.ptp(kept_radius), reach.max()) + 1.0
    lists = tree.query_ball_point(found, ball)
    counts = np.array([len(blobs) for blobs in lists], dtype=np.int64)
    blob = np.concatenate([np.sort(np.asarray(each, dtype=np.int64)) for each in lists])
    point = np.repeat(np.arange(len(found)), counts)
    offset = found[point] - points[blob]
    return np.column_stack([point, blob]), np.hypot(offset[:, 0], offset[:, 1])


def _nearest_rims(pairs, gap, count):
    """For each of ``count`` points, the blob of its pairs with the smallest ``gap`` (the
    lowest-numbered of equal ones, as ``np.argmin``)."""
    order = np.lexsort((pairs[:, 1], gap, pairs[:, 0]))
    first = np.r_[True, pairs[order[1:], 0] != pairs[order[:-1], 0]]
    chosen = np.zeros(count, dtype=np.int64)
    chosen[pairs[order[first], 0]] = pairs[order[first], 1]
    return chosen


def _maxima_among(values, found):
    """The points ``found`` (rows of ``values``' indices, in their order) at least as high as
    each of their 26 neighbours in ``values`` (as a ``maximum_filter`` of size 3 with the
    outside lower than everything), and their values.

    Each neighbour is compared on the points still standing only, through flat indices: the
    neighbours in the same plane first (they leave the fewest standing)."""
    import itertools

    shape = values.shape
    flat_values = values.reshape(-1)
    flat = np.ravel_multi_index(tuple(found.T), shape)
    value = flat_values[flat]
    steps = [step for step in itertools.product((-1, 0, 1), repeat=3) if any(step)]
    for step in sorted(steps, key=lambda step: step[0] != 0):
        offset = (step[0] * shape[1] + step[1]) * shape[2] + step[2]
        inside = np.ones(len(flat), dtype=bool)
        for axis, move in enumerate(step):
            if move:  # a neighbour outside the array is lower than the point
                inside &= found[:, axis] > 0 if move < 0 else found[:, axis] < shape[axis] - 1
        stands = ~inside
        stands[inside] = value[inside] >= flat_values[flat[inside] + offset]
        found, flat, value = found[stands], flat[stands], value[stands]
    return found, value


__all__ = [
    "beside_kept",
    "profile_model",
]
