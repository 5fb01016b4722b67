"""Particles of the other polarity left in the frame: the self-check's hint that one polarity
was not the whole story.

A coherent bright-field image of colloids at several heights shows the particles above focus
with a dark core in a bright halo and those below it with a bright core in a dark one (the
contrast of a phase object turns with the sign of the defocus); the auto method picks one
polarity and finds only those. :func:`other_polarity_particles` counts the compact round blobs
of the other polarity, away from every particle found, that stand out more than any blob of the
found polarity there (a support's texture and noise give both alike;
:func:`other_polarity_blobs`); :func:`other_polarity_warning` says so when they are many.
"""

from __future__ import annotations

import numpy as np

OTHER_SHARE = 0.1  # other-polarity particles at least this share of those found: warn ...
OTHER_MIN = 10  # ... and at least this many (two like sides: the top 10 all on one, 0.1 %)
CLEAR_RADII = 2.3  # a found particle's surround ring reaches this many radii (its halo, rings)
SCALE_STEP = 2.0**0.5  # the scales searched: the particles' own and one such step either side
ENCLOSED_REACH = 1.5  # found particles this x the nearest one's distance away may enclose a blob


def other_polarity_blobs(signal, centres, radius: float, skip=None, clear=None):
    """The particles of the other polarity beside particles found at ``centres``.

    Blobs here are scale-space maxima at the found particles' scale (``sigma = radius /
    sqrt(2)``) and one ``SCALE_STEP`` either side, more than ``CLEAR_RADII`` radii from every
    found centre (outside its surround: its own halo or rings), that stand above their
    surround in most directions
    (:func:`~napari_ivae.core.detection.particle_surround.surround_share`) and peak round (no
    edge, no ring segment: :func:`~napari_ivae.core.detection.particle_surround.round_peaks`).
    A support's texture and noise are two-sided: they give such blobs of either polarity
    alike. So the other polarity's blobs count as particles when they are stronger than every
    such blob of the found particles' own polarity (or, where there is none, than the
    weakest found particle). Particles missed on the found side raise that level and make
    the count lower, never higher.

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the found particles' polarity positive.
    centres : numpy.ndarray
        ``(N, 2)`` integer (row, col) centres of the found particles.
    radius : float
        Their median radius (pixels).
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where no blob is centred (padding, a masked scale bar).
    clear : numpy.ndarray, optional
        ``(N,)`` each found particle's own radius: its surround then reaches
        ``CLEAR_RADII`` times the larger of it and ``radius`` (a large particle's halo reaches
        past the median one's).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(M, 2)`` integer (row, col) and sigmas.
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection import particle_candidates, particle_scale_space

    none = np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    signal = np.asarray(signal, dtype=np.float32)
    centres = np.asarray(centres, dtype=np.int64).reshape(-1, 2)
    if len(centres) < OTHER_MIN:
        return none
    radius = max(float(radius), 1.0)
    sigma = radius / np.sqrt(2.0)
    scales = sigma * np.array([1.0 / SCALE_STEP, 1.0, SCALE_STEP])
    response = particle_scale_space.scale_space(signal, scales)  # found particles positive
    tree = cKDTree(centres)
    sides = {}
    surround = None
    if clear is not None:
        from napari_ivae.core.detection.particle_discs import within_discs

        reach = CLEAR_RADII * np.maximum(np.asarray(clear, dtype=np.float64), radius)
        surround = within_discs(signal.shape, centres, reach)
    for side in ("bright", "dark"):  # "bright": the found particles' polarity here
        points, blob_sigma, strength = particle_candidates.blob_candidates(
            None, scales, side, skip, response=response
        )
        away = tree.query(points)[0] > CLEAR_RADII * radius if len(points) else []
        if surround is not None and len(points):
            away &= ~surround[points[:, 0], points[:, 1]]
        order = np.argsort(-strength[away], kind="stable")
        sides[side] = points[away][order], blob_sigma[away][order], strength[away][order]
    level = _strongest_particle_like(signal, *sides["bright"])
    if level is None:
        centres = np.clip(centres, 0, np.array(signal.shape) - 1)
        level = float(response[:, centres[:, 0], centres[:, 1]].max(axis=0).min())
    points, blob_sigma, strength = sides["dark"]
    points, blob_sigma = points[strength > level], blob_sigma[strength > level]
    like = _particle_like(-signal, points, blob_sigma)
    points, blob_sigma = points[like], blob_sigma[like]
    open_ = ~_enclosed(points, centres, tree)
    return points[open_], blob_sigma[open_]


def _enclosed(points, centres, tree) -> np.ndarray:
    """Per point, whether found ``centres`` surround it: those within ``ENCLOSED_REACH``
    times its distance to the nearest leave no gap of half a turn around it. The gap between
    packed particles is a blob of the other polarity, as round as a particle; a particle of
    the other polarity lies on the background, open on some side."""
    enclosed = np.zeros(len(points), dtype=bool)
    if not len(points):
        return enclosed
    nearest = tree.query(points)[0]
    for index, (point, reach) in enumerate(zip(points, nearest)):
        around = centres[tree.query_ball_point(point, ENCLOSED_REACH * reach)] - point
        if len(around) < 3:
            continue
        angles = np.sort(np.arctan2(around[:, 0], around[:, 1]))
        gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
        enclosed[index] = gaps.max() < np.pi
    return enclosed


def _particle_like(signal, points, sigma) -> np.ndarray:
    """Per blob (``points``, ``sigma``), whether it stands above its surround and peaks round
    on ``signal`` (its polarity positive)."""
    from napari_ivae.core.detection import particle_surround

    like = np.zeros(len(points), dtype=bool)
    if not len(points):
        return like
    like = (
        particle_surround.surround_share(signal, points, sigma) >= particle_surround.SURROUND_SHARE
    )
    like[like] = particle_surround.round_peaks(signal, points[like], sigma[like])
    return like


def _strongest_particle_like(signal, points, sigma, strength):
    """The strength of the strongest particle-like blob (see :func:`_particle_like`) among
    ``points``, sorted strongest first, or None; judged a few at a time (a round-peak test
    costs a filter per blob)."""
    step = 16
    for first in range(0, len(points), step):
        chunk = slice(first, first + step)
        like = np.flatnonzero(_particle_like(signal, points[chunk], sigma[chunk]))
        if len(like):
            return float(strength[first + like[0]])
    return None


def other_polarity_area(signal, centres, radii, skip=None) -> np.ndarray:
    """Where particles of the other polarity lie beside the kept ones: discs of
    ``CLEAR_RADII`` times their radius (their halo too) around the
    :func:`other_polarity_blobs` of the kept particles (``centres``, ``radii``), when they
    are as many as :func:`other_polarity_warning` asks (else nothing: a few such blobs may be
    the background's extremes). What the background reaches is measured outside it: such
    particles are no background (they set the bound on the defocused colloids of
    stranger_scenes).

    Parameters
    ----------
    signal : numpy.ndarray
        2D frame with the kept particles' polarity positive.
    centres : numpy.ndarray
        ``(N, 2)`` integer (row, col) centres of the kept particles.
    radii : array-like
        ``(N,)`` their radii (pixels).
    skip : numpy.ndarray, optional
        ``(Y, X)`` pixels where no blob is centred.

    Returns
    -------
    numpy.ndarray
        ``signal``'s shape, bool.
    """
    from napari_ivae.core.detection.particle_discs import within_discs

    shape = np.shape(signal)
    radii = np.asarray(radii, dtype=np.float64).reshape(-1)
    if not len(radii):
        return np.zeros(shape, dtype=bool)
    points, sigma = other_polarity_blobs(signal, centres, float(np.median(radii)), skip)
    if not _many(len(points), len(radii)):
        return np.zeros(shape, dtype=bool)
    return within_discs(shape, points, CLEAR_RADII * np.sqrt(2.0) * sigma)


def other_polarity_particles(frame, labels, polarity: str) -> tuple[int, int]:
    """The number of particles of the other polarity in ``frame`` (see
    :func:`other_polarity_blobs`; each found particle's surround from its own radius, so that
    a large particle's Fresnel fringe is no particle), clear of the frame's edge, and of
    those found.

    Parameters
    ----------
    frame : numpy.ndarray
        One 2D frame.
    labels : numpy.ndarray
        The found particles' labels (``frame``'s shape, 0 outside them).
    polarity : {"bright", "dark"}
        The found particles' polarity.

    Returns
    -------
    (int, int)
        Other-polarity particles, found particles.
    """
    from scipy import ndimage

    from napari_ivae.core.detection.particle_auto import FLAT_WINDOW
    from napari_ivae.core.detection.particle_faint import FAINT_TAIL
    from napari_ivae.core.detection.particle_line_offsets import lines_levelled
    from napari_ivae.core.detection.peaks import flat_mask

    labels = np.asarray(labels)
    index = np.unique(labels[labels > 0])
    if len(index) < OTHER_MIN:
        return 0, int(len(index))
    frame = np.asarray(frame, dtype=np.float32)
    radii = np.sqrt(np.bincount(labels.ravel())[index] / np.pi)
    centres = np.round(ndimage.center_of_mass(labels > 0, labels, index)).astype(np.int64)
    # a scanned frame's line offsets make blobs of both polarities along its lines; the
    # faint pass (which takes them out) finds the found side's, which then no longer
    # outweigh the other side's (a height map with offsets of 7 x its noise: 11 "dark
    # particles" once its last 2 caps were found)
    flat = flat_mask(frame, FLAT_WINDOW)
    away = ~ndimage.binary_dilation(labels > 0, iterations=int(np.ceil(np.median(radii))))
    frame = lines_levelled(frame, away & ~flat, 3.0 * float(np.median(radii)), FAINT_TAIL[0])[0]
    signal = frame if polarity == "bright" else -frame
    points, sigma = other_polarity_blobs(signal, centres, float(np.median(radii)), flat, radii)
    # counted as the found ones are: clear of the frame's edge (a blob cut by it is half a
    # blob, and a particle cut by it was left out)
    inside = np.all(
        (points >= np.sqrt(2.0) * sigma[:, None])
        & (points < np.array(frame.shape) - np.sqrt(2.0) * sigma[:, None]),
        axis=1,
    )
    return int(inside.sum()), int(len(index))


def other_polarity_warning(frame, labels, polarity: str) -> str | None:
    """The warning when ``frame`` holds many particles of the other polarity besides those
    found (at least ``OTHER_MIN`` and ``OTHER_SHARE`` of the found ones; see
    :func:`other_polarity_particles`), else None."""
    other_count, found = other_polarity_particles(frame, labels, polarity)
    if not _many(other_count, found):
        return None
    other = "dark" if polarity == "bright" else "bright"
    return (
        f"besides the {found} {polarity} particles found, about {other_count} {other} ones "
        f"stand out as much (particles on either side of focus show opposite contrasts): "
        f"only the {polarity} ones were counted; run again with --polarity {other} for those"
    )


def _many(other: int, found: int) -> bool:
    """Whether ``other`` blobs of the other polarity beside ``found`` particles are particles
    to name (at least ``OTHER_MIN`` and ``OTHER_SHARE`` of the found ones), not the
    background's extremes."""
    return other >= max(OTHER_MIN, OTHER_SHARE * found)


__all__ = [
    "other_polarity_area",
    "other_polarity_blobs",
    "other_polarity_particles",
    "other_polarity_warning",
]
