"""Dark or bright atoms: the blob-strength call, overruled where bright extremes form a honeycomb.

Part of :func:`~napari_ivae.core.detection.atoms.detect_atoms`: the frames are inverted when
the atoms are clearly dark (:func:`~napari_ivae.core.detection.atom_geometry.atom_polarity`;
where neither side's blobs dominate the frame, as on an amorphous support, the same ratio read
on the lattice's periodic part decides: :mod:`~napari_ivae.core.detection.atom_periodic`),
unless the bright extremes form a honeycomb around a hexagonal lattice of dark ones
(phase-contrast images of graphene-like lattices, whose atoms are bright or dark by defocus;
:func:`_bright_honeycomb`). The same check, run for every call, sets ``run["honeycomb"]``:
bright atoms on such a honeycomb are then judged where its hexagon centres put them
(:mod:`~napari_ivae.core.detection.atom_honeycomb_sites`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.atom_frame import frame_atoms
from napari_ivae.core.detection.point_columns import points_of

HONEYCOMB_TOLERANCE = 0.1  # separations within 10 % of a honeycomb's (see _bright_honeycomb)
CHECK_SIDE = 16  # the check runs on a central crop of this many lattice spacings (> 200 cells)
MIN_CHECK_SIDE = 96  # ... and at least this many pixels
HEXAGONAL_SHELL = 3  # the dark extremes' distance: the mean of each one's nearest three
BRIGHT_SHELL = 2  # ... and then the bright ones': the mean of the nearest two (_neighbourhood)
VERTEX_SPREAD = (np.sqrt(3.0) - 1.0) / 2.0  # see _at_vertices: a cell edge's midpoint


def _bright_atoms(frames, spacing, run: dict, params: dict | None = None, excluded=None):
    """The frames with atoms as bright peaks: inverted when the atoms are clearly dark.

    A "bright" call whose ratio is within ``DARK_RATIO`` of 1 either way (neither side's
    blobs dominate) is made again on the lattice's periodic part
    (:func:`~napari_ivae.core.detection.atom_periodic.periodic_polarity`): a crystal's dark
    columns on a textured support are dark there.

    With ``params`` (the lattice estimate's), a "dark" call is checked against the lattice's
    geometry: when the bright extremes form a honeycomb around the dark ones (phase-contrast
    images of graphene-like lattices, :func:`_bright_honeycomb`), the atoms are bright. A
    "bright" call where neither side's blobs dominate is checked too: when the dark extremes
    form a hexagonal lattice at the lattice constant and the bright ones no honeycomb around
    them (the junctions of a network between dark atoms), the atoms are dark.
    ``run`` gains ``invert``, ``polarity``, ``dark_bright_ratio`` and ``honeycomb`` (bright
    atoms forming such a honeycomb; checked on a central crop of ``CHECK_SIDE`` spacings).
    """
    from napari_ivae.core.detection.atom_geometry import DARK_RATIO, atom_polarity

    polarity, ratio = atom_polarity(frames[0], spacing)
    how = "auto"
    if polarity == "bright" and ratio * DARK_RATIO > 1.0:
        # neither side's blobs dominate the frame: the lattice's periodic part decides
        from napari_ivae.core.detection.atom_periodic import periodic_polarity

        if periodic_polarity(frames[0], spacing)[0] == "dark":
            polarity, how = "dark", "auto: the lattice's periodic part"
    inverted = (frames.max() + frames.min() - frames).astype(np.float32)
    # a dark call is overruled on the dark extremes' mean distance to their nearest three (the
    # hexagon centres are then the strongest extremes, found at the frame's noise); a bright
    # call's honeycomb flag keeps the nearest (the three turned it on for MAADF graphene,
    # whose atoms were right, and its hexagon-centre judging cost F1 0.001-0.021)
    shell = HEXAGONAL_SHELL if polarity == "dark" else 1
    extremes = (
        None if params is None else _extremes(frames[0], inverted[0], params, excluded, shell)
    )
    shape = None if extremes is None else extremes[0]
    honeycomb = shape is True
    if polarity == "dark" and honeycomb:
        polarity, how = "bright", "auto: a honeycomb of bright extremes"
    elif (
        polarity == "bright"
        and ratio * DARK_RATIO > 1.0
        and shape is False
        and extremes is not None
        and params is not None
        and _dark_isolated(extremes[1], extremes[2], extremes[3], params)
    ):
        # neither side's blobs dominate, the dark extremes form the lattice and the bright
        # ones no honeycomb around them, and bright separates the dark extremes: the bright
        # ones are the junctions between dark atoms (a Fresnel image of skyrmions' dark
        # cores in their touching bright rings), not atoms on a dark background between
        # them (HAADF dumbbells whose gaps form the hexagonal lattice)
        polarity, how = "dark", "auto: dark extremes on the lattice, no bright honeycomb"
    run.update(
        invert=polarity == "dark",
        polarity=f"{polarity} ({how})",
        dark_bright_ratio=round(ratio, 3),
        honeycomb=bool(honeycomb and polarity == "bright"),
    )
    if polarity == "bright":
        return frames
    return inverted


def honeycomb_of(frame, params: dict, excluded=None) -> bool:
    """Whether the atoms of a frame oriented bright (the caller's ``invert`` applied) form a
    honeycomb around a hexagonal lattice of dark extremes (:func:`_bright_honeycomb`): the
    check :func:`_bright_atoms` makes, for a given polarity."""
    frame = np.asarray(frame, dtype=np.float32)
    inverted = (frame.max() + frame.min() - frame).astype(np.float32)
    return _bright_honeycomb(frame, inverted, params, excluded)


def _bright_honeycomb(frame, inverted, params, excluded) -> bool:
    """Whether the frame's bright extremes form a honeycomb around dark ones on a hexagonal
    lattice (:func:`_extremes` answers ``True``)."""
    extremes = _extremes(frame, inverted, params, excluded)
    return extremes is not None and extremes[0]


def _extremes(
    frame, inverted, params, excluded, shell: int = 1
) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray] | None:
    """Whether the frame's bright extremes form a honeycomb around dark ones on a hexagonal
    lattice, with what it read: a first pass of each sign at the lattice estimate, the dark
    extremes with six neighbours one lattice constant away, the bright ones with three at
    ``1/sqrt(3)`` of it. ``None`` when the dark extremes form no such hexagonal lattice (or no
    lattice constant was measured); otherwise ``(answer, window, dark, bright)``: ``False`` when
    they do and the bright ones form no honeycomb around them, the central window read and its
    dark and bright extremes (row, col). ``shell``: the dark extremes' distance is their mean to
    that many nearest (:func:`_neighbourhood`); where it is more than one, the bright ones are
    a honeycomb at their nearest or at their mean to the nearest ``BRIGHT_SHELL``.

    The dark/bright blob strength of
    :func:`~napari_ivae.core.detection.atom_geometry.atom_polarity` cannot tell which: the hexagon
    centres are the larger blobs whichever sign the atoms have (the contrast transfer of
    HRTEM makes graphene's atoms bright or dark by defocus).
    """
    lattice = params.get("lattice_constant")
    if lattice is None or abs(params["spacing"] - lattice) > 0.05 * lattice:
        return None
    side = int(max(CHECK_SIDE * params["spacing"], MIN_CHECK_SIDE))
    window = tuple(
        slice(max((n - side) // 2, 0), max((n - side) // 2, 0) + side) for n in frame.shape
    )
    mask = None if excluded is None else excluded[window]
    shapes: list[tuple[float, int]] = []
    points = []
    for reading, reach in ((inverted[window], shell), (frame[window], 1)):
        # the dark extremes first
        table, _ = frame_atoms(reading, {**params, "refine": None}, mask)
        points.append(points_of(table))
        distance, count = _neighbourhood(points[-1], reach)
        if not shapes and not (abs(distance / lattice - 1.0) < HONEYCOMB_TOLERANCE and count >= 5):
            return None  # the dark extremes are no hexagonal lattice
        shapes.append((distance, count))
    if shell > 1:  # the nearest falls short on a jittered shell, the two overshoot on a gappy one
        shapes.append(_neighbourhood(points[1], BRIGHT_SHELL))
    honeycomb = any(
        abs(distance * np.sqrt(3.0) / lattice - 1.0) < HONEYCOMB_TOLERANCE and count <= 3
        for distance, count in shapes[1:]
    )
    if honeycomb and shell > 1:
        honeycomb = _at_vertices(points[0], points[1], lattice)
    return bool(honeycomb), frame[window], points[0], points[1]


def _dark_isolated(frame, dark, bright, params: dict) -> bool:
    """Whether bright separates the dark extremes more than dark separates the bright ones.

    Atoms are the isolated phase: on the straight line from each extreme to its nearest
    same-sign extreme at least half a lattice constant away (and at most 1.2), the frame
    smoothed at a tenth of the spacing rises above the higher end (dark pairs) or falls below
    the lower end (bright pairs); the medians of the two sets of steps are compared. A Fresnel
    image of skyrmions' dark cores in touching bright rings: dark pairs step 0.64, bright
    0.18 (of the bright-dark contrast); HAADF dumbbells whose dark gaps form the hexagonal
    lattice (AtomSegNet's Si [110] and after-image): dark 0.29 / 0.24, bright 0.66 / 0.74.
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    lattice = params["lattice_constant"]
    smooth = ndimage.gaussian_filter(np.asarray(frame, dtype=np.float64), 0.1 * params["spacing"])
    steps = []
    for points, sign in ((dark, -1.0), (bright, 1.0)):
        if len(points) < 7:
            return False
        distances, index = cKDTree(points).query(points, k=7)
        within = (distances[:, 1:] >= 0.5 * lattice) & (distances[:, 1:] <= 1.2 * lattice)
        has = within.any(axis=1)
        if not has.any():
            return False
        other = index[has, 1 + np.argmax(within[has], axis=1)]
        start, end = points[has], points[other]
        along = np.linspace(0.0, 1.0, max(int(2.4 * lattice), 8))
        line = start[:, None, :] + along[None, :, None] * (end - start)[:, None, :]
        profile = ndimage.map_coordinates(smooth, line.reshape(-1, 2).T, order=1)
        profile = sign * profile.reshape(len(start), len(along))
        # sign turns dark pairs' rise into a fall: both are their ends' lower minus the least
        steps.append(np.median(np.minimum(profile[:, 0], profile[:, -1]) - profile.min(axis=1)))
    return bool(steps[0] > steps[1])


def _at_vertices(dark, bright, lattice: float) -> bool:
    """Whether the bright extremes sit where three dark ones meet, as a honeycomb's atoms sit
    at its hexagon centres' cell vertices: the median over bright extremes of their third-
    minus first-nearest dark distance, below ``VERTEX_SPREAD`` lattice constants.

    A vertex has three dark extremes at ``lattice / sqrt(3)`` (spread 0); the midpoint of a cell
    edge, where two touching cells meet, two at ``lattice / 2`` and the third at
    ``lattice * sqrt(3) / 2`` (spread 0.366): bright extremes nearer vertices than that are the
    honeycomb. Dark colloid cores in bright rings put bright extremes on the rings, inside
    each cell (stranger_optical's dark cores: spread 0.45, nearest 0.35 x the constant), and
    their dark call stays; graphene in HRTEM, its atoms found at the noise: 0.13-0.30.
    """
    from scipy.spatial import cKDTree

    if len(dark) < 3 or len(bright) == 0:
        return False
    distances = cKDTree(dark).query(bright, k=3)[0]
    return bool(np.median(distances[:, 2] - distances[:, 0]) < VERTEX_SPREAD * lattice)


def _neighbourhood(points, shell: int = 1) -> tuple[float, int]:
    """The points' neighbour distance (the median over points of the mean distance to their
    ``shell`` nearest) and their median number of neighbours within 1.2 times it (a hexagonal
    lattice 6, a honeycomb 3); ``(nan, 0)`` for too few.

    The check's points are whole pixels found at the frame's noise, and the nearest of a
    hexagonal lattice's six jittered neighbours falls short of its constant (a noisy HRTEM
    frame of graphene: the hexagon centres' nearest 0.876 x the constant, outside
    ``HONEYCOMB_TOLERANCE``; the mean of the nearest three 0.938 x), so the dark extremes are
    read over ``HEXAGONAL_SHELL``, half their first shell. The nearest of the bright ones'
    three falls short the same way (HRTEM graphene's dark calls: 0.898-0.937 x the bond, the
    first outside the tolerance), so beside that reading they are also read over
    ``BRIGHT_SHELL`` (0.966-1.010), not their whole first shell: they include bond maxima where
    the bonds are nearly as bright as the atoms (HRTEM), and their third-nearest then lies in
    the next shell. Where atoms are missed among them (a low-dose frame: 1.3 bright extremes a
    dark one) their second-nearest lies there too (1.10), and the nearest reads the bond
    (0.98): either reading at the bond is a honeycomb. A bright call reads both at their
    nearest (see :func:`_bright_atoms`).
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.atom_geometry import MIN_ATOMS

    if len(points) < MIN_ATOMS:
        return float("nan"), 0
    tree = cKDTree(points)
    nearest = tree.query(points, k=shell + 1)[0][:, 1:]
    distance = float(np.median(nearest.mean(axis=1)))
    neighbours = tree.query_ball_point(points, 1.2 * distance, return_length=True) - 1
    return distance, int(np.median(neighbours))
