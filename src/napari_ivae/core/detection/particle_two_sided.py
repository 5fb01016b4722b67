"""Particles of both polarities in one frame: colloids on either side of focus.

A phase object imaged out of focus turns its contrast with the sign of the defocus: in a
coherent bright-field image of colloids at several heights, those on one side of focus show a
dark core in a bright halo and those on the other a bright core in a dark one. The auto
method (:func:`~napari_ivae.core.detection.particle_auto.auto_blobs`) picks one polarity; the
other's particles then stand in its background, and their cores and halos raise what that
background reaches, so that even the found polarity loses its fainter particles.

:func:`both_polarities` runs the auto method; when many blobs of the other polarity
(:func:`~napari_ivae.core.detection.particle_other_side.other_polarity_blobs`: round, away
from every found particle and its halo, stronger than any blob of the found polarity there,
not a gap enclosed by found particles) are as strong as the found particles
(``STRONG_SHARE`` of them at least the found particles' ``STRONG_QUANTILE`` strength), they
are particles. The found polarity is then detected again with them and their halos (the reach
read off their median radial profile, :func:`halo_extent`) left out; a found particle on the
halo of a stronger core of the other polarity, a halo going round that core, is a piece of it
and gives way to the core (:func:`halo_pieces`); the other polarity's weaker particles, which
stand out once more of the found polarity is found, join, and the pass is repeated once with
them left out too (new particles of that pass inside a halo are its fringes). The strength
test tells such particles from a support's texture: on defocused amorphous carbon the other
polarity's strongest round blobs stay below the weakest tenth of the particles, while
colloids past focus are as strong as those before it.
"""

from __future__ import annotations

import numpy as np

STRONG_QUANTILE = 25  # the found particles' strength percentile an other-side particle reaches
STRONG_SHARE = 0.5  # ... for at least this share of the other-polarity blobs
PROFILE_RADII = 6.0  # a halo is looked for this many particle radii out
HALO_END = 0.25  # a halo ends where it is back to this share of its depth
HALO_DEPTH = 0.05  # a halo is at least this share of the core's height deep
RING_SHARE = 0.75  # a halo: the other side on this share of the circle through a found particle
RING_SAMPLES = 32  # points on that circle
ROUNDS = 2  # passes of the found polarity at most, each with the other side found so far out


def both_polarities(frame, excluded, params):
    """:func:`~napari_ivae.core.detection.particle_auto.auto_blobs`, with the particles of
    the other polarity added when they are many and as strong as the found ones (see the
    module); only when the polarity is ``"auto"``.

    Parameters
    ----------
    frame : numpy.ndarray
        One 2D frame.
    excluded : numpy.ndarray of bool
        Pixels where nothing may be detected.
    params : dict
        :func:`~napari_ivae.core.detection.particles.detect_particles`'s settings.

    Returns
    -------
    labels, used, centres
        As :func:`~napari_ivae.core.detection.particle_auto.auto_blobs`; ``used`` holds
        ``other_polarity`` (the particles of the other polarity added, 0 when none).
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.particle_auto import auto_blobs

    labels, used, centres = auto_blobs(frame, excluded, params)
    used["other_polarity"] = 0
    # the auto method measured the other polarity's blobs beside its kept particles: where it
    # found none to leave out of its background, there is nothing to add (and nothing to pay)
    if params["polarity"] != "auto" or not used.get("other_polarity_pixels"):
        return labels, used, centres
    polarity = used["polarity"]
    other = strong_other_side(frame, labels, centres, polarity, excluded)
    if other is None:
        return labels, used, centres
    points, radii = other
    from napari_ivae.core.detection.particle_discs import within_discs
    from napari_ivae.core.detection.particle_labels import without
    from napari_ivae.core.detection.particle_other_side import CLEAR_RADII

    other_signal = frame if polarity == "dark" else -np.asarray(frame, dtype=np.float32)
    pieces_dropped = 0
    first = None
    for _ in range(ROUNDS):
        start, end = halo_extent(other_signal, points, radii)
        halos = within_discs(frame.shape, points, np.maximum(CLEAR_RADII * radii, end))
        labels, used, centres = auto_blobs(
            frame, excluded | halos, {**params, "polarity": polarity}
        )
        if first is None:
            first = centres
        else:  # at a lower cut, fringes where halos overlap pass too: new ones lie clear
            labels, centres = without(
                labels, centres, _in_fringes(frame, polarity, first, centres, points, end)
            )
        # the halos of other-polarity particles too weak to be counted yet are rings of found
        # particles hugging them: one other-polarity particle each, at the ring's centre
        pieces, cores = halo_pieces(other_signal, centres, radii, start, end)
        if pieces.any():
            labels, centres = without(labels, centres, pieces)
            new = cKDTree(points).query(cores)[0] > np.median(radii) if len(cores) else []
            points = np.concatenate([points, cores[new]])
            radii = np.concatenate([radii, np.full(int(np.sum(new)), float(np.median(radii)))])
        pieces_dropped += int(pieces.sum())
        # with more of the found polarity found, weaker particles of the other one stand out;
        # found, they leave the found polarity's background, which lowers its cut again
        known = len(points)
        points, radii = _more_other(frame, polarity, centres, points, radii, excluded)
        if len(points) == known:
            break
    labels, centres, added = _with_other(frame, labels, centres, points, radii, polarity, params)
    used["other_polarity"] = added
    used["halo_pieces"] = pieces_dropped
    return labels, used, centres


def strong_other_side(frame, labels, centres, polarity: str, excluded=None):
    """The other polarity's particles beside those found (``labels``, ``centres``), or None
    when they are too few or weaker than the found ones (see the module).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray) or None
        ``(M, 2)`` integer (row, col) centres and their radii.
    """
    from napari_ivae.core.detection import particle_scale_space
    from napari_ivae.core.detection.particle_other_side import _many, other_polarity_blobs

    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    if not len(centres):
        return None
    areas = np.bincount(np.asarray(labels).ravel())[1:]
    radius = float(np.sqrt(np.median(areas[areas > 0]) / np.pi)) if (areas > 0).any() else 0.0
    if radius <= 0:
        return None
    frame = np.asarray(frame, dtype=np.float32)
    signal = frame if polarity == "bright" else -frame
    found = np.clip(np.round(centres).astype(np.int64), 0, np.array(frame.shape) - 1)
    points, sigma = other_polarity_blobs(signal, found, radius, excluded)
    if not _many(len(points), len(found)):
        return None
    scales = radius / np.sqrt(2.0) * np.array([0.5**0.5, 1.0, 2.0**0.5])
    response = particle_scale_space.scale_space(signal, scales)  # found particles positive
    found_strength = response[:, found[:, 0], found[:, 1]].max(axis=0)
    other_strength = (-response[:, points[:, 0], points[:, 1]]).max(axis=0)
    strong = other_strength >= np.percentile(found_strength, STRONG_QUANTILE)
    if strong.mean() < STRONG_SHARE:
        return None
    return points, np.sqrt(2.0) * sigma


def halo_extent(signal, points, radii) -> tuple[float, float]:
    """Where the halo of the particles at ``points`` (``signal`` positive on their cores) lies:
    on their median radial profile (1 px rings out to ``PROFILE_RADII`` median radii, less
    its outer quarter's level), from the core's end (the first ring below the background) to
    the radius past the halo's extreme at which it has come back to ``HALO_END`` of its
    depth. ``(0, 0)`` when the profile shows no halo (no extreme inside the outer quarter at
    least ``HALO_DEPTH`` of the core's height deep).
    """
    points = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    radii = np.asarray(radii, dtype=np.float64).reshape(-1)
    if not len(points):
        return 0.0, 0.0
    signal = np.asarray(signal, dtype=np.float32)
    reach = int(np.ceil(PROFILE_RADII * float(np.median(radii))))
    ring = np.rint(np.hypot(*np.mgrid[-reach : reach + 1, -reach : reach + 1])).astype(np.int64)
    inside = ring <= reach
    counts = np.bincount(ring[inside], minlength=reach + 1)
    profiles = []
    for row, col in points.tolist():
        top, left = row - reach, col - reach
        if top < 0 or left < 0 or row + reach >= signal.shape[0] or col + reach >= signal.shape[1]:
            continue
        window = signal[top : row + reach + 1, left : col + reach + 1]
        profiles.append(np.bincount(ring[inside], window[inside], minlength=reach + 1) / counts)
    if not profiles:
        return 0.0, 0.0
    profile = np.median(np.asarray(profiles), axis=0)
    profile = profile - np.median(profile[-max(reach // 4, 1) :])
    below = np.flatnonzero(profile <= 0)
    if not len(below):
        return 0.0, 0.0
    outer = reach + 1 - max(reach // 4, 1)  # the rings whose level is the background's
    extreme = below[0] + int(np.argmin(profile[below[0] : outer])) if below[0] < outer else outer
    depth = float(profile[min(extreme, reach)])
    if extreme >= outer or depth > -HALO_DEPTH * float(profile[0]):
        return 0.0, 0.0
    back = np.flatnonzero(profile[extreme:] >= HALO_END * depth)
    return float(below[0]), float(extreme + (back[0] if len(back) else reach - extreme))


def halo_pieces(signal, centres, radii, start: float, end: float):
    """Which found particles (``centres``; ``signal`` negative on them) lie on the halo of a
    stronger core of the other polarity (``signal`` positive): a maximum of ``signal``
    smoothed at the other polarity's scale (``radii``), between ``start`` and ``end`` (see
    :func:`halo_extent`) from the particle and higher there than the particle is deep.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        A bool mask over ``centres`` and the ``(M, 2)`` integer cores they hug.
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection._filters import local_maxima

    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    pieces = np.zeros(len(centres), dtype=bool)
    none = pieces, np.zeros((0, 2), dtype=np.int64)
    if not len(centres) or end <= start or end <= 0:
        return none
    sigma = float(np.median(radii)) / np.sqrt(2.0)
    signal = np.asarray(signal, dtype=np.float32)
    level = ndimage.gaussian_filter(signal, sigma) - ndimage.gaussian_filter(signal, 2.0 * end)
    rows, cols = local_maxima(level, 2 * int(np.ceil(sigma)) + 1, 0.0)
    if not len(rows):
        return none
    cores = np.column_stack([rows, cols])
    at = np.clip(np.round(centres).astype(np.int64), 0, np.array(signal.shape) - 1)
    depth = -level[at[:, 0], at[:, 1]]
    used = np.zeros(len(cores), dtype=bool)
    for index, near in enumerate(cKDTree(cores).query_ball_point(centres, end)):
        near = np.asarray(near, dtype=np.int64)
        if not len(near):
            continue
        distance = np.hypot(*(cores[near] - centres[index]).T)
        hugged = near[(distance >= start) & (level[rows[near], cols[near]] > depth[index])]
        hugged = hugged[_ringed(level, cores[hugged], centres[index])]
        if len(hugged):
            pieces[index] = True
            used[hugged] = True
    return pieces, cores[used]


def _ringed(level, cores, point) -> np.ndarray:
    """Per core, whether ``level`` is below 0 on at least ``RING_SHARE`` of the circle around
    it through ``point``: a halo goes round its core; the bright gap between two dark
    particles (or the overlap of their halos) does not."""
    from scipy import ndimage

    if not len(cores):
        return np.zeros(0, dtype=bool)
    angles = np.linspace(0.0, 2.0 * np.pi, RING_SAMPLES, endpoint=False)
    radius = np.hypot(*(np.asarray(point) - cores).T)[:, None]
    rows = cores[:, :1] + radius * np.sin(angles)[None]
    cols = cores[:, 1:] + radius * np.cos(angles)[None]
    on_circle = ndimage.map_coordinates(
        level, [rows.ravel(), cols.ravel()], order=1, mode="nearest"
    )
    return (on_circle.reshape(rows.shape) < 0).mean(axis=1) >= RING_SHARE


def _in_fringes(frame, polarity, first, centres, points, other_end):
    """Which ``centres`` of a later pass are new (farther than 3 px from the ``first`` pass's)
    and within the halo of a first-pass particle (its polarity's :func:`halo_extent`) or of
    an other-polarity one (``points``, ``other_end``)."""
    from scipy.spatial import cKDTree

    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    first = np.asarray(first, dtype=np.float64).reshape(-1, 2)
    if not len(centres) or not len(first):
        return np.zeros(len(centres), dtype=bool)
    new = cKDTree(first).query(centres)[0] > 3.0
    signal = frame if polarity == "bright" else -np.asarray(frame, dtype=np.float32)
    at = np.clip(np.round(first).astype(np.int64), 0, np.array(frame.shape) - 1)
    own_end = halo_extent(signal, at, np.full(len(at), 0.5 * other_end))[1]
    near = cKDTree(first).query(centres)[0] <= max(own_end, other_end)
    near |= cKDTree(points).query(centres)[0] <= other_end
    return new & near


def _more_other(frame, polarity, centres, points, radii, excluded):
    """``points`` and ``radii`` with the other polarity's particles
    (:func:`~napari_ivae.core.detection.particle_other_side.other_polarity_blobs`) away from
    both the found ``centres`` and ``points`` added."""
    from napari_ivae.core.detection.particle_other_side import other_polarity_blobs

    signal = frame if polarity == "bright" else -np.asarray(frame, dtype=np.float32)
    found = np.concatenate([np.round(np.asarray(centres).reshape(-1, 2)), points])
    found = np.clip(found.astype(np.int64), 0, np.array(frame.shape) - 1)
    more, sigma = other_polarity_blobs(signal, found, float(np.median(radii)), excluded)
    return np.concatenate([points, more]), np.concatenate([radii, np.sqrt(2.0) * sigma])


def _with_other(frame, labels, centres, points, radii, polarity, params):
    """``labels`` and ``centres`` with the other polarity's particles (``points``, ``radii``)
    added as discs where no found particle lies; returns them and the number added."""
    from napari_ivae.core.detection import particle_labels

    other = frame if polarity == "dark" else -np.asarray(frame, dtype=np.float32)
    keep = labels[points[:, 0], points[:, 1]] == 0
    if params["exclude_border"]:
        keep &= particle_labels.clear_of_edge(points, radii, frame.shape)
    points, radii = points[keep], radii[keep]
    if not len(points):
        return labels, centres, 0
    added = particle_labels.disc_labels(other, points, radii)
    first = int(labels.max())
    labels = np.where((labels == 0) & (added > 0), added + first, labels).astype(np.int32)
    # a disc wholly under a found particle's label would leave its centre without pixels
    present = np.isin(np.arange(1, len(points) + 1) + first, labels)
    more = particle_labels.blob_centres(other, points, radii)
    labels, more = _renumbered(labels, first, present), more[present]
    return labels, np.concatenate([np.asarray(centres).reshape(-1, 2), more]), int(present.sum())


def _renumbered(labels, first, present):
    """``labels`` with the added labels above ``first`` numbered on without gaps."""
    if present.all():
        return labels
    mapping = np.zeros(first + len(present) + 1, dtype=np.int32)
    mapping[: first + 1] = np.arange(first + 1)
    mapping[first + 1 + np.flatnonzero(present)] = first + 1 + np.arange(int(present.sum()))
    return mapping[labels]


__all__ = ["both_polarities", "halo_extent", "halo_pieces", "strong_other_side"]
